package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestBrowser_StaffMFA walks staff authentication in Chromium: an
// administrator requires two-step sign-in and adds a user; the user signs in
// with the temporary password, chooses their own, sets up an authenticator
// (QR code and key, confirmed by a TOTP code computed here), saves the
// recovery codes, and signs in again with password and code. axe-core checks
// every new page.
func TestBrowser_StaffMFA(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signIn(t, ctx, p.URL, "admin@demo.caseverify.test", "demo-admin-2026") // demo accounts skip MFA in sandbox

	do(t, ctx, "require two-step sign-in",
		chromedp.Navigate(p.URL+"/admin/settings"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=mfa-setting-form]`)),
		chromedp.Click(chromedp.CSS(`label[for=mfa_required]`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=mfa-setting-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=flash]`)))
	if got := textOf(t, ctx, `[data-testid=flash]`); !strings.Contains(got, "Everyone must now use two-step sign-in") {
		t.Fatalf("flash = %q", got)
	}
	checkA11y(t, ctx, "settings, sign-in security")

	do(t, ctx, "add a user",
		chromedp.Navigate(p.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=user-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "Nia Newcomer"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "nia@demo.caseverify.test"),
		chromedp.SetValue(chromedp.CSS(`#role`), "caseworker"),
		chromedp.Submit(chromedp.CSS(`[data-testid=user-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=temporary-password]`)))
	temp := strings.TrimSpace(textOf(t, ctx, `[data-testid=temporary-password-value]`))
	if len(temp) != 23 {
		t.Fatalf("temporary password %q", temp)
	}
	checkA11y(t, ctx, "users, temporary password")
	screenshot(t, ctx, "mfa_01_temporary_password")
	do(t, ctx, "admin signs out", chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=notice]`)))

	// First sign-in: the temporary password, then one's own.
	do(t, ctx, "sign in with the temporary password",
		chromedp.Navigate(p.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "nia@demo.caseverify.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), temp),
		chromedp.Submit(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-password-form]`)))
	checkA11y(t, ctx, "choose your password")
	do(t, ctx, "a common password",
		chromedp.SendKeys(chromedp.CSS(`#new_password`), "1qaz2wsx3edc4rfv"),
		chromedp.SendKeys(chromedp.CSS(`#confirm_password`), "1qaz2wsx3edc4rfv"),
		chromedp.Submit(chromedp.CSS(`[data-testid=new-password-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-summary]`)))
	if got := textOf(t, ctx, `[data-testid=error-summary]`); !strings.Contains(got, "common") {
		t.Fatalf("error summary = %q", got)
	}
	checkA11y(t, ctx, "choose your password, refused")
	screenshot(t, ctx, "mfa_02_password_refused")
	const own = "lanterns over the harbor"
	do(t, ctx, "choose a password",
		chromedp.SendKeys(chromedp.CSS(`#new_password`), own),
		chromedp.SendKeys(chromedp.CSS(`#confirm_password`), own),
		chromedp.Submit(chromedp.CSS(`[data-testid=new-password-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=enroll-form]`)))

	// Enrollment: the QR code loads from its route under the CSP, the key is
	// there as text, and a code from it turns two-step sign-in on.
	deadline := time.Now().Add(10 * time.Second)
	for {
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('[data-testid=mfa-qr]').naturalWidth`))
		if err == nil && w > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the QR code did not load (%v)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkA11y(t, ctx, "set up two-step sign-in")
	screenshot(t, ctx, "mfa_03_enroll")
	// No case page before the enrollment is finished.
	do(t, ctx, "try the case list", chromedp.Navigate(p.URL+"/cases"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=enroll-form]`)))
	secret := strings.ReplaceAll(textOf(t, ctx, `[data-testid=mfa-secret]`), " ", "")
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "confirm the code",
		chromedp.SendKeys(chromedp.CSS(`#code`), code),
		chromedp.Submit(chromedp.CSS(`[data-testid=enroll-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=recovery-codes]`)))
	codes := strings.Fields(textOf(t, ctx, `[data-testid=recovery-codes]`))
	if len(codes) != 10 {
		t.Fatalf("recovery codes: %q", codes)
	}
	checkA11y(t, ctx, "recovery codes")
	screenshot(t, ctx, "mfa_04_recovery_codes")
	do(t, ctx, "continue", chromedp.Click(chromedp.CSS(`[data-testid=recovery-continue]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-case]`)))
	do(t, ctx, "account page", chromedp.Click(chromedp.CSS(`[data-testid=user-name]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=mfa-section]`)))
	if got := textOf(t, ctx, `[data-testid=mfa-status]`); !strings.Contains(got, "On.") || !strings.Contains(got, "10 recovery codes") {
		t.Fatalf("account says %q", got)
	}
	checkA11y(t, ctx, "account")
	screenshot(t, ctx, "mfa_05_account")
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=notice]`)))

	// Next sign-in: password, then a code (of the next time step: the one
	// used to confirm is spent).
	do(t, ctx, "sign in with the new password",
		chromedp.Navigate(p.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "nia@demo.caseverify.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), own),
		chromedp.Submit(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=code-form]`)))
	checkA11y(t, ctx, "enter your code")
	screenshot(t, ctx, "mfa_06_code")
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	do(t, ctx, "enter the code",
		chromedp.SendKeys(chromedp.CSS(`#code`), next),
		chromedp.Submit(chromedp.CSS(`[data-testid=code-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-case]`)))
	if got := textOf(t, ctx, `[data-testid=user-name]`); got != "Nia Newcomer" {
		t.Fatalf("signed in as %q", got)
	}
	assertLogFree(t, p.logs.String(), temp, own, secret, codes[0])
}

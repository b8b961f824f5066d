package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_ContactCenter: an agent on a call types a name and a mobile
// number, the link is texted in one step, and the same screen shows the
// verification complete while the caller finishes on their phone. Then the
// order page shows when the text was opened, the printable handout renders
// in the caller's language, and the agency settings show which channel works.
func TestBrowser_ContactCenter(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signIn(t, ctx, p.URL, "admin@demo.caseverify.test", "demo-admin-2026")

	do(t, ctx, "contact screen", chromedp.Navigate(p.URL+"/contact"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=contact-form]`)))
	focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`))
	if err != nil || focused != "first_name" {
		t.Errorf("focus starts on %q, want first_name", focused)
	}
	checkA11y(t, ctx, "contact center")
	// Keyboard only: type, tab to the next field, Enter submits.
	do(t, ctx, "type the caller",
		chromedp.SendKeys(chromedp.CSS(`#first_name`), "Dana\tReyes\t(555) 201-0555"),
		chromedp.SetValue(chromedp.CSS(`#language`), "es"))
	screenshot(t, ctx, "01_contact_form")
	do(t, ctx, "text the link", chromedp.SendKeys(chromedp.CSS(`#phone`), "\r"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=contact-live] [data-testid=order]`)))
	if got := textOf(t, ctx, `[data-testid=flash]`); !strings.Contains(got, "Link texted to Dana") {
		t.Fatalf("flash = %q", got)
	}
	checkA11y(t, ctx, "contact center with a live order")
	screenshot(t, ctx, "02_contact_sent")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}

	phone := newTab(t, ctx)
	do(t, phone, "the text in the outbox", chromedp.Navigate(p.URL+"/outbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=outbox-link]`)))
	sms := textOf(t, phone, `[data-testid=outbox-message]`)
	if !strings.Contains(sms, "Text message") || !strings.Contains(sms, "verifique") || !strings.Contains(sms, p.URL+"/l/") {
		t.Fatalf("text message: %s", sms)
	}
	do(t, phone, "open the link", chromedp.Click(chromedp.CSS(`[data-testid=outbox-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=employer-list]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=employer-city-transit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=username]`), "goodlogin"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=password]`), "goodpassword"),
		chromedp.Click(chromedp.CSS(`[data-testid=sign-in]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=bridge-complete]`)))
	screenshot(t, phone, "03_caller_done")

	waitFor(t, ctx, p, "Completed on the contact screen", 30*time.Second,
		`!!document.querySelector('[data-testid=contact-live] [data-testid=order][data-status=completed]')`)
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`)); err != nil || !still {
		t.Fatal("the contact screen was reloaded")
	}
	screenshot(t, ctx, "04_contact_completed_live")

	// The order page: sent by text, opened.
	do(t, ctx, "order page", chromedp.Click(chromedp.CSS(`[data-testid=contact-live] [data-testid=order] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=deliveries]`)))
	if got := textOf(t, ctx, `[data-testid=deliveries]`); !strings.Contains(got, "Text message") || !strings.Contains(got, "Opened") {
		t.Fatalf("deliveries: %q", got)
	}
	checkA11y(t, ctx, "order page")
	screenshot(t, ctx, "05_order_opened")

	// The agency learns which channel works.
	do(t, ctx, "settings", chromedp.Navigate(p.URL+"/admin/settings"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=channel-stats]`)))
	if got := textOf(t, ctx, `[data-testid=channel-stats]`); !strings.Contains(got, "Text message") || !strings.Contains(got, "100%") {
		t.Fatalf("channel stats: %q", got)
	}
	checkA11y(t, ctx, "settings")
	screenshot(t, ctx, "06_settings")
}

// TestBrowser_Handout: the printable QR handout of an open order, in the
// member's language, with the link written out and its expiry.
func TestBrowser_Handout(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "2026-QR-1", "medicaid")
	addMember(t, ctx, member{first: "Lucía", last: "Paz", rel: "self", language: "es"})
	do(t, ctx, "send by QR", chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.Click(chromedp.CSS(`#provider-truv`)), chromedp.Click(chromedp.CSS(`#channel-qr`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=qr-page]`)))
	// The applicant at the desk reads the QR page: Lucía's language, and
	// none of the staff navigation.
	qrLang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	qrText := textOf(t, ctx, `main`)
	if qrLang != "es" || !strings.Contains(qrText, "Lucía, escanee este código con su teléfono") || !strings.Contains(qrText, "El enlace funciona hasta el") {
		t.Fatalf("QR page (%s): %s", qrLang, qrText)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=sign-out], nav').length`)); n != 0 {
		t.Fatalf("the QR page shows %d staff navigation elements", n)
	}
	checkA11y(t, ctx, "qr page")
	screenshot(t, ctx, "01_qr_desk")
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('.cv-qr__img').naturalWidth > 100`))
	if err != nil || !loaded {
		t.Fatal("the QR image did not load")
	}
	do(t, ctx, "order page", chromedp.Click(chromedp.CSS(`.cv-qr a`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=handout-link]`)))
	do(t, ctx, "handout", chromedp.Click(chromedp.CSS(`[data-testid=handout-link]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=handout]`)))
	lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	text := textOf(t, ctx, `[data-testid=handout]`)
	if lang != "es" || !strings.Contains(text, "Lucía") || !strings.Contains(text, "El enlace funciona hasta el") || !strings.Contains(text, p.URL+"/l/") {
		t.Fatalf("handout (%s): %s", lang, text)
	}
	checkA11y(t, ctx, "handout")
	screenshot(t, ctx, "02_handout")
}

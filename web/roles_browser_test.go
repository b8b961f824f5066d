package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_RolesAndAudit walks issue 12's roles in Chromium with the demo
// accounts: a caseworker opens a case and a member's edit form (a POST that
// records the reveal); a supervisor reads "Who looked at this case" and the
// audit log; a contact-center agent lands on the contact screen, finds the
// case by its number, sees it masked, and gets a plain 403 page for the
// case list. axe-core checks every new page.
func TestBrowser_RolesAndAudit(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signOut := func() {
		t.Helper()
		do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	}

	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "ROLE-2026-1", "snap")
	caseURL, _ := chromedp.Run(ctx, chromedp.Location())
	addMember(t, ctx, member{first: "Ana", last: "Canarytest", rel: "self", email: "ana.canary@example.org", phone: "(555) 201-0777"})
	do(t, ctx, "open the member form", chromedp.Click(chromedp.CSS(`[data-testid=edit-member]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=member-form]`)))
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#email`))); v != "ana.canary@example.org" {
		t.Fatalf("the edit form shows %q", v)
	}
	formURL, _ := chromedp.Run(ctx, chromedp.Location())
	do(t, ctx, "the edit page by GET", chromedp.Navigate(formURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid=open-member-form]`)))
	checkA11y(t, ctx, "member edit gate")
	screenshot(t, ctx, "01_member_edit_gate")
	signOut()

	signIn(t, ctx, p.URL, "supervisor@demo.caseverify.test", "demo-supervisor-2026")
	do(t, ctx, "case page", chromedp.Navigate(caseURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-viewers]`)))
	if got := textOf(t, ctx, `[data-testid=case-viewers]`); !strings.Contains(got, "Casey Worker") || !strings.Contains(got, "Sam Supervisor") {
		t.Fatalf("who looked: %s", got)
	}
	checkA11y(t, ctx, "case page with who looked")
	screenshot(t, ctx, "02_who_looked")
	do(t, ctx, "the case's audit log", chromedp.Click(chromedp.CSS(`[data-testid=case-audit-link]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=audit-table]`)))
	got := textOf(t, ctx, `[data-testid=audit-table]`)
	for _, want := range []string{"Opened the case", "Showed a member's details", "ROLE-2026-1", "Casey Worker"} {
		if !strings.Contains(got, want) {
			t.Errorf("the case's audit log lacks %q: %s", want, got)
		}
	}
	if strings.Contains(got, "Signed in") || strings.Contains(got, "ana.canary") {
		t.Errorf("the case filter let other rows (or a value) through: %s", got)
	}
	checkA11y(t, ctx, "audit log")
	screenshot(t, ctx, "03_audit_log")
	signOut()

	// The agent lands on the contact-center screen (signIn waits for the case
	// list, which an agent does not have).
	do(t, ctx, "sign in as the agent", chromedp.Navigate(p.URL+"/login"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), "agent@demo.caseverify.test"), chromedp.SendKeys(chromedp.CSS(`#password`), "demo-agent-2026"),
		chromedp.Submit(chromedp.CSS(`[data-testid=login-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=contact-form]`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('nav a[href="/cases"], nav a[href="/renewals"], nav a[href="/audit"]').length`)); n != 0 {
		t.Fatalf("the agent's navigation offers %d pages they may not use", n)
	}
	do(t, ctx, "find the case", chromedp.SendKeys(chromedp.CSS(`#find_number`), "ROLE-2026-1"),
		chromedp.Submit(chromedp.CSS(`[data-testid=case-find]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-title]`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=reveal], [data-testid=edit-member], [data-testid=note-form]').length`)); n != 0 {
		t.Fatal("the agent is offered a reveal, the member form or notes")
	}
	checkA11y(t, ctx, "agent's case page")
	screenshot(t, ctx, "04_agent_case")
	// The agent sends a verification by text, then shows the QR code at the
	// desk: the button POSTs, which records the QR delivery.
	do(t, ctx, "send by text", chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.Click(chromedp.CSS(`#provider-truv`)), chromedp.Click(chromedp.CSS(`#channel-sms`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=order] a`)))
	do(t, ctx, "order page", chromedp.Click(chromedp.CSS(`[data-testid=order] a`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=deliveries]`)))
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=cancel-order], [data-testid=report-link]').length`)); n != 0 {
		t.Fatal("the agent is offered cancel or a report")
	}
	checkA11y(t, ctx, "order page with the QR buttons")
	do(t, ctx, "show the QR code", chromedp.Click(chromedp.CSS(`[data-testid=show-qr]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=qr-page]`)))
	if got := textOf(t, ctx, `[data-testid=qr-link]`); !strings.Contains(got, p.URL+"/l/") {
		t.Fatalf("the QR page writes out %q", got)
	}
	screenshot(t, ctx, "05_agent_qr")
	do(t, ctx, "the case list", chromedp.Navigate(p.URL+"/cases"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	if got := textOf(t, ctx, `main`); !strings.Contains(got, "Not allowed") || !strings.Contains(got, "Your role (Contact-center agent) does not include this") {
		t.Fatalf("403 page: %s", got)
	}
	checkA11y(t, ctx, "403 page")
	screenshot(t, ctx, "06_refused")
	assertLogFree(t, p.logs.String(), "ana.canary@example.org")
}

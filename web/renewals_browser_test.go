package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_Renewals: a case due for recertification whose member has a
// completed Truv verification; "Renew all due" refreshes it without the
// applicant, the progress bar runs to the end, and the page shows the new
// income beside the previous one.
func TestBrowser_Renewals(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	due := time.Now().AddDate(0, 0, 14).Format("2006-01-02")
	do(t, ctx, "case due in two weeks",
		chromedp.Navigate(p.URL+"/cases/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#case_number`), "2026-RENEW-1"),
		chromedp.SetValue(chromedp.CSS(`#program`), "snap"),
		chromedp.SetValue(chromedp.CSS(`#recert_due`), due),
		chromedp.Submit(chromedp.CSS(`[data-testid=case-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-title]`)))
	addMember(t, ctx, member{first: "Noor", last: "Haddad", rel: "self", email: "noor@example.org"})
	do(t, ctx, "send a link to show", chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.Click(chromedp.CSS(`label[for=provider-truv]`)), chromedp.Click(chromedp.CSS(`label[for=channel-copy]`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=applicant-link]`)))
	link, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid=applicant-link]`)))
	if err != nil {
		t.Fatal(err)
	}
	phone := newTab(t, ctx)
	do(t, phone, "applicant completes", chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=employer-list]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=employer-lakeside-schools]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=username]`), "goodlogin"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=password]`), "goodpassword"),
		chromedp.Click(chromedp.CSS(`[data-testid=sign-in]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=bridge-complete]`)))
	waitFor(t, ctx, p, "the first verification completed", 30*time.Second,
		`!!document.querySelector('[data-testid=order][data-status=completed] [data-testid=report-link]')`)

	do(t, ctx, "renewals", chromedp.Navigate(p.URL+"/renewals"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=due-case]`)))
	if got := textOf(t, ctx, `[data-testid=due-member]`); !strings.Contains(got, "Income with Truv, completed today") {
		t.Fatalf("due member: %q", got)
	}
	checkA11y(t, ctx, "renewals")
	screenshot(t, ctx, "01_due")
	do(t, ctx, "renew all", chromedp.Click(chromedp.CSS(`[data-testid=renew-all]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=renewal-progress]`)))
	screenshot(t, ctx, "02_running")
	waitFor(t, ctx, p, "the run to finish", 30*time.Second,
		`document.querySelector('[data-testid=renewal-progress]').dataset.status === 'done'`)
	// The refresh's result comes by webhook; the page shows it on the next load.
	deadline := time.Now().Add(30 * time.Second)
	for {
		do(t, ctx, "reload", chromedp.Navigate(p.URL+"/renewals"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=renewal-status]`)))
		status := textOf(t, ctx, `[data-testid=renewal-status]`)
		if status == "Refreshed" {
			if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid=compare]')`)); ok {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("renewal status %q, no comparison\n%s", status, p.logs.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	cmp := textOf(t, ctx, `[data-testid=compare]`)
	if !strings.Contains(cmp, "Monthly gross: $") || !strings.Contains(cmp, "Lakeside School District") {
		t.Fatalf("comparison: %q", cmp)
	}
	if got := textOf(t, ctx, `[data-testid=renewal-counts]`); !strings.Contains(got, "Refreshed 1") || !strings.Contains(got, "Remaining 0") {
		t.Fatalf("counts: %q", got)
	}
	checkA11y(t, ctx, "renewals done")
	screenshot(t, ctx, "03_refreshed_compare")
}

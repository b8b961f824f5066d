package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_PayscoreHousehold: a two-member household sends one Payscore
// request; one member connects a bank, the other says they have no income;
// the case page updates live under every member with their own part, the
// household report groups accounts by member, and Renewals counts the
// household order as each member's last verification.
func TestBrowser_PayscoreHousehold(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	do(t, ctx, "case due in two weeks",
		chromedp.Navigate(p.URL+"/cases/new"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#case_number`), "2026-HOUSE-1"),
		chromedp.SetValue(chromedp.CSS(`#program`), "housing"),
		chromedp.SetValue(chromedp.CSS(`#recert_due`), time.Now().AddDate(0, 0, 14).Format("2006-01-02")),
		chromedp.Submit(chromedp.CSS(`[data-testid=case-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-title]`)))
	addMember(t, ctx, member{first: "Mara", last: "Okafor", rel: "self", email: "mara@example.org"})
	addMember(t, ctx, member{first: "Leo", last: "Okafor", rel: "spouse", email: "leo@example.org"})

	do(t, ctx, "household form", chromedp.Click(chromedp.CSS(`[data-testid=verify-household]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=household-form]`)),
		chromedp.SetValue(chromedp.CSS(`#provider`), "payscore"),
		chromedp.SendKeys(chromedp.CSS(`#rent`), "1250"))
	checkA11y(t, ctx, "household form")
	screenshot(t, ctx, "01_household_form")
	do(t, ctx, "send", chromedp.Submit(chromedp.CSS(`[data-testid=household-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=order-household]`)))
	if got := textOf(t, ctx, `[data-testid=order-household]`); got != "For Mara Okafor, Leo Okafor" {
		t.Fatalf("household line %q", got)
	}
	// The household order shows under each member, not only the first.
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('[data-testid=member]')]
		.filter(m => m.querySelector('[data-testid=order] [data-testid=order-household]')).length`)); n != 2 {
		t.Fatalf("the household order shows under %d members, want 2", n)
	}
	screenshot(t, ctx, "02_case_sent")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}

	phone := newTab(t, ctx)
	do(t, phone, "outbox", chromedp.Navigate(p.URL+"/outbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=outbox-link]`)))
	link := func(masked string) string {
		t.Helper()
		href, err := chromedp.Run(phone, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid=outbox-message]')]
			.find(m => m.textContent.includes('`+masked+`')).querySelector('[data-testid=outbox-link]').href`))
		if err != nil {
			t.Fatalf("link for %s: %v", masked, err)
		}
		return href
	}
	maraLink, leoLink := link("m•••@example.org"), link("l•••@example.org")
	if maraLink == leoLink {
		t.Fatal("both members got the same link")
	}

	// Mara connects the demo bank.
	do(t, phone, "Mara consents", chromedp.Navigate(maraLink), chromedp.WaitVisible(chromedp.CSS(`[data-testid=form-consent]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=consent-checkbox]`)), chromedp.Click(chromedp.CSS(`[data-testid=btn-consent]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=bank-select]`)))
	screenshot(t, phone, "03_mara_choose")
	do(t, phone, "Mara's bank", chromedp.SetValue(chromedp.CSS(`[data-testid=bank-select]`), "Demo Bank"),
		chromedp.Click(chromedp.CSS(`[data-testid=btn-select-bank]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-username]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-username]`), "user_good"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=login-password]`), "pass_good"),
		chromedp.Click(chromedp.CSS(`[data-testid=btn-login]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=btn-confirm-connection]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=btn-confirm-connection]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=btn-continue]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=btn-continue]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=btn-final-consent]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=btn-final-consent]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=done-message]`)))
	screenshot(t, phone, "04_mara_done")
	waitFor(t, ctx, p, "Mara's part done live, Leo's link still out", 20*time.Second,
		`!!document.querySelector('#member-1 [data-testid=order][data-status=completed]') &&
		 !!document.querySelector('#member-2 [data-testid=order][data-status=sent]')`)
	screenshot(t, ctx, "05_case_in_progress_live")

	// Leo has no income.
	do(t, phone, "Leo consents", chromedp.Navigate(leoLink), chromedp.WaitVisible(chromedp.CSS(`[data-testid=form-consent]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=consent-checkbox]`)), chromedp.Click(chromedp.CSS(`[data-testid=btn-consent]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=btn-no-income]`)), chromedp.Click(chromedp.CSS(`[data-testid=btn-no-income]`)))
	if ok, _ := chromedp.Run(phone, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid=btn-final-consent]')`)); ok {
		do(t, phone, "Leo submits", chromedp.Click(chromedp.CSS(`[data-testid=btn-final-consent]`)))
	}
	do(t, phone, "Leo done", chromedp.WaitVisible(chromedp.CSS(`[data-testid=done-message]`)))

	waitFor(t, ctx, p, "the household completed with a report", 30*time.Second,
		`!!document.querySelector('[data-testid=order][data-status=completed] [data-testid=report-link]')`)
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`)); err != nil || !still {
		t.Fatal("the case page was reloaded")
	}
	// Each member's row says their own part: Leo has no income.
	waitFor(t, ctx, p, "Leo's own outcome", 20*time.Second,
		`[...document.querySelectorAll('[data-testid=member]')].some(m => m.textContent.includes('Leo Okafor') &&
			!!m.querySelector('[data-testid=order][data-status=completed][data-outcome=no_income]'))`)
	checkA11y(t, ctx, "case completed")
	screenshot(t, ctx, "06_case_completed_live")

	do(t, ctx, "report", chromedp.Click(chromedp.CSS(`[data-testid=report-link]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=accounts]`)))
	report := textOf(t, ctx, `main`)
	for _, want := range []string{"Household income from bank deposits", "Monthly average, 2 months", "Demo Bank", "This report expires on"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Grouped by member: whose accounts and income each row is.
	holders, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=holder]')]
		.map(h => h.querySelector('[data-testid=holder-name]').innerText + ': ' + (h.querySelector('[data-testid=accounts]') ? 'accounts' : h.querySelector('[data-testid=holder-none]').innerText))`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(holders, " | ") != "Mara Okafor: accounts | Leo Okafor: No bank accounts connected: no income." {
		t.Errorf("report by member: %q", holders)
	}
	checkA11y(t, ctx, "household report")
	screenshot(t, ctx, "07_report")

	// Renewals: both members' last verification is the household order.
	do(t, ctx, "renewals", chromedp.Navigate(p.URL+"/renewals"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=due-case]`)))
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid=due-member]')].map(r => r.innerText)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("due members: %q", rows)
	}
	for _, r := range rows {
		if !strings.Contains(r, "Income with Payscore, completed today") {
			t.Errorf("due member %q lacks the household verification", r)
		}
	}
	screenshot(t, ctx, "08_renewals")
}

package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_Renewals: a case due for recertification whose member has a
// completed Truv verification; with the list narrowed to 30 days, "Renew
// this case" refreshes it without the applicant, the progress bar runs to
// the end, the member's row goes from waiting to "Refreshed" and shows the
// new income beside the previous one without a reload, and the 30-day
// window stays.
func TestBrowser_Renewals(t *testing.T) {
	// The refresh's result comes by webhook after SANDBOX_DELAY: a full
	// second keeps it behind the page's first render on a fast machine, so
	// the row is seen waiting before it is seen refreshed.
	p := startPortal(t, map[string]string{"SANDBOX_DELAY": "1s"})
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

	// The caseworker narrows the list to 30 days; the case is due in 14.
	do(t, ctx, "renewals", chromedp.Navigate(p.URL+"/renewals"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=due-case]`)),
		chromedp.SetValue(chromedp.CSS(`#window`), "30"), chromedp.Submit(chromedp.CSS(`#window`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=due-case]`)))
	if got := textOf(t, ctx, `[data-testid=due-member]`); !strings.Contains(got, "Income with Truv, completed today") {
		t.Fatalf("due member: %q", got)
	}
	checkA11y(t, ctx, "renewals")
	screenshot(t, ctx, "01_due")
	do(t, ctx, "renew this case", chromedp.Click(chromedp.CSS(`[data-testid=renew-case]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=renewal-progress]`)))
	// From here the page is not reloaded: a mark on the window object would
	// not survive a reload, and every status the member's row shows is
	// recorded as the live region swaps.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		window.cvNoReload = true;
		const status = () => { const s = document.querySelector('[data-testid=renewal-status]'); return s ? s.textContent.trim() : ''; };
		window.cvSeen = [status()];
		new MutationObserver(() => { const s = status(); if (s !== window.cvSeen[window.cvSeen.length - 1]) window.cvSeen.push(s); })
			.observe(document.body, {childList: true, subtree: true, characterData: true});
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "02_running")
	// The refresh's result comes by webhook; the row shows it by itself.
	waitFor(t, ctx, p, "the refreshed row and comparison without a reload", 30*time.Second,
		`window.cvNoReload === true && document.querySelector('[data-testid=renewal-progress]').dataset.status === 'done' &&
		 document.querySelector('[data-testid=renewal-status]').textContent.trim() === 'Refreshed' && !!document.querySelector('[data-testid=compare]')`)
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.cvSeen`))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 || seen[0] == "Refreshed" || seen[len(seen)-1] != "Refreshed" {
		t.Errorf("the member's row went %q; want a waiting status first, then Refreshed", seen)
	}
	for _, s := range seen[:max(0, len(seen)-1)] {
		if s != "Waiting" && s != "Working" && s != "Refresh requested" {
			t.Errorf("the member's row showed %q before its outcome (went %q)", s, seen)
		}
	}
	// The chosen window stays: after the POST and every live swap.
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#window`))); err != nil || v != "30" {
		t.Errorf("window after the run: %q (%v), want 30", v, err)
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "window=30") {
		t.Errorf("location after the run: %q (%v)", loc, err)
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

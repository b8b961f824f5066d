package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_CommunityEngagement: a Medicaid case, a Truv verification
// finished in the emulator, and the community engagement check it feeds:
// the panel on the report (and its printable page and PDF), the member's
// result on the case page, the case list filter. axe finds nothing.
func TestBrowser_CommunityEngagement(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "2026-CE-1", "medicaid")
	addMember(t, ctx, member{first: "Rosa", last: "Alvarez", rel: "self", email: "rosa.alvarez@example.org"})
	do(t, ctx, "send Truv by email", chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.Click(chromedp.CSS(`#provider-truv`)), chromedp.Click(chromedp.CSS(`#channel-email`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=order]`)))
	// Weekly pay: the pay periods run across month ends, split by days.
	if got := textOf(t, ctx, `[data-testid=case-engagement-row]`); !strings.Contains(got, "No income report yet") {
		t.Errorf("before the report: %q", got)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}
	finishTruvByEmail(t, ctx, p.URL, "hourly.part-time")
	waitFor(t, ctx, p, "the report link", 30*time.Second, `!!document.querySelector('[data-testid=report-link]')`)

	// The case page, open since the link went out, gets the result live.
	waitFor(t, ctx, p, "the result on the case page", 20*time.Second,
		`(document.querySelector('[data-testid=case-engagement-row]')?.textContent || '').includes('Met')`)
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`)); err != nil || !still {
		t.Fatal("the case page was reloaded")
	}
	if got := textOf(t, ctx, `[data-testid=case-engagement-row]`); !strings.Contains(got, "Rosa Alvarez") || !strings.Contains(got, "Met") ||
		!strings.Contains(got, "At application") {
		t.Errorf("case page engagement row = %q", got)
	}
	checkA11y(t, ctx, "case page with the engagement result")
	screenshot(t, ctx, "01_case_page")

	do(t, ctx, "report", chromedp.Click(chromedp.CSS(`[data-testid=report-link]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=engagement]`)))
	panel := textOf(t, ctx, `[data-testid=engagement]`)
	lastMonth := time.Now().AddDate(0, 0, -time.Now().Day()).Format("January 2006")
	for _, want := range []string{
		"Community engagement", "Result", "Met", lastMonth, "Hours and income",
		"A month meets the requirement with at least 80 hours of work or at least $580.00 of gross income (80 hours at $7.25 an hour), and pay for a period that runs into another month counts in each month by its days there.",
		"Acme Health Services", "From the Truv report of",
		"This is a decision aid, not an eligibility determination: the caseworker decides and records the decision.",
	} {
		if !strings.Contains(panel, want) {
			t.Errorf("panel lacks %q:\n%s", want, panel)
		}
	}
	months, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid=engagement-month]`)))
	if err != nil || len(months) != 1 {
		t.Fatalf("%d month rows (%v), want 1 (the default look-back)", len(months), err)
	}
	checkA11y(t, ctx, "report with the engagement panel")
	screenshot(t, ctx, "02_report")
	shot, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`[data-testid=engagement]`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shotDir(t), "TestBrowser_CommunityEngagement_03_panel.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// The portal's PDF of the check.
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid=engagement-pdf]`), "href"))
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+jsString(href.Value)+`).then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b).slice(0, 5)))`, chromedp.EvalAwaitPromise))
	if err != nil || pdf != "%PDF-" {
		t.Fatalf("the check's PDF starts with %q (%v)", pdf, err)
	}

	// The printable page: the report and the panel, no navigation.
	do(t, ctx, "printable page", chromedp.Click(chromedp.CSS(`[data-testid=report-print]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=print]`)))
	if got := textOf(t, ctx, `main`); !strings.Contains(got, "Community engagement") || !strings.Contains(got, "Acme Health Services") {
		t.Errorf("printable page = %q", got)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.usa-nav').length`)); err != nil || n != 0 {
		t.Errorf("printable page has navigation (%d, %v)", n, err)
	}
	checkA11y(t, ctx, "printable report")
	screenshot(t, ctx, "04_printable")

	// The case list filter.
	listed := func(filter string) bool {
		t.Helper()
		do(t, ctx, "case list "+filter, chromedp.Navigate(p.URL+"/cases?engagement="+filter), chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-count]`)))
		return strings.Contains(textOf(t, ctx, `main`), "2026-CE-1")
	}
	if !listed("met") {
		t.Error("the Met filter does not list the case")
	}
	checkA11y(t, ctx, "case list filtered")
	screenshot(t, ctx, "05_case_list_met")
	if listed("not_met") {
		t.Error("the Not met filter lists the case")
	}
	assertLogFree(t, p.logs.String(), "rosa.alvarez@example.org", "goodpassword")
}

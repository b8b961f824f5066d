package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowser_Foundation walks the foundation in Chromium: sign in, create a
// case, add two members, find the case by a member's name, sign out, and the
// back button shows nothing private. axe-core checks every page visited.
func TestBrowser_Foundation(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)

	do(t, ctx, "open sign-in", chromedp.Navigate(p.URL+"/cases"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	checkA11y(t, ctx, "sign-in")
	screenshot(t, ctx, "01_sign_in")

	do(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS(`#email`), "caseworker@demo.caseverify.test"),
		chromedp.SendKeys(chromedp.CSS(`#password`), "demo-caseworker-2026"),
		chromedp.Submit(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-case]`)))
	if got := textOf(t, ctx, `[data-testid=user-name]`); got != "Casey Worker" {
		t.Fatalf("signed in as %q", got)
	}
	checkA11y(t, ctx, "empty case list")
	screenshot(t, ctx, "02_cases_empty")

	// A bad case first: the form comes back with the problems and what was typed.
	do(t, ctx, "new case form", chromedp.Click(chromedp.CSS(`[data-testid=new-case]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-form]`)))
	checkA11y(t, ctx, "new case form")
	do(t, ctx, "submit bad case",
		chromedp.SendKeys(chromedp.CSS(`#case_number`), "2026-04417"),
		chromedp.Submit(chromedp.CSS(`[data-testid=case-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=error-summary]`)))
	if got := textOf(t, ctx, `[data-testid=error-summary]`); !strings.Contains(got, "Choose the program") {
		t.Fatalf("error summary = %q", got)
	}
	val, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#case_number`)))
	if err != nil || val != "2026-04417" {
		t.Fatalf("typed case number lost: %q %v", val, err)
	}
	checkA11y(t, ctx, "case form with errors")
	screenshot(t, ctx, "03_case_form_errors")

	do(t, ctx, "create case",
		chromedp.SetValue(chromedp.CSS(`#program`), "snap"),
		chromedp.SetValue(chromedp.CSS(`#recert_due`), "2027-03-31"),
		chromedp.Submit(chromedp.CSS(`[data-testid=case-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-title]`)))
	if got := textOf(t, ctx, `[data-testid=case-title]`); got != "Case 2026-04417" {
		t.Fatalf("case title = %q", got)
	}

	addMember := func(first, last, rel, email, phone, dob, ssn4 string) {
		t.Helper()
		do(t, ctx, "add member "+first,
			chromedp.Click(chromedp.CSS(`[data-testid=add-member]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=member-form]`)),
			chromedp.SendKeys(chromedp.CSS(`#first_name`), first),
			chromedp.SendKeys(chromedp.CSS(`#last_name`), last),
			chromedp.SetValue(chromedp.CSS(`#relationship`), rel),
			chromedp.SendKeys(chromedp.CSS(`#email`), email),
			chromedp.SendKeys(chromedp.CSS(`#phone`), phone),
			chromedp.SetValue(chromedp.CSS(`#date_of_birth`), dob),
			chromedp.SendKeys(chromedp.CSS(`#ssn_last4`), ssn4))
		checkA11y(t, ctx, "member form, filled")
		do(t, ctx, "save member "+first,
			chromedp.Submit(chromedp.CSS(`[data-testid=member-form]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=household]`)))
	}
	addMember("Maria", "Canarytest", "self", "maria.canary@example.org", "(555) 201-0123", "1988-04-17", "9731")
	addMember("Luis", "Canarytest", "spouse", "luis.canary@example.org", "555-201-0456", "1986-09-02", "4410")
	members, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid=member]`)))
	if err != nil || len(members) != 2 {
		t.Fatalf("household has %d members (%v)", len(members), err)
	}
	page, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"maria.canary@example.org", "201-0123", "1988", "9731", "4410"} {
		if _, shown := logHolds(page, secret); shown {
			t.Errorf("case page shows %q before any reveal", secret)
		}
	}
	checkA11y(t, ctx, "case page")
	screenshot(t, ctx, "04_case_household")

	// Reveal one member: the values show, for that member only.
	do(t, ctx, "reveal", chromedp.Click(chromedp.CSS(`[data-testid=reveal]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=hide]`)))
	if got := textOf(t, ctx, `[data-testid=member-email]`); got != "maria.canary@example.org" {
		t.Fatalf("revealed email = %q", got)
	}
	checkA11y(t, ctx, "case page, details shown")
	screenshot(t, ctx, "05_revealed")

	// Find the case by the second member's first name.
	do(t, ctx, "search",
		chromedp.Navigate(p.URL+"/cases"),
		chromedp.SendKeys(chromedp.CSS(`#q`), "luis"),
		chromedp.Submit(chromedp.CSS(`[data-testid=case-search]`)),
		// The list shown before the search has rows too: wait for the
		// answer's page, which writes the query back into the box.
		chromedp.WaitVisible(chromedp.CSS(`#q[value="luis"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-row]`)))
	if got := textOf(t, ctx, `[data-testid=case-table]`); !strings.Contains(got, "2026-04417") || !strings.Contains(got, "Maria Canarytest") {
		t.Fatalf("search result = %q", got)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if strings.Contains(loc, "luis") {
		t.Errorf("the search term is in the URL: %s", loc)
	}
	checkA11y(t, ctx, "search results")
	screenshot(t, ctx, "06_search")
	// The search box is drawn like the filters beside it: USWDS styles every
	// type=search input as half of its search component (no right border, a
	// shorter box), which left this one looking cut off.
	box, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const q = getComputedStyle(document.querySelector('#q')), s = document.querySelector('#status');
		return [q.borderRightStyle, q.borderRightWidth, q.height, getComputedStyle(s).height].join(' ');
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(box); len(f) != 4 || f[0] != "solid" || f[1] != "1px" || f[2] != f[3] {
		t.Errorf("search box border-right style, width, height and the status filter's height = %q, want a solid 1px right border and the filter's height", box)
	}

	// Sign out from the case page, then press back: nothing private shows.
	do(t, ctx, "back to case", chromedp.Navigate(p.URL+"/cases"), chromedp.Click(chromedp.CSS(`[data-testid=case-row] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=household]`)))
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=notice]`)))
	checkA11y(t, ctx, "signed out")
	do(t, ctx, "back", chromedp.NavigateBack(), chromedp.WaitReady(chromedp.CSS(`body`)))
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body, "Canarytest") || strings.Contains(body, "2026-04417") {
		t.Fatalf("after sign-out, back shows private data: %q", body)
	}
	if !strings.Contains(body, "Sign in") {
		t.Fatalf("after sign-out, back shows %q", body)
	}
	checkA11y(t, ctx, "back after sign-out")
	screenshot(t, ctx, "07_back_after_sign_out")

	// The log never carries the members' personal data.
	assertLogFree(t, p.logs.String(), "maria.canary@example.org", "2010123", "201-0123", "1988-04-17", "9731", "4410", "luis")
}

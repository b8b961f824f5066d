package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// inTrueworkFrame runs steps inside the Truework.js stand-in's iframe (the
// emulator's widget, same origin in sandbox mode). The iframe's node is
// looked up again for every call, because each widget step is a new
// document in it.
func inTrueworkFrame(t *testing.T, ctx context.Context, p *portal, what string, steps func(frame *chromedp.Node) []chromedp.Action[chromedp.Void]) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		frames, err := chromedp.Run(wctx, chromedp.Nodes(chromedp.CSS(`[data-testid=truework-frame]`)))
		if err == nil && len(frames) > 0 && frames[0].ContentDocument != nil {
			err = chromedp.Do(wctx, steps(frames[0])...)
		}
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			screenshot(t, ctx, "failed_"+what)
			t.Fatalf("%s in the Truework frame: %v\nportal log:\n%s", what, err, p.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// twRetry runs idempotent steps again when the page's DOM changed under
// them (a node found, then replaced while the page settles).
func twRetry(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	var err error
	for range 3 {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = chromedp.Do(wctx, steps...)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	screenshot(t, ctx, "failed_"+what)
	t.Fatalf("%s: %v", what, err)
}

// TestBrowser_TrueworkLoop: a caseworker sends a Truework verification for
// SSN 000-00-0000 by email; the applicant opens the page from the outbox on
// a phone-sized second tab (Spanish), presses Start, and goes through the
// Truework.js stand-in's widget in its iframe (sign in, confirm employer,
// consent); the still-open case page shows Completed live; the report
// shows the fixture job; a reverification (within 90 days) completes by
// itself. Neither the log nor the database holds the SSN.
func TestBrowser_TrueworkLoop(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "2026-TW-1", "snap")
	do(t, ctx, "add member Taylor",
		chromedp.Click(chromedp.CSS(`[data-testid=add-member]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=member-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#first_name`), "Taylor"),
		chromedp.SendKeys(chromedp.CSS(`#last_name`), "Curtis"),
		chromedp.SetValue(chromedp.CSS(`#relationship`), "self"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "taylor.curtis@example.org"),
		chromedp.SetValue(chromedp.CSS(`#date_of_birth`), "1990-04-12"),
		chromedp.SetValue(chromedp.CSS(`#language`), "es"),
		chromedp.Submit(chromedp.CSS(`[data-testid=member-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=household]`)))

	do(t, ctx, "open send form", chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)))
	// With a short SSN the form says what is wrong, keeps the employers
	// typed, and never writes the SSN back into the page.
	twRetry(t, ctx, "choose Truework by email",
		chromedp.Click(chromedp.CSS(`label[for=provider-truework]`)),
		chromedp.Click(chromedp.CSS(`label[for=channel-email]`)),
		chromedp.WaitVisible(chromedp.CSS(`#provider-truework:checked`)))
	do(t, ctx, "send with a short SSN",
		chromedp.SendKeys(chromedp.CSS(`#ssn`), "000-00"),
		chromedp.SendKeys(chromedp.CSS(`#employers`), "Truework Demo Co"),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ssn-error`)))
	if got := textOf(t, ctx, `[data-testid=error-summary]`); !strings.Contains(got, "9-digit Social Security number") {
		t.Errorf("error summary = %q", got)
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#employers`))); err != nil || v != "Truework Demo Co" {
		t.Errorf("employers after the error = %q (%v), want what was typed", v, err)
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#ssn`))); err != nil || v != "" {
		t.Errorf("the SSN came back into the form: %q (%v)", v, err)
	}
	checkA11y(t, ctx, "send form with the SSN problem")
	screenshot(t, ctx, "01_send_form_ssn_short")
	twRetry(t, ctx, "choose Truework by email again",
		chromedp.Click(chromedp.CSS(`label[for=provider-truework]`)),
		chromedp.Click(chromedp.CSS(`label[for=channel-email]`)),
		chromedp.WaitVisible(chromedp.CSS(`#provider-truework:checked`)))
	do(t, ctx, "type the SSN", chromedp.SendKeys(chromedp.CSS(`#ssn`), "000-00-0000"))
	screenshot(t, ctx, "02_send_form_filled")
	do(t, ctx, "submit", chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=order]`)))
	status := func() string {
		s, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid=order]`), "data-status"))
		if err != nil {
			t.Fatal(err)
		}
		return s.Value
	}
	if s := status(); s != "sent" {
		t.Fatalf("order status after sending = %q, want sent", s)
	}
	checkA11y(t, ctx, "case page with a Truework order")
	screenshot(t, ctx, "03_case_sent")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}

	// The applicant, on a phone: the email in the outbox, then the page.
	phone := newTab(t, ctx)
	do(t, phone, "phone size", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	do(t, phone, "outbox", chromedp.Navigate(p.URL+"/outbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=outbox-link]`)))
	screenshot(t, phone, "04_outbox")
	do(t, phone, "open the link", chromedp.Click(chromedp.CSS(`[data-testid=outbox-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=widget-page]`)),
		chromedp.WaitEnabled(chromedp.CSS(`[data-testid=widget-start]`)))
	loc, err := chromedp.Run(phone, chromedp.Location())
	if err != nil || !strings.HasPrefix(loc, p.URL+"/v/") {
		t.Fatalf("the applicant landed on %q (%v)", loc, err)
	}
	page := textOf(t, phone, `main`)
	for _, want := range []string{"Taylor", "Demo County Human Services", "Verifique su empleo e ingresos", "Comenzar"} {
		if !strings.Contains(page, want) {
			t.Errorf("applicant page lacks %q:\n%s", want, page)
		}
	}
	for _, unwanted := range []string{"Curtis", "2026-TW-1", "0000", "example.org"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("applicant page shows %q", unwanted)
		}
	}
	checkA11y(t, phone, "applicant page")
	screenshot(t, phone, "05_applicant_page")

	do(t, phone, "start the widget", chromedp.Click(chromedp.CSS(`[data-testid=widget-start]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=truework-dialog]`)))
	inTrueworkFrame(t, phone, p, "sign in", func(f *chromedp.Node) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=username]`), chromedp.FromNode(f)),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=username]`), "taylor", chromedp.FromNode(f)),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=password]`), "any-password", chromedp.FromNode(f)),
		}
	})
	screenshot(t, phone, "06_widget_signin")
	inTrueworkFrame(t, phone, p, "submit sign-in", func(f *chromedp.Node) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid=signin-submit]`), chromedp.FromNode(f))}
	})
	inTrueworkFrame(t, phone, p, "confirm employer", func(f *chromedp.Node) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=employer-confirm]`), chromedp.FromNode(f)),
			chromedp.Click(chromedp.CSS(`[data-testid=employer-confirm]`), chromedp.FromNode(f)),
		}
	})
	inTrueworkFrame(t, phone, p, "consent", func(f *chromedp.Node) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=consent-checkbox]`), chromedp.FromNode(f)),
			chromedp.Click(chromedp.CSS(`[data-testid=consent-checkbox]`), chromedp.FromNode(f)),
		}
	})
	screenshot(t, phone, "07_widget_consent")
	inTrueworkFrame(t, phone, p, "finish", func(f *chromedp.Node) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`[data-testid=finish-submit]`), chromedp.FromNode(f))}
	})
	// onComplete closes the widget and the page says thank you.
	do(t, phone, "thank you", chromedp.WaitVisible(chromedp.CSS(`[data-testid=widget-complete]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid=widget-start]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid=truework-dialog]`)))
	if got := textOf(t, phone, `[data-testid=widget-complete]`); !strings.Contains(got, "Gracias") {
		t.Errorf("completion message = %q", got)
	}
	checkA11y(t, phone, "applicant page, done")
	screenshot(t, phone, "08_applicant_done")

	// The caseworker's page, never reloaded, shows Completed.
	deadline := time.Now().Add(30 * time.Second)
	for status() != "completed" {
		if time.Now().After(deadline) {
			screenshot(t, ctx, "failed_not_completed")
			t.Fatalf("the case page did not show Completed; status %q\nlog:\n%s", status(), p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`)); err != nil || !still {
		t.Fatal("the case page was reloaded")
	}
	waitFor(t, ctx, p, "the report link", 20*time.Second, `!!document.querySelector('[data-testid=report-link]')`)
	screenshot(t, ctx, "09_case_completed_live")

	do(t, ctx, "report", chromedp.Click(chromedp.CSS(`[data-testid=report-link]`)), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	report := textOf(t, ctx, `main`)
	for _, want := range []string{"Software Engineer", "$"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	checkA11y(t, ctx, "report")
	screenshot(t, ctx, "10_report")

	// The order page offers reverification (within 90 days); it completes
	// by itself and links to the original.
	do(t, ctx, "order page", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(`[data-testid=report-link]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=order] a`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=reverify]`)))
	timeline := textOf(t, ctx, `[data-testid=timeline]`)
	for _, want := range []string{"opened the verification page", "order.completed", "Report received"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	checkA11y(t, ctx, "completed Truework order")
	screenshot(t, ctx, "11_order_reverify_offered")
	do(t, ctx, "reverify", chromedp.Click(chromedp.CSS(`[data-testid=reverify]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=refresh-of]`)))
	waitFor(t, ctx, p, "the reverification completed", 30*time.Second,
		`document.querySelector('[data-testid=order]').getAttribute('data-status') === 'completed'`)
	checkA11y(t, ctx, "reverification order")
	screenshot(t, ctx, "12_reverification_completed")

	// A canceled Truework order cannot get a one-click new link (a new order
	// needs the full SSN again): its page leads to the send form with
	// Truework and the same products chosen.
	loc, err = chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	caseURL := loc[:strings.Index(loc, "/orders/")]
	do(t, ctx, "a second Truework order, link shown",
		chromedp.Navigate(caseURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)))
	twRetry(t, ctx, "choose Truework, show the link",
		chromedp.Click(chromedp.CSS(`label[for=provider-truework]`)),
		chromedp.Click(chromedp.CSS(`label[for=channel-copy]`)),
		chromedp.WaitVisible(chromedp.CSS(`#channel-copy:checked`)))
	do(t, ctx, "send it",
		chromedp.SendKeys(chromedp.CSS(`#ssn`), "000-00-0000"),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=cancel-order]`)))
	// "Show the link" shows the portal's short tracked link, not Truework's,
	// and the code grouped for reading aloud; typed as heard (lower case,
	// with the dashes) it opens the applicant's page.
	shown, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid=applicant-link]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(p.URL) + `/l/[A-HJ-NP-Z2-9]{12}$`).MatchString(shown) {
		t.Errorf("the shown link %q is not the portal's short /l/ link", shown)
	}
	aloud := textOf(t, ctx, `[data-testid=read-aloud]`)
	host := strings.TrimPrefix(p.URL, "http://")
	if code := shown[strings.LastIndex(shown, "/")+1:]; code != "" && len(code) == 12 &&
		aloud != host+"/l/"+code[:4]+"-"+code[4:8]+"-"+code[8:] {
		t.Errorf("to read out: %q, want %s/l/ and %s in groups of 4", aloud, host, code)
	}
	caller := newTab(t, ctx)
	do(t, caller, "the applicant types the link read out", chromedp.Navigate("http://"+strings.ToLower(aloud)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=widget-page]`)))
	do(t, ctx, "ask to cancel", chromedp.Click(chromedp.CSS(`[data-testid=cancel-order]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=confirm-cancel]`)))
	checkA11y(t, ctx, "cancel confirmation")
	screenshot(t, ctx, "12b_cancel_confirm")
	do(t, ctx, "cancel it", chromedp.Click(chromedp.CSS(`[data-testid=confirm-cancel]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-verification-link]`)))
	if n, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(`[data-testid=new-link]`), chromedp.AtLeast(0))); err != nil || len(n) != 0 {
		t.Errorf("a canceled Truework order offers a one-click new link (%d, %v)", len(n), err)
	}
	checkA11y(t, ctx, "canceled Truework order")
	screenshot(t, ctx, "13_canceled_new_verification")
	do(t, ctx, "start a new verification", chromedp.Click(chromedp.CSS(`[data-testid=new-verification-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)))
	for _, sel := range []string{`#provider-truework:checked`, `#product-income:checked`} {
		if n, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(sel), chromedp.AtLeast(0))); err != nil || len(n) != 1 {
			t.Errorf("the send form from a canceled order lacks %s (%v)", sel, err)
		}
	}

	// The SSN was typed once and is nowhere: not in the log, not in any
	// database file (the WAL included).
	logs := p.logs.String()
	files, _ := filepath.Glob(filepath.Join(p.Dir, "caseverify.db*"))
	if len(files) == 0 || !strings.Contains(logs, "/webhooks/:provider") {
		t.Fatalf("nothing to scan: %d files, log captured %v", len(files), strings.Contains(logs, "/webhooks/:provider"))
	}
	// The digits stand alone or dashed; a run of nine zeros after a "." is
	// the fraction of a whole-second timestamp (Truework's times), not it.
	ssn := regexp.MustCompile(`(^|[^0-9.])000-?00-?0000([^0-9]|$)`)
	if m := ssn.FindString(logs); m != "" {
		t.Errorf("the log holds the SSN: %q", m)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if loc := ssn.FindIndex(b); loc != nil {
			t.Errorf("%s holds the SSN: %q", filepath.Base(f), b[max(0, loc[0]-80):min(len(b), loc[1]+80)])
		}
	}
	if !ssn.MatchString("ssn=000000000&") || !ssn.MatchString(`"000-00-0000"`) || ssn.MatchString("05.000000000Z") {
		t.Fatal("the SSN pattern does not work")
	}
	assertLogFree(t, logs, "taylor.curtis@example.org", "any-password")
}

package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// truuthRow is a JavaScript expression for the Truuth order's row on the
// case page (the member also has a Truv order).
const truuthRow = `Array.from(document.querySelectorAll('[data-testid=order]')).find(o => o.textContent.includes('with Truuth'))`

// TestBrowser_TruuthIdentityByQR is issue 7's loop in Chromium: a member gets
// a Truv income verification and then a Truuth identity check by QR code; the
// caseworker reads the link off the QR page, the applicant opens it on their
// phone (a second tab) and walks the emulator's consent, document, selfie and
// result pages choosing pass; the case page, never reloaded, shows the
// identity Completed and approved, the roll-up counts both verifications,
// and the report lists each proofing check, with its PDF.
func TestBrowser_TruuthIdentityByQR(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "2026-TRUUTH-1", "snap")
	addMember(t, ctx, member{first: "Rosa", last: "Okafor", rel: "self", email: "rosa.okafor@example.org", phone: "555-201-0777"})

	// Income first, with Truv, by email.
	do(t, ctx, "send Truv income",
		chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.Click(chromedp.CSS(`label[for=provider-truv]`)),
		chromedp.Click(chromedp.CSS(`label[for=channel-email]`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=order]`)))

	// Then identity, with Truuth, by QR code.
	do(t, ctx, "open send form again", chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)))
	do(t, ctx, "choose Truuth identity by QR",
		chromedp.Click(chromedp.CSS(`label[for=provider-truuth]`)),
		chromedp.Click(chromedp.CSS(`label[for=product-income]`)), // checked by default
		chromedp.Click(chromedp.CSS(`label[for=product-identity]`)),
		chromedp.Click(chromedp.CSS(`label[for=channel-qr]`)))
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`['provider-truuth','product-income','product-identity','channel-qr'].map(id => id + '=' + document.getElementById(id).checked).join(' ')`))
	if err != nil || checked != "provider-truuth=true product-income=false product-identity=true channel-qr=true" {
		t.Fatalf("form state %q (%v)", checked, err)
	}
	if got := textOf(t, ctx, `label[for=provider-truuth]`); !strings.Contains(got, "Truuth") || !strings.Contains(got, "Identity") {
		t.Errorf("Truuth's choice reads %q", got)
	}
	checkA11y(t, ctx, "send form with Truuth")
	screenshot(t, ctx, "01_send_form_truuth_qr")
	do(t, ctx, "send", chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=qr-page]`)))
	link := strings.TrimSpace(textOf(t, ctx, `[data-testid=qr-link]`))
	// The QR code opens the portal's tracked link, which forwards to
	// Truuth's invite (checked when the phone opens it below).
	if !strings.HasPrefix(link, p.URL+"/l/") {
		t.Fatalf("QR link %q", link)
	}
	if got := textOf(t, ctx, `main`); !strings.Contains(got, "Rosa, scan this code") || !strings.Contains(got, "The link works until") {
		t.Errorf("QR page reads %q", got)
	}
	checkA11y(t, ctx, "QR page")
	screenshot(t, ctx, "02_qr_page")

	// Back to the case page, which stays open from here on.
	path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	casePath := regexp.MustCompile(`^/cases/\d+`).FindString(path)
	if casePath == "" {
		t.Fatalf("QR page path %q", path)
	}
	do(t, ctx, "case page", chromedp.Navigate(p.URL+casePath), chromedp.WaitVisible(chromedp.CSS(`[data-testid=rollup]`)))
	waitFor(t, ctx, p, "two orders", 5*time.Second, `document.querySelectorAll('[data-testid=order]').length === 2 && !!(`+truuthRow+`)`)
	if got := rowText(t, ctx); !strings.Contains(got, "Identity with Truuth") || !strings.Contains(got, "Link sent") {
		t.Errorf("Truuth row reads %q", got)
	}
	if got := textOf(t, ctx, `[data-testid=rollup]`); got != "0 of 2 verifications completed, 2 in progress." {
		t.Errorf("roll-up with two sent = %q", got)
	}
	checkA11y(t, ctx, "case page with income and identity sent")
	screenshot(t, ctx, "03_case_two_sent")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}

	// The applicant's phone: the hosted identity check.
	phone := newTab(t, ctx)
	do(t, phone, "open the QR link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-testid=consent-form]`)))
	if at, err := chromedp.Run(phone, chromedp.Location()); err != nil || !strings.HasPrefix(at, p.URL+"/sandbox/truuth/verify/") {
		t.Fatalf("the QR link led to %q (%v), want Truuth's invite", at, err)
	}
	if got := textOf(t, phone, `[data-testid=progress]`); got != "Step 1 of 4" {
		t.Errorf("progress %q", got)
	}
	checkA11y(t, phone, "Truuth consent")
	screenshot(t, phone, "04_applicant_consent")
	do(t, phone, "consent", chromedp.Click(chromedp.CSS(`[data-testid=consent-checkbox]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=start-button]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=document-form]`)))
	checkA11y(t, phone, "Truuth document")
	screenshot(t, phone, "05_applicant_document")
	// The caseworker sees the applicant start, live.
	waitFor(t, ctx, p, "Truuth in progress", 15*time.Second, `(`+truuthRow+`)?.dataset.status === 'in_progress'`)
	do(t, phone, "document", chromedp.Click(chromedp.CSS(`[data-testid=document-sample]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=selfie-form]`)))
	screenshot(t, phone, "06_applicant_selfie")
	do(t, phone, "selfie", chromedp.Click(chromedp.CSS(`[data-testid=selfie-sample]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=outcome-form]`)))
	checkA11y(t, phone, "Truuth result choice")
	screenshot(t, phone, "07_applicant_outcome")
	do(t, phone, "finish with pass", chromedp.Click(chromedp.CSS(`[data-testid=scenario-pass]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=finish-button]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=done-message]`)))
	if got := textOf(t, phone, `[data-testid=sandbox-result]`); !strings.Contains(got, "Pass") {
		t.Errorf("done page: %q", got)
	}
	screenshot(t, phone, "08_applicant_done")

	// The caseworker's page, never reloaded.
	waitFor(t, ctx, p, "Truuth completed", 30*time.Second, `(`+truuthRow+`)?.dataset.status === 'completed'`)
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`)); err != nil || !still {
		t.Fatal("the case page was reloaded")
	}
	waitFor(t, ctx, p, "the identity report link", 20*time.Second, `!!(`+truuthRow+`)?.querySelector('[data-testid=report-link]')`)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(`+truuthRow+`).querySelector('[data-testid=order-status]').textContent.replace(/\s+/g, ' ').trim()`))
	if err != nil || status != "Completed · approved" {
		t.Errorf("Truuth status tag %q (%v)", status, err)
	}
	if got := textOf(t, ctx, `[data-testid=rollup]`); got != "1 of 2 verifications completed, 1 in progress." {
		t.Errorf("roll-up = %q", got)
	}
	if got := textOf(t, ctx, `[data-testid=case-status]`); got == "Completed" {
		t.Errorf("case status %q while the income verification is open", got)
	}
	checkA11y(t, ctx, "case page with identity approved")
	screenshot(t, ctx, "09_case_identity_approved_live")

	// The identity report: every proofing check, and the PDF.
	do(t, ctx, "report", chromedp.Evaluate[chromedp.Void](`(`+truuthRow+`).querySelector('[data-testid=report-link]').click()`),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=checks]`)))
	if got := textOf(t, ctx, `#identity`); got != "Identity: approved" {
		t.Errorf("report heading %q", got)
	}
	checks := textOf(t, ctx, `[data-testid=checks]`)
	for _, want := range []string{"Document: Pass", "Face match: Pass", "Liveness: Pass", "Address: Pass"} {
		if !strings.Contains(checks, want) {
			t.Errorf("checks lack %q: %s", want, checks)
		}
	}
	if got := textOf(t, ctx, `main`); !strings.Contains(got, "Truuth") || !strings.Contains(got, "Rosa Okafor") {
		t.Errorf("report page reads %q", got)
	}
	checkA11y(t, ctx, "identity report")
	screenshot(t, ctx, "10_identity_report")
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid=report-pdf]`), "href"))
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+jsString(href.Value)+`).then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b).slice(0, 5)))`, chromedp.EvalAwaitPromise))
	if err != nil || pdf != "%PDF-" {
		t.Fatalf("PDF starts with %q (%v)", pdf, err)
	}

	// The order page: the timeline from QR to Biopass.
	do(t, ctx, "order page", chromedp.Click(chromedp.CSS(`main a.usa-link`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=timeline]`)))
	timeline := textOf(t, ctx, `[data-testid=timeline]`)
	for _, want := range []string{"QR code shown", "Callback", "IN_PROGRESS", "DONE", "Identity approved", "Biopass User Provisioning", "Report received"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	checkA11y(t, ctx, "identity order page")
	screenshot(t, ctx, "11_identity_order_timeline")

	assertLogFree(t, p.logs.String(), "rosa.okafor@example.org", "5552010777", "Okafor")
}

// rowText is the Truuth row's text, whitespace collapsed.
func rowText(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(`+truuthRow+`).textContent.replace(/\s+/g, ' ').trim()`))
	if err != nil {
		t.Fatalf("Truuth row: %v", err)
	}
	return s
}

// sendTruuthByQR sends the case's only member a Truuth identity check by QR
// code and returns the link written out on the QR page and the order id.
func sendTruuthByQR(t *testing.T, ctx context.Context, p *portal) (link, orderID string) {
	t.Helper()
	do(t, ctx, "send Truuth identity by QR",
		chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.Click(chromedp.CSS(`label[for=provider-truuth]`)),
		chromedp.Click(chromedp.CSS(`label[for=product-income]`)),
		chromedp.Click(chromedp.CSS(`label[for=product-identity]`)),
		chromedp.Click(chromedp.CSS(`label[for=channel-qr]`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=qr-page]`)))
	link = strings.TrimSpace(textOf(t, ctx, `[data-testid=qr-link]`))
	path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^(/cases/\d+)/orders/(\d+)/qr$`).FindStringSubmatch(path)
	if m == nil || !strings.HasPrefix(link, p.URL+"/l/") {
		t.Fatalf("QR page %q shows %q", path, link)
	}
	do(t, ctx, "back to the case", chromedp.Navigate(p.URL+m[1]), chromedp.WaitVisible(chromedp.CSS(`#order-`+m[2])))
	return link, m[2]
}

// walkTruuth plays the applicant through the emulator's pages to scenario.
func walkTruuth(t *testing.T, phone context.Context, link, scenario string) {
	t.Helper()
	do(t, phone, "applicant walks to "+scenario,
		chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`[data-testid=consent-form]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=consent-checkbox]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=start-button]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=document-form]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=document-sample]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=selfie-form]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=selfie-sample]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=outcome-form]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=scenario-`+scenario+`]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=finish-button]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=done-message]`)))
}

// TestBrowser_TruuthOutcomes: the other three sandbox outcomes, as the
// caseworker sees them live on the case page and then in the report:
// warning → "Completed · needs review" with the address check marked
// Warning; fail → "Completed · rejected" with the document check marked
// Fail; error → "Failed" and no report.
func TestBrowser_TruuthOutcomes(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "2026-TRUUTH-2", "medicaid")
	addMember(t, ctx, member{first: "Jon", last: "Ibarra", rel: "self", email: "jon.ibarra@example.org"})
	phone := newTab(t, ctx)
	for _, tc := range []struct {
		scenario, status, tag, heading, check, detail string
	}{
		{"warning", "completed", "Completed · needs review", "Identity: needs review", "Address: Warning", "Needs review: address check warned"},
		{"fail", "completed", "Completed · rejected", "Identity: rejected", "Document: Fail", "Rejected: document check failed"},
		{"error", "failed", "Failed", "", "", "Truuth could not complete the verification"},
	} {
		link, oid := sendTruuthByQR(t, ctx, p)
		row := `document.querySelector('#order-` + oid + ` [data-testid=order]')`
		walkTruuth(t, phone, link, tc.scenario)
		waitFor(t, ctx, p, tc.scenario+" shown live", 30*time.Second, row+`?.dataset.status === '`+tc.status+`'`)
		if tc.heading != "" {
			waitFor(t, ctx, p, tc.scenario+" report link", 20*time.Second, `!!`+row+`?.querySelector('[data-testid=report-link]')`)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](row+`.textContent.replace(/\s+/g, ' ').trim()`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, tc.tag+" Identity with Truuth") || !strings.Contains(got, tc.detail) {
			t.Errorf("%s: row reads %q, want tag %q and detail %q", tc.scenario, got, tc.tag, tc.detail)
		}
		checkA11y(t, ctx, "case page after "+tc.scenario)
		screenshot(t, ctx, "case_"+tc.scenario)
		if tc.heading == "" {
			if has, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!`+row+`.querySelector('[data-testid=report-link]')`)); has {
				t.Errorf("%s: a failed verification offers a report", tc.scenario)
			}
			continue
		}
		do(t, ctx, tc.scenario+" report", chromedp.Evaluate[chromedp.Void](row+`.querySelector('[data-testid=report-link]').click()`),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid=checks]`)))
		if h := textOf(t, ctx, `#identity`); h != tc.heading {
			t.Errorf("%s: report heading %q, want %q", tc.scenario, h, tc.heading)
		}
		if checks := textOf(t, ctx, `[data-testid=checks]`); !strings.Contains(checks, tc.check) {
			t.Errorf("%s: checks %q lack %q", tc.scenario, checks, tc.check)
		}
		checkA11y(t, ctx, tc.scenario+" report")
		screenshot(t, ctx, "report_"+tc.scenario)
		do(t, ctx, "back to the case", chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(`[data-testid=household]`)))
	}
	if got := textOf(t, ctx, `[data-testid=rollup]`); got != "0 of 3 verifications completed, 1 needs review, 1 rejected, 1 ended without a result." {
		t.Errorf("roll-up = %q", got)
	}
}

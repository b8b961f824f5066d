package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// intakeFile is a CSV of two households and one bad row (line 5: an email
// and a date of birth the member form refuses).
const intakeFile = `case_number,program,recert_due,first_name,last_name,relationship,date_of_birth,email,phone,language
CSV-1,snap,2027-01-31,Ana,Ruiz,self,1985-02-03,ana.ruiz@example.org,,es
CSV-1,snap,2027-01-31,Leo,Ruiz,child,2015-06-07,,,es
CSV-2,medicaid,03/15/2027,Sam,Lee,,04/05/1990,sam.lee@example.org,(555) 201-0123,en
CSV-3,snap,,Bo,Park,self,1990-02-30,not-an-email,,en
`

// uploadIntake uploads the file from the import page and waits for its
// preview.
func uploadIntake(t *testing.T, ctx context.Context, p *portal, path string) {
	t.Helper()
	// USWDS rebuilds the file input around it when its script runs: the
	// file is set once that is done (its drop target is there), or the
	// rebuild could lose it.
	do(t, ctx, "upload the CSV", chromedp.Navigate(p.URL+"/imports"), chromedp.WaitVisible(chromedp.CSS(`.usa-file-input__target`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{path}),
		chromedp.Click(chromedp.CSS(`[data-testid=intake-upload]`)))
	waitFor(t, ctx, p, "the preview", 30*time.Second, `!!document.querySelector('[data-testid=intake-preview]')`)
}

// TestBrowser_IntakeAndBulkSend: a caseworker uploads a CSV with a bad row;
// the preview names its line and columns before anything is written; the
// valid rows are imported (with the progress and result shown); the same
// file imported again changes nothing and says so. Then the imported batch
// gets verifications by email in one bulk send, whose progress moves live
// (no reload) to the end, the member without an email skipped with the
// reason. The case list's checkboxes offer a case's members the same way.
func TestBrowser_IntakeAndBulkSend(t *testing.T) {
	// One send a second per provider: the progress is seen moving.
	p := startPortal(t, map[string]string{"RENEWAL_RATE": "1"})
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	file := filepath.Join(t.TempDir(), "households.csv")
	if err := os.WriteFile(file, []byte(intakeFile), 0o600); err != nil {
		t.Fatal(err)
	}

	do(t, ctx, "import page", chromedp.Navigate(p.URL+"/imports"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=intake-form]`)))
	checkA11y(t, ctx, "import")
	screenshot(t, ctx, "01_import_form")

	uploadIntake(t, ctx, p, file)
	problems := textOf(t, ctx, `[data-testid=intake-problems]`)
	for _, want := range []string{"Enter an email address", "date of birth"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %q lack %q", problems, want)
		}
	}
	for _, col := range []string{"email", "date_of_birth"} {
		waitFor(t, ctx, p, "line 5 "+col, 5*time.Second,
			`!!document.querySelector('[data-testid=intake-problem][data-line="5"][data-column="`+col+`"]')`)
	}
	if got := textOf(t, ctx, `[data-testid=intake-counts]`); !strings.Contains(got, "3 valid rows: 2 new cases, 3 new members, 0 already") ||
		!strings.Contains(got, "1 row with problems") {
		t.Errorf("counts: %q", got)
	}
	// Nothing is written before the import.
	do(t, ctx, "case list before", chromedp.Navigate(p.URL+"/cases"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-count]`)))
	if got := textOf(t, ctx, `main`); strings.Contains(got, "CSV-1") {
		t.Fatal("the preview wrote case CSV-1")
	}
	uploadIntake(t, ctx, p, file)
	checkA11y(t, ctx, "import preview")
	screenshot(t, ctx, "02_preview_bad_row")

	do(t, ctx, "import the valid rows", chromedp.Click(chromedp.CSS(`label[for=mode-valid]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=intake-import]`)))
	waitFor(t, ctx, p, "the import's result", 30*time.Second,
		`!!document.querySelector('[data-testid=intake-result][data-status=imported]')`)
	if got := textOf(t, ctx, `[data-testid=intake-summary]`); got != "Added 2 cases and 3 members. 1 row with problems skipped." {
		t.Errorf("summary: %q", got)
	}
	checkA11y(t, ctx, "import result")
	screenshot(t, ctx, "03_imported")

	// The same file again: nothing changes, and the page says so.
	uploadIntake(t, ctx, p, file)
	if got := textOf(t, ctx, `[data-testid=intake-counts]`); !strings.Contains(got, "0 new cases, 0 new members, 3 already in the portal") {
		t.Errorf("second preview: %q", got)
	}
	do(t, ctx, "import again", chromedp.Click(chromedp.CSS(`[data-testid=intake-import]`)))
	waitFor(t, ctx, p, "the second import's result", 30*time.Second,
		`!!document.querySelector('[data-testid=intake-result][data-status=imported]')`)
	if got := textOf(t, ctx, `[data-testid=intake-summary]`); got != "Nothing changed: every row is already in the portal. 1 row with problems skipped." {
		t.Errorf("second summary: %q", got)
	}
	screenshot(t, ctx, "04_reimported_nothing_changed")

	// Bulk send to the imported batch.
	do(t, ctx, "bulk send form", chromedp.Click(chromedp.CSS(`[data-testid=intake-bulk-send]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=bulk-form]`)))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=bulk-member] input:checked').length`)); err != nil || n != 3 {
		t.Fatalf("checked members: %d (%v)", n, err)
	}
	do(t, ctx, "choose Truv and email", chromedp.SetValue(chromedp.CSS(`#provider`), "truv"), chromedp.SetValue(chromedp.CSS(`#channel`), "email"))
	evalJS(t, ctx, `document.querySelectorAll('[name=products]').forEach(c => c.checked = c.value === 'income')`)
	checkA11y(t, ctx, "bulk send form")
	screenshot(t, ctx, "05_bulk_form")
	do(t, ctx, "send", chromedp.Click(chromedp.CSS(`[data-testid=bulk-send]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=bulk-progress]`)))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => {
		window.cvNoReload = true;
		const rem = () => { const r = document.querySelector('[data-testid=remaining]'); return r ? r.textContent.trim() : ''; };
		window.cvRemaining = [rem()];
		new MutationObserver(() => { const r = rem(); if (r !== window.cvRemaining[window.cvRemaining.length - 1]) window.cvRemaining.push(r); })
			.observe(document.body, {childList: true, subtree: true, characterData: true});
		return true;
	})()`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "06_bulk_running")
	checkA11y(t, ctx, "bulk send running")
	waitFor(t, ctx, p, "the bulk send done without a reload", 60*time.Second,
		`window.cvNoReload === true && document.querySelector('[data-testid=bulk-progress]').dataset.status === 'done'`)
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.cvRemaining`))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 2 || seen[0] == "0" || seen[len(seen)-1] != "0" {
		t.Errorf("remaining went %q; want it to count down to 0 live", seen)
	}
	if got := textOf(t, ctx, `[data-testid=bulk-counts]`); !strings.Contains(got, "Sent 2") || !strings.Contains(got, "Skipped 1") || !strings.Contains(got, "Failed 0") {
		t.Errorf("counts: %q", got)
	}
	if got := textOf(t, ctx, `[data-testid=bulk-item][data-status=skipped]`); !strings.Contains(got, "Leo Ruiz") || !strings.Contains(got, "No email address") {
		t.Errorf("skipped row: %q", got)
	}
	checkA11y(t, ctx, "bulk send done")
	screenshot(t, ctx, "07_bulk_done")
	// The links went out by email (the sandbox outbox).
	do(t, ctx, "outbox", chromedp.Navigate(p.URL+"/outbox"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	if got := textOf(t, ctx, `main`); !strings.Contains(got, "Email to a•••@example.org") || !strings.Contains(got, "Hola, Ana") ||
		!strings.Contains(got, "Email to s•••@example.org") || !strings.Contains(got, "Hello Sam") {
		t.Errorf("outbox: %q", got)
	}

	// From the case list: tick a case, and its members are offered.
	do(t, ctx, "case list", chromedp.Navigate(p.URL+"/cases"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-table]`)))
	checkA11y(t, ctx, "case list with checkboxes")
	screenshot(t, ctx, "08_case_list_select")
	evalJS(t, ctx, `[...document.querySelectorAll('[data-testid=case-row]')].find(r => r.textContent.includes('CSV-1')).querySelector('label.usa-checkbox__label').click()`)
	do(t, ctx, "send to the selected case", chromedp.Click(chromedp.CSS(`[data-testid=bulk-selected]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=bulk-form]`)))
	if got := textOf(t, ctx, `[data-testid=bulk-form]`); !strings.Contains(got, "Ana Ruiz") || !strings.Contains(got, "Leo Ruiz") || strings.Contains(got, "Sam Lee") {
		t.Errorf("members offered for CSV-1: %q", got)
	}
}

// evalJS runs a statement on the page.
func evalJS(t *testing.T, ctx context.Context, stmt string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { `+stmt+`; return true; })()`)); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

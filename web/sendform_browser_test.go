package main

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowser_SendFormDisclosure: the send form shows a provider's own
// fields (Truework's SSN) and its sandbox test details only once that
// provider is chosen, with JavaScript turned off too.
func TestBrowser_SendFormDisclosure(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "2026-FORM-1", "snap")
	addMember(t, ctx, member{first: "Ines", last: "Park", rel: "self", email: "ines@example.org"})
	do(t, ctx, "open send form", chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)))
	checkA11y(t, ctx, "send form")
	screenshot(t, ctx, "01_default")
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	visible := func(sel string) bool {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const el = document.querySelector('`+sel+`');
			return !!el && el.getClientRects().length > 0; })()`))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "reload without JavaScript", chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)))
	if ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!window.htmx`)); ok {
		t.Fatal("page scripts still ran")
	}
	do(t, ctx, "choose Truv", chromedp.Click(chromedp.CSS(`label[for=provider-truv]`)))
	if visible(`[data-testid=provider-fields-truework]`) || visible(`[data-testid=sandbox-hint-truework]`) {
		t.Error("Truework's fields show while Truv is chosen")
	}
	if !visible(`[data-testid=sandbox-hint-truv]`) {
		t.Error("Truv's sandbox test details do not show when it is chosen")
	}
	do(t, ctx, "choose Truework", chromedp.Click(chromedp.CSS(`label[for=provider-truework]`)))
	if !visible(`[data-testid=provider-fields-truework]`) || !visible(`#ssn`) {
		t.Error("Truework's fields do not show when it is chosen")
	}
	if got := textOf(t, ctx, `[data-testid=sandbox-hint-truework]`); !strings.Contains(got, "000-00-0000") {
		t.Errorf("Truework's sandbox hint %q", got)
	}
	if visible(`[data-testid=sandbox-hint-truv]`) {
		t.Error("Truv's sandbox details still show after choosing Truework")
	}
	screenshot(t, ctx, "02_truework_chosen_no_js")
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}
	checkA11y(t, ctx, "send form, Truework chosen")
}

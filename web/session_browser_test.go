package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowser_SignedOutBanner: an open case page whose session is signed out
// in another tab says so (instead of going quiet), and keeps what it showed.
func TestBrowser_SignedOutBanner(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "2026-OUT-1", "snap")
	addMember(t, ctx, member{first: "Ada", last: "Quinn", rel: "self", email: "ada@example.org"})
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}

	other := newTab(t, ctx)
	do(t, other, "sign out in another tab", chromedp.Navigate(p.URL+"/cases"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=sign-out]`)), chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)),
		chromedp.WaitVisible(chromedp.CSS(`#email`)))

	// The stream checks the session on its next ping (20 s).
	waitFor(t, ctx, p, "the signed-out banner", 40*time.Second, `!!document.querySelector('[data-testid=signed-out]')`)
	if got := textOf(t, ctx, `[data-testid=signed-out]`); !strings.Contains(got, "You were signed out; sign in again to see live updates.") {
		t.Errorf("banner %q", got)
	}
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true && document.body.innerText.includes('Ada Quinn')`)); err != nil || !still {
		t.Error("the page was reloaded or lost its content")
	}
	checkA11y(t, ctx, "signed-out banner")
	screenshot(t, ctx, "01_signed_out")
}

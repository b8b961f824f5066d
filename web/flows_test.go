package main

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// Steps that several browser tests share.

func signIn(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	do(t, ctx, "sign in as "+email,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=new-case]`)))
}

func signInCaseworker(t *testing.T, ctx context.Context, base string) {
	signIn(t, ctx, base, "caseworker@demo.caseverify.test", "demo-caseworker-2026")
}

// createCase creates a case from the case list and leaves the browser on it.
func createCase(t *testing.T, ctx context.Context, base, number, program string) {
	t.Helper()
	do(t, ctx, "create case "+number,
		chromedp.Navigate(base+"/cases/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#case_number`), number),
		chromedp.SetValue(chromedp.CSS(`#program`), program),
		chromedp.Submit(chromedp.CSS(`[data-testid=case-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=case-title]`)))
}

// member is what addMember types.
type member struct {
	first, last, rel, email, phone, language string
}

// addMember adds a member from the case page and comes back to it.
func addMember(t *testing.T, ctx context.Context, m member) {
	t.Helper()
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.Click(chromedp.CSS(`[data-testid=add-member]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=member-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#first_name`), m.first),
		chromedp.SendKeys(chromedp.CSS(`#last_name`), m.last),
		chromedp.SetValue(chromedp.CSS(`#relationship`), m.rel),
	}
	if m.email != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.CSS(`#email`), m.email))
	}
	if m.phone != "" {
		steps = append(steps, chromedp.SendKeys(chromedp.CSS(`#phone`), m.phone))
	}
	if m.language != "" {
		steps = append(steps, chromedp.SetValue(chromedp.CSS(`#language`), m.language))
	}
	steps = append(steps, chromedp.Submit(chromedp.CSS(`[data-testid=member-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=household]`)))
	do(t, ctx, "add member "+m.first, steps...)
}

// newTab opens another tab in the same browser (the applicant's phone, in
// these tests), closed when the test ends.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatal(err)
	}
	return tab
}

// finishTruvByEmail plays the applicant of a Truv link sent by email: the
// link from the outbox, then Bridge at Acme Health Services with a sandbox
// login (goodlogin: biweekly salaried; hourly.part-time: weekly, 25 hours),
// in a tab of its own.
func finishTruvByEmail(t *testing.T, ctx context.Context, base, username string) {
	t.Helper()
	phone := newTab(t, ctx)
	do(t, phone, "outbox", chromedp.Navigate(base+"/outbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=outbox-link]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=outbox-link]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=employer-list]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=employer-acme-health]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=username]`), username),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=password]`), "goodpassword"),
		chromedp.Click(chromedp.CSS(`[data-testid=sign-in]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=bridge-complete]`)))
}

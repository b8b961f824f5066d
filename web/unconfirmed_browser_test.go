package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"caseverify/providers"
	"caseverify/providers/truv"
	"caseverify/store"
)

// Issue 13 item 5 on the page: an order whose create got no answer shows on
// the case page as "Checking with Truv…" (axe: no violations), and once
// Truv has the order and the reconciler looks it up by its reference, the
// same page shows it confirmed (the link emailed) without a reload, still
// with no axe violations.
//
// The order is put in that state through the store API beside the running
// portal (one SQLite file, WAL), as a create whose answer was lost leaves
// it; "Truv has it" is a create at the portal's own Truv emulator under the
// order's reference, with the installation's sandbox credentials.
func TestBrowser_CheckingThenConfirmed(t *testing.T) {
	p := startPortal(t, map[string]string{"RECONCILE_EVERY": "1s", "RECONCILE_QUIET": "1s"})
	ctx := context.Background()
	st := p.openStore(t, store.Options{})
	a, worker := demoWorker(t, st)
	cs, err := st.CreateCase(ctx, a.ID, worker.ID, store.CaseInput{Number: "CK-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Ana", LastName: "Diaz", Relationship: "self",
		Email: "ana@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.CreateOrder(ctx, a.ID, store.NewOrder{CaseID: cs.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
		Provider: "truv", Products: []string{"income"}, Notify: store.NotifyAgency, CreatedBy: worker.ID})
	if err != nil {
		t.Fatal(err)
	}
	// Not due for an hour: the reconciler leaves it until Truv has it.
	if err := st.MarkUnconfirmed(ctx, a.ID, o.ID, "email", "", fmt.Sprintf("Truv did not answer when the order was sent. "+
		"The portal is checking with Truv whether it has order %s; the link goes out once Truv confirms it.", o.Reference), time.Hour); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	signInCaseworker(t, b, p.URL)
	do(t, b, "case page", chromedp.Navigate(fmt.Sprintf("%s/cases/%d", p.URL, cs.ID)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=order][data-checking]`)))
	if got := textOf(t, b, `[data-testid=order-status]`); !strings.Contains(got, "Checking with Truv…") {
		t.Fatalf("status = %q", got)
	}
	checkA11y(t, b, "case page, order being checked")
	screenshot(t, b, "01_checking")

	// Truv has the order (its create committed; only the answer was lost).
	creds := portalSandboxCredentials(t, p)
	c, err := truv.New(truv.Config{BaseURL: p.URL + "/sandbox/truv", ClientID: truv.SandboxClientID, AccessSecret: creds.TruvAccessSecret})
	if err != nil {
		t.Fatal(err)
	}
	po, err := c.CreateOrder(ctx, providers.OrderRequest{Reference: o.Reference, CaseNumber: cs.Number, AgencyName: demoAgency,
		Products: []providers.Product{providers.ProductIncome}, Applicants: []providers.Applicant{{Ref: fmt.Sprintf("member-%d", m.ID),
			FirstName: "Ana", LastName: "Diaz", Email: "ana@example.org"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Due now: the reconciler looks it up by its reference.
	if err := st.FinishPoll(ctx, o.ID, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, p, "confirmed order", 30*time.Second,
		`(() => { const o = document.querySelector('[data-testid=order]'); return !!o && !o.hasAttribute('data-checking') && o.dataset.status === 'sent' })()`)
	if got := textOf(t, b, `[data-testid=order]`); !strings.Contains(got, "Truv confirmed that it has order "+o.Reference) &&
		!strings.Contains(got, "Link sent") {
		t.Errorf("confirmed order reads %q", got)
	}
	checkA11y(t, b, "case page, order confirmed")
	screenshot(t, b, "02_confirmed")
	got, err := st.Order(ctx, a.ID, o.ID)
	if err != nil || got.Checking() || got.ProviderOrderID != po.OrderID {
		t.Fatalf("order after the reconciler: %+v (%v)", got, err)
	}
	if msgs, _ := st.Outbox(ctx, a.ID, 10); len(msgs) != 1 || msgs[0].Channel != "email" {
		t.Fatalf("the link was not emailed once confirmed: %+v", msgs)
	}
}

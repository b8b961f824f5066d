package verify_test

import (
	"context"
	"testing"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers/accountchek"
	"caseverify/store"
)

// Issue 6: after 5010 (the sign-in link expired), "new link" asks
// AccountChek for a fresh SSO URL for the same order, stores it and sends it;
// the applicant can go on.
func TestAccountChek_NewSSOLinkAfter5010(t *testing.T) {
	emNow := &acClock{}
	e := newACEnv(t, acOptions{emulatorNow: emNow.Now})
	ctx := context.Background()
	o := e.send(t, "assets")
	emNow.Advance(73 * time.Hour)
	if err := e.em.Borrower(o.ProviderOrderID, accountchek.Arrive()); err == nil {
		t.Fatal("an expired link still worked")
	}
	o = e.waitStatus(t, o.ID, store.StatusActionRequired)
	if !e.svc.RenewsLinks(accountchek.Name) {
		t.Fatal("AccountChek should renew links in place")
	}
	n, err := e.svc.NewLink(ctx, e.user, o, verify.ChannelEmail)
	if err != nil {
		t.Fatal(err)
	}
	if n.ID != o.ID || n.Link == o.Link || n.Link == "" {
		t.Fatalf("same order with a fresh link expected: %+v", n)
	}
	msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 5)
	if len(msgs) != 1 || msgs[0].Channel != "email" {
		t.Fatalf("outbox: %+v", msgs)
	}
	if err := e.em.Borrower(o.ProviderOrderID, accountchek.Arrive(), accountchek.ChooseInstitution("Sandbox Bank"),
		accountchek.BankLogin("user_good", "pass_good")); err != nil {
		t.Fatalf("the fresh link did not work: %v", err)
	}
	e.waitStatus(t, o.ID, store.StatusCompleted)
}

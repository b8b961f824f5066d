package verify_test

import (
	"context"
	"errors"
	"testing"

	"caseverify/handlers/verify"
	"caseverify/store"
)

// The contact-center flow as a workflow: a typo creates nothing; a send opens
// the case and adds the caller; a second call about the same person on the
// same case reuses them.
func TestContactSend_ChecksFirstThenReusesTheCaller(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if !e.svc.ContactFits("truv") || e.svc.ContactFits("nobody") {
		t.Fatal("truv fits the contact form; an unknown provider does not")
	}
	req := verify.ContactRequest{User: e.user, FirstName: "Lu", LastName: "Park", Phone: "(555) 201-0123",
		CaseNumber: "CC-77", Provider: "truv", Products: []string{"income"}}

	bad := req
	bad.Phone, bad.Products = "", nil
	_, _, err := e.svc.ContactSend(ctx, bad)
	var problems store.ValidationError
	if !errors.As(err, &problems) || problems["phone"] == "" || problems["products"] == "" {
		t.Fatalf("invalid input: %v", err)
	}
	if _, err := e.st.CaseByNumber(ctx, e.user.AgencyID, "CC-77"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a typo opened the case: %v", err)
	}

	o, m, err := e.svc.ContactSend(ctx, req)
	if err != nil || o == nil || m == nil {
		t.Fatalf("send: %v", err)
	}
	cs, err := e.st.CaseByNumber(ctx, e.user.AgencyID, "CC-77")
	if err != nil || o.CaseID != cs.ID || o.MemberID != m.ID || m.Phone != "+15552010123" {
		t.Fatalf("case %v, order %+v, member %+v", err, o, m)
	}
	again := req
	again.FirstName = " lu " // the same caller, typed differently
	o2, m2, err := e.svc.ContactSend(ctx, again)
	if err != nil || m2.ID != m.ID || o2.ID == o.ID {
		t.Fatalf("second call: %v, member %d vs %d", err, m2.ID, m.ID)
	}
	if ms, _ := e.st.Members(ctx, e.user.AgencyID, cs.ID); len(ms) != 1 {
		t.Fatalf("%d members, want 1", len(ms))
	}
}

package store_test

import (
	"context"
	"testing"
	"time"

	"caseverify/store"
)

// mustOrder makes a case, a member and an order accepted by a provider.
func mustOrder(t *testing.T, s *store.Store, f fixture, provider string) *store.Order {
	t.Helper()
	ctx := context.Background()
	c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "O-" + store.NewOrderReference(), Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "O", LastName: "P", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.CreateOrder(ctx, f.agencyA.ID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
		Provider: provider, Products: []string{"income"}, Notify: "agency", CreatedBy: f.userA.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AttachProviderOrder(ctx, f.agencyA.ID, o.ID, store.ProviderOrder{OrderID: "p-" + o.Reference, UserID: "u1",
		Link: "https://example.test/l/" + o.Reference}, "created"); err != nil {
		t.Fatal(err)
	}
	o, err = s.Order(ctx, f.agencyA.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCaseReports(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "truv")
	if got, _ := s.CaseReports(ctx, f.agencyA.ID, o.CaseID); len(got) != 0 {
		t.Fatalf("reports before any: %v", got)
	}
	if _, err := s.SaveReport(ctx, f.agencyA.ID, o.ID, store.Report{Kind: "income", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.CaseReports(ctx, f.agencyA.ID, o.CaseID)
	if err != nil || !got[o.ID] {
		t.Fatalf("CaseReports = %v, %v", got, err)
	}
	o2 := mustOrder(t, s, f, "payscore")
	s.SaveReport(ctx, f.agencyA.ID, o2.ID, store.Report{Kind: "bank", Data: []byte(`{}`), ExpiresAt: clk.Now().Add(time.Hour)})
	clk.Add(2 * time.Hour)
	got, _ = s.CaseReports(ctx, f.agencyA.ID, o2.CaseID)
	if readable, has := got[o2.ID]; !has || readable {
		t.Fatalf("expired report: has=%v readable=%v", has, readable)
	}
	if r, err := s.LatestReport(ctx, f.agencyA.ID, o2.ID); err != nil || !r.Purged || r.Data != nil {
		t.Fatalf("expired report readable: %+v %v", r, err)
	}
}

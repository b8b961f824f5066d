package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"caseverify/store"
)

// CaseByNumber finds the exact case even when more cases share its prefix
// than the search's page holds, and only in the caller's agency.
func TestCaseByNumber_ExactAmongManyWithThePrefix(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	want, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "2026-77", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	// Seven more cases starting with "2026-77", each updated later, so the
	// prefix search sorted by update puts the exact one last.
	for i := 0; i < 7; i++ {
		clk.Add(1e9)
		if _, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: fmt.Sprintf("2026-77%d", i), Program: "snap"}); err != nil {
			t.Fatal(err)
		}
	}
	// The search's first page of 5 misses it: the lookup the contact center
	// used to do.
	page, _, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: "2026-77", PerPage: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page {
		if c.ID == want.ID {
			t.Fatal("the setup does not reproduce the miss: the search's first page holds the case")
		}
	}
	for _, typed := range []string{"2026-77", " 2026-77 "} {
		got, err := s.CaseByNumber(ctx, f.agencyA.ID, typed)
		if err != nil || got.ID != want.ID || got.Number != "2026-77" {
			t.Fatalf("CaseByNumber(%q) = %+v, %v; want case %d", typed, got, err, want.ID)
		}
	}
	// Staff type numbers in any case; the exact spelling wins when two differ
	// only in case.
	lower, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "ab-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.CaseByNumber(ctx, f.agencyA.ID, "AB-1"); err != nil || got.ID != lower.ID {
		t.Fatalf("case-insensitive: %+v, %v", got, err)
	}
	upper, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "AB-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.CaseByNumber(ctx, f.agencyA.ID, "AB-1"); err != nil || got.ID != upper.ID {
		t.Fatalf("exact spelling: %+v, %v", got, err)
	}
	// Not a prefix match, and another agency's case is not found.
	if _, err := s.CaseByNumber(ctx, f.agencyA.ID, "2026-7"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("prefix: %v", err)
	}
	if _, err := s.CaseByNumber(ctx, f.agencyB.ID, "2026-77"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other agency: %v", err)
	}
	if _, err := s.CaseByNumber(ctx, f.agencyA.ID, "  "); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty: %v", err)
	}
	// LIKE wildcards are plain characters here.
	if _, err := s.CaseByNumber(ctx, f.agencyA.ID, "2026_77"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("wildcard: %v", err)
	}
}

// DeleteEmptyCase removes only a case without members, orders or notes, and
// only in the caller's agency.
func TestDeleteEmptyCase(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "E-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "E", LastName: "F", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEmptyCase(ctx, f.agencyA.ID, c.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a case with a member: %v", err)
	}
	if err := s.RemoveMember(ctx, f.agencyA.ID, c.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEmptyCase(ctx, f.agencyB.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another agency's case: %v", err)
	}
	if err := s.DeleteEmptyCase(ctx, f.agencyA.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Case(ctx, f.agencyA.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the case is still there: %v", err)
	}
	// The number is free again.
	if _, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "E-1", Program: "snap"}); err != nil {
		t.Fatal(err)
	}
	o := mustOrder(t, s, f, "truv")
	if err := s.DeleteEmptyCase(ctx, f.agencyA.ID, o.CaseID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a case with an order: %v", err)
	}
}

// SetMessageStatus writes only when the caller's rule allows replacing the
// status on record, and says whether it did.
func TestSetMessageStatus_AppliesTheRule(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "truv")
	if _, err := s.AddDelivery(ctx, f.agencyA.ID, store.Delivery{OrderID: o.ID, Channel: "sms", Kind: "first", Result: "sent",
		MessageID: "SM00000000000000000000000000000001"}, "sent"); err != nil {
		t.Fatal(err)
	}
	status := func() *store.Delivery {
		ds, err := s.Deliveries(ctx, f.agencyA.ID, o.ID)
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries: %v %v", ds, err)
		}
		return ds[0]
	}
	var seen []string
	only := func(allowed string) func(string) bool {
		return func(prev string) bool { seen = append(seen, prev); return prev == allowed }
	}
	const sid = "SM00000000000000000000000000000001"
	if ok, err := s.SetMessageStatus(ctx, sid, "delivered", "", only("")); err != nil || !ok {
		t.Fatalf("first status: %v %v", ok, err)
	}
	if ok, err := s.SetMessageStatus(ctx, sid, "sent", "", only("")); err != nil || ok {
		t.Fatalf("a refused status: %v %v", ok, err)
	}
	if d := status(); d.MessageStatus != "delivered" || d.Result != "sent" {
		t.Fatalf("refused status written: %+v", d)
	}
	if len(seen) != 2 || seen[0] != "" || seen[1] != "delivered" {
		t.Fatalf("the rule saw %q", seen)
	}
	if ok, err := s.SetMessageStatus(ctx, sid, "undelivered", "The phone could not be reached.", only("delivered")); err != nil || !ok {
		t.Fatalf("undelivered: %v %v", ok, err)
	}
	if d := status(); d.MessageStatus != "undelivered" || d.Result != "failed" || d.Error == "" {
		t.Fatalf("undelivered not recorded: %+v", d)
	}
	if _, err := s.SetMessageStatus(ctx, "SM00000000000000000000000000000009", "sent", "", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown message: %v", err)
	}
}

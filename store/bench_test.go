package store_test

import (
	"context"
	"fmt"
	"testing"

	"caseverify/store"
)

// Timings live here, not in tests: `make bench`.

// BenchmarkAddInbox is the cost of acknowledging one webhook delivery: one
// committed insert with synchronous=FULL (the ceiling is the disk's fsync).
func BenchmarkAddInbox(b *testing.B) {
	s, _, _ := mustOpen(b)
	ctx := context.Background()
	body := []byte(`{"webhook_id":"x","event_type":"order-status-updated","status":"completed"}`)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.AddInbox(ctx, "truv", fmt.Sprint(i), "", body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyUpdate is one status update through the rules, with its
// timeline line and the case roll-up.
func BenchmarkApplyUpdate(b *testing.B) {
	s, _, _ := mustOpen(b)
	f := mustFixture(b, s)
	o := mustOrderB(b, s, f)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, store.StatusUpdate{Status: store.StatusInProgress,
			RawEvent: "task-status-updated", Source: "webhook"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCaseSearch is one search over 1,000 cases by member name.
func BenchmarkCaseSearch(b *testing.B) {
	s, _, _ := mustOpen(b)
	f := mustFixture(b, s)
	ctx := context.Background()
	for i := range 1000 {
		c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: fmt.Sprintf("S-%04d", i), Program: "snap"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: fmt.Sprintf("Name%d", i), LastName: "Search",
			Relationship: "self", Email: fmt.Sprintf("p%d@example.org", i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, n, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: "name77"}); err != nil || n == 0 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkSignInHash is one argon2id password check (m=19 MiB, t=2).
func BenchmarkSignInHash(b *testing.B) {
	h := store.HashPassword("correct horse battery")
	for b.Loop() {
		store.CheckPassword(h, "correct horse battery")
	}
}

func mustOrderB(b *testing.B, s *store.Store, f fixture) *store.Order {
	ctx := context.Background()
	c, _ := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "B-1", Program: "snap"})
	m, _ := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "B", LastName: "B", Relationship: "self"})
	o, err := s.CreateOrder(ctx, f.agencyA.ID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
		Provider: "truv", Products: []string{"income"}, Notify: "agency"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.AttachProviderOrder(ctx, f.agencyA.ID, o.ID, store.ProviderOrder{OrderID: "p-1"}, "created"); err != nil {
		b.Fatal(err)
	}
	return o
}

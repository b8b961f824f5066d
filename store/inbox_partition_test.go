package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"caseverify/store"
)

// Issue 13 item 4: the inbox is claimed by several workers, partitioned by
// order. While one order's delivery is leased (or waits for a retry), the
// next delivery of the same order is not taken, but other orders' are; a
// provider named in skip is left alone.
func TestInbox_PartitionedClaims(t *testing.T) {
	s, _, _ := mustOpen(t)
	ctx := context.Background()
	add := func(key, partition string) {
		t.Helper()
		if _, err := s.AddInboxFor(ctx, "truv", key, "", partition, []byte(key)); err != nil {
			t.Fatal(err)
		}
	}
	add("a1", "truv:A")
	add("a2", "truv:A")
	add("b1", "truv:B")
	first, err := s.ClaimInbox(ctx, time.Minute)
	if err != nil || first.DedupeKey != "a1" {
		t.Fatalf("first claim %+v %v", first, err)
	}
	second, err := s.ClaimInbox(ctx, time.Minute)
	if err != nil || second.DedupeKey != "b1" {
		t.Fatalf("second claim took %+v (%v), want B's delivery while A's first is leased", second, err)
	}
	if _, err := s.ClaimInbox(ctx, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("A's second delivery was taken before its first finished: %v", err)
	}
	// A's first waits for a retry: A's second still waits behind it.
	if err := s.FinishInbox(ctx, first.ID, "provider down", s.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimInboxExcept(ctx, time.Minute, []string{"truv"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a skipped provider's delivery was taken: %v", err)
	}
	again, err := s.ClaimInbox(ctx, time.Minute)
	if err != nil || again.DedupeKey != "a1" {
		t.Fatalf("retry claim %+v %v, want A's first again", again, err)
	}
	if err := s.FinishInbox(ctx, again.ID, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	next, err := s.ClaimInbox(ctx, time.Minute)
	if err != nil || next.DedupeKey != "a2" {
		t.Fatalf("after A's first finished: %+v %v", next, err)
	}
}

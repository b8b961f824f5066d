package store_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"caseverify/store"
)

// R2: at the threshold − 1 s the personal data is there; at + 1 s it is gone,
// and the dedupe key survives (a late retry is still a duplicate).
func TestRetention_PurgesBodiesKeepsDedupe(t *testing.T) {
	s, clk, path := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	canary := []byte(`{"applicant_email":"canary+pii@example.test"}`)
	if _, err := s.AddInbox(ctx, "payscore", "k1", "", canary); err != nil {
		t.Fatal(err)
	}
	it, err := s.ClaimInbox(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishInbox(ctx, it.ID, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOutbox(ctx, f.agencyA.ID, store.OutboxMessage{Channel: "email", To: "canary+pii@example.test", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	const keep = 30 * 24 * time.Hour
	clk.Add(keep - time.Second)
	if n, _ := s.PurgeInboxBodies(ctx, clk.Now().Add(-keep)); n != 0 {
		t.Fatalf("purged %d bodies before the threshold", n)
	}
	if n, _ := s.PurgeOutbox(ctx, clk.Now().Add(-keep)); n != 0 {
		t.Fatalf("purged %d messages before the threshold", n)
	}
	clk.Add(2 * time.Second)
	if n, err := s.PurgeInboxBodies(ctx, clk.Now().Add(-keep)); err != nil || n != 1 {
		t.Fatalf("purged %d bodies (%v), want 1", n, err)
	}
	if n, err := s.PurgeOutbox(ctx, clk.Now().Add(-keep)); err != nil || n != 1 {
		t.Fatalf("purged %d messages (%v), want 1", n, err)
	}
	if inserted, err := s.AddInbox(ctx, "payscore", "k1", "", canary); err != nil || inserted {
		t.Fatalf("a late retry after the purge was stored again: %v %v", inserted, err)
	}
	// Encrypted at rest and now gone: the files hold no trace either way.
	if bytes.Contains(readAll(t, path, path+"-wal"), []byte("canary+pii")) {
		t.Fatal("the canary is in the database files")
	}
}

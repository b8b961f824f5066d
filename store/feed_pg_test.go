package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"caseverify/store/pgtest"
)

// Two replicas' listeners on one database: what replica A announces in a
// transaction reaches replica B's Feed when it commits, never when it rolls
// back, and A's own Feed does not hear it twice. (The store-level test,
// TestFeed_PostgresAcrossStores, does the same through two Stores.)
func TestPGChanges_CommittedChangeReachesOtherReplica(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	feedA, feedB := NewFeed(), NewFeed()
	a := startTestChanges(t, url, feedA)
	startTestChanges(t, url, feedB)
	subA, subB := feedA.Subscribe(7, 0), feedB.Subscribe(7, 42)
	defer subA.Close()
	defer subB.Close()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Rolled back: nobody hears it.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.announce(ctx, tx, Change{AgencyID: 7, CaseID: 42, OrderID: 1, Kind: "order"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// Committed: B hears it, with the ids; before the commit it did not.
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Change{AgencyID: 7, CaseID: 42, OrderID: 2, Kind: "delivery"}
	if err := a.announce(ctx, tx, want); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-subB.C:
		t.Fatalf("B heard %+v before the commit", c)
	case <-time.After(100 * time.Millisecond):
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-subB.C:
		c.Seq = 0 // B's feed numbers what it publishes itself
		if c != want {
			t.Fatalf("B heard %+v, want %+v (the rolled-back change must not arrive)", c, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("B did not hear the committed change")
	}
	// A ignores its own notification (it publishes locally after commit).
	select {
	case c := <-subA.C:
		t.Fatalf("A heard its own change %+v through the database", c)
	case <-time.After(200 * time.Millisecond):
	}
}

// A lost listen connection is reconnected, and the subscribers are told to
// re-read everything (a resync), since changes may have been missed; later
// changes arrive again.
func TestPGChanges_ReconnectsAndResyncs(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	feedA, feedB := NewFeed(), NewFeed()
	a := startTestChanges(t, url, feedA)
	b := startTestChanges(t, url, feedB)
	sub := feedB.Subscribe(3, 9)
	defer sub.Close()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	pid := b.backendPID()
	if pid == 0 {
		t.Fatal("B has no listen connection")
	}
	if _, err := db.ExecContext(ctx, "SELECT pg_terminate_backend($1)", int64(pid)); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-sub.C:
		if c.Kind != ResyncKind || c.AgencyID != 3 || c.CaseID != 9 || c.OrderID != 0 {
			t.Fatalf("after reconnecting B published %+v, want a resync of agency 3 case 9", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no resync after the listen connection was cut")
	}
	if p := b.backendPID(); p == 0 || p == pid {
		t.Fatalf("listen connection after reconnect: pid %d (was %d)", p, pid)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.announce(ctx, tx, Change{AgencyID: 3, CaseID: 9, OrderID: 5, Kind: "order"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-sub.C:
		if c.OrderID != 5 {
			t.Fatalf("got %+v, want order 5", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no change after the reconnect")
	}
}

func startTestChanges(t *testing.T, url string, f *Feed) *pgChanges {
	t.Helper()
	p, err := startChanges(context.Background(), url, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

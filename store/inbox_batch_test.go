package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func openBatchStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := DatabaseURLForTest(t)
	s, err := Open(context.Background(), path, Options{DataKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// storedInbox returns the stored deliveries by dedupe key, with their
// bodies opened (each bound to its row id).
func storedInbox(t *testing.T, s *Store) map[string]string {
	t.Helper()
	rows, err := s.read.Query(`SELECT id, dedupe_key, body_enc FROM webhook_inbox`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id int64
		var key string
		var enc []byte
		if err := rows.Scan(&id, &key, &enc); err != nil {
			t.Fatal(err)
		}
		body, err := s.crypt.Open(enc, aad("webhook_inbox", "body", id))
		if err != nil {
			t.Fatalf("delivery %s: body does not open under its row id: %v", key, err)
		}
		out[key] = body
	}
	return out
}

// Deliveries offered at once are written together, and every one
// acknowledged is stored, once, with its own body; a duplicate in the same
// batch is acknowledged without a second row.
func TestAddInbox_ConcurrentDeliveriesAcknowledgedAreStored(t *testing.T) {
	s, _ := openBatchStore(t)
	ctx := context.Background()
	const n = 200
	type result struct {
		inserted bool
		err      error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("d-%d", i%(n-10)) // the last 10 repeat earlier keys
			results[i].inserted, results[i].err = s.AddInboxFor(ctx, "truv", key, "", "truv:o", []byte(fmt.Sprintf(`{"n":%d}`, i%(n-10))))
		})
	}
	wg.Wait()
	inserted := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("delivery %d: %v", i, r.err)
		}
		if r.inserted {
			inserted++
		}
	}
	stored := storedInbox(t, s)
	if inserted != n-10 || len(stored) != n-10 {
		t.Fatalf("%d inserted, %d stored; want %d each", inserted, len(stored), n-10)
	}
	for i := range n - 10 {
		if got, want := stored[fmt.Sprintf("d-%d", i)], fmt.Sprintf(`{"n":%d}`, i); got != want {
			t.Fatalf("delivery d-%d stored %q, want %q", i, got, want)
		}
	}
}

// When a batch's transaction fails, every delivery in it fails: none is
// acknowledged, none is stored. A delivery answered without an error is
// always stored.
func TestAddInbox_BatchFailureFailsEveryDeliveryInIt(t *testing.T) {
	s, path := openBatchStore(t)
	ctx := context.Background()
	// A delivery the database refuses.
	poison := `CREATE TRIGGER poison BEFORE INSERT ON webhook_inbox WHEN NEW.dedupe_key = 'poison'
		BEGIN SELECT RAISE(ABORT, 'refused'); END`
	if OnPostgres() {
		poison = `ALTER TABLE webhook_inbox ADD CONSTRAINT poison CHECK (dedupe_key <> 'poison')`
	} else {
		path = "file:" + path + "?_busy_timeout=5000"
	}
	if _, err := RawDBForTest(t, path).Exec(poison); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddInboxFor(ctx, "truv", "first", "", "", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	// Deliveries arriving while the writer is busy wait in the queue and
	// form one batch: the writer is held back until all are queued.
	s.inboxWriter.stop()
	w := newInboxWriter()
	s.inboxWriter = w
	type result struct {
		key string
		err error
	}
	results := make(chan result, 32)
	keys := []string{"k-0", "k-1", "poison"}
	for i := 2; i < 20; i++ {
		keys = append(keys, fmt.Sprintf("k-%d", i))
	}
	for _, k := range keys {
		go func() {
			_, err := s.AddInboxFor(ctx, "truv", k, "", "", []byte(`{}`))
			results <- result{k, err}
		}()
	}
	waitFor(t, func() bool { return len(w.queue) == len(keys) })
	go s.runInboxWriter(w)
	got := map[string]error{}
	for range keys {
		r := <-results
		got[r.key] = r.err
	}
	stored := storedInbox(t, s)
	if got["first"] != nil || stored["first"] == "" {
		t.Fatalf("the first delivery: %v, stored %v", got["first"], stored["first"] != "")
	}
	for _, k := range keys {
		if got[k] == nil {
			t.Errorf("delivery %s was acknowledged, though its batch failed", k)
		}
		if _, ok := stored[k]; ok {
			t.Errorf("delivery %s of the failed batch is stored", k)
		}
	}
	// The refused batch left nothing behind: the next deliveries go in.
	if _, err := s.AddInboxFor(ctx, "truv", "k-0", "", "", []byte(`{}`)); err != nil {
		t.Fatalf("after a failed batch: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 90s (generous: CI runs on a small shared machine)")
		}
	}
}

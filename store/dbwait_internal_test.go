package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// Issue 13 item 7: a write that waits for the write connection (another
// transaction of this process holds it) gives up after the store's wait
// with a *BusyError, for a transaction, a single statement and a webhook
// delivery alike; the old code queued on the pool until the holder let go.
func TestWait_WriteConnectionHeldIsBusy(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"), Options{DataKey: bytes.Repeat([]byte{5}, 32), Wait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	held, err := s.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A caller's own deadline far beyond the wait: only the wait can end it.
	long, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var busy *BusyError
	if err := s.inTx(long, func(*sql.Tx) error { return nil }); !errors.As(err, &busy) || busy.Wait != 200*time.Millisecond {
		t.Errorf("transaction: %v, want a BusyError", err)
	}
	if _, err := s.execWrite(long, `UPDATE health_probe SET at = at`); !errors.As(err, &busy) {
		t.Errorf("statement: %v, want a BusyError", err)
	}
	if _, err := s.AddInboxFor(long, "truv", "held", "", "", []byte(`{}`)); !errors.As(err, &busy) {
		t.Errorf("delivery: %v, want a BusyError", err)
	}
	held.Close()
	if err := s.inTx(long, func(*sql.Tx) error { return nil }); err != nil {
		t.Fatalf("once released: %v", err)
	}
}

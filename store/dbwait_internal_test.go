package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"caseverify/store/pgtest"
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

// On PostgreSQL the same bound holds for a row another replica holds
// locked: the write gives up after the store's wait (lock_timeout) with a
// *BusyError, for a transaction and a single statement; once the lock is
// released it goes through (issue 18).
func TestWait_PostgresRowLockedByAnotherReplicaIsBusy(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	s, err := Open(ctx, url, Options{DataKey: bytes.Repeat([]byte{5}, 32), Wait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := RawDBForTest(t, url)
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE health_probe SET at = at WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	long, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	var busy *BusyError
	if err := s.CanWrite(long); !errors.As(err, &busy) {
		t.Errorf("transaction: %v, want a BusyError", err)
	}
	if _, err := s.execWrite(long, `UPDATE health_probe SET at = at WHERE id = 1`); !errors.As(err, &busy) {
		t.Errorf("statement: %v, want a BusyError", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("two bounded waits took %v", d)
	}
	tx.Rollback()
	if err := s.CanWrite(long); err != nil {
		t.Fatalf("once released: %v", err)
	}
}

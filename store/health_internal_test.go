package store

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mattn/go-sqlite3"
)

// Issue 13 item 7: the health check writes, so a database that cannot take
// a write because it is full fails it with SQLITE_FULL. The full disk is
// simulated the way SQLite reports it: max_page_count set to the current
// size on the one write connection (the old CanWrite only took the lock,
// and answered healthy).
func TestCanWrite_FullDatabaseFails(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "h.db"), Options{DataKey: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CanWrite(ctx); err != nil {
		t.Fatalf("healthy database: %v", err)
	}
	var pages int
	if err := s.write.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.Itoa(pages)); err != nil {
		t.Fatal(err)
	}
	err = s.CanWrite(ctx)
	var se sqlite3.Error
	if !errors.As(err, &se) || se.Code != sqlite3.ErrFull {
		t.Fatalf("full database: CanWrite = %v, want SQLITE_FULL", err)
	}
	var rows int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM health_probe`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("probe rows left: %d, %v", rows, err)
	}
	if _, err := s.write.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if err := s.CanWrite(ctx); err != nil {
		t.Fatalf("healthy again: %v", err)
	}
}

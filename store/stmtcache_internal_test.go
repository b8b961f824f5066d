package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/mattn/go-sqlite3"
)

// Issue 17: SQLite connections keep their prepared statements
// (_stmt_cache_size), so the inbox's hot queries are compiled once per
// connection, not on every call. These tests look at SQLite's compiler
// through an authorizer, which SQLite calls only while it prepares a
// statement.

func openStmtCacheStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "c.db"), Options{DataKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// countPrepares makes conn's SQLite connection count the statements it
// compiles (setting an authorizer expires the statements prepared before).
func countPrepares(t *testing.T, conn *sql.Conn) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	if err := conn.Raw(func(dc any) error {
		dc.(*sqlite3.SQLiteConn).RegisterAuthorizer(func(op int, _, _, _ string) int {
			if op == sqlite3.SQLITE_SELECT {
				n.Add(1)
			}
			return sqlite3.SQLITE_OK
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return &n
}

func TestStmtCache_HotQueryPreparedOncePerConnection(t *testing.T) {
	SkipOnPostgres(t, "pgx caches its statements itself")
	s := openStmtCacheStore(t)
	ctx := context.Background()
	for _, db := range []*sql.DB{s.write, s.read, s.lists} {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		prepares := countPrepares(t, conn)
		for i := range 5 {
			var one int
			if err := conn.QueryRowContext(ctx, `SELECT 1 FROM health_probe WHERE id = ? OR ? = 0`, 1, i).Scan(&one); err != nil {
				t.Fatal(err)
			}
		}
		if got := prepares.Load(); got != 1 {
			t.Errorf("the same query 5 times on one connection was prepared %d times, want once", got)
		}
		conn.Close()
	}
}

// A connection closed (here: reported bad, so database/sql drops it) takes
// its statements with it; its successor prepares its own and answers.
func TestStmtCache_ConnectionClosedAndReopened(t *testing.T) {
	SkipOnPostgres(t, "pgx caches its statements itself")
	s := openStmtCacheStore(t)
	ctx := context.Background()
	const q = `SELECT at FROM health_probe WHERE id = ?`
	for round := range 3 {
		conn, err := s.write.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		prepares := countPrepares(t, conn)
		var at string
		for range 2 {
			if err := conn.QueryRowContext(ctx, q, 1).Scan(&at); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if got := prepares.Load(); got != 1 {
			t.Errorf("round %d: prepared %d times on a fresh connection, want once", round, got)
		}
		// Drop the connection: database/sql closes it and opens another.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}
}

// A schema change (what a migration does) on a connection holding a
// statement for the table: the next run sees the new schema, not the
// cached statement's.
func TestStmtCache_SchemaChangeSeenByCachedStatement(t *testing.T) {
	SkipOnPostgres(t, "pgx caches its statements itself")
	s := openStmtCacheStore(t)
	ctx := context.Background()
	conn, err := s.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE cache_probe (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO cache_probe (a) VALUES (?)`, 1); err != nil {
		t.Fatal(err)
	}
	columns := func() []string {
		t.Helper()
		rows, err := conn.QueryContext(ctx, `SELECT * FROM cache_probe WHERE a = ?`, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatal("no row")
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		return cols
	}
	if got := columns(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("before: %v", got)
	}
	if _, err := conn.ExecContext(ctx, `ALTER TABLE cache_probe ADD COLUMN b TEXT NOT NULL DEFAULT 'x'`); err != nil {
		t.Fatal(err)
	}
	if got := columns(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after ALTER TABLE: columns %v, want [a b]", got)
	}
	if _, err := conn.ExecContext(ctx, `DROP TABLE cache_probe`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.QueryContext(ctx, `SELECT * FROM cache_probe WHERE a = ?`, 1); err == nil {
		t.Error("after DROP TABLE: the cached statement still ran")
	}
}

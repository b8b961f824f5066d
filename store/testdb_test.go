package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Tests run on SQLite, or on PostgreSQL when CASEVERIFY_TEST_POSTGRES=1
// (issue 18; `make test` runs both). Every test opens its database through
// DatabaseURLForTest, so one switch moves the whole suite.

// OnPostgres reports whether the tests run on PostgreSQL.
func OnPostgres() bool { return os.Getenv("CASEVERIFY_TEST_POSTGRES") == "1" }

// SkipOnPostgres skips a test about SQLite itself (pragmas, files, the
// busy timeout) when the suite runs on PostgreSQL, saying why.
func SkipOnPostgres(tb testing.TB, why string) {
	tb.Helper()
	if OnPostgres() {
		tb.Skip("SQLite only: " + why)
	}
}

// DatabaseURLForTest names a fresh, empty database for one test: a file in
// tb.TempDir(), or a new PostgreSQL database dropped when the test ends.
// Two store.Open on the same URL are two replicas of one deployment.
func DatabaseURLForTest(tb testing.TB) string {
	tb.Helper()
	if !OnPostgres() {
		return filepath.Join(tb.TempDir(), "test.db")
	}
	return pgDatabaseForTest(tb)
}

// RawDBForTest opens the database at url as it is, for tests that look
// under the store (what is stored, as a copy of the database would show)
// or play an older version; queries use "?" on both engines.
func RawDBForTest(tb testing.TB, url string) *sql.DB {
	tb.Helper()
	var db *sql.DB
	if IsPostgres(url) {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			tb.Fatal(err)
		}
		db = sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	} else {
		var err error
		if db, err = sql.Open("sqlite3", url); err != nil {
			tb.Fatal(err)
		}
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// pgDatabaseForTest creates a database on the cluster named by
// CASEVERIFY_TEST_PG_ADMIN_URL (a superuser URL).
func pgDatabaseForTest(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv("CASEVERIFY_TEST_PG_ADMIN_URL")
	if admin == "" {
		tb.Fatal("CASEVERIFY_TEST_POSTGRES=1 needs CASEVERIFY_TEST_PG_ADMIN_URL")
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

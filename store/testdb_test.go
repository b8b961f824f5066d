package store

import (
	"database/sql"
	"testing"

	"caseverify/store/pgtest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Tests run on SQLite, or on PostgreSQL when CASEVERIFY_TEST_POSTGRES=1
// (issue 18; `make test` runs both). Every test opens its database through
// DatabaseURLForTest, so one switch moves the whole suite.

// OnPostgres reports whether the tests run on PostgreSQL.
func OnPostgres() bool { return pgtest.Enabled() }

// SkipOnPostgres skips a test about SQLite itself (pragmas, files, the
// busy timeout) when the suite runs on PostgreSQL, saying why.
func SkipOnPostgres(tb testing.TB, why string) {
	tb.Helper()
	if OnPostgres() {
		tb.Skip("SQLite only: " + why)
	}
}

// DatabaseURLForTest names a fresh, empty database for one test: a file in
// tb.TempDir(), or a new PostgreSQL database (store/pgtest) dropped when
// the test ends. Two store.Open on the same URL are two replicas of one
// deployment.
func DatabaseURLForTest(tb testing.TB) string {
	tb.Helper()
	return pgtest.DatabaseURL(tb, "test.db")
}

// TestMain stops the throwaway PostgreSQL cluster when the tests end;
// every PostgreSQL test database is a copy of one migrated template.
func TestMain(m *testing.M) { pgtest.Main(m, Migrate) }

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

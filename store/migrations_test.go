package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"caseverify/store/pgtest"
)

// pgBaseline is the PostgreSQL baseline migration's number: the SQLite
// schema up to it is one PostgreSQL migration; every later SQLite
// migration has a PostgreSQL twin with the same number (issue 18).
const pgBaseline = 20

var migrationNumber = regexp.MustCompile(`^(\d{5})_.*\.sql$`)

func migrationNumbers(t *testing.T, dir string) map[int]string {
	t.Helper()
	entries, err := fs.ReadDir(migrationsFS, dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, e := range entries {
		if m := migrationNumber.FindStringSubmatch(e.Name()); m != nil {
			n, _ := strconv.Atoi(m[1])
			out[n] = e.Name()
		}
	}
	return out
}

// Every SQLite migration from the baseline on has its PostgreSQL twin, and
// PostgreSQL has no migration SQLite lacks: a migration that lands for one
// engine only fails here, before a replica on the other starts without it.
func TestMigrations_PostgresTwins(t *testing.T) {
	lite, pg := migrationNumbers(t, "migrations"), migrationNumbers(t, "migrations/postgres")
	if _, ok := pg[pgBaseline]; !ok {
		t.Fatalf("no PostgreSQL baseline %05d", pgBaseline)
	}
	for n, name := range lite {
		if _, ok := pg[n]; n >= pgBaseline && !ok {
			t.Errorf("SQLite migration %s has no PostgreSQL twin in store/migrations/postgres/ (same number)", name)
		}
	}
	for n, name := range pg {
		if _, ok := lite[n]; !ok {
			t.Errorf("PostgreSQL migration %s has no SQLite twin", name)
		}
	}
}

// Both engines, migrated, have the same tables, columns (name, type class,
// NOT NULL, primary key) and indexes (columns, unique, partial), compared
// in one normalised form: what the store's SQL may rely on is the same.
func TestMigrations_SchemasMatch(t *testing.T) {
	url := pgtest.URL(t) // skips unless the suite may start PostgreSQL
	ctx := context.Background()
	key := make([]byte, 32)
	lite, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"), Options{DataKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg, err := Open(ctx, url, Options{DataKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	a, b := sqliteSchema(t, lite.read), postgresSchema(t, pg.read)
	for _, l := range a {
		if !slices.Contains(b, l) {
			t.Errorf("SQLite only: %s", l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			t.Errorf("PostgreSQL only: %s", l)
		}
	}
	if len(a) < 100 {
		t.Fatalf("only %d schema lines: the comparison read nothing", len(a))
	}
}

func typeClass(decl string) string {
	switch d := strings.ToLower(decl); {
	case strings.Contains(d, "int"):
		return "int"
	case d == "text":
		return "text"
	case d == "blob" || d == "bytea":
		return "blob"
	default:
		return d
	}
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out
}

func sqliteSchema(t *testing.T, db *sql.DB) []string {
	var out []string
	for _, tr := range queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`) {
		tbl := tr[0]
		pkCols := queryStrings(t, db, `SELECT count(*) FROM pragma_table_info(?) WHERE pk > 0`, tbl)[0][0]
		for _, c := range queryStrings(t, db, `SELECT name, type, "notnull", pk FROM pragma_table_info(?)`, tbl) {
			pk := c[3] != "0"
			out = append(out, fmt.Sprintf("column %s.%s %s notnull=%v pk=%v", tbl, c[0], typeClass(c[1]), c[2] == "1" || pk, pk))
			if pk && pkCols == "1" && strings.EqualFold(c[1], "INTEGER") {
				// The rowid itself: PostgreSQL indexes its primary key.
				out = append(out, fmt.Sprintf("index %s (constraint)(%s) unique=true partial=false", tbl, c[0]))
			}
		}
		for _, ix := range queryStrings(t, db, `SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, tbl) {
			var cols []string
			for _, c := range queryStrings(t, db, `SELECT name, coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`, ix[0]) {
				if strings.EqualFold(c[1], "NOCASE") {
					c[0] = "lower(" + c[0] + ")"
				}
				cols = append(cols, c[0])
			}
			name := ix[0]
			if ix[2] != "c" { // a PRIMARY KEY or UNIQUE constraint's own index
				name = "(constraint)"
			}
			out = append(out, fmt.Sprintf("index %s %s(%s) unique=%v partial=%v", tbl, name, strings.Join(cols, ", "), ix[1] == "1", ix[3] == "1"))
		}
	}
	slices.Sort(out)
	return out
}

var pgIndexCols = regexp.MustCompile(`USING btree \((.*?)\)(?: WHERE (.*))?$`)

func postgresSchema(t *testing.T, db *sql.DB) []string {
	var out []string
	for _, c := range queryStrings(t, db, `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable,
			EXISTS (SELECT 1 FROM information_schema.table_constraints tc
				JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name AND k.table_name = tc.table_name
				WHERE tc.table_name = c.table_name AND tc.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name)::text
		FROM information_schema.columns c WHERE c.table_schema = 'public' AND c.table_name <> 'goose_db_version'`) {
		out = append(out, fmt.Sprintf("column %s.%s %s notnull=%v pk=%v", c[0], c[1], typeClass(c[2]), c[3] == "NO", c[4] == "true"))
	}
	for _, ix := range queryStrings(t, db, `SELECT i.tablename, i.indexname, i.indexdef,
			EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)::text
		FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename <> 'goose_db_version'`) {
		m := pgIndexCols.FindStringSubmatch(ix[2])
		if m == nil {
			t.Fatalf("unexpected index definition: %s", ix[2])
		}
		name := ix[1]
		if ix[3] == "true" {
			name = "(constraint)"
		}
		out = append(out, fmt.Sprintf("index %s %s(%s) unique=%v partial=%v", ix[0], name, strings.ReplaceAll(m[1], `"`, ""),
			strings.HasPrefix(ix[2], "CREATE UNIQUE"), m[2] != ""))
	}
	slices.Sort(out)
	return out
}

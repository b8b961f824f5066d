package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"caseverify/store"
	"caseverify/store/pgtest"
)

// `caseverify migrate-to-postgres --from FILE` copies into DATABASE_URL and
// prints the counts; it refuses a DATABASE_URL that is not PostgreSQL and a
// target that already holds data.
func TestMigrateToPostgres_Command(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	dataKey := bytes.Repeat([]byte{4}, 32)
	from := filepath.Join(t.TempDir(), "old.db")
	st, err := store.Open(ctx, from, store.Options{DataKey: dataKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAgency(ctx, "Moved County"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	vars := map[string]string{"SANDBOX": "true", "DATA_KEY": hex.EncodeToString(dataKey), "SESSION_KEY": hex.EncodeToString(bytes.Repeat([]byte{5}, 32)),
		"SANDBOX_KEY": hex.EncodeToString(bytes.Repeat([]byte{6}, 32))}
	run := func(dbURL string) (string, error) {
		vars["DATABASE_URL"] = dbURL
		cfg, err := cfgOf(t, vars)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = runCommand(ctx, cfg, []string{"migrate-to-postgres", "--from", from}, strings.NewReader(""), &out)
		return out.String(), err
	}
	if _, err := run(filepath.Join(t.TempDir(), "other.db")); err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Fatalf("a SQLite DATABASE_URL: %v", err)
	}
	out, err := run(url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "row counts match") || !strings.Contains(out, "agencies") {
		t.Fatalf("output:\n%s", out)
	}
	if _, err := run(url); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second run: %v", err)
	}
	pg, err := store.Open(ctx, url, store.Options{DataKey: dataKey})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.AgencyByName(ctx, "Moved County"); err != nil {
		t.Fatalf("the agency on PostgreSQL: %v", err)
	}
}

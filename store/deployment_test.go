package store_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"caseverify/store"
)

// The database, its WAL and shared-memory files are private to the portal's
// user (0600), also when an older version left them readable by others, and
// the folder it makes is 0700.
func TestOpen_FilesArePrivate(t *testing.T) {
	store.SkipOnPostgres(t, "file permissions")
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "caseverify.db")
	s, err := store.Open(ctx, path, store.Options{DataKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	f := mustFixture(t, s) // writes, so the WAL exists
	_ = f
	check := func(when string) {
		t.Helper()
		for _, name := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s: %s is %o, want 600", when, filepath.Base(name), perm)
			}
		}
	}
	check("new database")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder: %v %v, want 700", fi.Mode().Perm(), err)
	}
	s.Close()

	// A database an older version made with the umask's 0644.
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(name, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s, err = store.Open(ctx, path, store.Options{DataKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateAgency(ctx, "Agency C"); err != nil {
		t.Fatal(err)
	}
	check("reopened database")
}

// Tracked-link codes are stored as their SHA-256 (like the /v/ tokens) and
// encrypted: the database holds no code that opens a link. A code stored in
// the clear by an earlier version is moved at start and keeps working.
func TestLinkCodes_StoredHashed(t *testing.T) {
	ctx := context.Background()
	s, _, path := mustOpen(t)
	f := mustFixture(t, s)
	o := mustOrder(t, s, f, "truv")
	code := store.NewLinkCode()
	d, err := s.StartDelivery(ctx, f.agencyA.ID, store.Delivery{OrderID: o.ID, Channel: "sms", Kind: "first", LinkCode: code})
	if err != nil {
		t.Fatal(err)
	}
	raw := store.RawDBForTest(t, path)
	sum := sha256.Sum256([]byte(code))
	var plain sql.NullString
	var hash string
	var enc []byte
	if err := raw.QueryRow(`SELECT link_code, link_code_hash, link_code_enc FROM deliveries WHERE id = ?`, d.ID).Scan(&plain, &hash, &enc); err != nil {
		t.Fatal(err)
	}
	if plain.Valid || hash != hex.EncodeToString(sum[:]) || len(enc) == 0 || strings.Contains(string(enc), code) {
		t.Fatalf("stored link_code=%v hash=%q enc=%d bytes; want no clear code, its SHA-256 and a ciphertext", plain, hash, len(enc))
	}
	if lo, err := s.OpenLink(ctx, code); err != nil || lo.Delivery.ID != d.ID {
		t.Fatalf("OpenLink(code) = %v, %v", lo, err)
	}
	if _, err := s.OpenLink(ctx, hash); err == nil {
		t.Fatal("the stored hash opened the link")
	}
	ds, err := s.Deliveries(ctx, f.agencyA.ID, o.ID)
	if err != nil || len(ds) != 1 || ds[0].LinkCode != code {
		t.Fatalf("Deliveries = %v, %v; want the code back for the desk QR page", ds, err)
	}

	// An earlier version's row: the code in the clear, no hash.
	old := store.NewLinkCode()
	var oldID int64
	if err := raw.QueryRow(`INSERT INTO deliveries (agency_id, order_id, channel, recipient_masked, language, kind, result, error,
		message_id, link_code, created_at) VALUES (?, ?, 'email', '', 'en', 'first', 'sent', '', '', ?, '2026-11-23T15:00:00Z') RETURNING id`,
		f.agencyA.ID, o.ID, old).Scan(&oldID); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = store.Open(ctx, path, store.Options{DataKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var left int
	if err := raw.QueryRow(`SELECT count(*) FROM deliveries WHERE link_code IS NOT NULL`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("codes left in the clear after start: %d, %v", left, err)
	}
	if lo, err := s.OpenLink(ctx, old); err != nil || lo.Delivery.ID != oldID {
		t.Fatalf("OpenLink(old code) = %v, %v; an existing link must keep working", lo, err)
	}
}

// A database that already has later migrations (they land in any order)
// still gets one that landed after them, and starts.
func TestOpen_AppliesAMigrationThatLandedLate(t *testing.T) {
	store.SkipOnPostgres(t, "00010 is below the PostgreSQL baseline (00020), which includes it")
	ctx := context.Background()
	s, _, path := mustOpen(t)
	s.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// As if 00010 had landed after the database was migrated to the newest.
	for _, q := range []string{`DROP INDEX deliveries_link_code_hash`, `ALTER TABLE deliveries DROP COLUMN link_code_enc`,
		`ALTER TABLE deliveries DROP COLUMN link_code_hash`, `DELETE FROM goose_db_version WHERE version_id = 10`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s, err = store.Open(ctx, path, store.Options{DataKey: testKey})
	if err != nil {
		t.Fatalf("a database with later migrations does not start: %v", err)
	}
	defer s.Close()
	var n int
	if err := raw.QueryRow(`SELECT count(*) FROM pragma_table_info('deliveries') WHERE name = 'link_code_hash'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("link_code_hash column: %d, %v", n, err)
	}
}

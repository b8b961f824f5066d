package store_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/store"
)

// clock is an injected, settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var testKey = bytes.Repeat([]byte{7}, 32)

// mustOpen opens a store on a fresh database (SQLite, or PostgreSQL when
// the suite runs there) with a test clock; path is the database's URL.
func mustOpen(tb testing.TB) (*store.Store, *clock, string) {
	tb.Helper()
	clk := &clock{t: time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)}
	path := store.DatabaseURLForTest(tb)
	s, err := store.Open(context.Background(), path, store.Options{DataKey: testKey, Now: clk.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, clk, path
}

type fixture struct {
	agencyA, agencyB *store.Agency
	userA, userB     *store.User
}

func mustFixture(tb testing.TB, s *store.Store) fixture {
	tb.Helper()
	ctx := context.Background()
	var f fixture
	var err error
	if f.agencyA, err = s.CreateAgency(ctx, "Agency A"); err != nil {
		tb.Fatal(err)
	}
	if f.agencyB, err = s.CreateAgency(ctx, "Agency B"); err != nil {
		tb.Fatal(err)
	}
	if f.userA, err = s.CreateUser(ctx, f.agencyA.ID, store.NewUser{Email: "a1@a.gov", Name: "A One", Role: store.RoleCaseworker, Password: "correct horse battery"}); err != nil {
		tb.Fatal(err)
	}
	if f.userB, err = s.CreateUser(ctx, f.agencyB.ID, store.NewUser{Email: "b1@b.gov", Name: "B One", Role: store.RoleCaseworker, Password: "correct horse battery"}); err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestOpen_Pragmas(t *testing.T) {
	store.SkipOnPostgres(t, "PRAGMA settings")
	s, _, _ := mustOpen(t)
	got, err := s.Pragmas(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "3000", "secure_delete": "1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("PRAGMA %s = %q, want %q", k, got[k], v)
		}
	}
}

func TestOpen_BadKey(t *testing.T) {
	_, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), store.Options{DataKey: []byte("short")})
	if err == nil || !strings.Contains(err.Error(), "DATA_KEY") {
		t.Fatalf("err = %v, want a DATA_KEY error", err)
	}
}

func TestCreateCase(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	in := store.CaseInput{Number: " 2026-001 ", Program: "snap", AssignedUserID: f.userA.ID, RecertDue: "2027-01-31"}
	c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Number != "2026-001" || c.Status != store.CaseNew {
		t.Fatalf("case = %+v", c)
	}
	t.Run("duplicate in the same agency", func(t *testing.T) {
		_, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, in)
		var v store.ValidationError
		if !errors.As(err, &v) || !strings.Contains(v["case_number"], "already exists") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("same number in another agency", func(t *testing.T) {
		if _, err := s.CreateCase(ctx, f.agencyB.ID, f.userB.ID, store.CaseInput{Number: "2026-001", Program: "snap"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("worker of another agency", func(t *testing.T) {
		_, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "2026-002", Program: "snap", AssignedUserID: f.userB.ID})
		var v store.ValidationError
		if !errors.As(err, &v) || v["assigned_user_id"] == "" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		_, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "<script>", Program: "x", RecertDue: "31/01/2027"})
		var v store.ValidationError
		if !errors.As(err, &v) || len(v) != 3 {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestAgencyScoping(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	cb, err := s.CreateCase(ctx, f.agencyB.ID, f.userB.ID, store.CaseInput{Number: "B-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.AddMember(ctx, f.agencyB.ID, cb.ID, store.MemberInput{FirstName: "Bee", LastName: "Canary", Relationship: "self", Email: "bee@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Case(ctx, f.agencyA.ID, cb.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Case across agencies: %v", err)
	}
	if _, err := s.Member(ctx, f.agencyA.ID, cb.ID, mb.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Member across agencies: %v", err)
	}
	if ms, _ := s.Members(ctx, f.agencyA.ID, cb.ID); len(ms) != 0 {
		t.Errorf("Members across agencies: %d", len(ms))
	}
	if err := s.UpdateMember(ctx, f.agencyA.ID, cb.ID, mb.ID, store.MemberInput{FirstName: "X", LastName: "Y", Relationship: "self"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateMember across agencies: %v", err)
	}
	if err := s.RemoveMember(ctx, f.agencyA.ID, cb.ID, mb.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveMember across agencies: %v", err)
	}
	if _, err := s.AddMember(ctx, f.agencyA.ID, cb.ID, store.MemberInput{FirstName: "X", LastName: "Y", Relationship: "self"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddMember to another agency's case: %v", err)
	}
	if _, err := s.AddNote(ctx, f.agencyA.ID, cb.ID, f.userA.ID, "hi"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddNote across agencies: %v", err)
	}
	if err := s.UpdateCase(ctx, f.agencyA.ID, cb.ID, store.CaseInput{Number: "B-1", Program: "snap"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateCase across agencies: %v", err)
	}
	for _, q := range []string{"B-1", "canary", "bee@example.org"} {
		cs, n, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: q})
		if err != nil || n != 0 || len(cs) != 0 {
			t.Errorf("search %q in agency A found %d (%v)", q, n, err)
		}
		if _, n, _ := s.Cases(ctx, f.agencyB.ID, store.CaseFilter{Query: q}); n != 1 {
			t.Errorf("search %q in agency B found %d, want 1", q, n)
		}
	}
	if err := s.SetUserDisabled(ctx, f.agencyA.ID, f.userB.ID, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("disable another agency's user: %v", err)
	}
}

func TestMembers_PIIEncryptedAndSearchable(t *testing.T) {
	s, _, path := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	c, _ := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "A-1", Program: "medicaid"})
	m, err := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "Zqxwv", LastName: "Canarytest",
		Relationship: "self", Email: "Canary+PII@Example.test", Phone: "(555) 555-0123", DateOfBirth: "1911-11-11", SSNLast4: "9731", Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Member(ctx, f.agencyA.ID, c.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "canary+pii@example.test" || got.Phone != "+15555550123" || got.DateOfBirth != "1911-11-11" || got.SSNLast4 != "9731" || got.Language != "es" {
		t.Fatalf("member = %+v", got)
	}
	// The database files hold none of it in the clear (names aside).
	if _, err := s.Pragmas(ctx); err != nil { // touch the connection
		t.Fatal(err)
	}
	raw := readAll(t, path, path+"-wal")
	for _, secret := range []string{"canary+pii@example.test", "+15555550123", "1911-11-11", "9731"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("database file contains %q in the clear", secret)
		}
	}
	for _, q := range []string{"canary+pii@example.test", "555-555-0123", "+1 555 555 0123", "zqxwv", "Canarytest", "A-1"} {
		if _, n, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: q}); err != nil || n != 1 {
			t.Errorf("search %q found %d (%v)", q, n, err)
		}
	}
	if _, n, _ := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: "canary@example.test"}); n != 0 {
		t.Errorf("a different email matched")
	}
}

// readAll is what a copy of the database holds: its files on SQLite, every
// column of every row on PostgreSQL (bytes as stored, not hex).
func readAll(t *testing.T, paths ...string) []byte {
	if store.IsPostgres(paths[0]) {
		return dumpRows(t, paths[0])
	}
	var out []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return out
}

func TestMembers_ValidationAndRemoval(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	c, _ := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "A-2", Program: "snap"})
	_, err := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: " ", LastName: "X", Relationship: "cousin",
		Email: "not-an-email", Phone: "12", DateOfBirth: "2099-01-01", SSNLast4: "12a4", Language: "xx"})
	var v store.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("err = %v", err)
	}
	for _, field := range []string{"first_name", "relationship", "email", "phone", "date_of_birth", "ssn_last4", "language"} {
		if v[field] == "" {
			t.Errorf("no problem reported for %s", field)
		}
	}
	a, _ := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "Ann", LastName: "A", Relationship: "self"})
	b, _ := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "Ben", LastName: "A", Relationship: "child"})
	if a.Position != 1 || b.Position != 2 {
		t.Fatalf("positions %d %d", a.Position, b.Position)
	}
	if err := s.RemoveMember(ctx, f.agencyA.ID, c.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	ms, _ := s.Members(ctx, f.agencyA.ID, c.ID)
	if len(ms) != 1 || ms[0].ID != b.ID || !ms[0].IsPrimary() {
		t.Fatalf("after removing the primary: %+v", ms)
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"(555) 201-0123": "+15552010123", "555.201.0123": "+15552010123", "1-555-201-0123": "+15552010123",
		"+44 20 7946 0958": "+442079460958", "": "", "12345": "", "055-201-0123": "", "555-201-0123 x5": "",
	} {
		got, err := store.NormalizePhone(in)
		if want == "" {
			if err == nil {
				t.Errorf("NormalizePhone(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestSessions_Timeouts(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()

	t.Run("idle", func(t *testing.T) {
		tok, _ := s.CreateSession(ctx, f.userA)
		clk.Add(29*time.Minute + 59*time.Second)
		if _, err := s.SessionUser(ctx, tok); err != nil {
			t.Fatalf("at 29:59 idle: %v", err)
		}
		clk.Add(30*time.Minute + time.Second)
		if _, err := s.SessionUser(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("at 30:01 idle: %v", err)
		}
		clk.Add(-time.Hour) // and the row is gone: going back in time does not revive it
		if _, err := s.SessionUser(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired session revived: %v", err)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		tok, _ := s.CreateSession(ctx, f.userA)
		for elapsed := time.Duration(0); elapsed < 8*time.Hour-5*time.Minute; elapsed += 5 * time.Minute {
			clk.Add(5 * time.Minute)
			if _, err := s.SessionUser(ctx, tok); err != nil {
				t.Fatalf("active session ended after %s: %v", elapsed+5*time.Minute, err)
			}
		}
		clk.Add(5*time.Minute + time.Second)
		if _, err := s.SessionUser(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session alive past 8h: %v", err)
		}
	})
	t.Run("disable ends sessions", func(t *testing.T) {
		tok, _ := s.CreateSession(ctx, f.userB)
		if err := s.SetUserDisabled(ctx, f.agencyB.ID, f.userB.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("disabled user's session: %v", err)
		}
	})
	t.Run("a live check is not activity", func(t *testing.T) {
		tok, _ := s.CreateSession(ctx, f.userA)
		for i := 0; i < 4; i++ { // a stream asking every 11 minutes
			clk.Add(11 * time.Minute)
			if live, err := s.SessionLive(ctx, tok); err != nil || (i < 2) != live {
				t.Fatalf("after %d min: live = %v (%v)", 11*(i+1), live, err)
			}
		}
		if live, _ := s.SessionLive(ctx, "unknown"); live {
			t.Fatal("an unknown token is live")
		}
	})
	t.Run("sign-out", func(t *testing.T) {
		tok, _ := s.CreateSession(ctx, f.userA)
		if err := s.DeleteSession(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("after sign-out: %v", err)
		}
	})
}

// SessionsLive answers many sessions in one call with the same rule as
// SessionLive: more sessions than one IN list holds, signed out, of a
// disabled user, a sign-in under way, idle too long, unknown and empty.
func TestSessionsLive_ManyAtOnce(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	idle, _ := s.CreateSession(ctx, f.userA)
	clk.Add(31 * time.Minute)
	want := map[string]bool{idle: false, "unknown": false, "": false}
	for range 260 { // two IN lists
		tok, err := s.CreateSession(ctx, f.userA)
		if err != nil {
			t.Fatal(err)
		}
		want[tok] = true
	}
	out, _ := s.CreateSession(ctx, f.userA)
	if err := s.DeleteSession(ctx, out); err != nil {
		t.Fatal(err)
	}
	want[out] = false
	pending, _ := s.StartSession(ctx, f.userA, store.StageCode)
	want[pending] = false
	disabled, _ := s.CreateSession(ctx, f.userB)
	if err := s.SetUserDisabled(ctx, f.agencyB.ID, f.userB.ID, true); err != nil {
		t.Fatal(err)
	}
	want[disabled] = false
	tokens := slices.Collect(maps.Keys(want))
	got, err := s.SessionsLive(ctx, append(tokens, tokens[0])) // a token asked twice
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		for tok, live := range want {
			if got[tok] != live {
				t.Errorf("session %q: live = %v, want %v", tok, got[tok], live)
			}
		}
		t.Fatalf("%d answers for %d sessions", len(got), len(want))
	}
	for tok, live := range want {
		if one, err := s.SessionLive(ctx, tok); err != nil || one != live {
			t.Fatalf("SessionLive(%q) = %v, %v; SessionsLive said %v", tok, one, err, live)
		}
	}
}

func TestSessionToken_Entropy(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := store.NewSessionToken()
		if len(tok) < 43 || seen[tok] {
			t.Fatalf("weak or repeated token %q", tok)
		}
		seen[tok] = true
	}
}

func TestNotes(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	c, _ := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "A-3", Program: "wic"})
	if _, err := s.AddNote(ctx, f.agencyA.ID, c.ID, f.userA.ID, "   "); err == nil {
		t.Fatal("empty note accepted")
	}
	s.AddNote(ctx, f.agencyA.ID, c.ID, f.userA.ID, "first")
	clk.Add(time.Minute)
	s.AddNote(ctx, f.agencyA.ID, c.ID, f.userA.ID, "second\nline")
	ns, err := s.Notes(ctx, f.agencyA.ID, c.ID)
	if err != nil || len(ns) != 2 || ns[0].Body != "second\nline" || ns[0].AuthorName != "A One" {
		t.Fatalf("notes = %+v, %v", ns, err)
	}
}

func TestAudit_NoPII(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	if err := s.Audit(ctx, store.AuditEntry{AgencyID: f.agencyA.ID, UserID: f.userA.ID, Action: store.AuditRevealPII, CaseID: 1, MemberID: 2, IP: "10.1.1.1"}); err != nil {
		t.Fatal(err)
	}
	es, err := s.AuditLog(ctx, f.agencyA.ID, 10)
	if err != nil || len(es) != 1 || es[0].UserName != "A One" || es[0].MemberID != 2 {
		t.Fatalf("audit = %+v %v", es, err)
	}
	if es, _ := s.AuditLog(ctx, f.agencyB.ID, 10); len(es) != 0 {
		t.Fatal("audit log crosses agencies")
	}
}

func dumpRows(t *testing.T, url string) []byte {
	t.Helper()
	raw := store.RawDBForTest(t, url)
	tables, err := raw.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	var out []byte
	for _, n := range names {
		rows, err := raw.Query(`SELECT * FROM ` + n)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					out = append(out, v...)
				case string:
					out = append(out, v...)
				}
				out = append(out, 0)
			}
		}
		rows.Close()
	}
	return out
}

// A signed-in request reads its session; it records the activity (a write
// and a commit) only when the recorded activity is a minute old. So page
// views go on while the database's writes are held, as long as the session
// was seen within the minute; before, every request was a write transaction.
func TestSession_RecordsActivityAtMostEveryMinute(t *testing.T) {
	s, clk, url := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	tok, err := s.CreateSession(ctx, f.userA)
	if err != nil {
		t.Fatal(err)
	}
	// Hold the sessions table's writes from another connection.
	raw := store.RawDBForTest(t, url)
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lock, unlock := "BEGIN IMMEDIATE", "ROLLBACK"
	if store.IsPostgres(url) {
		lock = "BEGIN; LOCK TABLE sessions IN EXCLUSIVE MODE" // reads go on, writes wait
	}
	if _, err := conn.ExecContext(ctx, lock); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Second)
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if u, err := s.SessionUser(short, tok); err != nil || u.ID != f.userA.ID {
		t.Fatalf("30 s after the last activity, with writes held: %v, %v (a page view must not need a write)", u, err)
	}
	clk.Add(31 * time.Second) // 61 s: now the activity is recorded, which waits for the lock
	late, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if _, err := s.SessionUser(late, tok); err == nil {
		t.Fatal("a minute after the last activity, with writes held: the activity was not recorded")
	}
	if _, err := conn.ExecContext(ctx, unlock); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); err != nil {
		t.Fatalf("once released: %v", err)
	}
	// That activity counts: 29:59 later the session is alive, 30:01 it is not.
	clk.Add(29*time.Minute + 59*time.Second)
	if _, err := s.SessionUser(ctx, tok); err != nil {
		t.Fatalf("29:59 after the recorded activity: %v", err)
	}
}

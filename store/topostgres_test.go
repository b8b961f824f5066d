package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"caseverify/store"
	"caseverify/store/pgtest"
)

// A SQLite deployment with real data, written through the store, moves to
// PostgreSQL: read back through the store on PostgreSQL it is the same
// (PII decrypts with the same key, search finds it, sign-in works), new
// rows get fresh ids, and a second run into the now non-empty target is
// refused without touching it.
func TestCopyToPostgres_SQLiteDataReadBackOnPostgres(t *testing.T) {
	pgURL := pgtest.URL(t) // skips unless CASEVERIFY_TEST_POSTGRES=1
	ctx := context.Background()
	from := filepath.Join(t.TempDir(), "old.db")
	opts := store.Options{DataKey: testKey}
	src, err := store.Open(ctx, from, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := mustFixture(t, src)
	c, err := src.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "MIG-1", Program: "medicaid"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := src.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "Ada", LastName: "Movedover",
		Relationship: "self", Email: "ada@example.test", Phone: "(555) 201-0123", DateOfBirth: "1980-02-03", SSNLast4: "4321"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := src.CreateOrder(ctx, f.agencyA.ID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: "ref-mig-1",
		Provider: "truv", Products: []string{"income"}, Notify: store.NotifyAgency, CreatedBy: f.userA.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.AddNote(ctx, f.agencyA.ID, c.ID, f.userA.ID, "called the employer"); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}

	counts, err := store.CopyToPostgres(ctx, from, pgURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	byTable := map[string]int64{}
	for _, tc := range counts {
		byTable[tc.Table] = tc.Rows
	}
	if byTable["agencies"] != 2 || byTable["users"] != 2 || byTable["cases"] != 1 || byTable["members"] != 1 || byTable["orders"] != 1 {
		t.Fatalf("copied %v", byTable)
	}

	dst, err := store.Open(ctx, pgURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got, err := dst.Member(ctx, f.agencyA.ID, c.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FirstName != "Ada" || got.Email != "ada@example.test" || got.Phone != "+15552010123" || got.DateOfBirth != "1980-02-03" || got.SSNLast4 != "4321" {
		t.Fatalf("member on PostgreSQL = %+v", got)
	}
	if _, n, err := dst.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: "ada@example.test"}); err != nil || n != 1 {
		t.Fatalf("search by email on PostgreSQL found %d (%v)", n, err)
	}
	if _, n, _ := dst.Cases(ctx, f.agencyB.ID, store.CaseFilter{Query: "MIG-1"}); n != 0 {
		t.Fatal("agency B sees agency A's case after the move")
	}
	if ord, err := dst.Order(ctx, f.agencyA.ID, o.ID); err != nil || ord.Reference != "ref-mig-1" {
		t.Fatalf("order on PostgreSQL: %+v, %v", ord, err)
	}
	if _, err := dst.SignIn(ctx, "a1@a.gov", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("sign-in after the move: %v", err)
	}
	// Identity sequences continue after the copied ids.
	c2, err := dst.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "MIG-2", Program: "medicaid"})
	if err != nil {
		t.Fatal(err)
	}
	if c2.ID <= c.ID {
		t.Fatalf("new case id %d not after the copied %d", c2.ID, c.ID)
	}
	a3, err := dst.CreateAgency(ctx, "Agency C")
	if err != nil || a3.ID <= f.agencyB.ID {
		t.Fatalf("new agency: %+v, %v", a3, err)
	}

	// A second run refuses the non-empty target and changes nothing.
	if _, err := store.CopyToPostgres(ctx, from, pgURL, opts); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second run into a non-empty database: %v", err)
	}
	if _, n, _ := dst.Cases(ctx, f.agencyA.ID, store.CaseFilter{}); n != 2 {
		t.Fatalf("cases after the refused run: %d, want 2", n)
	}
}

// Two replicas on one PostgreSQL database: a change committed through
// store A reaches a Feed subscriber of store B (issue 18: live status
// across replicas), and A's own subscriber hears it once.
func TestFeed_PostgresAcrossStores(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	a, err := store.Open(ctx, url, store.Options{DataKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(ctx, url, store.Options{DataKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := mustFixture(t, a)
	c, err := a.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "R-1", Program: "medicaid"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "Rep", LastName: "Lica", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.CreateOrder(ctx, f.agencyA.ID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: "ref-rep-1",
		Provider: "truv", Products: []string{"income"}, Notify: store.NotifyAgency, CreatedBy: f.userA.ID})
	if err != nil {
		t.Fatal(err)
	}
	subB := b.Feed.Subscribe(f.agencyA.ID, c.ID)
	defer subB.Close()
	subA := a.Feed.Subscribe(f.agencyA.ID, c.ID)
	defer subA.Close()
	otherAgency := b.Feed.Subscribe(f.agencyB.ID, 0)
	defer otherAgency.Close()

	if err := a.AddEvent(ctx, f.agencyA.ID, o.ID, store.SourceCaseworker, "Called the applicant."); err != nil {
		t.Fatal(err)
	}
	select {
	case ch := <-subB.C:
		if ch.AgencyID != f.agencyA.ID || ch.CaseID != c.ID || ch.OrderID != o.ID {
			t.Fatalf("B heard %+v", ch)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("store B's subscriber did not hear the change committed through store A")
	}
	<-subA.C // A's own subscriber, published after commit
	select {
	case ch := <-subA.C:
		t.Fatalf("A heard its own change twice: %+v", ch)
	case ch := <-otherAgency.C:
		t.Fatalf("another agency's subscriber heard %+v", ch)
	case <-time.After(300 * time.Millisecond):
	}
}

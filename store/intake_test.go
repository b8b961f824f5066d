package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"caseverify/store"
)

const intakeGood = `case_number,program,recert_due,first_name,last_name,relationship,date_of_birth,email,phone,language
IN-1,snap,2027-01-31,Ana,Ruiz,,1985-02-03,ana@example.org,(555) 201-0123,Spanish
IN-1,snap,2027-01-31,Leo,Ruiz,child,2015-06-07,,,es
IN-2,medicaid,03/15/2027,Sam,Lee,self,04/05/1990,sam@example.org,,en
`

// The preview checks every row with the forms' rules and says which row
// and which column is wrong; it writes nothing.
func TestIntake_PreviewShowsRowAndColumn(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	file := intakeGood + "IN-3,snap,,Bo,,self,1999-13-01,not-an-email,,en\nIN-1,tanf,2027-01-31,Mia,Ruiz,spouse,,,,en\n"
	in, err := s.HoldIntake(ctx, f.agencyA.ID, f.userA.ID, []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if in.Rows != 5 {
		t.Fatalf("rows: %d", in.Rows)
	}
	p, err := s.PreviewIntake(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, pr := range p.Problems {
		got[fmt.Sprintf("%d:%s", pr.Line, pr.Column)] = pr.Message
	}
	want := map[string]string{
		"5:last_name":     "Enter the last name.", // the member form's words
		"5:date_of_birth": "Enter the date of birth as YYYY-MM-DD, for example 1988-04-17.",
		"5:email":         "",
		"6:program":       "Case IN-1 has another program on line 2.",
	}
	for k, msg := range want {
		if g, ok := got[k]; !ok || (msg != "" && g != msg) {
			t.Errorf("problem %s: %q (all: %v)", k, g, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems: %v", got)
	}
	if p.ProblemRows != 2 || p.Valid() != 3 || p.NewCases != 2 || p.NewMembers != 3 || p.Unchanged != 0 {
		t.Fatalf("preview: %+v", p)
	}
	// Nothing was written.
	if _, n, _ := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{}); n != 0 {
		t.Fatalf("the preview wrote %d cases", n)
	}
	// The file is the user's: another user or agency does not find it.
	if _, err := s.Intake(ctx, f.agencyA.ID, f.userA.ID+1, in.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another user: %v", err)
	}
	if _, err := s.Intake(ctx, f.agencyB.ID, f.userA.ID, in.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another agency: %v", err)
	}
	// All or nothing refuses a file with problems, writing nothing.
	var verr store.ValidationError
	if _, err := s.ImportIntake(ctx, f.agencyA.ID, f.userA.ID, in.ID, "all", nil); !errors.As(err, &verr) || verr["mode"] == "" {
		t.Fatalf("all with problems: %v", err)
	}
	if _, n, _ := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{}); n != 0 {
		t.Fatalf("a refused import wrote %d cases", n)
	}
	c, err := s.ImportIntake(ctx, f.agencyA.ID, f.userA.ID, in.ID, "valid", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *c != (store.IntakeCounts{CreatedCases: 2, AddedMembers: 3, Skipped: 2}) {
		t.Fatalf("valid rows: %+v", c)
	}
}

// Importing the same file again changes nothing and says so; the members
// are stored like the member form stores them (normalized, encrypted).
func TestIntake_ImportIsIdempotent(t *testing.T) {
	s, _, path := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	in, err := s.HoldIntake(ctx, f.agencyA.ID, f.userA.ID, []byte(intakeGood))
	if err != nil {
		t.Fatal(err)
	}
	var calls int
	c, err := s.ImportIntake(ctx, f.agencyA.ID, f.userA.ID, in.ID, "all", func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if *c != (store.IntakeCounts{CreatedCases: 2, AddedMembers: 3}) || calls < 2 {
		t.Fatalf("first import: %+v, %d progress calls", c, calls)
	}
	cs, err := s.CaseByNumber(ctx, f.agencyA.ID, "IN-2")
	if err != nil || cs.Program != "medicaid" || cs.RecertDue != "2027-03-15" {
		t.Fatalf("case: %+v %v", cs, err)
	}
	one, _ := s.CaseByNumber(ctx, f.agencyA.ID, "IN-1")
	ms, err := s.Members(ctx, f.agencyA.ID, one.ID)
	if err != nil || len(ms) != 2 {
		t.Fatalf("members: %v %v", ms, err)
	}
	if m := ms[0]; m.FirstName != "Ana" || m.Relationship != "self" || m.Phone != "+15552010123" || m.Language != "es" || m.Position != 1 {
		t.Fatalf("Ana: %+v", m)
	}
	if m := ms[1]; m.FirstName != "Leo" || m.Relationship != "child" || m.Position != 2 {
		t.Fatalf("Leo: %+v", m)
	}
	// PII is encrypted at rest: the email is not in the database file, nor
	// is the held CSV.
	s.Close()
	raw := readAll(t, path)
	for _, pii := range []string{"ana@example.org", "1985-02-03", "sam@example.org"} {
		if bytes.Contains(raw, []byte(pii)) {
			t.Errorf("%s is in the database file in clear", pii)
		}
	}
	s2, err := store.Open(ctx, path, store.Options{DataKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	// The same file again, uploaded anew and (case numbers typed in
	// another case) imported: nothing changes.
	again, err := s2.HoldIntake(ctx, f.agencyA.ID, f.userA.ID, []byte(strings.ReplaceAll(intakeGood, "IN-", "in-")))
	if err != nil {
		t.Fatal(err)
	}
	p, err := s2.PreviewIntake(ctx, again)
	if err != nil || p.NewCases != 0 || p.NewMembers != 0 || p.Unchanged != 3 {
		t.Fatalf("preview again: %+v %v", p, err)
	}
	c, err = s2.ImportIntake(ctx, f.agencyA.ID, f.userA.ID, again.ID, "valid", nil)
	if err != nil || *c != (store.IntakeCounts{Unchanged: 3}) {
		t.Fatalf("again: %+v %v", c, err)
	}
	if _, n, _ := s2.Cases(ctx, f.agencyA.ID, store.CaseFilter{}); n != 2 {
		t.Fatalf("cases after the second import: %d", n)
	}
	// The batch names the file's members, for a bulk send.
	ids, err := s2.IntakeMemberIDs(ctx, f.agencyA.ID, f.userA.ID, again.ID)
	if err != nil || len(ids) != 3 {
		t.Fatalf("batch: %v %v", ids, err)
	}
	if ids, _ := s2.IntakeMemberIDs(ctx, f.agencyB.ID, f.userA.ID, again.ID); len(ids) != 0 {
		t.Fatalf("another agency's batch: %v", ids)
	}
}

// A file refused as a whole says why and keeps nothing.
func TestIntake_BadFiles(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	var many strings.Builder
	many.WriteString("case_number,first_name,last_name\n")
	for i := range store.IntakeMaxRows + 1 {
		fmt.Fprintf(&many, "M-%d,A,B\n", i)
	}
	for name, tc := range map[string]struct{ file, want string }{
		"empty":          {"", "empty"},
		"no rows":        {"case_number,first_name,last_name\n", "no rows"},
		"unknown column": {"case_number,first_name,last_name,ssn\nA,B,C,123\n", `"ssn" is not one`},
		"missing column": {"case_number,first_name\nA,B\n", "no last_name column"},
		"twice":          {"case_number,first_name,last_name,dob,date_of_birth\nA,B,C,,\n", "named twice"},
		"latin-1":        {"case_number,first_name,last_name\nA,Jos\xe9,C\n", "not UTF-8"},
		"bad quotes":     {"case_number,first_name,last_name\nA,\"B,C\n", "not valid CSV"},
		"too many rows":  {many.String(), "more than 20000 rows"},
		"too big":        {strings.Repeat("x", store.IntakeMaxBytes+1), "larger than"},
	} {
		_, err := s.HoldIntake(ctx, f.agencyA.ID, f.userA.ID, []byte(tc.file))
		var ferr store.IntakeFileError
		if !errors.As(err, &ferr) || !strings.Contains(ferr.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A BOM (Excel's CSV UTF-8) and aliases are fine.
	if _, err := s.HoldIntake(ctx, f.agencyA.ID, f.userA.ID, []byte("\xef\xbb\xbfCase Number,First Name,Last Name,DOB\nA-1,B,C,1990-01-01\n")); err != nil {
		t.Fatalf("BOM and aliases: %v", err)
	}
}

// 10,000 rows import well within 30 seconds (batched in transactions).
// The time is logged, not asserted.
func TestIntake_TenThousandRows(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("case_number,program,recert_due,first_name,last_name,date_of_birth,email,phone,language\n")
	for i := range 10000 {
		fmt.Fprintf(&b, "BIG-%d,snap,2027-02-01,First%d,Last,1980-01-01,m%d@example.org,+1555201%04d,en\n", i/2, i, i, i)
	}
	for _, mode := range []string{"all", "valid"} {
		in, err := s.HoldIntake(ctx, f.agencyA.ID, f.userA.ID, []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		c, err := s.ImportIntake(ctx, f.agencyA.ID, f.userA.ID, in.ID, mode, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("10,000 rows, mode %s: %v (%+v)", mode, time.Since(start), *c)
		if mode == "all" && (c.CreatedCases != 5000 || c.AddedMembers != 10000) {
			t.Fatalf("first: %+v", c)
		}
		if mode == "valid" && c.Unchanged != 10000 {
			t.Fatalf("again: %+v", c)
		}
	}
}

// An uploaded file is kept a day: the retention sweep wipes it after that
// (the import's summary stays), and its preview is gone.
func TestIntake_HeldADay(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	in, err := s.HoldIntake(ctx, f.agencyA.ID, f.userA.ID, []byte(intakeGood))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeIntakes(ctx); err != nil || n != 0 {
		t.Fatalf("a fresh file wiped: %d %v", n, err)
	}
	clk.Add(25 * time.Hour)
	if n, err := s.PurgeIntakes(ctx); err != nil || n != 1 {
		t.Fatalf("purge: %d %v", n, err)
	}
	in, err = s.Intake(ctx, f.agencyA.ID, f.userA.ID, in.ID)
	if err != nil || !in.Expired() || in.Rows != 3 {
		t.Fatalf("after the day: %+v %v", in, err)
	}
	if _, err := s.PreviewIntake(ctx, in); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("preview of a wiped file: %v", err)
	}
}

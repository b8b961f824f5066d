package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"caseverify/store"
)

// The case search finds a case by the start of its number (any case), by
// the start of any word of a member's name (every typed word in the same
// member), by a member's exact email or phone, and never another agency's.
func TestCases_SearchFindsByEachKeyWithinTheAgency(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	add := func(agency, user int64, number string, members ...store.MemberInput) int64 {
		t.Helper()
		clk.Add(1e9)
		c, err := s.CreateCase(ctx, agency, user, store.CaseInput{Number: number, Program: "snap"})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			m.Relationship = "self"
			if _, err := s.AddMember(ctx, agency, c.ID, m); err != nil {
				t.Fatal(err)
			}
		}
		return c.ID
	}
	garcia := add(f.agencyA.ID, f.userA.ID, "SN-1001", store.MemberInput{FirstName: "Maria", LastName: "de la Cruz-Garcia",
		Email: "maria@example.org", Phone: "(555) 201-0001"})
	smith := add(f.agencyA.ID, f.userA.ID, "SN-1002", store.MemberInput{FirstName: "Ann", LastName: "Smith"},
		store.MemberInput{FirstName: "Maria", LastName: "Jones"})
	other := add(f.agencyB.ID, f.userB.ID, "SN-1003", store.MemberInput{FirstName: "Maria", LastName: "Garcia",
		Email: "maria@example.org", Phone: "5552010001"})
	for q, want := range map[string][]int64{
		"sn-100":            {smith, garcia}, // number prefix, any case, newest first
		"SN-1001":           {garcia},
		"garc":              {garcia}, // a word after a hyphen
		"cruz":              {garcia},
		"maria":             {smith, garcia},
		"Maria Garcia":      {garcia},
		"maria smith":       nil, // two members' words, not one member's
		"ann smi":           {smith},
		"ria":               nil, // the start of a word, not any part
		"MARIA@example.org": {garcia},
		"555-201-0001":      {garcia},
		"100%":              nil,
	} {
		got, n, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: q})
		if err != nil {
			t.Fatal(q, err)
		}
		var ids []int64
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		if !slices.Equal(ids, want) || n != len(want) {
			t.Errorf("search %q = %v (total %d), want %v", q, ids, n, want)
		}
		if slices.Contains(ids, other) {
			t.Errorf("search %q found agency B's case", q)
		}
	}
	// A renamed member is found by the new name only.
	ms, err := s.Members(ctx, f.agencyA.ID, smith)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateMember(ctx, f.agencyA.ID, smith, ms[0].ID, store.MemberInput{FirstName: "Ann", LastName: "Baker", Relationship: "self"}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"smith": 0, "baker": 1} {
		if _, n, _ := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: q}); n != want {
			t.Errorf("after the rename, search %q total = %d, want %d", q, n, want)
		}
	}
	// A deleted member's name no longer finds the case.
	if err := s.RemoveMember(ctx, f.agencyA.ID, smith, ms[1].ID); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: "jones"}); len(got) != 0 {
		t.Errorf("a deleted member's name still finds the case")
	}
}

// Every case is on exactly one page, deep pages included, in the list's
// order; a search stops counting past store.SearchCountLimit.
func TestCases_PagesCoverEveryCaseOnce(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	const n = 230
	for i := range n {
		if i%3 != 0 {
			clk.Add(1e9) // some cases share an updated_at: the id breaks the tie
		}
		if _, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: fmt.Sprintf("P-%03d", i), Program: "snap"}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int64]bool{}
	var prev *store.Case
	for page := 1; page <= 10; page++ {
		got, total, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Page: page, PerPage: 25})
		if err != nil || total != n {
			t.Fatalf("page %d: total %d, %v", page, total, err)
		}
		if want := min(25, n-(page-1)*25); len(got) != want {
			t.Fatalf("page %d holds %d cases, want %d", page, len(got), want)
		}
		for _, c := range got {
			if seen[c.ID] {
				t.Fatalf("case %s on two pages", c.Number)
			}
			seen[c.ID] = true
			if prev != nil && (c.UpdatedAt.After(prev.UpdatedAt) || (c.UpdatedAt.Equal(prev.UpdatedAt) && c.ID > prev.ID)) {
				t.Fatalf("case %s comes after %s out of order", c.Number, prev.Number)
			}
			prev = c
		}
	}
	if len(seen) != n {
		t.Fatalf("the pages hold %d cases, want %d", len(seen), n)
	}
	for i := range store.SearchCountLimit + 10 {
		if _, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: fmt.Sprintf("Q-%04d", i), Program: "snap"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, total, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{Query: "q-"}); err != nil || total != store.SearchCountLimit+1 {
		t.Fatalf("search total = %d, %v; want it to stop at %d", total, err, store.SearchCountLimit+1)
	}
}

// The list pages by keyset (issue 17): walking Next from the first page
// visits every case once, in order, ties on updated_at included; a case
// updated meanwhile (it moves to the top) neither repeats on the next page
// nor pushes it along, as OFFSET paging did; the filters apply; and the
// pager's starts (a window each side, the last page) open exactly the
// pages a walk from the top finds. Agency scoped: another agency's cursor
// opens only this agency's cases.
func TestCases_KeysetPaging(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	const n = 130
	ids := map[int64]string{}
	for i := range n {
		if i%4 != 0 {
			clk.Add(1e9) // every fourth case shares its updated_at with the one before
		}
		c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: fmt.Sprintf("K-%03d", i), Program: "snap"})
		if err != nil {
			t.Fatal(err)
		}
		ids[c.ID] = c.Number
	}
	other, err := s.CreateCase(ctx, f.agencyB.ID, f.userB.ID, store.CaseInput{Number: "K-B", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	const per = 20
	walk := func(filter store.CaseFilter) (pages [][]*store.Case, starts []string) {
		t.Helper()
		filter.PerPage = per
		after := ""
		for p := 1; p <= 20; p++ {
			filter.After, filter.Page = after, p
			got, _, err := s.Cases(ctx, f.agencyA.ID, filter)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 {
				return pages, starts
			}
			pages, starts = append(pages, got), append(starts, after)
			after = store.CaseCursor(got[len(got)-1])
		}
		t.Fatal("more pages than cases")
		return nil, nil
	}
	pages, starts := walk(store.CaseFilter{})
	var all []*store.Case
	for _, p := range pages {
		all = append(all, p...)
	}
	if len(pages) != 7 || len(all) != n {
		t.Fatalf("%d pages, %d cases; want 7 pages of %d cases", len(pages), len(all), n)
	}
	seen := map[int64]bool{}
	for i, c := range all {
		if seen[c.ID] || ids[c.ID] == "" {
			t.Fatalf("case %d (%s) twice or not this agency's", c.ID, c.Number)
		}
		seen[c.ID] = true
		if i > 0 && (c.UpdatedAt.After(all[i-1].UpdatedAt) || (c.UpdatedAt.Equal(all[i-1].UpdatedAt) && c.ID > all[i-1].ID)) {
			t.Fatalf("%s comes after %s out of order", c.Number, all[i-1].Number)
		}
	}
	numbers := func(cs []*store.Case) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Number)
		}
		return out
	}

	// The pager's starts, from page 4 (of 7) with a window of 2.
	total := n
	ps, err := s.CasePageStarts(ctx, f.agencyA.ID, store.CaseFilter{PerPage: per, After: starts[3], Page: 4}, pages[3], total, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{starts[2], starts[1]}; !slices.Equal(ps.Before, want) {
		t.Errorf("before page 4: %q, want %q", ps.Before, want)
	}
	if want := []string{starts[4], starts[5]}; !slices.Equal(ps.After, want) {
		t.Errorf("after page 4: %q, want %q", ps.After, want)
	}
	if ps.Last != starts[6] {
		t.Errorf("last page opens at %q, want %q", ps.Last, starts[6])
	}
	// Near the ends: page 2 reaches back to the first page (""), page 6
	// has one page after it.
	if ps, _ := s.CasePageStarts(ctx, f.agencyA.ID, store.CaseFilter{PerPage: per}, pages[1], total, 2); !slices.Equal(ps.Before, []string{""}) {
		t.Errorf("before page 2: %q, want the first page", ps.Before)
	}
	if ps, _ := s.CasePageStarts(ctx, f.agencyA.ID, store.CaseFilter{PerPage: per}, pages[5], total, 2); !slices.Equal(ps.After, []string{starts[6]}) {
		t.Errorf("after page 6: %q, want only page 7", ps.After)
	}

	// A case on page 5 is updated while someone reads page 2: it moves to
	// the top, and page 3 (after page 2's last case) is still what it was,
	// minus nothing, plus nothing. (With OFFSET, page 3 would now start
	// with page 2's last case.)
	moved := pages[4][3]
	clk.Add(1e9)
	if err := s.UpdateCase(ctx, f.agencyA.ID, moved.ID, store.CaseInput{Number: moved.Number, Program: "medicaid"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{PerPage: per, After: starts[2], Page: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(numbers(got), numbers(pages[2])) {
		t.Errorf("page 3 after an update elsewhere:\n got %v\nwant %v", numbers(got), numbers(pages[2]))
	}
	if top, _, _ := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{PerPage: per}); top[0].ID != moved.ID {
		t.Errorf("the updated case is not first: %s", top[0].Number)
	}

	// Filters apply to keyset pages: the walk by status finds the same
	// cases as the one-page list by status.
	byProgram, _ := walk(store.CaseFilter{Status: store.CaseStatus("new")})
	var filtered int
	for _, p := range byProgram {
		filtered += len(p)
	}
	if filtered != n {
		t.Errorf("walking status=new found %d cases, want %d", filtered, n)
	}
	if got, _, _ := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{PerPage: per, Status: store.CaseStatus("completed"), After: starts[2]}); len(got) != 0 {
		t.Errorf("status=completed after a cursor: %v", numbers(got))
	}

	// Another agency's case as a cursor opens only this agency's cases, and
	// this agency's cursor opens nothing of the other's; junk is the top.
	if got, _, _ := s.Cases(ctx, f.agencyB.ID, store.CaseFilter{After: starts[1]}); len(got) != 0 && got[0].ID != other.ID {
		t.Errorf("agency B's list after agency A's cursor: %v", numbers(got))
	}
	for _, junk := range []string{"x", "2026-01-01~", "~5", "nope~5", "2026-11-23T15:00:00.000000000Z~-1"} {
		got, _, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{PerPage: per, After: junk})
		if err != nil || len(got) == 0 || got[0].ID != moved.ID {
			t.Errorf("cursor %q: %v, %v; want the first page", junk, len(got), err)
		}
	}
}

// A search's pages are its matches in the list's order, each once, both
// when it has few matches (sorted) and when it has more than
// store.SearchCountLimit (the list walked, keeping the matches), and
// filters and the agency apply to both.
func TestCases_SearchPagesInListOrder(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	var want []int64 // "few-" cases, newest first
	for i := range store.SearchCountLimit + 100 {
		if i%2 == 0 {
			clk.Add(1e9) // pairs share an updated_at: the id breaks the tie
		}
		number := fmt.Sprintf("MANY-%04d", i)
		if i%10 == 0 {
			number = fmt.Sprintf("FEW-%04d", i)
		}
		c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: number, Program: "snap"})
		if err != nil {
			t.Fatal(err)
		}
		if i%10 == 0 {
			want = append([]int64{c.ID}, want...)
		}
	}
	if _, err := s.CreateCase(ctx, f.agencyB.ID, f.userB.ID, store.CaseInput{Number: "MANY-B", Program: "snap"}); err != nil {
		t.Fatal(err)
	}
	list, _, err := s.Cases(ctx, f.agencyA.ID, store.CaseFilter{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	walk := func(filter store.CaseFilter) (ids []int64, total int) {
		t.Helper()
		for p := 1; p <= 30; p++ {
			filter.Page, filter.PerPage = p, 20
			got, n, err := s.Cases(ctx, f.agencyA.ID, filter)
			if err != nil {
				t.Fatal(err)
			}
			total = n
			for _, c := range got {
				ids = append(ids, c.ID)
			}
		}
		return ids, total
	}
	if got, total := walk(store.CaseFilter{Query: "few-"}); !slices.Equal(got, want) || total != len(want) {
		t.Errorf("few matches: %v (total %d), want %v", got, total, want)
	}
	// Many: the first SearchCountLimit + 1 of the list, whose newest 100
	// are the list's first page minus the "few-" cases.
	got, total := walk(store.CaseFilter{Query: "many-"})
	if total != store.SearchCountLimit+1 || len(got) != store.SearchCountLimit+1 {
		t.Fatalf("many matches: %d on the pages, total %d; want %d", len(got), total, store.SearchCountLimit+1)
	}
	var top []int64
	for _, c := range list {
		if !slices.Contains(want, c.ID) {
			top = append(top, c.ID)
		}
	}
	if !slices.Equal(got[:len(top)], top) {
		t.Errorf("many matches start %v, want the list's order %v", got[:len(top)], top)
	}
	seen := map[int64]bool{}
	for _, id := range got {
		if seen[id] || slices.Contains(want, id) {
			t.Fatalf("case %d twice or not a match", id)
		}
		seen[id] = true
	}
	if got, total := walk(store.CaseFilter{Query: "many-", Status: store.CaseStatus("completed")}); len(got) != 0 || total != 0 {
		t.Errorf("many matches, none completed: %v (total %d)", got, total)
	}
}

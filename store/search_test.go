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

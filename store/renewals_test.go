package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"caseverify/store"
)

// startClaimed starts a renewal of the order's case and claims its item.
func startClaimed(t *testing.T, s *store.Store, f fixture, o *store.Order, lease time.Duration) (*store.RenewalRun, *store.RenewalItem) {
	t.Helper()
	ctx := context.Background()
	run, err := s.StartRenewal(ctx, f.agencyA.ID, f.userA.ID, o.CaseID, 0)
	if err != nil || run.Counts.Total != 1 {
		t.Fatalf("start: %+v %v", run, err)
	}
	it, err := s.ClaimRenewalItem(ctx, lease)
	if err != nil {
		t.Fatal(err)
	}
	return run, it
}

// A worker whose lease ran out and whose item another worker took over can
// neither extend its lease (before a billed call or a message) nor record
// its outcome: only the one holding the item can.
func TestRenewalItem_FencedByClaim(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "truv")
	run, a := startClaimed(t, s, f, o, time.Minute)
	if err := s.ExtendRenewalLease(ctx, a, time.Minute); err != nil {
		t.Fatalf("the holder extends: %v", err)
	}
	clk.Add(2 * time.Minute)
	b, err := s.ClaimRenewalItem(ctx, time.Minute)
	if err != nil || b.ID != a.ID || b.Attempts != a.Attempts+1 {
		t.Fatalf("takeover: %+v %v", b, err)
	}
	if err := s.ExtendRenewalLease(ctx, a, time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("the old worker extends: %v", err)
	}
	if err := s.FinishRenewalItem(ctx, a, "new_link", "new_link", "sent", 0, 0); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("the old worker finishes: %v", err)
	}
	if err := s.FinishRenewalItem(ctx, b, "queued", "queue", "queued", 0, 0); err != nil {
		t.Fatalf("the new worker finishes: %v", err)
	}
	if err := s.FinishRenewalItem(ctx, b, "failed", "", "again", 0, 0); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("a finished item finished again: %v", err)
	}
	items, _ := s.RenewalItems(ctx, run.ID)
	if items[0].Status != "queued" || items[0].Detail != "queued" {
		t.Fatalf("item: %+v", items[0])
	}
}

// A refresh's outcome (by webhook) finds its item while "refreshing" and
// while "working"; it takes the item only when no worker holds it, and only
// once, and the worker it took the item from can no longer record.
func TestClaimRenewalOutcome(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "truv")
	_, it := startClaimed(t, s, f, o, time.Minute)
	if err := s.SetRenewalOrder(ctx, it.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RenewalItemByOrder(ctx, o.ID); err != nil || got.ID != it.ID {
		t.Fatalf("item while working: %+v %v", got, err)
	}
	if _, err := s.ClaimRenewalOutcome(ctx, o.ID, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claimed from a worker that holds it: %v", err)
	}
	clk.Add(2 * time.Minute) // the worker is gone
	c1, err := s.ClaimRenewalOutcome(ctx, o.ID, time.Minute)
	if err != nil || c1.ID != it.ID {
		t.Fatalf("claim of a dead worker's item: %+v %v", c1, err)
	}
	if _, err := s.ClaimRenewalOutcome(ctx, o.ID, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claimed twice: %v", err)
	}
	if err := s.FinishRenewalItem(ctx, it, "refreshing", "refresh", "", 0, o.ID); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("the dead worker recorded: %v", err)
	}
	if err := s.FinishRenewalItem(ctx, c1, "refreshing", "refresh", "waiting", 0, o.ID); err != nil {
		t.Fatal(err)
	}
	// "refreshing": free to take at once.
	c2, err := s.ClaimRenewalOutcome(ctx, o.ID, time.Minute)
	if err != nil {
		t.Fatalf("claim of a refreshing item: %v", err)
	}
	if err := s.FinishRenewalItem(ctx, c2, "refreshed", "refresh", "done", 0, o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RenewalItemByOrder(ctx, o.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a finished item is still open: %v", err)
	}
}

// A member is left out of a new run while being renewed (waiting, worked
// on, or a refresh not answered yet, whatever the run) and once renewed for
// the case's current due date; queued or failed renewals are tried again,
// and a new due date is a new recertification.
func TestStartRenewal_SkipsRenewedMembers(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	due := clk.Now().AddDate(0, 0, 10).Format("2006-01-02")
	c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "R-1", Program: "snap", RecertDue: due})
	if err != nil {
		t.Fatal(err)
	}
	var ms []*store.Member
	for _, name := range []string{"Refreshing", "Refreshed", "Queued", "Failed"} {
		m, err := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: name, LastName: "R", Relationship: "other"})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	run, err := s.StartRenewal(ctx, f.agencyA.ID, f.userA.ID, c.ID, 0)
	if err != nil || run.Counts.Total != 4 {
		t.Fatalf("first run: %+v %v", run, err)
	}
	for _, status := range []string{"refreshing", "refreshed", "queued", "failed"} {
		it, err := s.ClaimRenewalItem(ctx, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if it.RecertDue != due {
			t.Fatalf("item due %q, want %q", it.RecertDue, due)
		}
		if err := s.FinishRenewalItem(ctx, it, status, "", status, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if run, _ = s.RenewalRun(ctx, f.agencyA.ID, run.ID); run.Status != "done" {
		t.Fatalf("first run %s", run.Status)
	}
	members := func(runID int64) []int64 {
		items, err := s.RenewalItems(ctx, runID)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, it := range items {
			out = append(out, it.MemberID)
		}
		return out
	}
	// The renewals page's count is the same selection as the run's.
	if n, err := s.CountRenewable(ctx, f.agencyA.ID, 30); err != nil || n != 2 {
		t.Fatalf("CountRenewable = %d (%v), want the queued and failed members", n, err)
	}
	bulk, err := s.StartRenewal(ctx, f.agencyA.ID, f.userA.ID, 0, 30)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountRenewable(ctx, f.agencyA.ID, 30); err != nil || n != 0 {
		t.Fatalf("CountRenewable during the run = %d (%v), want 0", n, err)
	}
	if got, want := members(bulk.ID), []int64{ms[2].ID, ms[3].ID}; !slices.Equal(got, want) {
		t.Fatalf("second run renews %v, want the queued and failed members %v", got, want)
	}
	// The next recertification: the refreshed member again; the one whose
	// refresh is unanswered, and those waiting in the running bulk run, not.
	next := clk.Now().AddDate(0, 0, 20).Format("2006-01-02")
	if err := s.UpdateCase(ctx, f.agencyA.ID, c.ID, store.CaseInput{Number: "R-1", Program: "snap", RecertDue: next}); err != nil {
		t.Fatal(err)
	}
	again, err := s.StartRenewal(ctx, f.agencyA.ID, f.userA.ID, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := members(again.ID), []int64{ms[1].ID}; !slices.Equal(got, want) {
		t.Fatalf("next due date renews %v, want %v", got, want)
	}
}

// A refresh in place (AccountChek: the same order gets new reports)
// compares the reports the renewal started from with those stored since,
// not the order's newest report with itself.
func TestRenewalReports_InPlaceBaseline(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "accountchek")
	save := func(id, kind string) *store.Report {
		r, err := s.SaveReport(ctx, f.agencyA.ID, o.ID, store.Report{ProviderReportID: id, Kind: kind, Data: []byte(`{"Kind":"` + kind + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	save("voa:old", "assets")
	base := save("voe:old", "income")
	_, it := startClaimed(t, s, f, o, time.Minute)
	if err := s.SetRenewalBaseline(ctx, it.ID, o.ID, base.ID); err != nil {
		t.Fatal(err)
	}
	save("voa:new", "assets")
	save("voe:new", "income")
	if err := s.FinishRenewalItem(ctx, it, "refreshed", "refresh", "", o.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	it, err := s.LatestRenewalItem(ctx, f.agencyA.ID, o.MemberID)
	if err != nil || it.PrevReportID != base.ID {
		t.Fatalf("item: %+v %v", it, err)
	}
	before, after, err := s.RenewalReports(ctx, f.agencyA.ID, it)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(rs []*store.Report) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ProviderReportID)
		}
		return out
	}
	if got := ids(before); !slices.Equal(got, []string{"voa:old", "voe:old"}) {
		t.Fatalf("before %v", got)
	}
	if got := ids(after); !slices.Equal(got, []string{"voa:new", "voe:new"}) {
		t.Fatalf("after %v", got)
	}
	// Recorded without a baseline: nothing to compare, rather than the
	// order's report with itself.
	it.PrevReportID = 0
	if before, after, err := s.RenewalReports(ctx, f.agencyA.ID, it); err != nil || before != nil || after != nil {
		t.Fatalf("without a baseline: %v %v %v", ids(before), ids(after), err)
	}
}

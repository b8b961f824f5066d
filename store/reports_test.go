package store_test

import (
	"context"
	"testing"
	"time"

	"caseverify/store"
)

// R1 (reliability.md) on the store's clock: a Payscore report fetched at
// completion lives 14 days; a re-fire fetched later does not extend it; it is
// readable at 13 d 23 h 59 m; at 14 d + 1 s it is not displayed and the expiry
// sweep deletes its data (it stays gone when read "earlier" again, so the
// body is purged, not only hidden).
func TestReports_R1ExpiryAndPurge(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "payscore")
	other := mustOrder(t, s, f, "truv") // a report without expiry is never purged
	const life = 14 * 24 * time.Hour
	completed := clk.Now()
	r1, err := s.SaveReport(ctx, f.agencyA.ID, o.ID, store.Report{Kind: "bank", Data: []byte(`{"n":1}`), ExpiresAt: completed.Add(life)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveReport(ctx, f.agencyA.ID, other.ID, store.Report{Kind: "income", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	// SCREENING_GROUP_COMPLETED fires again five minutes later: the new
	// copy's own "14 days from this fetch" is cut back to the first.
	clk.Add(5 * time.Minute)
	r2, err := s.SaveReport(ctx, f.agencyA.ID, o.ID, store.Report{Kind: "bank", Data: []byte(`{"n":2}`), ExpiresAt: clk.Now().Add(life)})
	if err != nil {
		t.Fatal(err)
	}
	if !r2.ExpiresAt.Equal(completed.Add(life)) {
		t.Fatalf("re-fired report expires %v, want the first's %v", r2.ExpiresAt, completed.Add(life))
	}
	if r, _ := s.LatestReport(ctx, f.agencyA.ID, o.ID); !r.ExpiresAt.Equal(completed.Add(life)) {
		t.Fatalf("stored expiry %v", r.ExpiresAt)
	}

	clk.Add(completed.Add(life - time.Minute).Sub(clk.Now())) // 13 d 23 h 59 m
	if r, _ := s.LatestReport(ctx, f.agencyA.ID, o.ID); r.Purged || string(r.Data) != `{"n":2}` {
		t.Fatalf("report gone before 14 days: %+v", r)
	}
	if n, err := s.PurgeExpiredReports(ctx); err != nil || n != 0 {
		t.Fatalf("purged %d (%v) before the expiry", n, err)
	}

	clk.Add(time.Minute + time.Second) // 14 d + 1 s
	if r, _ := s.LatestReport(ctx, f.agencyA.ID, o.ID); !r.Purged || r.Data != nil {
		t.Fatal("report displayed after 14 days")
	}
	if n, err := s.PurgeExpiredReports(ctx); err != nil || n != 2 {
		t.Fatalf("purged %d (%v), want both copies", n, err)
	}
	if n, _ := s.PurgeExpiredReports(ctx); n != 0 {
		t.Fatalf("purged %d again", n)
	}
	clk.Add(-time.Hour) // before the expiry again: the data is gone, not hidden
	for _, id := range []int64{r1.ID, r2.ID} {
		if r, err := s.ReportByID(ctx, f.agencyA.ID, o.ID, id); err != nil || !r.Purged || r.Data != nil {
			t.Fatalf("report %d after the sweep: %+v %v", id, r, err)
		}
	}
	if r, err := s.LatestReport(ctx, f.agencyA.ID, other.ID); err != nil || r.Purged {
		t.Fatalf("a report without expiry was purged: %+v %v", r, err)
	}
}

// REPORT_SOON_TO_EXPIRE brings a later expiry forward (what the report
// page's "expires soon" banner reads) and never pushes an earlier one back.
func TestReports_ExpiresBy(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "payscore")
	// Fetched an hour after completion: 14 days from the fetch is an hour late.
	late := clk.Now().Add(14*24*time.Hour + time.Hour)
	if _, err := s.SaveReport(ctx, f.agencyA.ID, o.ID, store.Report{Kind: "bank", Data: []byte(`{}`), ExpiresAt: late}); err != nil {
		t.Fatal(err)
	}
	clk.Add(12 * 24 * time.Hour) // day 12: the warning
	by := clk.Now().Add(48 * time.Hour)
	if err := s.ReportExpiresBy(ctx, f.agencyA.ID, o.ID, by); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	r, _ := s.LatestReport(ctx, f.agencyA.ID, o.ID)
	if !r.ExpiresAt.Equal(by) || r.ExpiresAt.Sub(clk.Now()) >= 48*time.Hour || r.Purged {
		t.Fatalf("expiry %v after the warning, want %v", r.ExpiresAt, by)
	}
	if err := s.ReportExpiresBy(ctx, f.agencyA.ID, o.ID, by.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.LatestReport(ctx, f.agencyA.ID, o.ID); !r.ExpiresAt.Equal(by) {
		t.Fatalf("a later warning moved the expiry back to %v", r.ExpiresAt)
	}
	if err := s.ReportExpiresBy(ctx, f.agencyB.ID, o.ID, clk.Now()); err == nil {
		t.Fatal("another agency changed the report")
	}
}

// The report sweep's backoff: a completed order without a report is due once
// it is quiet; after a failed try it waits 30 s, then 60 s, and so on; the
// order never blocks the others while it waits.
func TestReports_SweepBackoff(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	a := mustOrder(t, s, f, "accountchek")
	b := mustOrder(t, s, f, "truv")
	for _, o := range []*store.Order{a, b} {
		if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, store.StatusUpdate{Status: store.StatusCompleted, Source: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	const base = 30 * time.Second
	due := func() []int64 {
		t.Helper()
		os, err := s.ClaimOrdersMissingReport(ctx, clk.Now().Add(-base), time.Hour, 1)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, o := range os {
			ids = append(ids, o.ID)
		}
		return ids
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("due before quiet: %v", got)
	}
	clk.Add(base + time.Second)
	if got := due(); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("due %v, want [%d]", got, a.ID)
	}
	if n, err := s.ReportFetchFailed(ctx, a.ID, base); err != nil || n != 1 {
		t.Fatalf("attempts %d %v", n, err)
	}
	// a waits: b comes next, with a limit of one.
	if got := due(); len(got) != 1 || got[0] != b.ID {
		t.Fatalf("due %v, want [%d] while %d waits", got, b.ID, a.ID)
	}
	if _, err := s.ReportFetchFailed(ctx, b.ID, base); err != nil {
		t.Fatal(err)
	}
	clk.Add(base)
	if got := due(); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("due %v after 30 s, want [%d]", got, a.ID)
	}
	if n, _ := s.ReportFetchFailed(ctx, a.ID, base); n != 2 {
		t.Fatalf("attempts %d, want 2", n)
	}
	clk.Add(base) // b's retry is due, a's (60 s) is not
	if got := due(); len(got) != 1 || got[0] != b.ID {
		t.Fatalf("due %v, want [%d]", got, b.ID)
	}
	if _, err := s.SaveReport(ctx, f.agencyA.ID, b.ID, store.Report{Kind: "income", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if got := due(); len(got) != 0 {
		t.Fatalf("due %v, want none", got)
	}
	clk.Add(base)
	if got := due(); len(got) != 1 || got[0] != a.ID {
		t.Fatalf("due %v after 60 s, want [%d]", got, a.ID)
	}
	for i, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if got := store.ReportBackoff(base, i+1); got != want {
			t.Errorf("ReportBackoff(%d) = %v, want %v", i+1, got, want)
		}
	}
	if got := store.ReportBackoff(base, 100); got != 6*time.Hour {
		t.Errorf("ReportBackoff(100) = %v, want the 6 h cap", got)
	}
}

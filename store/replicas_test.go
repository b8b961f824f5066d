package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"caseverify/store"
)

// Several replicas of the portal share one database (issue 18): two
// store.Open on the same URL are two replicas. On SQLite they are two
// processes on one file; with CASEVERIFY_TEST_POSTGRES=1 two replicas on
// one PostgreSQL. The tests hold on both.

func secondReplica(t *testing.T, path string, clk *clock) *store.Store {
	t.Helper()
	s2, err := store.Open(context.Background(), path, store.Options{DataKey: testKey, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	return s2
}

// A provider retrying a delivery at once, to both replicas: every copy is
// acknowledged without error, and each delivery is stored once.
func TestReplicas_DuplicateWebhooksStoredOnce(t *testing.T) {
	s, clk, path := mustOpen(t)
	s2 := secondReplica(t, path, clk)
	ctx := context.Background()
	const deliveries, copies = 20, 4
	var mu sync.Mutex
	inserted := map[string]int{}
	var wg sync.WaitGroup
	for i := range deliveries {
		for c := range copies {
			st := []*store.Store{s, s2}[c%2]
			key := fmt.Sprintf("evt-%d", i)
			wg.Go(func() {
				ok, err := st.AddInboxFor(ctx, "truv", key, "", fmt.Sprintf("truv:%d", i%3), []byte(`{"id":"`+key+`"}`))
				if err != nil {
					t.Errorf("copy %d of %s: %v", c, key, err)
					return
				}
				if ok {
					mu.Lock()
					inserted[key]++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	for i := range deliveries {
		if n := inserted[fmt.Sprintf("evt-%d", i)]; n != 1 {
			t.Errorf("evt-%d inserted %d times, want once", i, n)
		}
	}
	total, pending, err := s2.InboxStats(ctx, "truv")
	if err != nil || total != deliveries || pending != deliveries {
		t.Fatalf("stored %d (%d pending), %v; want %d", total, pending, err, deliveries)
	}
}

// Workers on two replicas claiming the inbox at once never process a
// delivery twice, process all of them, and keep one order's deliveries in
// the order received.
func TestReplicas_InboxClaimsNeverDoubleProcessed(t *testing.T) {
	s, clk, path := mustOpen(t)
	s2 := secondReplica(t, path, clk)
	ctx := context.Background()
	const n = 40
	for i := range n {
		if _, err := s.AddInboxFor(ctx, "truv", fmt.Sprintf("d-%d", i), "", fmt.Sprintf("truv:%d", i%5), []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	var order []int64
	var wg sync.WaitGroup
	for w := range 6 {
		st := []*store.Store{s, s2}[w%2]
		wg.Go(func() {
			idle := 0
			for idle < 20 {
				it, err := st.ClaimInbox(ctx, time.Minute)
				if errors.Is(err, store.ErrNotFound) {
					idle++ // another worker may hold the partition's older delivery
					time.Sleep(5 * time.Millisecond)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				idle = 0
				mu.Lock()
				claimed[it.ID]++
				order = append(order, it.ID)
				mu.Unlock()
				if err := st.FinishInbox(ctx, it.ID, "", time.Time{}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	checkEachOnce(t, claimed, n)
	if _, pending, err := s.InboxStats(ctx, "truv"); err != nil || pending != 0 {
		t.Fatalf("pending after the workers: %d, %v", pending, err)
	}
}

// checkEachOnce fails t unless n deliveries were processed, each once.
func checkEachOnce(t *testing.T, claimed map[int64]int, n int) {
	t.Helper()
	if len(claimed) != n {
		t.Fatalf("%d of %d deliveries processed", len(claimed), n)
	}
	for id, c := range claimed {
		if c != 1 {
			t.Errorf("delivery %d processed %d times", id, c)
		}
	}
}

// A renewal started on both replicas at once, and worked by both: no
// member is in two running runs, and every item is claimed (renewed) once.
func TestReplicas_RenewalRunRenewsNobodyTwice(t *testing.T) {
	s, clk, path := mustOpen(t)
	s2 := secondReplica(t, path, clk)
	f := mustFixture(t, s)
	ctx := context.Background()
	due := clk.Now().AddDate(0, 0, 10).Format("2006-01-02")
	c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "R-2", Program: "snap", RecertDue: due})
	if err != nil {
		t.Fatal(err)
	}
	const members = 6
	for i := range members {
		if _, err := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: fmt.Sprintf("M%d", i), LastName: "R", Relationship: "other"}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	runs := make([]*store.RenewalRun, 4)
	for i := range runs {
		st := []*store.Store{s, s2}[i%2]
		wg.Go(func() {
			r, err := st.StartRenewal(ctx, f.agencyA.ID, f.userA.ID, c.ID, 0)
			if err != nil && !errors.Is(err, store.ErrRunActive) {
				t.Errorf("start %d: %v", i, err)
			}
			runs[i] = r
		})
	}
	wg.Wait()
	inRuns := map[int64]int{}
	for i, r := range runs {
		if r == nil {
			continue
		}
		items, err := s.RenewalItems(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The same run may be returned to two callers: count each run once.
		dup := false
		for j := range i {
			if runs[j] != nil && runs[j].ID == r.ID {
				dup = true
			}
		}
		if !dup {
			for _, it := range items {
				inRuns[it.MemberID]++
			}
		}
	}
	if len(inRuns) != members {
		t.Fatalf("%d of %d members in a run", len(inRuns), members)
	}
	for m, n := range inRuns {
		if n != 1 {
			t.Errorf("member %d is in %d runs started at once", m, n)
		}
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	for w := range 4 {
		st := []*store.Store{s, s2}[w%2]
		wg.Go(func() {
			for {
				it, err := st.ClaimRenewalItem(ctx, time.Minute)
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				claimed[it.MemberID]++
				mu.Unlock()
				if err := st.FinishRenewalItem(ctx, it, "queued", "queue", "queued", 0, 0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if len(claimed) != members {
		t.Fatalf("%d of %d members renewed", len(claimed), members)
	}
	for m, n := range claimed {
		if n != 1 {
			t.Errorf("member %d renewed %d times", m, n)
		}
	}
}

// "Who looked at this case" counts views and reveals per user. The query
// grouped by user id only while reading the user's name, which SQLite
// allows and PostgreSQL refuses (issue 18).
func TestCaseViewers_CountsPerUser(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "V-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{store.AuditViewCase, store.AuditViewCase, store.AuditRevealPII} {
		if err := s.Audit(ctx, store.AuditEntry{AgencyID: f.agencyA.ID, UserID: f.userA.ID, Action: a, CaseID: c.ID}); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.CaseViewers(ctx, f.agencyA.ID, c.ID)
	if err != nil || len(vs) != 1 || vs[0].UserName != f.userA.Name || vs[0].Views != 2 || vs[0].Reveals != 1 {
		t.Fatalf("CaseViewers = %+v, %v; want A One with 2 views and 1 reveal", vs, err)
	}
}

// The report sweep on two replicas at once (four sweeps, two per replica,
// small batches) claims each completed order missing its report once: no
// report is fetched twice. A claimed order comes back only when the sweep's
// lease has passed (the replica that claimed it died mid-sweep).
func TestReplicas_ReportSweepClaimsEachOrderOnce(t *testing.T) {
	s, clk, path := mustOpen(t)
	s2 := secondReplica(t, path, clk)
	f := mustFixture(t, s)
	ctx := context.Background()
	const n = 12
	for range n {
		o := mustOrder(t, s, f, "truv")
		if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, store.StatusUpdate{Status: store.StatusCompleted, Source: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	const quiet, lease = 30 * time.Second, 10 * time.Minute
	clk.Add(quiet + time.Second)
	var mu sync.Mutex
	claimed := map[int64]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		st := []*store.Store{s, s2}[w%2]
		wg.Go(func() {
			for {
				os, err := st.ClaimOrdersMissingReport(ctx, clk.Now().Add(-quiet), lease, 2)
				if err != nil {
					t.Errorf("sweep %d: %v", w, err)
					return
				}
				if len(os) == 0 {
					return
				}
				mu.Lock()
				for _, o := range os {
					claimed[o.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != n {
		t.Fatalf("%d orders claimed, want %d", len(claimed), n)
	}
	for id, c := range claimed {
		if c != 1 {
			t.Errorf("order %d claimed by %d sweeps, want 1 (its report fetched %d times)", id, c, c)
		}
	}
	// Nobody finished: nothing is due inside the lease, all of it after.
	clk.Add(lease - time.Second)
	if os, err := s2.ClaimOrdersMissingReport(ctx, clk.Now().Add(-quiet), lease, n); err != nil || len(os) != 0 {
		t.Fatalf("inside the lease: %d claimed, %v; want none", len(os), err)
	}
	clk.Add(2 * time.Second)
	if os, err := s2.ClaimOrdersMissingReport(ctx, clk.Now().Add(-quiet), lease, n); err != nil || len(os) != n {
		t.Fatalf("after the lease: %d claimed, %v; want %d", len(os), err, n)
	}
}

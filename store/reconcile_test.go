package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"caseverify/store"
)

func claimIDs(t *testing.T, s *store.Store, providers []string, quiet time.Duration, limit int) []int64 {
	t.Helper()
	orders, err := s.ClaimQuietOrders(context.Background(), providers, quiet, limit)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, o := range orders {
		ids = append(ids, o.ID)
	}
	return ids
}

func TestPollBackoff(t *testing.T) {
	q := 15 * time.Minute
	for attempts, want := range map[int]time.Duration{0: q, 1: q, 2: 2 * q, 3: 4 * q, 4: 8 * q, 5: 16 * q, 6: 16 * q, 50: 16 * q} {
		if got := store.PollBackoff(q, attempts); got != want {
			t.Errorf("PollBackoff(%d) = %s, want %s", attempts, got, want)
		}
	}
}

// An open order is claimed only once it has been quiet for the threshold;
// a claimed order is leased until its next poll is due. During its first
// day that is every quiet time, without backing off (issue 13 item 6: a
// lost AccountChek postback is noticed within RECONCILE_QUIET, W17);
// TestClaimQuietOrders_NewsResetsBackoff has the backoff of an older order.
func TestClaimQuietOrders_QuietThenBackoff(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	const q = 15 * time.Minute
	o := mustOrder(t, s, f, "accountchek")
	acc := []string{"accountchek"}

	if ids := claimIDs(t, s, acc, q, 10); len(ids) != 0 {
		t.Fatalf("a fresh order was claimed: %v", ids)
	}
	clk.Add(q - time.Second)
	if ids := claimIDs(t, s, acc, q, 10); len(ids) != 0 {
		t.Fatalf("claimed before the quiet time: %v", ids)
	}
	clk.Add(time.Second)
	for i, mult := range []time.Duration{1, 1, 1, 1, 1, 1} {
		ids := claimIDs(t, s, acc, q, 10)
		if len(ids) != 1 || ids[0] != o.ID {
			t.Fatalf("poll %d: claimed %v", i+1, ids)
		}
		ps, err := s.OrderPollState(ctx, f.agencyA.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := clk.Now().Add(mult * q); !ps.NextPollAt.Equal(want) || ps.Attempts != i+1 {
			t.Fatalf("poll %d: next %s attempts %d, want %s and %d", i+1, ps.NextPollAt, ps.Attempts, want, i+1)
		}
		// Leased: nobody else takes it, now or just before the backoff ends.
		if ids := claimIDs(t, s, acc, q, 10); len(ids) != 0 {
			t.Fatalf("poll %d: claimed twice", i+1)
		}
		if err := s.FinishPoll(ctx, o.ID, false); err != nil {
			t.Fatal(err)
		}
		clk.Add(mult*q - time.Second)
		if ids := claimIDs(t, s, acc, q, 10); len(ids) != 0 {
			t.Fatalf("poll %d: claimed before its backoff passed", i+1)
		}
		clk.Add(time.Second)
	}
}

// News (an event after the last poll) makes the order due again after the
// quiet time, whatever the backoff said, and the backoff starts over. A
// poll that changed the order starts it over too.
func TestClaimQuietOrders_NewsResetsBackoff(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	const q = time.Minute
	clk.Add(-store.PollSteadyFor) // an order past its first day backs off
	o := mustOrder(t, s, f, "accountchek")
	clk.Add(store.PollSteadyFor)
	acc := []string{"accountchek"}
	// Four quiet polls: the next one is 8 minutes away.
	for range 4 {
		clk.Add(16 * q)
		if ids := claimIDs(t, s, acc, q, 1); len(ids) != 1 {
			t.Fatal("not claimed")
		}
		if err := s.FinishPoll(ctx, o.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	if ps, _ := s.OrderPollState(ctx, f.agencyA.ID, o.ID); ps.Attempts != 4 || !ps.NextPollAt.Equal(clk.Now().Add(8*q)) {
		t.Fatalf("after 4 polls: %+v", ps)
	}
	clk.Add(time.Second)
	if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, store.StatusUpdate{RawEvent: "postback", RawStatus: "501", Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(q - time.Second)
	if ids := claimIDs(t, s, acc, q, 1); len(ids) != 0 {
		t.Fatal("claimed before the order was quiet after its news")
	}
	clk.Add(time.Second)
	if ids := claimIDs(t, s, acc, q, 1); len(ids) != 1 {
		t.Fatal("an order with news was not due after the quiet time")
	}
	if ps, _ := s.OrderPollState(ctx, f.agencyA.ID, o.ID); ps.Attempts != 1 || !ps.NextPollAt.Equal(clk.Now().Add(q)) {
		t.Fatalf("backoff did not start over: %+v", ps)
	}
	// A poll under way is not "news" for another claimer, even though the
	// poll writes to the order.
	if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, store.StatusUpdate{SubID: "voa", RawEvent: "voa-status", RawStatus: "503",
		Status: store.StatusInProgress, Source: "poll"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(q / 2)
	if ids := claimIDs(t, s, acc, time.Second, 1); len(ids) != 0 {
		t.Fatal("an order being polled was claimed again")
	}
	if err := s.FinishPoll(ctx, o.ID, true); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.OrderPollState(ctx, f.agencyA.ID, o.ID); ps.Attempts != 0 || !ps.NextPollAt.IsZero() {
		t.Fatalf("a poll that progressed kept its backoff: %+v", ps)
	}
	clk.Add(q)
	if ids := claimIDs(t, s, acc, q, 1); len(ids) != 1 {
		t.Fatal("not due one quiet time after a poll that progressed")
	}
}

// Only open orders the provider accepted, of the providers asked for, across
// agencies, oldest due first, at most limit.
func TestClaimQuietOrders_Selection(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	const q = time.Minute
	open1 := mustOrder(t, s, f, "accountchek")
	clk.Add(time.Second)
	open2 := mustOrder(t, s, f, "truv")
	done := mustOrder(t, s, f, "accountchek")
	if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, done.ID, store.StatusUpdate{Status: store.StatusCompleted, Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	other := mustOrder(t, s, f, "payscore")
	// An order the provider never accepted (no provider order id).
	c, _ := s.CreateCase(ctx, f.agencyB.ID, f.userB.ID, store.CaseInput{Number: "B-1", Program: "snap"})
	m, _ := s.AddMember(ctx, f.agencyB.ID, c.ID, store.MemberInput{FirstName: "B", LastName: "C", Relationship: "self"})
	if _, err := s.CreateOrder(ctx, f.agencyB.ID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
		Provider: "accountchek", Products: []string{"assets"}, Notify: "agency"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	ids := claimIDs(t, s, []string{"accountchek", "truv"}, q, 1)
	if len(ids) != 1 || ids[0] != open1.ID {
		t.Fatalf("first claim %v, want the oldest open order %d", ids, open1.ID)
	}
	ids = claimIDs(t, s, []string{"accountchek", "truv"}, q, 10)
	if len(ids) != 1 || ids[0] != open2.ID {
		t.Fatalf("second claim %v, want %d only (not %d completed, not %d of another provider)", ids, open2.ID, done.ID, other.ID)
	}
}

// Two processes (two stores on one file) claiming at the same time never
// get the same order, and between them get every due order.
func TestClaimQuietOrders_TwoProcesses(t *testing.T) {
	s, clk, path := mustOpen(t)
	f := mustFixture(t, s)
	s2, err := store.Open(context.Background(), path, store.Options{DataKey: testKey, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s2.Close() })
	want := map[int64]bool{}
	for range 30 {
		want[mustOrder(t, s, f, "accountchek").ID] = true
	}
	clk.Add(time.Hour)
	var mu sync.Mutex
	got := map[int64]int{}
	var wg sync.WaitGroup
	for _, st := range []*store.Store{s, s2, s, s2} {
		wg.Go(func() {
			for {
				orders, err := st.ClaimQuietOrders(context.Background(), []string{"accountchek"}, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(orders) == 0 {
					return
				}
				mu.Lock()
				for _, o := range orders {
					got[o.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, n := range got {
		if n != 1 || !want[id] {
			t.Errorf("order %d claimed %d times (ours: %v)", id, n, want[id])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d of %d due orders claimed", len(got), len(want))
	}
}

func TestHasReport(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "accountchek")
	if have, err := s.HasReport(ctx, f.agencyA.ID, o.ID, "voa:1"); err != nil || have {
		t.Fatalf("before: %v %v", have, err)
	}
	if _, err := s.SaveReport(ctx, f.agencyA.ID, o.ID, store.Report{ProviderReportID: "voa:1", Kind: "assets", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		agency int64
		id     string
		want   bool
	}{{f.agencyA.ID, "voa:1", true}, {f.agencyA.ID, "voe:1", false}, {f.agencyB.ID, "voa:1", false}, {f.agencyA.ID, "", false}} {
		if have, err := s.HasReport(ctx, c.agency, o.ID, c.id); err != nil || have != c.want {
			t.Errorf("HasReport(agency %d, %q) = %v, %v; want %v", c.agency, c.id, have, err, c.want)
		}
	}
}

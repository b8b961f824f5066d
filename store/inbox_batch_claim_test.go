package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"caseverify/store"
)

// Issue 17: the inbox processor claims in batches (ClaimInboxBatch), each
// claim also writing the outcomes of the deliveries finished since the
// last. Claimers on two replicas at once (on PostgreSQL through FOR UPDATE
// SKIP LOCKED) never take a delivery twice, take every one, stay within
// each provider's room, and keep one order's deliveries in the order
// received.
func TestReplicas_InboxBatchClaimsNeverDoubleProcessed(t *testing.T) {
	s, clk, path := mustOpen(t)
	s2 := secondReplica(t, path, clk)
	ctx := context.Background()
	const n = 60
	for i := range n {
		provider := []string{"truv", "argyle"}[i%2]
		if _, err := s.AddInboxFor(ctx, provider, fmt.Sprintf("d-%d", i), "", fmt.Sprintf("%s:%d", provider, i%7),
			[]byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[int64]int{}
	byPartition := map[string][]int64{} // ids in the order processed
	var wg sync.WaitGroup
	for w := range 4 {
		st := []*store.Store{s, s2}[w%2]
		wg.Go(func() {
			var done []store.InboxDone
			idle := 0
			for idle < 20 {
				its, err := st.ClaimInboxBatch(ctx, store.InboxClaim{Done: done, Lease: time.Minute, Max: 5,
					Room: map[string]int{"truv": 3, "argyle": 2}})
				if err != nil {
					t.Error(err)
					return
				}
				done = done[:0]
				if len(its) == 0 {
					idle++ // another claimer may hold a partition's older delivery
					time.Sleep(5 * time.Millisecond)
					continue
				}
				idle = 0
				count := map[string]int{}
				mu.Lock()
				for _, it := range its {
					count[it.Provider]++
					claimed[it.ID]++
					var body struct{ N int }
					if err := json.Unmarshal(it.Body, &body); err != nil {
						t.Error(err)
					}
					p := fmt.Sprintf("%s:%d", it.Provider, body.N%7)
					byPartition[p] = append(byPartition[p], it.ID)
					done = append(done, store.InboxDone{ID: it.ID})
				}
				mu.Unlock()
				if count["truv"] > 3 || count["argyle"] > 2 {
					t.Errorf("claimed %v, more than the room (truv 3, argyle 2)", count)
				}
			}
			if len(done) > 0 { // the last outcomes, written with a claim of none
				if _, err := st.ClaimInboxBatch(ctx, store.InboxClaim{Done: done}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	checkEachOnce(t, claimed, n)
	for p, ids := range byPartition {
		if !slices.IsSorted(ids) {
			t.Errorf("partition %s processed out of order: %v", p, ids)
		}
	}
	for _, provider := range []string{"truv", "argyle"} {
		if _, pending, err := s.InboxStats(ctx, provider); err != nil || pending != 0 {
			t.Fatalf("%s pending after the claimers: %d, %v", provider, pending, err)
		}
	}
}

// Issue 17: on SQLite, status changes ride in the inbox writer's
// transactions, each in a savepoint. One that fails (an order of another
// agency: not found) fails alone: the deliveries and the other status
// changes written with it are committed, and each caller hears its own
// outcome. On PostgreSQL each is a transaction of its own; the outcomes
// are the same.
func TestApplyUpdate_FailingOneInASharedCommitFailsAlone(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	var orders []*store.Order
	for range 8 {
		orders = append(orders, mustOrder(t, s, f, "truv"))
	}
	var wg sync.WaitGroup
	for i, o := range orders {
		wg.Go(func() {
			if _, err := s.AddInboxFor(ctx, "truv", fmt.Sprintf("e-%d", i), "", "", []byte(`{}`)); err != nil {
				t.Errorf("delivery %d: %v", i, err)
			}
		})
		wg.Go(func() {
			_, changed, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, store.StatusUpdate{Status: store.StatusSent, Source: "webhook"})
			if err != nil || !changed {
				t.Errorf("order %d: changed %v, %v", o.ID, changed, err)
			}
		})
		wg.Go(func() {
			// The same order, as agency B: not found, and nothing written.
			if _, _, err := s.ApplyUpdate(ctx, f.agencyB.ID, o.ID, store.StatusUpdate{Status: store.StatusCompleted,
				Source: "webhook"}); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("order %d as another agency: %v, want ErrNotFound", o.ID, err)
			}
		})
	}
	wg.Wait()
	if total, _, err := s.InboxStats(ctx, "truv"); err != nil || total != len(orders) {
		t.Fatalf("stored %d deliveries, %v; want %d", total, err, len(orders))
	}
	for _, o := range orders {
		got, err := s.Order(ctx, f.agencyA.ID, o.ID)
		if err != nil || got.Status != store.StatusSent {
			t.Errorf("order %d: %+v, %v; want sent", o.ID, got, err)
		}
	}
}

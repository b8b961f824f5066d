package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"caseverify/store"
)

// Issue 17: a rate is shared by every process on the database. Two stores
// opened on one database (two portal processes on one SQLite file, or two
// replicas on one PostgreSQL), each with several workers taking slots of
// one rate at once, get slots spaced by the rate between them all, not
// each at the full rate; another rate is not slowed by it.
func TestTakeRateSlot_SharedAcrossProcesses(t *testing.T) {
	a, clk, path := mustOpen(t)
	b := secondReplica(t, path, clk)
	ctx := context.Background()
	const perSecond, workers, each = 20.0, 3, 5
	var mu sync.Mutex
	var slots []time.Time
	var wg sync.WaitGroup
	for _, st := range []*store.Store{a, b} {
		for range workers {
			wg.Go(func() {
				for range each {
					slot, err := st.TakeRateSlot(ctx, "provider:one", perSecond)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					slots = append(slots, slot)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	const n = 2 * workers * each
	if len(slots) != n {
		t.Fatalf("%d slots, want %d", len(slots), n)
	}
	slices.SortFunc(slots, func(x, y time.Time) int { return x.Compare(y) })
	interval := time.Duration(float64(time.Second) / perSecond)
	for i := 1; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-1]); gap < interval-time.Millisecond {
			t.Fatalf("slots %d and %d are %v apart, want at least %v (the rate shared by both processes)", i-1, i, gap, interval)
		}
	}
	// n calls at the rate span n-1 intervals, whichever process made them.
	if span := slots[n-1].Sub(slots[0]); span < (n-1)*interval-time.Millisecond {
		t.Fatalf("%d slots span %v, want at least %v", n, span, (n-1)*interval)
	}
	other, err := b.TakeRateSlot(ctx, "provider:other", perSecond)
	if err != nil {
		t.Fatal(err)
	}
	if other.After(time.Now().Add(time.Second)) {
		t.Fatalf("another rate waits until %v: rates must be separate", other)
	}
	if _, err := a.TakeRateSlot(ctx, "provider:one", 0); err == nil {
		t.Fatal("a rate of 0 a second was accepted")
	}
}

package store_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"caseverify/store"
)

// Issue 17: a rate is shared by every process on the database. Two stores
// opened on one file (as two portal processes would) taking slots of one
// rate at once get slots spaced by the rate between them, not each at the
// full rate; another rate is not slowed by it.
func TestTakeRateSlot_SharedAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rate.db")
	open := func() *store.Store {
		st, err := store.Open(ctx, path, store.Options{DataKey: bytes.Repeat([]byte{7}, 32)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	const perSecond, each = 5.0, 10
	var mu sync.Mutex
	var slots []time.Time
	var wg sync.WaitGroup
	for _, st := range []*store.Store{a, b} {
		wg.Go(func() {
			for range each {
				slot, err := st.TakeRateSlot(ctx, "provider:truv", perSecond)
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
	wg.Wait()
	slices.SortFunc(slots, func(x, y time.Time) int { return x.Compare(y) })
	if len(slots) != 2*each {
		t.Fatalf("%d slots, want %d", len(slots), 2*each)
	}
	interval := time.Duration(float64(time.Second) / perSecond)
	for i := 1; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-1]); gap < interval-time.Millisecond {
			t.Fatalf("slots %d and %d are %v apart, want at least %v (the rate shared by both processes)", i-1, i, gap, interval)
		}
	}
	// 20 calls at 5 a second span 19 intervals, whichever process made them.
	if span := slots[len(slots)-1].Sub(slots[0]); span < 19*interval-time.Millisecond {
		t.Fatalf("20 slots span %v, want at least %v", span, 19*interval)
	}
	other, err := a.TakeRateSlot(ctx, "provider:other", perSecond)
	if err != nil {
		t.Fatal(err)
	}
	if other.After(time.Now().Add(time.Second)) {
		t.Fatalf("another rate waits until %v: rates must be separate", other)
	}
}

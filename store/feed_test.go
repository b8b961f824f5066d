package store_test

import (
	"testing"

	"caseverify/store"
)

// A subscriber that falls behind loses changes without blocking the
// writer, and learns that it did (once), so it can re-send everything.
func TestFeed_SlowSubscriberIsMarkedLagged(t *testing.T) {
	f := store.NewFeed()
	sub := f.Subscribe(1, 7)
	defer sub.Close()
	other := f.Subscribe(1, 8)
	defer other.Close()
	if sub.TakeLagged() {
		t.Fatal("lagged before anything happened")
	}
	for i := 0; i < cap(sub.C); i++ {
		f.Publish(store.Change{AgencyID: 1, CaseID: 7, OrderID: int64(i)})
	}
	if sub.TakeLagged() {
		t.Fatal("lagged with room to spare")
	}
	f.Publish(store.Change{AgencyID: 1, CaseID: 7, OrderID: 999}) // does not block
	if !sub.TakeLagged() || sub.TakeLagged() {
		t.Fatal("a dropped change is reported exactly once")
	}
	if other.TakeLagged() || len(other.C) != 0 {
		t.Fatal("another case's subscriber was affected")
	}
}

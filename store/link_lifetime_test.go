package store_test

import (
	"testing"
	"time"

	"caseverify/store"
)

// Issue 13 item 6: a link ends at the earlier of the provider's expiry and
// the agency's lifetime; 0 hours means the provider's alone.
func TestLinkExpiry(t *testing.T) {
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	provider := created.Add(72 * time.Hour)
	for _, c := range []struct {
		name     string
		provider time.Time
		hours    int
		want     time.Time
	}{
		{"no agency lifetime", provider, 0, provider},
		{"agency shorter", provider, 24, created.Add(24 * time.Hour)},
		{"provider shorter", provider, 96, provider},
		{"provider gives none", time.Time{}, 24, created.Add(24 * time.Hour)},
		{"neither", time.Time{}, 0, time.Time{}},
	} {
		if got := store.LinkExpiry(c.provider, created, c.hours); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

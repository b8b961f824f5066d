package providers

import (
	"net/http"
	"testing"
	"time"
)

// TestRetryAfter: both forms, and the bounds (issue 16: one reading of
// Retry-After for every adapter).
func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"  ", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 12 ", 12 * time.Second},
		{"-3", 0},
		{"soon", 0},
		{"1.5", 0},
		{"86400", 24 * time.Hour},
		{"86401", MaxRetryAfter},
		{"9999999999999", MaxRetryAfter}, // would overflow a Duration
		{"99999999999999999999999", MaxRetryAfter}, // beyond int64
		{"-99999999999999999999999", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second},
		{now.Add(90 * time.Second).Format(time.ANSIC), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Format(http.TimeFormat), 0},
		{now.Add(21 * time.Hour).Format(http.TimeFormat), 21 * time.Hour},
		{now.Add(30 * 24 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
	} {
		if got := RetryAfter(tt.in, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

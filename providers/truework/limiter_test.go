package truework

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"caseverify/providers"
)

func TestLimiter_SpacesCallsWithInjectedClock(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newLimiter(10, clk.Now, clk.Sleep)
	start := clk.Now()
	var starts []time.Duration
	for range 5 {
		if err := l.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, clk.Now().Sub(start))
	}
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond}
	if !slices.Equal(starts, want) {
		t.Fatalf("call starts = %v; want %v", starts, want)
	}
	// After a quiet second there is no wait at all.
	clk.Advance(time.Second)
	before := len(clk.Sleeps())
	if err := l.wait(context.Background()); err != nil || len(clk.Sleeps()) != before {
		t.Fatalf("wait after idle slept %v", clk.Sleeps()[before:])
	}
}

func TestLimiter_PauseHoldsEveryone(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	l := newLimiter(10, clk.Now, clk.Sleep)
	l.pauseUntil(clk.Now().Add(7 * time.Second))
	if err := l.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := clk.Sleeps(); len(got) != 1 || got[0] != 7*time.Second {
		t.Fatalf("sleeps = %v; want [7s]", got)
	}
}

func TestLimiter_StopsWithContext(t *testing.T) {
	l := newLimiter(1, time.Now, providers.Sleep)
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.wait(ctx); err != nil { // first slot is free
		t.Fatal(err)
	}
	cancel()
	if err := l.wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait = %v; want context.Canceled", err)
	}
}

// TestClient_PacesRequests checks that every call of one Client goes through
// its limiter: on a fake clock that only the limiter's sleeps move, calls
// that would otherwise all arrive at the same instant arrive exactly 1/rate
// apart. (The limiter's own ordering under concurrency is tested above; a
// wall-clock version of this test measured the scheduler, not the limiter,
// and failed on a loaded machine.)
func TestClient_PacesRequests(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC))
	srv, seen := fakeStatusServer(t, clk, func(time.Time) string { return "" })
	const rps = 20
	c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.RequestsPerSecond = rps })
	c.now, c.sleep = clk.Now, clk.Sleep
	for range 6 {
		if _, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "o1"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(*seen) != 6 {
		t.Fatalf("server saw %d calls; want 6", len(*seen))
	}
	interval := time.Second / rps
	for i := 1; i < len(*seen); i++ {
		if gap := (*seen)[i].Sub((*seen)[i-1]); gap != interval {
			t.Errorf("requests %d and %d arrived %v apart; want %v", i-1, i, gap, interval)
		}
	}
}

// fakeStatusServer answers with the statuses in order (then 200) and
// records each request's arrival on the client's fake clock.
func fakeStatusServer(t *testing.T, clk *fakeClock, retryAfter func(now time.Time) string, statuses ...int) (*httptest.Server, *[]time.Time) {
	t.Helper()
	var mu sync.Mutex
	var seen []time.Time
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, clk.Now())
		mu.Unlock()
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			if v := retryAfter(clk.Now()); v != "" {
				w.Header().Set("Retry-After", v)
			}
			w.WriteHeader(statuses[i])
			_, _ = w.Write([]byte(`{"error":{"message":"Too many requests"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"o1","verification_requests":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

// TestClient_429 is P3: the next attempt comes no earlier than Retry-After
// (seconds or HTTP-date), retries are bounded, and a long Retry-After goes
// back to the caller instead of blocking.
func TestClient_429(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		retryAfter  func(now time.Time) string
		statuses    []int
		maxRetries  int
		wantCalls   int
		wantGaps    []time.Duration // between consecutive arrivals
		wantErrWait time.Duration   // -1: no error expected
	}{
		{name: "Retry-After seconds", retryAfter: func(time.Time) string { return "7" },
			statuses: []int{429}, wantCalls: 2, wantGaps: []time.Duration{7 * time.Second}, wantErrWait: -1},
		{name: "Retry-After HTTP-date", retryAfter: func(now time.Time) string { return now.Add(7 * time.Second).Format(http.TimeFormat) },
			statuses: []int{429}, wantCalls: 2, wantGaps: []time.Duration{7 * time.Second}, wantErrWait: -1},
		{name: "no Retry-After: exponential", retryAfter: func(time.Time) string { return "" },
			statuses: []int{429, 429, 429}, wantCalls: 4, wantGaps: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, wantErrWait: -1},
		{name: "bounded retries", retryAfter: func(time.Time) string { return "1" },
			statuses: []int{429, 429, 429, 429, 429}, maxRetries: 2, wantCalls: 3, wantGaps: []time.Duration{time.Second, time.Second}, wantErrWait: time.Second},
		{name: "Retry-After beyond MaxRetryWait", retryAfter: func(time.Time) string { return "60" },
			statuses: []int{429}, wantCalls: 1, wantErrWait: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(t0)
			srv, seen := fakeStatusServer(t, clk, tt.retryAfter, tt.statuses...)
			c := newTestClient(t, srv.URL, func(cfg *Config) {
				cfg.MaxRetries = tt.maxRetries
				cfg.RequestsPerSecond = 1000
			})
			c.now, c.sleep = clk.Now, clk.Sleep
			_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "o1"})
			if len(*seen) != tt.wantCalls {
				t.Fatalf("server saw %d calls; want %d", len(*seen), tt.wantCalls)
			}
			for i, want := range tt.wantGaps {
				if gap := (*seen)[i+1].Sub((*seen)[i]); gap < want {
					t.Errorf("attempt %d came %v after the 429; want at least %v", i+2, gap, want)
				}
			}
			if tt.wantErrWait < 0 {
				if err != nil {
					t.Fatalf("FetchStatus: %v", err)
				}
				return
			}
			var pe *providers.ProviderError
			if !errors.As(err, &pe) || pe.HTTPStatus != 429 || !pe.Retryable || pe.RetryAfter != tt.wantErrWait {
				t.Fatalf("err = %v; want a retryable 429 with RetryAfter %v", err, tt.wantErrWait)
			}
		})
	}
}

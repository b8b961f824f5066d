package truework

import (
	"context"
	"sync"
	"time"
)

// limiter spaces outbound calls so that one Client never sends more than its
// configured rate. Truework allows 10 requests per second per IP and per
// account and answers 429 beyond that [T11]; spacing every call by 1/rate
// (a bucket of one token) keeps even a burst from the portal's bulk renewal
// under the limit in every one-second window, at the cost of at most one
// interval of latency per call.
//
// A 429 pauses the whole limiter until the Retry-After time, so concurrent
// callers wait too instead of hammering an account that is already over.
type limiter struct {
	interval time.Duration
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next time.Time // earliest time the next call may start
}

// newLimiter returns a limiter for rps calls per second.
func newLimiter(rps float64, now func() time.Time, sleep func(context.Context, time.Duration) error) *limiter {
	return &limiter{
		interval: time.Duration(float64(time.Second) / rps),
		now:      now,
		sleep:    sleep,
	}
}

// wait blocks until the caller may send, or ctx ends. It reserves a slot
// first and then sleeps outside the lock, so callers are served in the order
// they arrived and none of them holds the mutex while waiting. A slot given
// up because ctx ended is not returned: erring on the slow side is the point.
func (l *limiter) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	now := l.now()
	slot := l.next
	if slot.Before(now) {
		slot = now
	}
	l.next = slot.Add(l.interval)
	l.mu.Unlock()
	if d := slot.Sub(now); d > 0 {
		return l.sleep(ctx, d)
	}
	return nil
}

// pauseUntil holds every caller back until t (a 429's Retry-After).
func (l *limiter) pauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.next) {
		l.next = t
	}
}

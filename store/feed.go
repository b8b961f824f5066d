package store

import (
	"sync"
	"sync/atomic"
)

// Change says that something about a case changed (an order's status, a
// delivery, a report). Subscribers re-read what they show; the change itself
// carries ids only, so nothing private travels through the feed.
type Change struct {
	AgencyID int64
	CaseID   int64
	OrderID  int64 // 0 when the change is not about one order
	Kind     string
	// Seq numbers the feed's changes in the order published (set by
	// Publish): the watchers of a case who heard the same changes render
	// them once between them (handlers' live renders).
	Seq uint64
}

// Feed fans changes out to subscribers (the SSE handlers) after commit.
// Publish never blocks: a subscriber whose buffer is full loses the change
// and is marked lagged (TakeLagged), so its next update re-sends the whole
// case rather than just the orders it heard about.
//
// It is in-process: one portal process per SQLite database. A deployment
// with several replicas replaces it behind the same methods (design.md).
type Feed struct {
	mu   sync.Mutex
	subs map[int64]map[*Subscription]struct{} // by agency id
	seq  uint64                               // the last Change.Seq given (mu)
}

// Subscription receives the changes of one agency, optionally one case.
type Subscription struct {
	C      chan Change
	feed   *Feed
	agency int64
	caseID int64 // 0 = every case of the agency
	once   sync.Once
	lagged atomic.Bool // a change was dropped because C was full
}

// TakeLagged reports whether a change was dropped since the last call.
func (s *Subscription) TakeLagged() bool { return s.lagged.Swap(false) }

// NewFeed returns an empty feed.
func NewFeed() *Feed { return &Feed{subs: map[int64]map[*Subscription]struct{}{}} }

// Subscribe starts receiving an agency's changes; caseID 0 means all cases.
func (f *Feed) Subscribe(agencyID, caseID int64) *Subscription {
	s := &Subscription{C: make(chan Change, 64), feed: f, agency: agencyID, caseID: caseID}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.subs[agencyID] == nil {
		f.subs[agencyID] = map[*Subscription]struct{}{}
	}
	f.subs[agencyID][s] = struct{}{}
	return s
}

// Close stops the subscription.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.feed.mu.Lock()
		delete(s.feed.subs[s.agency], s)
		s.feed.mu.Unlock()
	})
}

// Publish delivers c to every matching subscriber without blocking.
func (f *Feed) Publish(c Change) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	c.Seq = f.seq
	for s := range f.subs[c.AgencyID] {
		if s.caseID != 0 && s.caseID != c.CaseID {
			continue
		}
		select {
		case s.C <- c:
		default: // slow browser: drop rather than block the writer
			s.lagged.Store(true)
		}
	}
}

// Subscribers counts live subscriptions (metrics, tests).
func (f *Feed) Subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.subs {
		n += len(m)
	}
	return n
}

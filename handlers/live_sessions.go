package handlers

import (
	"context"
	"sync"
	"time"
)

// Check the sessions of many streams in one read (issue 17). A stream
// checks its session before it sends a change (live streams outlive the
// request that checked it: a sign-out must end them), and every stream of
// a case hears a change at once: 1,000 watchers were 1,000 session reads
// per change. Instead the streams that ask while no read is gathering join
// one round, answered by one store query (SessionsLive) for all their
// tokens.
//
// A stream is never answered from a read that started before it asked: a
// sign-out committed before the change reached the stream must end it,
// and a read already under way may have missed it. So a round only takes
// askers until its read starts; those who ask while it runs join the next
// round, which reads when the current one is done.

// sessionReadTimeout bounds one round's read; past it the round's streams
// end as on any read error: with the signed-out banner.
const sessionReadTimeout = 10 * time.Second

// liveSessions gathers session checks into rounds of one read each.
type liveSessions struct {
	// read answers whether each token's session is live (the store's
	// SessionsLive; the metrics count each call).
	read func(ctx context.Context, tokens []string) (map[string]bool, error)

	mu      sync.Mutex
	next    *sessionRound // taking askers; its read has not started
	reading bool          // a goroutine is running rounds
}

// sessionRound is one read for the tokens asked, done when done is closed.
type sessionRound struct {
	tokens map[string]bool // asked (the values are unused)
	done   chan struct{}
	live   map[string]bool
	err    error
}

// live says whether token's session is live, from a read that starts after
// this call. An error (the read's, or ctx ending first) is returned as is;
// the caller treats it as an ended session.
func (l *liveSessions) live(ctx context.Context, token string) (bool, error) {
	l.mu.Lock()
	if l.next == nil {
		l.next = &sessionRound{tokens: map[string]bool{}, done: make(chan struct{})}
	}
	r := l.next
	r.tokens[token] = true
	if !l.reading {
		l.reading = true
		go l.run()
	}
	l.mu.Unlock()
	select {
	case <-r.done:
		return r.live[token], r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// run reads rounds until none is waiting. The read is not any one stream's:
// it does not end with a stream's request, only after sessionReadTimeout.
func (l *liveSessions) run() {
	for {
		l.mu.Lock()
		r := l.next
		l.next = nil // later askers start the next round
		if r == nil {
			l.reading = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		tokens := make([]string, 0, len(r.tokens))
		for t := range r.tokens {
			tokens = append(tokens, t)
		}
		// Bounded, so a database that stops answering cannot hold every
		// stream's next round (a stream's own request ends its wait only).
		ctx, cancel := context.WithTimeout(context.Background(), sessionReadTimeout)
		r.live, r.err = l.read(ctx, tokens)
		cancel()
		close(r.done)
	}
}

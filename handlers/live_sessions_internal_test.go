package handlers

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// A stream that asks while a read is under way is answered by the next
// read, never by the one already running: that read may have started
// before a sign-out the stream must see. Askers before a read share it.
func TestLiveSessions_NeverFromAReadUnderWay(t *testing.T) {
	started := make(chan []string)
	release := make(chan struct{})
	var mu sync.Mutex
	signedOut := map[string]bool{}
	l := &liveSessions{read: func(_ context.Context, tokens []string) (map[string]bool, error) {
		mu.Lock()
		out := map[string]bool{}
		for _, tok := range tokens {
			out[tok] = !signedOut[tok]
		}
		mu.Unlock()
		started <- slices.Sorted(slices.Values(tokens))
		<-release
		return out, nil
	}}
	ctx := context.Background()
	type answer struct {
		live bool
		err  error
	}
	ask := func(tok string) chan answer {
		c := make(chan answer, 1)
		go func() {
			live, err := l.live(ctx, tok)
			c <- answer{live, err}
		}()
		return c
	}
	a := ask("a")
	if got := <-started; !slices.Equal(got, []string{"a"}) {
		t.Fatalf("first read: %v", got)
	}
	// While read 1 is under way "b" signs out, then asks, as "c" does.
	mu.Lock()
	signedOut["b"] = true
	mu.Unlock()
	b, c := ask("b"), ask("c")
	for { // both waiting in the next round before read 1 ends
		l.mu.Lock()
		n := 0
		if l.next != nil {
			n = len(l.next.tokens)
		}
		l.mu.Unlock()
		if n == 2 {
			break
		}
		runtime.Gosched()
	}
	release <- struct{}{}
	if got := <-a; !got.live || got.err != nil {
		t.Fatalf("a: %+v", got)
	}
	if got := <-started; !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("second read: %v, want b and c in one read", got)
	}
	release <- struct{}{}
	if got := <-b; got.live || got.err != nil {
		t.Fatalf("b signed out before asking, answered %+v", got)
	}
	if got := <-c; !got.live || got.err != nil {
		t.Fatalf("c: %+v", got)
	}
}

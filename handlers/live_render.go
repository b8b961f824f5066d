package handlers

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"caseverify/store"
)

// Render a change once, not once per watcher (issue 17). Every stream of a
// case hears the same change from the feed; what it sends for it (the
// changed rows, the roll-up, the case status) depends only on the case,
// the changes heard, and what the viewer's role may see and their time
// zone. The first stream to get there renders it; the others with the same
// key wait for that rendering and send its bytes. 1,000 watchers of one
// case were 1,000 renderings (and their reads) of one change.

// liveKey is what a rendering of a case's change depends on.
type liveKey struct {
	agency, caseID int64
	seq            uint64 // the newest change heard (store.Change.Seq)
	orders         string // the orders sent, in order; "0" is all of them
	role           store.Role
	zone           string
}

// newLiveKey is the key of changes heard up to seq about orderIDs (0: all).
func newLiveKey(agency, caseID int64, seq uint64, orderIDs []int64, role store.Role, zone string) liveKey {
	ids := make([]string, len(orderIDs))
	for i, id := range orderIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return liveKey{agency: agency, caseID: caseID, seq: seq, orders: strings.Join(ids, ","), role: role, zone: zone}
}

// liveRender is one rendering, done when done is closed.
type liveRender struct {
	done chan struct{}
	out  []byte
	err  error
	at   time.Time
}

// liveRenders shares renderings between the streams of a case.
type liveRenders struct {
	mu    sync.Mutex
	m     map[liveKey]*liveRender
	swept time.Time
}

// liveRenderKeep is how long a rendering is kept for streams that heard the
// change late (their buffer was full, or they were busy sending).
const liveRenderKeep = 10 * time.Second

// do returns the rendering of k, made by render once for every caller that
// asks for k within liveRenderKeep.
func (l *liveRenders) do(k liveKey, render func() ([]byte, error)) ([]byte, error) {
	now := time.Now()
	l.mu.Lock()
	if r, ok := l.m[k]; ok {
		l.mu.Unlock()
		<-r.done
		return r.out, r.err
	}
	if l.m == nil {
		l.m = map[liveKey]*liveRender{}
	}
	if now.Sub(l.swept) > liveRenderKeep {
		for key, r := range l.m {
			if now.Sub(r.at) > liveRenderKeep {
				delete(l.m, key)
			}
		}
		l.swept = now
	}
	r := &liveRender{done: make(chan struct{}), at: now}
	l.m[k] = r
	l.mu.Unlock()
	r.out, r.err = render()
	close(r.done)
	return r.out, r.err
}

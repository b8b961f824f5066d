package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Group commit for webhook intake (issue 17). A delivery is acknowledged
// only after it is durably committed (synchronous=FULL), and one fsync per
// delivery was the ceiling: one writer goroutine takes every delivery
// waiting, inserts them in one transaction, and releases each caller when
// that transaction commits. Under load a batch forms by itself while the
// previous one is being written; alone, a delivery is written at once.
//
// The inbox processor's writes ride in the same transactions (groupTx):
// its claims, with the outcomes of the deliveries it finished
// (ClaimInboxBatch), and the status changes the deliveries make
// (ApplyUpdate) are queued here too and written after the batch's
// deliveries, each in a savepoint of its own. The database has one write
// connection and every commit is an fsync: a processor committing on its
// own three times per delivery took it from intake and bounded processing
// at one fsync per step (issue 17); now a busy inbox costs one commit for
// many of each. That is SQLite only: on PostgreSQL the batches hold
// deliveries only, and claims and status changes commit on their own
// (ClaimInboxBatch, groupTx).

// inboxBatchMax bounds a batch, so one commit stays short.
const inboxBatchMax = 256

// inboxBatchTimeout bounds one batch's transaction; waiting for the write
// connection and the write lock is bounded sooner, by the store's wait.
const inboxBatchTimeout = 10 * time.Second

// ErrClosed is returned for deliveries offered while the store closes.
var ErrClosed = errors.New("store: closed")

type inboxWrite struct {
	provider, dedupeKey, path, partition string
	body                                 []byte
	// fn, when set, makes this a piece of write work (groupTx) instead of
	// a delivery.
	fn   func(tx *sql.Tx) error
	done chan inboxWritten // buffered (1): the writer never waits on a caller
}

type inboxWritten struct {
	inserted bool
	err      error
}

// inboxWriter is the one goroutine that writes deliveries to the inbox.
type inboxWriter struct {
	queue    chan *inboxWrite
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func newInboxWriter() *inboxWriter {
	return &inboxWriter{queue: make(chan *inboxWrite, inboxBatchMax), quit: make(chan struct{}), done: make(chan struct{})}
}

func (s *Store) startInboxWriter() {
	s.inboxWriter = newInboxWriter()
	go s.runInboxWriter(s.inboxWriter)
}

// runInboxWriter takes whatever is queued (up to inboxBatchMax) as one
// batch, writes it, and again, until w stops.
func (s *Store) runInboxWriter(w *inboxWriter) {
	defer close(w.done)
	batch := make([]*inboxWrite, 0, inboxBatchMax)
	for {
		select {
		case <-w.quit:
			w.drain(ErrClosed)
			return
		case first := <-w.queue:
			batch = append(batch[:0], first)
		more:
			for len(batch) < inboxBatchMax {
				select {
				case r := <-w.queue:
					batch = append(batch, r)
				default:
					break more
				}
			}
			s.writeInboxBatch(batch)
		}
	}
}

// drain fails every delivery still queued (the store is closing).
func (w *inboxWriter) drain(err error) {
	for {
		select {
		case r := <-w.queue:
			r.done <- inboxWritten{err: err}
		default:
			return
		}
	}
}

// stop ends the writer; a second Close of the store is harmless.
func (w *inboxWriter) stop() {
	w.stopOnce.Do(func() { close(w.quit) })
	<-w.done
}

// writeInboxBatch inserts a batch's deliveries, then does its write work,
// in one transaction. Every caller gets the commit's outcome: when the
// transaction fails, everything in it fails (no delivery was stored, none
// may be acknowledged). Work that fails is rolled back on its own (a
// savepoint) and only its caller hears of it.
func (s *Store) writeInboxBatch(batch []*inboxWrite) {
	ctx, cancel := context.WithTimeout(context.Background(), inboxBatchTimeout)
	defer cancel()
	out := make([]inboxWritten, len(batch))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// A transaction run again (PostgreSQL) starts over: each piece of
		// work runs once per attempt, and only the last attempt's outputs
		// reach the callers.
		clear(out)
		if err := s.insertInbox(ctx, tx, batch, out); err != nil {
			return err
		}
		for i, r := range batch {
			if r.fn == nil {
				continue
			}
			if _, err := tx.ExecContext(ctx, `SAVEPOINT group_work`); err != nil {
				return wrap("writeInboxBatch", err)
			}
			out[i].err = r.fn(tx)
			if raced(out[i].err) {
				return out[i].err // the whole transaction is run again
			}
			if out[i].err != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT group_work`); err != nil {
					return wrap("writeInboxBatch", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT group_work`); err != nil {
				return wrap("writeInboxBatch", err)
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("store: inbox batch of %d: %w", len(batch), err)
	}
	for i, r := range batch {
		if err != nil {
			out[i] = inboxWritten{err: err}
		}
		r.done <- out[i]
	}
}

// insertInbox inserts the batch's deliveries (out says which were new).
func (s *Store) insertInbox(ctx context.Context, tx *sql.Tx, batch []*inboxWrite, out []inboxWritten) error {
	// The write lock is ours until commit: the next ids are known, so
	// each row is written whole in one statement (the body's ciphertext
	// is bound to the row id).
	var next int64
	var ids []int64
	if s.d.pg {
		// Other replicas write batches at the same time: the ids come
		// from the table's sequence, so no two take the same (a delivery
		// left out as a duplicate leaves a gap).
		var err error
		if ids, err = s.nextInboxIDs(ctx, tx, len(batch)); err != nil {
			return wrap("writeInboxBatch", err)
		}
	} else if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM webhook_inbox`).Scan(&next); err != nil {
		return wrap("writeInboxBatch", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO webhook_inbox (id, provider, dedupe_key, path, body_hash, body_enc,
		received_at, next_attempt_at, partition_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, dedupe_key) DO NOTHING`)
	if err != nil {
		return wrap("writeInboxBatch", err)
	}
	defer ins.Close()
	now := fmtTime(s.Now())
	for i, r := range batch {
		if r.fn != nil {
			continue
		}
		if ids != nil {
			next = ids[i]
		}
		sum := sha256.Sum256(r.body)
		res, err := ins.ExecContext(ctx, next, r.provider, r.dedupeKey, r.path, hex.EncodeToString(sum[:]),
			s.crypt.Seal(string(r.body), aad("webhook_inbox", "body", next)), now, now, r.partition)
		if err != nil {
			return wrap("writeInboxBatch", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			out[i].inserted = true
			next++
		}
	}
	return nil
}

// offerInbox queues a delivery for the writer and waits for its batch to
// commit, at most twice the store's wait (the batch being written, then
// its own: each waits at most that for the database), then answers a
// *BusyError. A caller that gives up (ctx, or that bound) is answered with
// its error: its delivery may still be committed, and the provider's retry
// is then a duplicate, acknowledged without a second row.
func (s *Store) offerInbox(ctx context.Context, r *inboxWrite) (inboxWritten, error) {
	r.done = make(chan inboxWritten, 1)
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, 2*s.wait)
	defer cancel()
	gaveUp := func() error {
		if parent.Err() == nil {
			return &BusyError{Wait: s.wait, Err: ctx.Err()}
		}
		return parent.Err()
	}
	select {
	case s.inboxWriter.queue <- r:
	case <-s.inboxWriter.quit:
		return inboxWritten{}, ErrClosed
	case <-ctx.Done():
		return inboxWritten{}, gaveUp()
	}
	select {
	case out := <-r.done:
		return out, out.err
	case <-s.inboxWriter.done:
		select { // queued as the writer stopped: answered, or never will be
		case out := <-r.done:
			return out, out.err
		default:
			return inboxWritten{}, ErrClosed
		}
	case <-ctx.Done():
		return inboxWritten{}, gaveUp()
	}
}

// groupTx runs fn in the inbox writer's next transaction, in a savepoint of
// its own: fn's error rolls back fn's writes only, and is returned; nil is
// returned once the transaction committed. For the inbox processor's
// short writes (claims, status changes), which are many and small: they
// share the intake's commits. fn must not wait for anything but the
// database.
//
// On PostgreSQL fn runs in a SERIALIZABLE transaction of its own (inTx):
// each replica has a pool of connections and the server shares fsyncs
// between them, and one conflicting piece would make the whole group run
// again.
func (s *Store) groupTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.d.pg {
		return s.inTx(ctx, fn)
	}
	_, err := s.offerInbox(ctx, &inboxWrite{fn: fn})
	return err
}

// nextInboxIDs takes n ids from webhook_inbox's sequence (PostgreSQL).
func (s *Store) nextInboxIDs(ctx context.Context, tx *sql.Tx, n int) ([]int64, error) {
	return scanIDs(tx.QueryContext(ctx, `SELECT nextval(pg_get_serial_sequence('webhook_inbox', 'id')) FROM generate_series(1, ?::int)`, n))
}

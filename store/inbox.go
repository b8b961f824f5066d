package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InboxItem is one authenticated webhook delivery waiting to be processed.
type InboxItem struct {
	ID         int64
	Provider   string
	DedupeKey  string
	Path       string
	Body       []byte
	ReceivedAt time.Time
	Attempts   int
}

// AddInbox stores an authenticated delivery, committed before the webhook
// is answered. A delivery whose (provider, dedupe key) is already stored is
// not stored again: it returns inserted=false and no error, and the caller
// still answers 2xx so the provider stops retrying.
func (s *Store) AddInbox(ctx context.Context, provider, dedupeKey, path string, body []byte) (inserted bool, err error) {
	return s.AddInboxFor(ctx, provider, dedupeKey, path, "", body)
}

// AddInboxFor is AddInbox with the delivery's partition: the provider's
// order it is about ("truv:<order id>"), or "" when unknown. The deliveries
// of one partition are processed one at a time in the order received
// (ClaimInbox); different partitions in parallel.
func (s *Store) AddInboxFor(ctx context.Context, provider, dedupeKey, path, partition string, body []byte) (inserted bool, err error) {
	// Written by the inbox writer with the other deliveries arriving now,
	// in one transaction (group commit, inbox_batch.go).
	out, err := s.offerInbox(ctx, &inboxWrite{provider: provider, dedupeKey: dedupeKey, path: path, partition: partition, body: body})
	return out.inserted, wrap("AddInboxFor", err)
}

// ClaimInbox takes the oldest delivery that is due and leases it for lease:
// another worker (or process) will not take it before the lease ends. It
// returns ErrNotFound when nothing is due.
func (s *Store) ClaimInbox(ctx context.Context, lease time.Duration) (*InboxItem, error) {
	return s.ClaimInboxExcept(ctx, lease, nil)
}

// ClaimInboxExcept is ClaimInbox leaving out the deliveries of the named
// providers (at their concurrency limit, or their circuit open).
func (s *Store) ClaimInboxExcept(ctx context.Context, lease time.Duration, skip []string) (*InboxItem, error) {
	its, err := s.ClaimInboxBatch(ctx, InboxClaim{Lease: lease, Max: 1, Skip: skip})
	if err != nil {
		return nil, wrap("ClaimInboxExcept", err)
	}
	if len(its) == 0 {
		return nil, wrap("ClaimInboxExcept", ErrNotFound)
	}
	return its[0], nil
}

// InboxDone is a processed delivery's outcome: Err is "" on success or the
// reason it was dropped; a RetryAt leaves it for another try then.
type InboxDone struct {
	ID      int64
	Err     string
	RetryAt time.Time
}

// InboxClaim says what ClaimInboxBatch writes and takes.
type InboxClaim struct {
	// Done are outcomes to write first (as FinishInbox would), in the same
	// transaction: a processor's finishes and its next claim cost one
	// commit, and the next delivery of a finished one's order is free to go.
	Done []InboxDone
	// Lease is how long the claimed deliveries are held (another worker or
	// process does not take them before it ends).
	Lease time.Duration
	// Max is the most deliveries claimed; 0 only writes Done.
	Max int
	// Room, when set, names the providers whose deliveries are taken and
	// how many of each at most; the others' wait.
	Room map[string]int
	// Skip leaves out the named providers' deliveries (without Room).
	Skip []string
}

// ClaimInboxBatch writes c.Done, then claims up to c.Max due deliveries,
// in one write transaction, in the order they fell due (a new delivery is
// due when received; a retried one when its wait ends; then by id). A
// delivery is only taken when no older one of its partition (the same
// provider order) is still pending, leased or waiting for a retry: one
// order's deliveries are applied in the order received, while other
// orders' proceed. The indexes yield exactly this order (webhook_inbox_due
// per provider with Room; webhook_inbox_pending, whose entries end with the
// row id, without): a claim reads the first few due entries instead of
// sorting every due delivery, as ordering by id alone did (issue 17).
//
// On SQLite the claim is written by the inbox writer, in the transaction
// of the deliveries arriving now (groupTx, inbox_batch.go). On PostgreSQL
// it is a claim of its own (claimTx): READ COMMITTED, taking rows FOR
// UPDATE SKIP LOCKED, so replicas claiming at once pass over each other's
// rows instead of failing a SERIALIZABLE group transaction.
func (s *Store) ClaimInboxBatch(ctx context.Context, c InboxClaim) ([]*InboxItem, error) {
	var items []*InboxItem
	claim := func(tx *sql.Tx) error {
		var err error
		items, err = s.claimInbox(ctx, tx, s.Now(), c) // run again: starts over
		return err
	}
	var err error
	if s.d.pg {
		err = s.claimTx(ctx, claim)
	} else {
		err = s.groupTx(ctx, claim)
	}
	if err != nil {
		return nil, wrap("ClaimInboxBatch", err)
	}
	return items, nil
}

// claimInbox is ClaimInboxBatch within a transaction (the writer's, or a claim's).
func (s *Store) claimInbox(ctx context.Context, tx *sql.Tx, now time.Time, c InboxClaim) ([]*InboxItem, error) {
	if err := finishInbox(ctx, tx, c.Done, now); err != nil {
		return nil, err
	}
	if c.Max <= 0 {
		return nil, nil
	}
	ids, err := s.inboxDue(ctx, tx, now, c)
	if err != nil || len(ids) == 0 {
		return nil, wrap("claimInbox", err)
	}
	args := []any{fmtTime(now.Add(c.Lease))}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, `UPDATE webhook_inbox SET attempts = attempts + 1, next_attempt_at = ?
		WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)
		RETURNING id, provider, dedupe_key, path, body_enc, received_at, attempts`, args...)
	if err != nil {
		return nil, wrap("claimInbox", err)
	}
	defer rows.Close()
	byID := map[int64]*InboxItem{}
	for rows.Next() {
		var it InboxItem
		var body []byte
		var received string
		if err := rows.Scan(&it.ID, &it.Provider, &it.DedupeKey, &it.Path, &body, &received, &it.Attempts); err != nil {
			return nil, wrap("claimInbox", err)
		}
		pt, err := s.crypt.Open(body, aad("webhook_inbox", "body", it.ID))
		if err != nil {
			return nil, wrap("claimInbox", err)
		}
		it.Body, it.ReceivedAt = []byte(pt), parseTime(received)
		byID[it.ID] = &it
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("claimInbox", err)
	}
	items := make([]*InboxItem, 0, len(ids))
	for _, id := range ids {
		if it := byID[id]; it != nil {
			items = append(items, it)
		}
	}
	return items, nil
}

// inboxDue lists the ids of the deliveries a claim takes, in order. With
// Room, each provider's are read on their own (webhook_inbox_due: a few
// index entries each) and merged.
func (s *Store) inboxDue(ctx context.Context, tx *sql.Tx, now time.Time, c InboxClaim) ([]int64, error) {
	type due struct {
		id int64
		at string
	}
	var all []due
	read := func(providerSQL string, limit int, args ...any) error {
		args = append([]any{fmtTime(now)}, args...)
		rows, err := tx.QueryContext(ctx, `SELECT w.id, w.next_attempt_at FROM webhook_inbox w
			WHERE w.processed_at IS NULL AND w.next_attempt_at <= ?`+providerSQL+`
				AND (w.partition_key = '' OR NOT EXISTS (SELECT 1 FROM webhook_inbox e WHERE e.partition_key = w.partition_key
					AND e.processed_at IS NULL AND e.id < w.id))
			ORDER BY w.next_attempt_at, w.id LIMIT `+strconv.Itoa(limit)+s.d.skipLocked("w"), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.id, &d.at); err != nil {
				return err
			}
			all = append(all, d)
		}
		return rows.Err()
	}
	if c.Room == nil {
		var args []any
		skipSQL := ""
		if len(c.Skip) > 0 {
			skipSQL = ` AND w.provider NOT IN (?` + strings.Repeat(", ?", len(c.Skip)-1) + `)`
			for _, p := range c.Skip {
				args = append(args, p)
			}
		}
		if err := read(skipSQL, c.Max, args...); err != nil {
			return nil, err
		}
	}
	for _, p := range slices.Sorted(maps.Keys(c.Room)) {
		if n := min(c.Room[p], c.Max); n > 0 {
			if err := read(` AND w.provider = ?`, n, p); err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(all, func(a, b due) int { return cmp.Or(strings.Compare(a.at, b.at), cmp.Compare(a.id, b.id)) })
	ids := make([]int64, 0, min(len(all), c.Max))
	for _, d := range all[:min(len(all), c.Max)] {
		ids = append(ids, d.id)
	}
	return ids, nil
}

// FinishInbox marks a delivery processed (errText "" on success, or the
// reason it was dropped), or, when retryAt is set, leaves it for another try.
func (s *Store) FinishInbox(ctx context.Context, id int64, errText string, retryAt time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return finishInbox(ctx, tx, []InboxDone{{ID: id, Err: errText, RetryAt: retryAt}}, s.Now())
	})
	return wrap("FinishInbox", err)
}

// finishInbox writes processed deliveries' outcomes.
func finishInbox(ctx context.Context, tx *sql.Tx, done []InboxDone, now time.Time) error {
	for _, d := range done {
		var err error
		if !d.RetryAt.IsZero() {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_inbox SET error = ?, next_attempt_at = ? WHERE id = ?`,
				d.Err, fmtTime(d.RetryAt), d.ID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_inbox SET error = ?, processed_at = ? WHERE id = ?`, d.Err, fmtTime(now), d.ID)
		}
		if err != nil {
			return wrap("finishInbox", err)
		}
	}
	return nil
}

// InboxStats counts deliveries by state (tests, diagnostics).
func (s *Store) InboxStats(ctx context.Context, provider string) (total, pending int, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM webhook_inbox WHERE provider = ?`,
		provider).Scan(&total, &pending)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return total, pending, wrap("InboxStats", err)
}

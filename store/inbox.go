package store

import (
	"context"
	"database/sql"
	"errors"
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
	inserted, err = s.offerInbox(ctx, &inboxWrite{provider: provider, dedupeKey: dedupeKey, path: path, partition: partition, body: body})
	return inserted, wrap("AddInboxFor", err)
}

// ClaimInbox takes the oldest delivery that is due and leases it for lease:
// another worker (or process) will not take it before the lease ends. It
// returns ErrNotFound when nothing is due.
func (s *Store) ClaimInbox(ctx context.Context, lease time.Duration) (*InboxItem, error) {
	return s.ClaimInboxExcept(ctx, lease, nil)
}

// ClaimInboxExcept is ClaimInbox leaving out the deliveries of the named
// providers (at their concurrency limit, or their circuit open). A delivery
// is only taken when no older one of its partition (the same provider
// order) is still pending, leased or waiting for a retry: one order's
// deliveries are applied in the order received, while other orders'
// proceed.
func (s *Store) ClaimInboxExcept(ctx context.Context, lease time.Duration, skip []string) (*InboxItem, error) {
	now := s.Now()
	var it InboxItem
	var body []byte
	var received string
	args := []any{fmtTime(now.Add(lease)), fmtTime(now)}
	skipSQL := ""
	if len(skip) > 0 {
		skipSQL = ` AND w.provider NOT IN (?` + strings.Repeat(", ?", len(skip)-1) + `)`
		for _, p := range skip {
			args = append(args, p)
		}
	}
	err := s.claimTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE webhook_inbox SET attempts = attempts + 1, next_attempt_at = ?
			WHERE id = (SELECT w.id FROM webhook_inbox w WHERE w.processed_at IS NULL AND w.next_attempt_at <= ?`+skipSQL+`
				AND (w.partition_key = '' OR NOT EXISTS (SELECT 1 FROM webhook_inbox e WHERE e.partition_key = w.partition_key
					AND e.processed_at IS NULL AND e.id < w.id))
				ORDER BY w.id LIMIT 1`+s.d.skipLocked("w")+`)
			RETURNING id, provider, dedupe_key, path, body_enc, received_at, attempts`,
			args...).Scan(&it.ID, &it.Provider, &it.DedupeKey, &it.Path, &body, &received, &it.Attempts)
		return wrap("ClaimInboxExcept", formatError(err))
	})
	if err != nil {
		return nil, wrap("ClaimInboxExcept", err)
	}
	pt, err := s.crypt.Open(body, aad("webhook_inbox", "body", it.ID))
	if err != nil {
		return nil, wrap("ClaimInboxExcept", err)
	}
	it.Body, it.ReceivedAt = []byte(pt), parseTime(received)
	return &it, nil
}

// FinishInbox marks a delivery processed (errText "" on success, or the
// reason it was dropped), or, when retryAt is set, leaves it for another try.
func (s *Store) FinishInbox(ctx context.Context, id int64, errText string, retryAt time.Time) error {
	if !retryAt.IsZero() {
		_, err := s.execWrite(ctx, `UPDATE webhook_inbox SET error = ?, next_attempt_at = ? WHERE id = ?`,
			errText, fmtTime(retryAt), id)
		return wrap("FinishInbox", err)
	}
	_, err := s.execWrite(ctx, `UPDATE webhook_inbox SET error = ?, processed_at = ? WHERE id = ?`, errText, fmtTime(s.Now()), id)
	return wrap("FinishInbox", err)
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

package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
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
	now := s.Now()
	sum := sha256.Sum256(body)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO webhook_inbox (provider, dedupe_key, path, body_hash, received_at, next_attempt_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider, dedupe_key) DO NOTHING`,
			provider, dedupeKey, path, hex.EncodeToString(sum[:]), fmtTime(now), fmtTime(now))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if n == 0 {
			return nil
		}
		inserted = true
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhook_inbox SET body_enc = ? WHERE id = ?`,
			s.crypt.Seal(string(body), aad("webhook_inbox", "body", id)), id)
		return err
	})
	return inserted, err
}

// ClaimInbox takes the oldest delivery that is due and leases it for lease:
// another worker (or process) will not take it before the lease ends. It
// returns ErrNotFound when nothing is due.
func (s *Store) ClaimInbox(ctx context.Context, lease time.Duration) (*InboxItem, error) {
	now := s.Now()
	var it InboxItem
	var body []byte
	var received string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE webhook_inbox SET attempts = attempts + 1, next_attempt_at = ?
			WHERE id = (SELECT id FROM webhook_inbox WHERE processed_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT 1)
			RETURNING id, provider, dedupe_key, path, body_enc, received_at, attempts`,
			fmtTime(now.Add(lease)), fmtTime(now)).Scan(&it.ID, &it.Provider, &it.DedupeKey, &it.Path, &body, &received, &it.Attempts)
		return formatError(err)
	})
	if err != nil {
		return nil, err
	}
	pt, err := s.crypt.Open(body, aad("webhook_inbox", "body", it.ID))
	if err != nil {
		return nil, err
	}
	it.Body, it.ReceivedAt = []byte(pt), parseTime(received)
	return &it, nil
}

// FinishInbox marks a delivery processed (errText "" on success, or the
// reason it was dropped), or, when retryAt is set, leaves it for another try.
func (s *Store) FinishInbox(ctx context.Context, id int64, errText string, retryAt time.Time) error {
	if !retryAt.IsZero() {
		_, err := s.write.ExecContext(ctx, `UPDATE webhook_inbox SET error = ?, next_attempt_at = ? WHERE id = ?`,
			errText, fmtTime(retryAt), id)
		return err
	}
	_, err := s.write.ExecContext(ctx, `UPDATE webhook_inbox SET error = ?, processed_at = ? WHERE id = ?`, errText, fmtTime(s.Now()), id)
	return err
}

// InboxStats counts deliveries by state (tests, diagnostics).
func (s *Store) InboxStats(ctx context.Context, provider string) (total, pending int, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) FROM webhook_inbox WHERE provider = ?`,
		provider).Scan(&total, &pending)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return total, pending, err
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// webhookEffectsKept bounds the per-order record of what webhook deliveries
// caused: the newest this many (code, body hash) pairs are kept.
const webhookEffectsKept = 64

// WebhookEffect returns what a delivery with this code and body hash
// already caused on an order, and whether it was seen at all. Payscore's
// deliveries carry no id or time, so a captured one replayed byte for byte
// is recognised by it and causes nothing again (issue 13 item 3). Like
// OrderByProviderID it takes no agency id: the webhook path's bookkeeping,
// keyed by an order it already found.
func (s *Store) WebhookEffect(ctx context.Context, orderID int64, code, bodyHash string) (effect string, seen bool, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT effect FROM webhook_effects WHERE order_id = ? AND code = ? AND body_hash = ?`,
		orderID, code, bodyHash).Scan(&effect)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return effect, err == nil, wrap("WebhookEffect", err)
}

// RecordWebhookEffect records what a delivery caused on an order, and trims
// the order's record to the newest webhookEffectsKept.
func (s *Store) RecordWebhookEffect(ctx context.Context, orderID int64, code, bodyHash, effect string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_effects (order_id, code, body_hash, effect, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (order_id, code, body_hash) DO NOTHING`, orderID, code, bodyHash, effect, fmtTime(s.Now())); err != nil {
			return wrap("RecordWebhookEffect", err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM webhook_effects WHERE order_id = ? AND `+s.d.rowid()+` NOT IN
			(SELECT `+s.d.rowid()+` FROM webhook_effects WHERE order_id = ? ORDER BY at DESC, `+s.d.rowid()+` DESC LIMIT ?)`, orderID, orderID, webhookEffectsKept)
		return wrap("RecordWebhookEffect", err)
	})
}

// WebhookEffects counts an order's recorded effects (tests, diagnostics).
func (s *Store) WebhookEffects(ctx context.Context, orderID int64) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM webhook_effects WHERE order_id = ?`, orderID).Scan(&n)
	return n, wrap("WebhookEffects", err)
}

// HasAnyReport reports whether an order has had a report stored, purged or
// not: a completed order that has one does not fetch another because a
// provider says again that it is ready.
func (s *Store) HasAnyReport(ctx context.Context, agencyID, orderID int64) (bool, error) {
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM reports WHERE agency_id = ? AND order_id = ? LIMIT 1`, agencyID, orderID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("HasAnyReport", err)
}

// LastInboxID is the id of the newest delivery stored so far: a status read
// that starts after it covers every delivery up to it.
func (s *Store) LastInboxID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT max(id) FROM webhook_inbox`).Scan(&id)
	return id.Int64, wrap("LastInboxID", err)
}

// ClaimHintRead takes an order's next hint-triggered status read (issue 13
// item 3: Payscore's webhooks are hints, each read costs a call): when the
// last one began at least interval before now, it records now in
// orders.hint_fetched_at and returns ok; otherwise it returns when the next
// may begin. In one write transaction, so two workers or processes never
// both read within the interval, and a restart does not forget the pace.
// now is the caller's wall clock (the pace is about real time).
func (s *Store) ClaimHintRead(ctx context.Context, agencyID, orderID int64, now time.Time, interval time.Duration) (next time.Time, ok bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var last sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT hint_fetched_at FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).
			Scan(&last); err != nil {
			return formatError(err)
		}
		if at := parseNullTime(last); !at.IsZero() && now.Before(at.Add(interval)) {
			next = at.Add(interval)
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE orders SET hint_fetched_at = ? WHERE id = ?`, fmtTime(now), orderID)
		ok = err == nil
		return err
	})
	return next, ok, wrap("ClaimHintRead", err)
}

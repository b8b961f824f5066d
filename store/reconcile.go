package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// newsSincePoll is true for an order that had an event after its last
// finished poll. Such an order is due as soon as it is quiet again, whatever
// its backoff said. While a poll is under way polled_at is NULL (set so by
// the claim), so the claim's lease holds.
const newsSincePoll = `(polled_at IS NOT NULL AND last_event_at > polled_at)`

// maxPollBackoffShift caps the reconciler's backoff: an order that stays
// quiet is polled after 1×, 2×, 4×, 8×, then every 16× the quiet time.
const maxPollBackoffShift = 4

// PollSteadyFor is how long after its creation an open order is polled
// every quiet time without backing off: a lost webhook (an AccountChek
// postback) is noticed within one quiet time during the order's first day
// (reliability.md W17), when applicants act.
const PollSteadyFor = 24 * time.Hour

// PollBackoff is how long after a poll the next one of the same order is
// due, when the order has been polled attempts times since its last news:
// quiet × 2^(attempts-1), at most quiet × 2^maxPollBackoffShift.
func PollBackoff(quiet time.Duration, attempts int) time.Duration {
	shift := min(max(attempts-1, 0), maxPollBackoffShift)
	return quiet << shift
}

// pollWait is PollBackoff for an order of the given age: during its first
// PollSteadyFor, never more than quiet.
func pollWait(quiet time.Duration, attempts int, age time.Duration) time.Duration {
	if age < PollSteadyFor {
		return quiet
	}
	return PollBackoff(quiet, attempts)
}

// ClaimQuietOrders claims up to limit open orders (not final, accepted by
// their provider) of the named providers that have been quiet (no event
// since last_event_at) for at least quiet and whose next poll is due, and
// returns them for the reconciler to poll. Oldest due first. An order whose
// create got no answer (Order.Checking) is claimed whenever its next poll
// is due (MarkUnconfirmed makes it due soon), quiet or not: the reconciler
// looks it up by its reference.
//
// Claiming moves each order's next_poll_at into the future (the backoff of
// PollBackoff) and marks the poll under way (polled_at NULL until
// FinishPoll), in one write transaction whose UPDATE re-checks that the
// poll is still due: a second process, or a second goroutine, that claims at
// the same time gets other orders or none, so no order is polled twice at
// once. A process that dies mid-poll leaves the order to be claimed again
// when next_poll_at passes. An order that had news (an event) after its
// last finished poll is due again once it is quiet, and its backoff starts
// over.
//
// Like OrderByProviderID, it takes no agency id: the reconciler works for
// every agency, and everything it does next goes through the order's own
// AgencyID.
func (s *Store) ClaimQuietOrders(ctx context.Context, providers []string, quiet time.Duration, limit int) ([]*Order, error) {
	if len(providers) == 0 || limit <= 0 {
		return nil, nil
	}
	now := s.Now()
	due := fmtTime(now)
	args := []any{fmtTime(now.Add(-quiet)), due}
	for _, p := range providers {
		args = append(args, p)
	}
	args = append(args, limit)
	var out []*Order
	err := s.claimTx(ctx, func(tx *sql.Tx) error {
		out = nil // a transaction run again starts over
		rows, err := tx.QueryContext(ctx, `SELECT id, poll_attempts, `+newsSincePoll+`, created_at FROM orders
			WHERE status NOT IN ('completed', 'canceled', 'expired', 'failed')
			AND (provider_order_id IS NOT NULL AND last_event_at <= ?
				OR unconfirmed_at IS NOT NULL AND provider_order_id IS NULL AND status = 'created') AND (next_poll_at IS NULL OR next_poll_at <= ? OR `+newsSincePoll+`)
			AND provider IN (?`+strings.Repeat(", ?", len(providers)-1)+`)
			ORDER BY COALESCE(next_poll_at, last_event_at), id LIMIT ?`+s.d.skipLocked("orders"), args...)
		if err != nil {
			return wrap("ClaimQuietOrders", err)
		}
		type candidate struct {
			id       int64
			attempts int
			news     bool
			created  string
		}
		var cands []candidate
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.id, &c.attempts, &c.news, &c.created); err != nil {
				rows.Close()
				return wrap("ClaimQuietOrders", err)
			}
			cands = append(cands, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("ClaimQuietOrders", err)
		}
		for _, c := range cands {
			attempts := c.attempts + 1
			if c.news {
				attempts = 1 // news since the last poll: the backoff starts over
			}
			res, err := tx.ExecContext(ctx, `UPDATE orders SET next_poll_at = ?, poll_attempts = ?, polled_at = NULL
				WHERE id = ? AND (next_poll_at IS NULL OR next_poll_at <= ? OR `+newsSincePoll+`)`,
				fmtTime(now.Add(pollWait(quiet, attempts, now.Sub(parseTime(c.created))))), attempts, c.id, due)
			if err != nil {
				return wrap("ClaimQuietOrders", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				continue // taken meanwhile (cannot happen inside one write transaction; checked anyway)
			}
			o, err := s.scanOrder(tx.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o
				JOIN members m ON m.id = o.member_id WHERE o.id = ?`, c.id))
			if err != nil {
				return wrap("ClaimQuietOrders", err)
			}
			out = append(out, o)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("ClaimQuietOrders", err)
	}
	return out, nil
}

// FinishPoll records that the reconciler polled an order. progressed says
// the poll changed the order (its status or detail): the order is active,
// so the backoff starts over and the next poll waits only for the quiet
// time. Otherwise the next poll stays where ClaimQuietOrders put it. Like
// ClaimQuietOrders it takes no agency id (the reconciler's own bookkeeping,
// no case data).
func (s *Store) FinishPoll(ctx context.Context, orderID int64, progressed bool) error {
	q := `UPDATE orders SET polled_at = ? WHERE id = ?`
	if progressed {
		q = `UPDATE orders SET polled_at = ?, poll_attempts = 0, next_poll_at = NULL WHERE id = ?`
	}
	_, err := s.execWrite(ctx, q, fmtTime(s.Now()), orderID)
	return wrap("FinishPoll", err)
}

// PollState is an order's reconciler bookkeeping (tests, diagnostics).
type PollState struct {
	NextPollAt time.Time // zero: due as soon as the order is quiet
	Attempts   int
	PolledAt   time.Time
}

// OrderPollState returns an order's reconciler bookkeeping.
func (s *Store) OrderPollState(ctx context.Context, agencyID, orderID int64) (PollState, error) {
	var ps PollState
	var next, polled sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT next_poll_at, poll_attempts, polled_at FROM orders WHERE agency_id = ? AND id = ?`,
		agencyID, orderID).Scan(&next, &ps.Attempts, &polled)
	if err != nil {
		return ps, wrap("OrderPollState", formatError(err))
	}
	ps.NextPollAt, ps.PolledAt = parseNullTime(next), parseNullTime(polled)
	return ps, nil
}

// HasReport reports whether an order already has a report stored under the
// provider's report id. A poll that reads a completed service again names
// the same report (AccountChek "voa:<guid>"): it is not fetched twice.
func (s *Store) HasReport(ctx context.Context, agencyID, orderID int64, providerReportID string) (bool, error) {
	if providerReportID == "" {
		return false, nil
	}
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM reports WHERE agency_id = ? AND order_id = ? AND provider_report_id = ? LIMIT 1`,
		agencyID, orderID, providerReportID).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	return err == nil, wrap("HasReport", err)
}

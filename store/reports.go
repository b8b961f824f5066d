package store

import (
	"context"
	"database/sql"
	"time"
)

// Report is a provider's report for an order. Data is the normalized report
// as JSON (the provider-neutral shape of providers.Report), encrypted at
// rest: it is full of personal data. The store keeps it opaque.
type Report struct {
	ID               int64
	OrderID          int64
	ProviderReportID string
	Kind             string
	Data             []byte
	FetchedAt        time.Time
	ExpiresAt        time.Time
	Purged           bool
}

// SaveReport stores a fetched report as the order's newest and publishes.
//
// A report never outlives the order's live reports of the same kind: its
// expiry is at most the earliest expiry among them. A provider whose report
// lives a fixed time from completion (Payscore, 14 days) fires "completed"
// several times, and a later fetch must not extend the life that the first
// completion started (reliability.md R1). A report whose predecessors have
// all expired is a new one (the provider would not have sent it otherwise)
// and keeps its own expiry.
func (s *Store) SaveReport(ctx context.Context, agencyID, orderID int64, r Report) (*Report, error) {
	now := s.Now()
	r.OrderID, r.FetchedAt = orderID, now
	var caseID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "report"}}
	}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&caseID); err != nil {
			return wrap("SaveReport", formatError(err))
		}
		if !r.ExpiresAt.IsZero() {
			var first sql.NullString
			if err := tx.QueryRowContext(ctx, `SELECT min(expires_at) FROM reports WHERE order_id = ? AND kind = ?
				AND purged_at IS NULL AND expires_at > ?`, orderID, r.Kind, fmtTime(now)).Scan(&first); err != nil {
				return wrap("SaveReport", err)
			}
			if t := parseNullTime(first); !t.IsZero() && t.Before(r.ExpiresAt) {
				r.ExpiresAt = t
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO reports (agency_id, order_id, provider_report_id, kind, fetched_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, agencyID, orderID, r.ProviderReportID, r.Kind, fmtTime(now), nullTime(r.ExpiresAt)).Scan(&r.ID); err != nil {
			return wrap("SaveReport", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reports SET data_enc = ? WHERE id = ?`,
			s.crypt.Seal(string(r.Data), aad("reports", "data", r.ID)), r.ID); err != nil {
			return wrap("SaveReport", err)
		}
		return addEvent(ctx, tx, agencyID, orderID, now, SourceSystem, "", "", "", "Report received.")
	}))
	if err != nil {
		return nil, wrap("SaveReport", err)
	}
	s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "report"})
	return &r, nil
}

// LatestReport returns an order's newest report, or ErrNotFound. A purged
// or expired report comes back with Purged set and no data.
func (s *Store) LatestReport(ctx context.Context, agencyID, orderID int64) (*Report, error) {
	return s.scanReport(s.read.QueryRowContext(ctx, `SELECT id, order_id, provider_report_id, kind, data_enc, fetched_at, expires_at, purged_at
		FROM reports WHERE agency_id = ? AND order_id = ? ORDER BY id DESC LIMIT 1`, agencyID, orderID))
}

func (s *Store) scanReport(row *sql.Row) (*Report, error) {
	var r Report
	var data []byte
	var fetched string
	var expires, purged sql.NullString
	if err := row.Scan(&r.ID, &r.OrderID, &r.ProviderReportID, &r.Kind, &data, &fetched, &expires, &purged); err != nil {
		return nil, wrap("scanReport", formatError(err))
	}
	r.FetchedAt, r.ExpiresAt = parseTime(fetched), parseNullTime(expires)
	r.Purged = purged.Valid || (!r.ExpiresAt.IsZero() && !s.Now().Before(r.ExpiresAt))
	if !r.Purged {
		pt, err := s.crypt.Open(data, aad("reports", "data", r.ID))
		if err != nil {
			return nil, wrap("scanReport", err)
		}
		r.Data = []byte(pt)
	}
	return &r, nil
}

// CaseReports returns, for each order of a case that has one, its newest
// report's id and whether it is still readable.
func (s *Store) CaseReports(ctx context.Context, agencyID, caseID int64) (map[int64]bool, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT r.order_id, r.purged_at IS NULL AND (r.expires_at IS NULL OR r.expires_at > ?)
		FROM reports r JOIN orders o ON o.id = r.order_id
		WHERE r.agency_id = ? AND o.case_id = ? AND r.id = (SELECT max(id) FROM reports WHERE order_id = r.order_id)`,
		fmtTime(s.Now()), agencyID, caseID)
	if err != nil {
		return nil, wrap("CaseReports", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		var ok bool
		if err := rows.Scan(&id, &ok); err != nil {
			return nil, wrap("CaseReports", err)
		}
		out[id] = ok
	}
	return out, rows.Err()
}

// ClaimOrdersMissingReport claims, for the background report sweep, up to
// limit completed orders (across agencies: the sweep's entry point) that
// have no report yet, have been quiet since before quietSince, and whose
// next try is due (ReportFetchFailed). The due ones come first, oldest
// first, so orders still waiting never hide the others.
//
// Claiming moves each order's next try to now+lease in the same write
// transaction (rows taken FOR UPDATE SKIP LOCKED on PostgreSQL), so a second
// replica sweeping at the same moment gets other orders or none and never
// fetches the same report twice. The sweep then either stores the report or
// records the failed try (ReportFetchFailed sets the next try); a replica
// that dies mid-sweep leaves its orders to be claimed again after lease.
func (s *Store) ClaimOrdersMissingReport(ctx context.Context, quietSince time.Time, lease time.Duration, limit int) ([]*Order, error) {
	now := s.Now()
	due := fmtTime(now)
	without, args := inList(OutcomesWithoutReport)
	args = append(args, fmtTime(quietSince), due, limit)
	var out []*Order
	err := s.claimTx(ctx, func(tx *sql.Tx) error {
		out = nil // a transaction run again starts over
		rows, err := tx.QueryContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
			WHERE o.status = 'completed' AND o.outcome NOT IN `+without+`
			AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.order_id = o.id)
			AND o.last_event_at < ? AND (o.report_retry_at IS NULL OR o.report_retry_at <= ?)
			ORDER BY COALESCE(o.report_retry_at, o.last_event_at), o.id LIMIT ?`+s.d.skipLocked("o"), args...)
		if err != nil {
			return wrap("ClaimOrdersMissingReport", err)
		}
		var cands []*Order
		for rows.Next() {
			o, err := s.scanOrder(rows)
			if err != nil {
				rows.Close()
				return wrap("ClaimOrdersMissingReport", err)
			}
			cands = append(cands, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("ClaimOrdersMissingReport", err)
		}
		for _, o := range cands {
			res, err := tx.ExecContext(ctx, `UPDATE orders SET report_retry_at = ?
				WHERE id = ? AND (report_retry_at IS NULL OR report_retry_at <= ?)`, fmtTime(now.Add(lease)), o.ID, due)
			if err != nil {
				return wrap("ClaimOrdersMissingReport", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				continue // taken meanwhile (cannot happen inside one write transaction; checked anyway)
			}
			out = append(out, o)
		}
		return nil
	})
	return out, wrap("ClaimOrdersMissingReport", err)
}

// maxReportBackoff caps the wait between two report sweep tries of an order.
const maxReportBackoff = 6 * time.Hour

// ReportBackoff is how long the report sweep waits after the attempts-th
// failed try of an order: base × 2^(attempts-1), at most maxReportBackoff.
func ReportBackoff(base time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < maxReportBackoff; i++ {
		d *= 2
	}
	return min(d, maxReportBackoff)
}

// ReportFetchFailed records that the report sweep could not fetch an order's
// report: the next try waits ReportBackoff(base, attempts). It returns the
// number of failed tries so far, so the caller notes the first one on the
// timeline and not every one. Like ClaimOrdersMissingReport it takes no agency id
// (the sweep's own bookkeeping, no case data).
func (s *Store) ReportFetchFailed(ctx context.Context, orderID int64, base time.Duration) (int, error) {
	var attempts int
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `UPDATE orders SET report_attempts = report_attempts + 1 WHERE id = ?
			RETURNING report_attempts`, orderID).Scan(&attempts); err != nil {
			return wrap("ReportFetchFailed", formatError(err))
		}
		_, err := tx.ExecContext(ctx, `UPDATE orders SET report_retry_at = ? WHERE id = ?`,
			fmtTime(s.Now().Add(ReportBackoff(base, attempts))), orderID)
		return wrap("ReportFetchFailed", err)
	})
	return attempts, wrap("ReportFetchFailed", err)
}

// ReportExpiresBy brings the expiry of an order's readable reports forward
// to by, when they would live longer (a provider's "report expires soon"
// warning: Payscore's REPORT_SOON_TO_EXPIRE comes two days before). The
// report page's "expires soon" banner reads this expiry.
func (s *Store) ReportExpiresBy(ctx context.Context, agencyID, orderID int64, by time.Time) error {
	var caseID int64
	var n int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		if n == 0 {
			return nil
		}
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "report"}}
	}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&caseID); err != nil {
			return wrap("ReportExpiresBy", formatError(err))
		}
		res, err := tx.ExecContext(ctx, `UPDATE reports SET expires_at = ? WHERE order_id = ? AND purged_at IS NULL
			AND (expires_at IS NULL OR expires_at > ?)`, fmtTime(by), orderID, fmtTime(by))
		if err != nil {
			return wrap("ReportExpiresBy", err)
		}
		n, err = res.RowsAffected()
		return wrap("ReportExpiresBy", err)
	}))
	if err == nil && n > 0 {
		s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "report"})
	}
	return wrap("ReportExpiresBy", err)
}

// PurgeExpiredReports removes the data of every report past its expiry
// (across agencies: a background sweep). Reading already hides an expired
// report; this deletes its personal data too, without waiting for the
// provider's "expired" webhook, which may never come (reliability.md R1).
// The rows stay, marked purged, so the page can say the report expired. It
// returns how many reports it purged.
func (s *Store) PurgeExpiredReports(ctx context.Context) (int, error) {
	now := fmtTime(s.Now())
	var changes []Change
	err := s.inTx(ctx, s.announcing(ctx, func() []Change { return changes }, func(tx *sql.Tx) error {
		changes = nil // a transaction run again (PostgreSQL) starts over
		rows, err := tx.QueryContext(ctx, `UPDATE reports SET data_enc = NULL, purged_at = ?
			WHERE purged_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ?
			RETURNING agency_id, order_id, (SELECT case_id FROM orders WHERE id = reports.order_id)`, now, now)
		if err != nil {
			return wrap("PurgeExpiredReports", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c Change
			if err := rows.Scan(&c.AgencyID, &c.OrderID, &c.CaseID); err != nil {
				return wrap("PurgeExpiredReports", err)
			}
			c.Kind = "report"
			changes = append(changes, c)
		}
		return rows.Err()
	}))
	if err != nil {
		return 0, wrap("PurgeExpiredReports", err)
	}
	seen := map[int64]bool{}
	for _, c := range changes {
		if !seen[c.OrderID] {
			seen[c.OrderID] = true
			s.Feed.Publish(c)
		}
	}
	return len(changes), nil
}

// LatestReports returns an order's newest report of each kind (an
// AccountChek order can have a VOA and a VOIE report), oldest kind first.
func (s *Store) LatestReports(ctx context.Context, agencyID, orderID int64) ([]*Report, error) {
	return s.newestByKind(ctx, agencyID, orderID, 0, int64(1<<62))
}

// ReportByID returns one report of an order.
func (s *Store) ReportByID(ctx context.Context, agencyID, orderID, reportID int64) (*Report, error) {
	return s.scanReport(s.read.QueryRowContext(ctx, `SELECT id, order_id, provider_report_id, kind, data_enc, fetched_at, expires_at, purged_at
		FROM reports WHERE agency_id = ? AND order_id = ? AND id = ?`, agencyID, orderID, reportID))
}

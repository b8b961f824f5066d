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
func (s *Store) SaveReport(ctx context.Context, agencyID, orderID int64, r Report) (*Report, error) {
	now := s.Now()
	r.OrderID, r.FetchedAt = orderID, now
	var caseID int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&caseID); err != nil {
			return formatError(err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO reports (agency_id, order_id, provider_report_id, kind, fetched_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, agencyID, orderID, r.ProviderReportID, r.Kind, fmtTime(now), nullTime(r.ExpiresAt))
		if err != nil {
			return err
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE reports SET data_enc = ? WHERE id = ?`,
			s.crypt.Seal(string(r.Data), aad("reports", "data", r.ID)), r.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, agencyID, orderID, now, "system", "", "", "", "Report received.")
	})
	if err != nil {
		return nil, err
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
		return nil, formatError(err)
	}
	r.FetchedAt, r.ExpiresAt = parseTime(fetched), parseNullTime(expires)
	r.Purged = purged.Valid || (!r.ExpiresAt.IsZero() && !s.Now().Before(r.ExpiresAt))
	if !r.Purged {
		pt, err := s.crypt.Open(data, aad("reports", "data", r.ID))
		if err != nil {
			return nil, err
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
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		var ok bool
		if err := rows.Scan(&id, &ok); err != nil {
			return nil, err
		}
		out[id] = ok
	}
	return out, rows.Err()
}

// OrdersMissingReport returns completed orders (across agencies: the
// background sweep's entry point) that have no report yet and have been
// quiet since before quietSince.
func (s *Store) OrdersMissingReport(ctx context.Context, quietSince time.Time, limit int) ([]*Order, error) {
	return s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE o.status = 'completed' AND o.outcome NOT IN ('no_data', 'no_income', 'no_bank', 'shared_bank')
		AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.order_id = o.id)
		AND o.last_event_at < ? ORDER BY o.last_event_at LIMIT ?`, fmtTime(quietSince), limit)
}

// LatestReports returns an order's newest report of each kind (an
// AccountChek order can have a VOA and a VOIE report), oldest kind first.
func (s *Store) LatestReports(ctx context.Context, agencyID, orderID int64) ([]*Report, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT max(id) FROM reports WHERE agency_id = ? AND order_id = ? GROUP BY kind ORDER BY max(id)`,
		agencyID, orderID)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*Report, 0, len(ids))
	for _, id := range ids {
		r, err := s.ReportByID(ctx, agencyID, orderID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ReportByID returns one report of an order.
func (s *Store) ReportByID(ctx context.Context, agencyID, orderID, reportID int64) (*Report, error) {
	return s.scanReport(s.read.QueryRowContext(ctx, `SELECT id, order_id, provider_report_id, kind, data_enc, fetched_at, expires_at, purged_at
		FROM reports WHERE agency_id = ? AND order_id = ? AND id = ?`, agencyID, orderID, reportID))
}

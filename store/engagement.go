package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"caseverify/store/engagement"
)

// EngagementSettings returns an agency's community engagement settings.
func (s *Store) EngagementSettings(ctx context.Context, agencyID int64) (engagement.Settings, error) {
	var e engagement.Settings
	err := s.read.QueryRowContext(ctx, `SELECT engagement_shown, engagement_hours, engagement_rate_cents,
		engagement_lookback_application, engagement_lookback_renewal, engagement_seasonal FROM agencies WHERE id = ?`, agencyID).
		Scan(&e.Shown, &e.HoursPerMonth, &e.RateCents, &e.LookbackApplication, &e.LookbackRenewal, &e.SeasonalAverage)
	return e, wrap("EngagementSettings", formatError(err))
}

// SetEngagementSettings validates and saves an agency's community
// engagement settings; out-of-range values come back as a ValidationError.
func (s *Store) SetEngagementSettings(ctx context.Context, agencyID int64, e engagement.Settings) error {
	if p := e.Validate(); len(p) > 0 {
		return ValidationError(p)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE agencies SET engagement_shown = ?, engagement_hours = ?, engagement_rate_cents = ?,
			engagement_lookback_application = ?, engagement_lookback_renewal = ?, engagement_seasonal = ? WHERE id = ?`,
			e.Shown, e.HoursPerMonth, e.RateCents, e.LookbackApplication, e.LookbackRenewal, e.SeasonalAverage, agencyID)
		return wrap("SetEngagementSettings", err)
	})
}

// MemberReport is a readable income report with the member and case of its
// order.
type MemberReport struct {
	CaseID, MemberID int64
	Provider         string
	CaseOpened       time.Time // the application: the case's creation
	RecertDue        string    // the case's recertification due date, YYYY-MM-DD or empty
	Report
}

// IncomeReports returns the readable (not expired, not purged) newest
// income report of every order of a case, or of every case of the agency
// when caseID is 0, oldest first. Only Medicaid cases are included: the
// community engagement check is a Medicaid rule. A refresh that replaced an
// order's report (AccountChek refreshes in place) leaves only the newest.
func (s *Store) IncomeReports(ctx context.Context, agencyID, caseID int64) ([]*MemberReport, error) {
	where := []string{"r.agency_id = ?", "r.kind = ?", "r.purged_at IS NULL", "(r.expires_at IS NULL OR r.expires_at > ?)",
		"r.id = (SELECT max(id) FROM reports WHERE order_id = r.order_id AND kind = r.kind)", "c.program = 'medicaid'"}
	args := []any{agencyID, ReportIncome, fmtTime(s.Now())}
	if caseID != 0 {
		where = append(where, "o.case_id = ?")
		args = append(args, caseID)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT o.case_id, o.member_id, o.provider, c.created_at, COALESCE(c.recert_due, ''), r.id, r.order_id, r.provider_report_id,
		r.kind, r.data_enc, r.fetched_at FROM reports r JOIN orders o ON o.id = r.order_id JOIN cases c ON c.id = o.case_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY r.fetched_at, r.id`, args...)
	if err != nil {
		return nil, wrap("IncomeReports", err)
	}
	defer rows.Close()
	var out []*MemberReport
	for rows.Next() {
		var m MemberReport
		var data []byte
		var fetched, opened string
		if err := rows.Scan(&m.CaseID, &m.MemberID, &m.Provider, &opened, &m.RecertDue, &m.ID, &m.OrderID, &m.ProviderReportID, &m.Kind, &data, &fetched); err != nil {
			return nil, wrap("IncomeReports", err)
		}
		m.FetchedAt, m.CaseOpened = parseTime(fetched), parseTime(opened)
		pt, err := s.crypt.Open(data, aad("reports", "data", m.ID))
		if err != nil {
			return nil, wrap("IncomeReports", err)
		}
		m.Data = []byte(pt)
		out = append(out, &m)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// BulkSend is a bulk send's request: one provider, its products and one
// channel for every chosen member.
type BulkSend struct {
	Provider  string
	Products  []string
	Channel   string // email or sms
	MemberIDs []int64
}

// Why a member of a bulk send is skipped at the start. The worker checks
// again (with the send form's rules) before it sends.
const (
	skipNoEmail = "No email address: add one to the member to send by email."
	skipNoPhone = "No mobile number: add one to the member to send by text message."
	skipBusy    = "Already waiting in another running send or renewal."
)

// StartBulkSend creates a bulk send run with one item per chosen member of
// the agency (others' ids are ignored). Members without the contact the
// channel needs, or already waiting in another running run, are recorded
// at once as skipped, with the reason; the others wait for the worker.
func (s *Store) StartBulkSend(ctx context.Context, agencyID, userID int64, b BulkSend) (*RenewalRun, error) {
	problems := ValidationError{}
	if len(b.MemberIDs) == 0 {
		problems["members"] = "Choose at least one member."
	}
	if b.Channel != "email" && b.Channel != "sms" {
		problems["channel"] = "Choose email or text message."
	}
	if b.Provider == "" {
		problems["provider"] = "Choose a provider."
	}
	if len(b.Products) == 0 {
		problems["products"] = "Choose what to verify."
	}
	if len(problems) > 0 {
		return nil, problems
	}
	ids := slices.Clone(b.MemberIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	js, err := json.Marshal(ids)
	if err != nil {
		return nil, wrap("StartBulkSend", err)
	}
	now := s.Now()
	var runID int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO renewal_runs (agency_id, kind, window_days, status, started_by, provider, products, channel, created_at)
			VALUES (?, 'bulk_send', 0, 'running', ?, ?, ?, ?, ?) RETURNING id`, agencyID, nullID(userID), b.Provider, strings.Join(b.Products, ","), b.Channel,
			fmtTime(now)).Scan(&runID); err != nil {
			return wrap("StartBulkSend", err)
		}
		contact := "m.email_idx"
		noContact := skipNoEmail
		if b.Channel == "sms" {
			contact, noContact = "m.phone_idx", skipNoPhone
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO renewal_items (run_id, agency_id, case_id, member_id, status, detail, updated_at, provider)
			SELECT ?, m.agency_id, m.case_id, m.id,
				CASE WHEN busy OR `+contact+` IS NULL THEN 'skipped' ELSE 'pending' END,
				CASE WHEN busy THEN ? WHEN `+contact+` IS NULL THEN ? ELSE '' END, ?, ?
			FROM (SELECT m.*, EXISTS (SELECT 1 FROM renewal_items i JOIN renewal_runs r ON r.id = i.run_id
					WHERE i.member_id = m.id AND r.status = 'running' AND i.status IN ('pending', 'working')) AS busy
				FROM members m WHERE m.agency_id = ? AND m.id IN (`+s.d.jsonInts()+`)) m
			ORDER BY m.case_id, m.position`, runID, skipBusy, noContact, fmtTime(now), b.Provider, agencyID, string(js))
		return wrap("StartBulkSend", err)
	})
	if err != nil {
		return nil, wrap("StartBulkSend", err)
	}
	return s.RenewalRun(ctx, agencyID, runID)
}

// RunItemRow is an item of a run with the member's name and case number,
// for the run's page.
type RunItemRow struct {
	Item       *RenewalItem
	MemberName string
	CaseNumber string
}

// RunItemRows lists up to limit items of the agency's run, those that need
// a look first (skipped, failed), then in order.
func (s *Store) RunItemRows(ctx context.Context, agencyID, runID int64, limit int) ([]RunItemRow, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT i.id, i.run_id, i.agency_id, i.case_id, i.member_id, i.status, i.path, i.detail,
		COALESCE(i.prev_order_id, 0), COALESCE(i.order_id, 0), COALESCE(i.prev_report_id, 0), COALESCE(i.recert_due, ''),
		i.attempts, i.updated_at, m.first_name || ' ' || m.last_name, c.case_number
		FROM renewal_items i JOIN members m ON m.id = i.member_id JOIN cases c ON c.id = i.case_id
		WHERE i.agency_id = ? AND i.run_id = ? ORDER BY i.status NOT IN ('skipped', 'failed'), i.id LIMIT ?`, agencyID, runID, limit)
	if err != nil {
		return nil, wrap("RunItemRows", err)
	}
	defer rows.Close()
	var out []RunItemRow
	for rows.Next() {
		var r RunItemRow
		var it RenewalItem
		var updated string
		if err := rows.Scan(&it.ID, &it.RunID, &it.AgencyID, &it.CaseID, &it.MemberID, &it.Status, &it.Path, &it.Detail,
			&it.PrevOrderID, &it.OrderID, &it.PrevReportID, &it.RecertDue, &it.Attempts, &updated, &r.MemberName, &r.CaseNumber); err != nil {
			return nil, wrap("RunItemRows", err)
		}
		it.UpdatedAt = parseTime(updated)
		r.Item = &it
		out = append(out, r)
	}
	return out, rows.Err()
}

// OrderSince returns the member's newest order at provider created at or
// after since, or ErrNotFound: a bulk send's worker that takes an item
// over after a crash looks for it before sending again.
func (s *Store) OrderSince(ctx context.Context, agencyID, memberID int64, provider string, since time.Time) (*Order, error) {
	return s.scanOrder(s.read.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE o.agency_id = ? AND o.member_id = ? AND o.provider = ? AND o.created_at >= ? ORDER BY o.id DESC LIMIT 1`,
		agencyID, memberID, provider, fmtTime(since)))
}

// MembersByID returns the agency's members with these ids (others' ids are
// left out), by case and position, with each member's case number.
func (s *Store) MembersByID(ctx context.Context, agencyID int64, ids []int64) ([]*Member, map[int64]string, error) {
	js, err := json.Marshal(ids)
	if err != nil {
		return nil, nil, wrap("MembersByID", err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT m.id, m.agency_id, m.case_id, m.position, m.first_name, m.last_name, m.relationship,
		m.email_enc, m.phone_enc, m.dob_enc, m.ssn4_enc, m.language, m.created_at, m.updated_at, c.case_number FROM members m JOIN cases c ON c.id = m.case_id
		WHERE m.agency_id = ? AND m.id IN (`+s.d.jsonInts()+`) ORDER BY c.case_number, m.case_id, m.position`, agencyID, string(js))
	if err != nil {
		return nil, nil, wrap("MembersByID", err)
	}
	defer rows.Close()
	var out []*Member
	numbers := map[int64]string{}
	for rows.Next() {
		var num string
		m, err := s.scanMember(scanWith{rows, &num})
		if err != nil {
			return nil, nil, wrap("MembersByID", err)
		}
		numbers[m.CaseID] = num
		out = append(out, m)
	}
	return out, numbers, rows.Err()
}

// MemberIDsOfCases lists the members of the agency's cases with these ids.
func (s *Store) MemberIDsOfCases(ctx context.Context, agencyID int64, caseIDs []int64) ([]int64, error) {
	js, err := json.Marshal(caseIDs)
	if err != nil {
		return nil, wrap("MemberIDsOfCases", err)
	}
	out, err := scanIDs(s.read.QueryContext(ctx, `SELECT id FROM members WHERE agency_id = ? AND case_id IN (`+s.d.jsonInts()+`)
		ORDER BY case_id, position`, agencyID, string(js)))
	return out, wrap("MemberIDsOfCases", err)
}

// scanWith scans a row into a scanner's destinations and then extra ones.
type scanWith struct {
	rows  *sql.Rows
	extra any
}

func (w scanWith) Scan(dest ...any) error { return w.rows.Scan(append(dest, w.extra)...) }

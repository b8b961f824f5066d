package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// RunKind says what a run does with each of its items. Renewals and bulk
// sends are one engine: the same runs and items, claimed with a lease one
// at a time, canceled and counted the same way (see the worker in
// handlers/verify/renew.go); only the work done for an item differs.
type RunKind string

// The run kinds.
const (
	// RunRenewal refreshes each member's last verification, or sends a new
	// link (renewals at recertification).
	RunRenewal RunKind = "renewal"
	// RunBulkSend sends each member a new verification with the run's
	// provider, products and channel; an item ends "new_link" (sent),
	// "skipped" (with the reason, e.g. no email for an email run) or
	// "failed".
	RunBulkSend RunKind = "bulk_send"
)

// RenewalRun is one run: a renewal of one case or of every case due in a
// window, or a bulk send.
type RenewalRun struct {
	ID         int64
	AgencyID   int64
	Kind       RunKind
	CaseID     int64 // renewal: 0 for every case due
	WindowDays int
	Status     string // running, canceled, done
	StartedBy  int64
	// A bulk send's provider, products and channel.
	Provider   string
	Products   []string
	Channel    string
	CreatedAt  time.Time
	FinishedAt time.Time
	Counts     RenewalCounts
}

// RenewalCounts is a run's progress.
type RenewalCounts struct {
	Total, Pending, Working, Checking, Refreshing, Refreshed, NewLink, Queued, Failed, Skipped int
}

// Done counts the items that need no more work from the run.
func (c RenewalCounts) Done() int {
	return c.Checking + c.Refreshing + c.Refreshed + c.NewLink + c.Queued + c.Failed + c.Skipped
}

// Remaining counts the items not handled yet.
func (c RenewalCounts) Remaining() int { return c.Pending + c.Working }

// RenewalItem is one member's renewal.
type RenewalItem struct {
	ID          int64
	RunID       int64
	AgencyID    int64
	CaseID      int64
	MemberID    int64
	Status      string
	Path        string
	Detail      string
	PrevOrderID int64
	OrderID     int64
	// PrevReportID is the previous order's newest report (reports.id) when
	// the renewal started: the "before" of the income comparison. It matters
	// most for a refresh in place (AccountChek), where the same order gets
	// the new report. 0 when there was none.
	PrevReportID int64
	// RecertDue is the case's recertification due date when the run started.
	RecertDue string
	// Attempts counts the claims of the item; it doubles as the fencing
	// token: a worker may record the outcome only while it is unchanged.
	Attempts  int
	UpdatedAt time.Time
	// Provider is the provider the item is expected to call, recorded when
	// the run started (the member's last completed verification's, a bulk
	// send's; "" when unknown). It only schedules (ClaimRenewalItemExcept):
	// the renewal reads the member's orders again.
	Provider string
	// Kind is the run's kind; set by ClaimRenewalItem (the worker's entry
	// point), which is where it decides what to do.
	Kind RunKind
}

// ErrRunActive says a bulk renewal is already running for the agency.
var ErrRunActive = errors.New("store: a renewal is already running")

// ErrLeaseLost says another worker (or a webhook's outcome) has taken the
// renewal item over since it was claimed: the caller must not act on it.
var ErrLeaseLost = errors.New("store: the renewal item was taken over")

// DueCase is a case due for recertification, with each member's last
// completed verification.
type DueCase struct {
	Case    *Case
	Members []DueMember
}

// DueMember is a member and their last completed verification, if any.
type DueMember struct {
	Member *Member
	Last   *Order // nil when none
	Item   *RenewalItem
}

// renewableMembers selects the members a renewal run takes: of one case
// (first ?), or (when it is 0) of every case due by the date (last ?), none
// already in a running run, waiting on a refresh, or already renewed for
// their case's current due date. Parameters: agency, case, case, date.
const renewableMembers = `FROM members m JOIN cases c ON c.id = m.case_id
	WHERE m.agency_id = ? AND (c.id = ? OR (? = 0 AND c.recert_due IS NOT NULL AND c.recert_due <= ?))
	AND NOT EXISTS (SELECT 1 FROM renewal_items i JOIN renewal_runs r ON r.id = i.run_id
		WHERE i.member_id = m.id AND (
			(r.status = 'running' AND i.status IN ('pending', 'working'))
			OR i.status = 'refreshing'
			OR (r.kind = 'renewal' AND c.recert_due IS NOT NULL AND i.recert_due = c.recert_due AND i.status IN ('refreshed', 'new_link'))))`

// CountRenewable is how many members "Renew all due" within days would take
// now (the same selection as StartRenewal).
func (s *Store) CountRenewable(ctx context.Context, agencyID int64, days int) (int, error) {
	until := s.Now().AddDate(0, 0, days).Format("2006-01-02")
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) `+renewableMembers, agencyID, 0, 0, until).Scan(&n)
	return n, wrap("CountRenewable", err)
}

// DueCases lists an agency's cases whose recertification is due within days
// from today (overdue ones too), soonest first.
func (s *Store) DueCases(ctx context.Context, agencyID int64, days int) ([]*DueCase, error) {
	until := s.Now().AddDate(0, 0, days).Format("2006-01-02")
	rows, err := s.read.QueryContext(ctx, `SELECT `+caseColumns+` FROM cases c LEFT JOIN users u ON u.id = c.assigned_user_id
		WHERE c.agency_id = ? AND c.recert_due IS NOT NULL AND c.recert_due <= ? ORDER BY c.recert_due, c.id`, agencyID, until)
	if err != nil {
		return nil, wrap("DueCases", err)
	}
	var cases []*Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			rows.Close()
			return nil, wrap("DueCases", err)
		}
		cases = append(cases, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("DueCases", err)
	}
	out := make([]*DueCase, 0, len(cases))
	for _, c := range cases {
		ms, err := s.Members(ctx, agencyID, c.ID)
		if err != nil {
			return nil, wrap("DueCases", err)
		}
		dc := &DueCase{Case: c}
		for _, m := range ms {
			dm := DueMember{Member: m}
			if dm.Last, err = s.LastCompleted(ctx, agencyID, m.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, wrap("DueCases", err)
			}
			if dm.Item, err = s.LatestRenewalItem(ctx, agencyID, m.ID); err != nil && !errors.Is(err, ErrNotFound) {
				return nil, wrap("DueCases", err)
			}
			dc.Members = append(dc.Members, dm)
		}
		out = append(out, dc)
	}
	return out, nil
}

// LastCompleted returns a member's most recently completed order, their own
// or a household order that covered them (whose order row names the member
// who was sent it first).
func (s *Store) LastCompleted(ctx context.Context, agencyID, memberID int64) (*Order, error) {
	return s.scanOrder(s.read.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE `+lastCompleted("?", "?"), agencyID, memberID, memberID))
}

// lastCompleted is the condition and order that pick a member's last
// completed verification among orders o (LastCompleted), their own or a
// household's: agency and member are SQL expressions (member twice).
func lastCompleted(agency, member string) string {
	return `o.agency_id = ` + agency + ` AND o.status = 'completed' AND (o.member_id = ` + member + `
			OR o.id IN (SELECT order_id FROM order_members WHERE member_id = ` + member + `))
		ORDER BY o.completed_at DESC, o.id DESC LIMIT 1`
}

// StartRenewal creates a run for one case (caseID) or every case due within
// windowDays (caseID 0), with one item per member. A refresh may be billed,
// so members are left out when they are being renewed (an item waiting or
// being worked on in a running run, or a refresh asked for and not answered
// yet, in any run), or were already renewed for the case's current
// recertification due date (refreshed, or sent a new link). Members whose
// renewal was queued, failed or skipped are renewed again. The transaction
// takes the write lock at BEGIN (immediate), so two processes starting runs
// at once see each other's items. A bulk run while another bulk run is
// running returns that run and ErrRunActive.
func (s *Store) StartRenewal(ctx context.Context, agencyID, userID, caseID int64, windowDays int) (*RenewalRun, error) {
	now := s.Now()
	var runID int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if caseID == 0 {
			err := tx.QueryRowContext(ctx, `SELECT id FROM renewal_runs WHERE agency_id = ? AND kind = 'renewal' AND case_id IS NULL AND status = 'running'`,
				agencyID).Scan(&runID)
			if err == nil {
				return ErrRunActive
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return wrap("StartRenewal", err)
			}
		} else {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM cases WHERE agency_id = ? AND id = ?`, agencyID, caseID).Scan(&one); err != nil {
				return wrap("StartRenewal", formatError(err))
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO renewal_runs (agency_id, case_id, window_days, status, started_by, created_at)
			VALUES (?, ?, ?, 'running', ?, ?) RETURNING id`, agencyID, nullID(caseID), windowDays, nullID(userID), fmtTime(now)).Scan(&runID); err != nil {
			return wrap("StartRenewal", err)
		}
		until := now.AddDate(0, 0, windowDays).Format("2006-01-02")
		// Each item notes the provider its member's renewal will call, for
		// the workers' scheduling: the last completed verification's, or
		// for a member never verified the agency's default (the new link's).
		_, err := tx.ExecContext(ctx, `INSERT INTO renewal_items (run_id, agency_id, case_id, member_id, status, recert_due, updated_at, provider)
			SELECT ?, m.agency_id, m.case_id, m.id, 'pending', c.recert_due, ?,
				COALESCE((SELECT o.provider FROM orders o WHERE `+lastCompleted("m.agency_id", "m.id")+`),
					(SELECT default_provider FROM agencies WHERE id = m.agency_id)) `+renewableMembers+`
			ORDER BY c.recert_due, m.case_id, m.position`, runID, fmtTime(now), agencyID, caseID, caseID, until)
		return wrap("StartRenewal", err)
	})
	if errors.Is(err, ErrRunActive) {
		r, rerr := s.RenewalRun(ctx, agencyID, runID)
		if rerr != nil {
			return nil, rerr
		}
		return r, ErrRunActive
	}
	if err != nil {
		return nil, wrap("StartRenewal", err)
	}
	return s.RenewalRun(ctx, agencyID, runID)
}

// RenewalRun returns a run with its progress; it closes a running run whose
// items are all handled.
func (s *Store) RenewalRun(ctx context.Context, agencyID, runID int64) (*RenewalRun, error) {
	var r RenewalRun
	var created string
	var finished sql.NullString
	var caseID sql.NullInt64
	var startedBy sql.NullInt64
	var kind, products string
	err := s.read.QueryRowContext(ctx, `SELECT id, agency_id, kind, case_id, window_days, status, started_by, provider, products, channel,
		created_at, finished_at FROM renewal_runs WHERE agency_id = ? AND id = ?`, agencyID, runID).
		Scan(&r.ID, &r.AgencyID, &kind, &caseID, &r.WindowDays, &r.Status, &startedBy, &r.Provider, &products, &r.Channel, &created, &finished)
	if err != nil {
		return nil, wrap("RenewalRun", formatError(err))
	}
	r.Kind, r.StartedBy = RunKind(kind), startedBy.Int64
	if products != "" {
		r.Products = strings.Split(products, ",")
	}
	r.CaseID, r.CreatedAt, r.FinishedAt = caseID.Int64, parseTime(created), parseNullTime(finished)
	rows, err := s.read.QueryContext(ctx, `SELECT status, count(*) FROM renewal_items WHERE run_id = ? GROUP BY status`, runID)
	if err != nil {
		return nil, wrap("RenewalRun", err)
	}
	defer rows.Close()
	c := &r.Counts
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, wrap("RenewalRun", err)
		}
		c.Total += n
		switch st {
		case "pending":
			c.Pending = n
		case "working":
			c.Working = n
		case "checking":
			c.Checking = n
		case "refreshing":
			c.Refreshing = n
		case "refreshed":
			c.Refreshed = n
		case "new_link":
			c.NewLink = n
		case "queued":
			c.Queued = n
		case "failed":
			c.Failed = n
		case "skipped":
			c.Skipped = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("RenewalRun", err)
	}
	if r.Status == "running" && c.Remaining() == 0 {
		now := s.Now()
		if _, err := s.execWrite(ctx, `UPDATE renewal_runs SET status = 'done', finished_at = ? WHERE id = ? AND status = 'running'`,
			fmtTime(now), runID); err != nil {
			return nil, wrap("RenewalRun", err)
		}
		r.Status, r.FinishedAt = "done", now
	}
	return &r, nil
}

// LatestBulkRun returns the agency's newest "Renew all due" run, or ErrNotFound.
func (s *Store) LatestBulkRun(ctx context.Context, agencyID int64) (*RenewalRun, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT id FROM renewal_runs WHERE agency_id = ? AND kind = 'renewal' AND case_id IS NULL ORDER BY id DESC LIMIT 1`,
		agencyID).Scan(&id)
	if err != nil {
		return nil, wrap("LatestBulkRun", formatError(err))
	}
	return s.RenewalRun(ctx, agencyID, id)
}

// LatestRun returns the agency's newest renewal run, "Renew all due" or one
// case's, or ErrNotFound: the renewals page shows its progress either way.
func (s *Store) LatestRun(ctx context.Context, agencyID int64) (*RenewalRun, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT id FROM renewal_runs WHERE agency_id = ? AND kind = 'renewal' ORDER BY id DESC LIMIT 1`,
		agencyID).Scan(&id)
	if err != nil {
		return nil, wrap("LatestRun", formatError(err))
	}
	return s.RenewalRun(ctx, agencyID, id)
}

// CancelRenewal cancels a run: items not started are skipped; those being
// worked on finish.
func (s *Store) CancelRenewal(ctx context.Context, agencyID, runID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE renewal_runs SET status = 'canceled', finished_at = ? WHERE agency_id = ? AND id = ? AND status = 'running'`,
			fmtTime(s.Now()), agencyID, runID)
		if err != nil {
			return wrap("CancelRenewal", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `UPDATE renewal_items SET status = 'skipped', detail = 'Canceled before it started.', updated_at = ?
			WHERE run_id = ? AND status = 'pending'`, fmtTime(s.Now()), runID)
		return wrap("CancelRenewal", err)
	})
}

// ClaimRenewalItem takes one item of a running run that is pending, or
// whose worker's lease ran out (a crash or a restart), and leases it: in one
// immediate transaction, so two workers or processes never take the same
// item. It returns ErrNotFound when none is waiting. It works across
// agencies: it is the background worker's entry point.
func (s *Store) ClaimRenewalItem(ctx context.Context, lease time.Duration) (*RenewalItem, error) {
	return s.ClaimRenewalItemExcept(ctx, lease, nil)
}

// ClaimRenewalItemExcept is ClaimRenewalItem passing over the items of the
// providers in busy (RenewalItem.Provider): a process whose workers on a
// provider are all waiting for its rate takes another provider's item
// rather than one more waiter (issue 17: providers renew in parallel).
func (s *Store) ClaimRenewalItemExcept(ctx context.Context, lease time.Duration, busy []string) (*RenewalItem, error) {
	now := s.Now()
	if busy == nil {
		busy = []string{}
	}
	skip, err := json.Marshal(busy)
	if err != nil {
		return nil, wrap("ClaimRenewalItem", err)
	}
	var it *RenewalItem
	err = s.claimTx(ctx, func(tx *sql.Tx) error {
		var err error
		it, err = scanItem(tx.QueryRowContext(ctx, `UPDATE renewal_items SET status = 'working', attempts = attempts + 1, lease_until = ?, updated_at = ?
			WHERE id = (SELECT i.id FROM renewal_items i JOIN renewal_runs r ON r.id = i.run_id
				WHERE r.status = 'running' AND (i.status = 'pending' OR (i.status = 'working' AND i.lease_until <= ?))
					AND i.provider NOT IN (`+s.d.jsonTexts()+`)
				ORDER BY i.id LIMIT 1`+s.d.skipLocked("i")+`)
			RETURNING `+itemColumns,
			fmtTime(now.Add(lease)), fmtTime(now), fmtTime(now), string(skip)))
		if err != nil {
			return wrap("ClaimRenewalItem", err)
		}
		return wrap("ClaimRenewalItem", tx.QueryRowContext(ctx, `SELECT kind FROM renewal_runs WHERE id = ?`, it.RunID).Scan(&it.Kind))
	})
	if err != nil {
		return nil, wrap("ClaimRenewalItem", err)
	}
	return it, nil
}

// FinishRenewalItem records what happened to an item. It is fenced by the
// claim: it records only while the item is still working or refreshing with
// the attempts count it.Attempts the caller's claim returned. A worker whose
// lease ran out and whose item another worker (or a webhook's outcome) took
// over gets ErrLeaseLost and must not record anything: the other one does.
func (s *Store) FinishRenewalItem(ctx context.Context, it *RenewalItem, status, path, detail string, prevOrderID, orderID int64) error {
	res, err := s.execWrite(ctx, `UPDATE renewal_items SET status = ?, path = ?, detail = ?, prev_order_id = COALESCE(?, prev_order_id),
		order_id = COALESCE(?, order_id), lease_until = NULL, updated_at = ?
		WHERE id = ? AND attempts = ? AND status IN `+openItem,
		status, path, detail, nullID(prevOrderID), nullID(orderID), fmtTime(s.Now()), it.ID, it.Attempts)
	if err != nil {
		return wrap("FinishRenewalItem", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// ExtendRenewalLease renews a claim's lease before a slow or billed step (a
// refresh call, a new link), so that the step is never started by a worker
// that no longer holds the item: it returns ErrLeaseLost when another worker
// has taken it over.
func (s *Store) ExtendRenewalLease(ctx context.Context, it *RenewalItem, lease time.Duration) error {
	now := s.Now()
	res, err := s.execWrite(ctx, `UPDATE renewal_items SET lease_until = ?, updated_at = ?
		WHERE id = ? AND attempts = ? AND status IN `+openItem, fmtTime(now.Add(lease)), fmtTime(now), it.ID, it.Attempts)
	if err != nil {
		return wrap("ExtendRenewalLease", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// openItem are the statuses of an item whose outcome is still to be
// recorded: held by a worker (working), waiting for the provider to say
// whether it got the create or refresh that had no answer (checking:
// issue 13 item 5), or waiting for a refresh's result (refreshing).
const openItem = `('working', 'checking', 'refreshing')`

const itemColumns = `id, run_id, agency_id, case_id, member_id, status, path, detail, COALESCE(prev_order_id, 0), COALESCE(order_id, 0),
	COALESCE(prev_report_id, 0), COALESCE(recert_due, ''), attempts, updated_at, provider`

func scanItem(row interface{ Scan(...any) error }) (*RenewalItem, error) {
	var it RenewalItem
	var updated string
	if err := row.Scan(&it.ID, &it.RunID, &it.AgencyID, &it.CaseID, &it.MemberID, &it.Status, &it.Path, &it.Detail,
		&it.PrevOrderID, &it.OrderID, &it.PrevReportID, &it.RecertDue, &it.Attempts, &updated, &it.Provider); err != nil {
		return nil, wrap("scanItem", formatError(err))
	}
	it.UpdatedAt = parseTime(updated)
	return &it, nil
}

// RenewalItemByOrder returns the open item whose refresh order is orderID,
// or ErrNotFound. Open is "refreshing" (the outcome arrives later, by
// webhook), "checking" (the refresh or new link got no answer: the
// provider's lookup decides) and also "working": a webhook can be processed
// between the worker storing the provider's order id and recording
// "refreshing".
func (s *Store) RenewalItemByOrder(ctx context.Context, orderID int64) (*RenewalItem, error) {
	return scanItem(s.read.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM renewal_items
		WHERE order_id = ? AND status IN `+openItem+` ORDER BY id DESC LIMIT 1`, orderID))
}

// ClaimRenewalOutcome takes the open item of a refresh order (see
// RenewalItemByOrder) to record the refresh's outcome, leasing it like
// ClaimRenewalItem does, so that two webhooks processed at once never both
// act (a failed refresh sends a new link). An item a worker holds (working,
// lease running) is not taken: the worker looks at the order's status after
// recording "refreshing" and records the outcome itself. It returns
// ErrNotFound when no item can be taken.
func (s *Store) ClaimRenewalOutcome(ctx context.Context, orderID int64, lease time.Duration) (*RenewalItem, error) {
	now := s.Now()
	var it *RenewalItem
	err := s.claimTx(ctx, func(tx *sql.Tx) error {
		var err error
		it, err = scanItem(tx.QueryRowContext(ctx, `UPDATE renewal_items SET attempts = attempts + 1, lease_until = ?, updated_at = ?
			WHERE id = (SELECT id FROM renewal_items WHERE order_id = ? AND status IN `+openItem+`
				AND (lease_until IS NULL OR lease_until <= ?) ORDER BY id DESC LIMIT 1`+s.d.skipLocked("renewal_items")+`)
			RETURNING `+itemColumns, fmtTime(now.Add(lease)), fmtTime(now), orderID, fmtTime(now)))
		return wrap("ClaimRenewalOutcome", err)
	})
	return it, wrap("ClaimRenewalOutcome", err)
}

// SetRenewalBaseline records, before the refresh, the order a renewal
// starts from and that order's newest report (reports.id, 0 for none).
func (s *Store) SetRenewalBaseline(ctx context.Context, itemID, prevOrderID, prevReportID int64) error {
	_, err := s.execWrite(ctx, `UPDATE renewal_items SET prev_order_id = ?, prev_report_id = ?, updated_at = ? WHERE id = ?`,
		nullID(prevOrderID), nullID(prevReportID), fmtTime(s.Now()), itemID)
	return wrap("SetRenewalBaseline", err)
}

// ReportRowID returns the newest stored report (reports.id) of an order
// with the provider's report id, or 0 when it is not stored.
func (s *Store) ReportRowID(ctx context.Context, agencyID, orderID int64, providerReportID string) (int64, error) {
	var id sql.NullInt64
	err := s.read.QueryRowContext(ctx, `SELECT max(id) FROM reports WHERE agency_id = ? AND order_id = ? AND provider_report_id = ?`,
		agencyID, orderID, providerReportID).Scan(&id)
	return id.Int64, wrap("ReportRowID", err)
}

// RenewalReports returns what a renewal compares, the newest report of each
// kind: before, the previous order's reports up to PrevReportID (when the
// renewal started); after, the renewal order's reports, and for a refresh
// in place (OrderID = PrevOrderID, AccountChek) only those stored after
// PrevReportID. Either is empty when there is nothing to compare: a refresh
// in place recorded without a baseline compares nothing, rather than the
// order's report with itself.
func (s *Store) RenewalReports(ctx context.Context, agencyID int64, it *RenewalItem) (before, after []*Report, err error) {
	if it.PrevOrderID == 0 || it.OrderID == 0 {
		return nil, nil, nil
	}
	inPlace := it.OrderID == it.PrevOrderID
	if inPlace && it.PrevReportID == 0 {
		return nil, nil, nil
	}
	upTo := int64(1 << 62)
	if it.PrevReportID != 0 {
		upTo = it.PrevReportID
	}
	if before, err = s.newestByKind(ctx, agencyID, it.PrevOrderID, 0, upTo); err != nil {
		return nil, nil, wrap("RenewalReports", err)
	}
	from := int64(0)
	if inPlace {
		from = it.PrevReportID
	}
	if after, err = s.newestByKind(ctx, agencyID, it.OrderID, from, int64(1<<62)); err != nil {
		return nil, nil, wrap("RenewalReports", err)
	}
	return before, after, nil
}

// newestByKind returns an order's newest report of each kind with
// from < reports.id <= upTo.
func (s *Store) newestByKind(ctx context.Context, agencyID, orderID, from, upTo int64) ([]*Report, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT max(id) FROM reports WHERE agency_id = ? AND order_id = ? AND id > ? AND id <= ?
		GROUP BY kind ORDER BY max(id)`, agencyID, orderID, from, upTo)
	if err != nil {
		return nil, wrap("newestByKind", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, wrap("newestByKind", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("newestByKind", err)
	}
	out := make([]*Report, 0, len(ids))
	for _, id := range ids {
		r, err := s.ReportByID(ctx, agencyID, orderID, id)
		if err != nil {
			return nil, wrap("newestByKind", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// LatestRenewalItem returns a member's newest renewal item (of a renewal
// run, not a bulk send).
func (s *Store) LatestRenewalItem(ctx context.Context, agencyID, memberID int64) (*RenewalItem, error) {
	return scanItem(s.read.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM renewal_items WHERE agency_id = ? AND member_id = ?
		AND run_id IN (SELECT id FROM renewal_runs WHERE agency_id = ? AND kind = 'renewal')
		ORDER BY id DESC LIMIT 1`, agencyID, memberID, agencyID))
}

// RenewalItems lists a run's items.
func (s *Store) RenewalItems(ctx context.Context, runID int64) ([]*RenewalItem, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+itemColumns+` FROM renewal_items WHERE run_id = ? ORDER BY id`, runID)
	if err != nil {
		return nil, wrap("RenewalItems", err)
	}
	defer rows.Close()
	var out []*RenewalItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, wrap("RenewalItems", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// RefreshesSince counts the refresh orders made from the same connection as
// order (its whole refresh chain) since a time: Truv allows 3 per 24 hours.
func (s *Store) RefreshesSince(ctx context.Context, agencyID, orderID int64, since time.Time) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `WITH RECURSIVE up(id, parent) AS (
			SELECT id, refresh_of FROM orders WHERE id = ? AND agency_id = ?
			UNION ALL SELECT o.id, o.refresh_of FROM orders o JOIN up ON o.id = up.parent),
		root AS (SELECT id FROM up WHERE parent IS NULL),
		down(id) AS (SELECT id FROM root UNION ALL SELECT o.id FROM orders o JOIN down ON o.refresh_of = down.id)
		SELECT count(*) FROM orders WHERE id IN (SELECT id FROM down) AND refresh_of IS NOT NULL AND created_at >= ?`,
		orderID, agencyID, fmtTime(since)).Scan(&n)
	return n, wrap("RefreshesSince", err)
}

// RenewalFallback returns the agency's choice when a refresh is not
// possible: "send" a new link, or "queue" it for the caseworker.
func (s *Store) RenewalFallback(ctx context.Context, agencyID int64) (string, error) {
	var v string
	err := s.read.QueryRowContext(ctx, `SELECT renewal_fallback FROM agencies WHERE id = ?`, agencyID).Scan(&v)
	return v, wrap("RenewalFallback", formatError(err))
}

// SetRenewalFallback sets it.
func (s *Store) SetRenewalFallback(ctx context.Context, agencyID int64, v string) error {
	if v != "send" && v != "queue" {
		return ValidationError{"renewal_fallback": "Choose what happens when a refresh is not possible."}
	}
	_, err := s.execWrite(ctx, `UPDATE agencies SET renewal_fallback = ? WHERE id = ?`, v, agencyID)
	return wrap("SetRenewalFallback", err)
}

// SetRenewalOrder links a renewal item to the order reserved for its
// refresh (0 unlinks it), before the provider is called: a worker that takes the item over
// after a crash then knows a refresh may already have been asked for.
func (s *Store) SetRenewalOrder(ctx context.Context, itemID, orderID int64) error {
	_, err := s.execWrite(ctx, `UPDATE renewal_items SET order_id = ?, updated_at = ? WHERE id = ?`, nullID(orderID), fmtTime(s.Now()), itemID)
	return wrap("SetRenewalOrder", err)
}

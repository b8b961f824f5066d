package store

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strconv"
	"time"
)

// The supervisor dashboard: how the agency's verifications went over a
// period (sent, opened, completed, expired; how fast; which channel and
// how many reminders it took), which applicants are keeping orders waiting,
// and each caseworker's load. Every query is scoped to the agency.

// DashboardFilter is the period and the waiting threshold.
type DashboardFilter struct {
	// From and To bound when orders were sent (created): From ≤ t < To.
	From, To time.Time
	// WaitingDays: an open order sent more than this many days ago is
	// listed as waiting on the applicant.
	WaitingDays int
	// WaitingLimit caps the waiting list (0: 500).
	WaitingLimit int
}

// DashCounts is what became of the orders sent in the period.
//
//   - Sent: orders sent (created) in the period.
//   - Opened: of those, the ones the applicant opened: a tracked link's or
//     the applicant page's first open, or the provider reporting progress
//     (a link the provider sent itself is not tracked).
//   - Completed, Expired: of those, the ones with that status now.
type DashCounts struct {
	Sent, Opened, Completed, Expired int
}

// CompletionRate is the share of the sent orders that completed (0 when
// none were sent).
func (c DashCounts) CompletionRate() float64 {
	if c.Sent == 0 {
		return 0
	}
	return float64(c.Completed) / float64(c.Sent)
}

// DashGroup is the counts of one value of a breakdown (a provider, a
// channel, a language, a number of reminders).
type DashGroup struct {
	Key string
	DashCounts
}

// DashDurations summarises how long something took: median and 90th
// percentile by nearest rank (half of the orders took Median or less, 90%
// took P90 or less), over N orders.
type DashDurations struct {
	N           int
	Median, P90 time.Duration
}

// WaitingOrder is an open order sent more than the threshold ago.
type WaitingOrder struct {
	OrderID, CaseID     int64
	CaseNumber          string
	FirstName, LastName string
	Provider            string
	Status              OrderStatus
	SentAt              time.Time
	WorkerName          string // "" when the case has no worker
}

// Workload is one caseworker's load (UserID 0: cases without a worker).
type Workload struct {
	UserID                         int64
	Name                           string
	OpenCases, OpenOrders, Waiting int // now
	Sent, Completed                int // orders on their cases sent in the period, and of those completed
}

// Dashboard is the whole picture for one period.
type Dashboard struct {
	Totals      DashCounts
	ByProvider  []DashGroup
	ByChannel   []DashGroup // email, sms, qr, copy (read out), provider, or "" (none recorded)
	ByLanguage  []DashGroup
	ByReminders []DashGroup // Key "0", "1", …: reminders sent before the order ended
	ToOpen      DashDurations
	ToComplete  DashDurations
	Waiting     []WaitingOrder
	// WaitingTotal counts every waiting order (Waiting may be capped).
	WaitingTotal int
	Workload     []Workload
}

// dashOrder is one order sent in the period, as the breakdowns need it.
type dashOrder struct {
	provider, channel, language string
	status                      OrderStatus
	sent, opened, completed     time.Time
	reminders                   int
	workerID                    int64
}

// Dashboard returns the agency's dashboard for f.
func (s *Store) Dashboard(ctx context.Context, agencyID int64, f DashboardFilter) (*Dashboard, error) {
	orders, err := s.dashOrders(ctx, agencyID, f)
	if err != nil {
		return nil, wrap("Dashboard", err)
	}
	d := summarize(orders)
	if d.Waiting, d.WaitingTotal, err = s.waitingOrders(ctx, agencyID, f); err != nil {
		return nil, wrap("Dashboard", err)
	}
	if d.Workload, err = s.workload(ctx, agencyID, f, orders); err != nil {
		return nil, wrap("Dashboard", err)
	}
	return d, nil
}

// waitingStatuses are the statuses of an order the applicant has yet to
// finish (not "created": the link never reached them).
const waitingStatuses = `('sent', 'in_progress', 'action_required')`

func (s *Store) dashOrders(ctx context.Context, agencyID int64, f DashboardFilter) ([]dashOrder, error) {
	// The channel is the first sending's; the first open is the earliest
	// of any tracked link's and the applicant page's.
	rows, err := s.read.QueryContext(ctx, `SELECT o.provider, o.status, o.created_at, COALESCE(o.completed_at, ''), m.language,
			COALESCE((SELECT d.channel FROM deliveries d WHERE d.order_id = o.id AND d.kind = 'first' ORDER BY d.id LIMIT 1),
				CASE WHEN o.notify = 'provider' THEN 'provider' ELSE '' END),
			COALESCE((SELECT min(d.opened_at) FROM deliveries d WHERE d.order_id = o.id), ''),
			COALESCE((SELECT min(p.opened_at) FROM applicant_pages p WHERE p.order_id = o.id), ''),
			(SELECT count(*) FROM deliveries d WHERE d.order_id = o.id AND d.kind = 'reminder' AND d.result != 'failed'),
			COALESCE(c.assigned_user_id, 0)
		FROM orders o JOIN members m ON m.id = o.member_id AND m.agency_id = o.agency_id
			JOIN cases c ON c.id = o.case_id AND c.agency_id = o.agency_id
		WHERE o.agency_id = ? AND o.created_at >= ? AND o.created_at < ?`, agencyID, fmtTime(f.From), fmtTime(f.To))
	if err != nil {
		return nil, wrap("dashOrders", err)
	}
	defer rows.Close()
	var out []dashOrder
	for rows.Next() {
		var o dashOrder
		var sent, completed, opened, pageOpened string
		if err := rows.Scan(&o.provider, &o.status, &sent, &completed, &o.language, &o.channel, &opened, &pageOpened,
			&o.reminders, &o.workerID); err != nil {
			return nil, wrap("dashOrders", err)
		}
		o.sent = parseTime(sent)
		if completed != "" {
			o.completed = parseTime(completed)
		}
		for _, v := range []string{opened, pageOpened} {
			if t := parseTime(v); v != "" && (o.opened.IsZero() || t.Before(o.opened)) {
				o.opened = t
			}
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// summarize makes the counts, breakdowns and durations of the orders.
func summarize(orders []dashOrder) *Dashboard {
	d := &Dashboard{}
	groups := map[string]map[string]*DashCounts{}
	add := func(breakdown, key string, o dashOrder) {
		if groups[breakdown] == nil {
			groups[breakdown] = map[string]*DashCounts{}
		}
		c := groups[breakdown][key]
		if c == nil {
			c = &DashCounts{}
			groups[breakdown][key] = c
		}
		count(c, o)
	}
	var toOpen, toComplete []time.Duration
	for _, o := range orders {
		count(&d.Totals, o)
		add("provider", o.provider, o)
		add("channel", o.channel, o)
		add("language", o.language, o)
		add("reminders", strconv.Itoa(o.reminders), o)
		if !o.opened.IsZero() {
			toOpen = append(toOpen, max(o.opened.Sub(o.sent), 0))
		}
		if o.status == StatusCompleted && !o.completed.IsZero() {
			toComplete = append(toComplete, max(o.completed.Sub(o.sent), 0))
		}
	}
	d.ByProvider = sortedGroups(groups["provider"], byCount)
	d.ByChannel = sortedGroups(groups["channel"], byCount)
	d.ByLanguage = sortedGroups(groups["language"], byCount)
	d.ByReminders = sortedGroups(groups["reminders"], func(a, b DashGroup) int {
		x, _ := strconv.Atoi(a.Key)
		y, _ := strconv.Atoi(b.Key)
		return cmp.Compare(x, y)
	})
	d.ToOpen, d.ToComplete = durations(toOpen), durations(toComplete)
	return d
}

func count(c *DashCounts, o dashOrder) {
	c.Sent++
	switch {
	case !o.opened.IsZero(), o.status == StatusInProgress, o.status == StatusActionRequired, o.status == StatusCompleted:
		c.Opened++
	}
	switch o.status {
	case StatusCompleted:
		c.Completed++
	case StatusExpired:
		c.Expired++
	}
}

// byCount orders groups by orders sent, most first, then by key.
func byCount(a, b DashGroup) int {
	return cmp.Or(cmp.Compare(b.Sent, a.Sent), cmp.Compare(a.Key, b.Key))
}

func sortedGroups(m map[string]*DashCounts, order func(a, b DashGroup) int) []DashGroup {
	out := make([]DashGroup, 0, len(m))
	for k, c := range m {
		out = append(out, DashGroup{Key: k, DashCounts: *c})
	}
	slices.SortFunc(out, order)
	return out
}

// durations is the median and 90th percentile by nearest rank.
func durations(ds []time.Duration) DashDurations {
	if len(ds) == 0 {
		return DashDurations{}
	}
	slices.Sort(ds)
	rank := func(p float64) time.Duration { return ds[int(math.Ceil(p*float64(len(ds))))-1] }
	return DashDurations{N: len(ds), Median: rank(0.5), P90: rank(0.9)}
}

func (s *Store) waitingOrders(ctx context.Context, agencyID int64, f DashboardFilter) ([]WaitingOrder, int, error) {
	before := fmtTime(s.Now().AddDate(0, 0, -f.WaitingDays))
	var total int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM orders WHERE agency_id = ? AND status IN `+waitingStatuses+`
		AND created_at < ?`, agencyID, before).Scan(&total); err != nil {
		return nil, 0, wrap("waitingOrders", err)
	}
	limit := cmp.Or(f.WaitingLimit, 500)
	rows, err := s.read.QueryContext(ctx, `SELECT o.id, o.case_id, c.case_number, m.first_name, m.last_name, o.provider, o.status,
			o.created_at, COALESCE(u.name, '')
		FROM orders o JOIN cases c ON c.id = o.case_id AND c.agency_id = o.agency_id
			JOIN members m ON m.id = o.member_id AND m.agency_id = o.agency_id
			LEFT JOIN users u ON u.id = c.assigned_user_id AND u.agency_id = o.agency_id
		WHERE o.agency_id = ? AND o.status IN `+waitingStatuses+` AND o.created_at < ?
		ORDER BY o.created_at, o.id LIMIT ?`, agencyID, before, limit)
	if err != nil {
		return nil, 0, wrap("waitingOrders", err)
	}
	defer rows.Close()
	var out []WaitingOrder
	for rows.Next() {
		var w WaitingOrder
		var sent string
		if err := rows.Scan(&w.OrderID, &w.CaseID, &w.CaseNumber, &w.FirstName, &w.LastName, &w.Provider, &w.Status,
			&sent, &w.WorkerName); err != nil {
			return nil, 0, wrap("waitingOrders", err)
		}
		w.SentAt = parseTime(sent)
		out = append(out, w)
	}
	return out, total, rows.Err()
}

// workload is each worker's load: every user of the agency with cases
// assigned or orders sent in the period on their cases, and a row for the
// cases without a worker when there are any.
func (s *Store) workload(ctx context.Context, agencyID int64, f DashboardFilter, orders []dashOrder) ([]Workload, error) {
	before := fmtTime(s.Now().AddDate(0, 0, -f.WaitingDays))
	rows, err := s.read.QueryContext(ctx, `SELECT COALESCE(c.assigned_user_id, 0),
			count(DISTINCT CASE WHEN c.status != 'completed' THEN c.id END),
			count(CASE WHEN o.status IN ('created', 'sent', 'in_progress', 'action_required') THEN 1 END),
			count(CASE WHEN o.status IN `+waitingStatuses+` AND o.created_at < ? THEN 1 END)
		FROM cases c LEFT JOIN orders o ON o.case_id = c.id AND o.agency_id = c.agency_id
		WHERE c.agency_id = ? GROUP BY COALESCE(c.assigned_user_id, 0)`, before, agencyID)
	if err != nil {
		return nil, wrap("workload", err)
	}
	byUser := map[int64]*Workload{}
	for rows.Next() {
		w := &Workload{}
		if err := rows.Scan(&w.UserID, &w.OpenCases, &w.OpenOrders, &w.Waiting); err != nil {
			rows.Close()
			return nil, wrap("workload", err)
		}
		byUser[w.UserID] = w
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("workload", err)
	}
	for _, o := range orders {
		w := byUser[o.workerID]
		if w == nil {
			w = &Workload{UserID: o.workerID}
			byUser[o.workerID] = w
		}
		w.Sent++
		if o.status == StatusCompleted {
			w.Completed++
		}
	}
	names := map[int64]string{}
	urows, err := s.read.QueryContext(ctx, `SELECT id, name FROM users WHERE agency_id = ? AND (disabled_at IS NULL OR id IN (
		SELECT assigned_user_id FROM cases WHERE agency_id = ? AND assigned_user_id IS NOT NULL))`, agencyID, agencyID)
	if err != nil {
		return nil, wrap("workload", err)
	}
	defer urows.Close()
	for urows.Next() {
		var id int64
		var name string
		if err := urows.Scan(&id, &name); err != nil {
			return nil, wrap("workload", err)
		}
		names[id] = name
	}
	if err := urows.Err(); err != nil {
		return nil, wrap("workload", err)
	}
	var out []Workload
	for id, w := range byUser {
		if id != 0 {
			name, ok := names[id]
			if !ok {
				continue // not this agency's user
			}
			w.Name = name
		}
		if *w == (Workload{UserID: w.UserID, Name: w.Name}) {
			continue // nothing to show
		}
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b Workload) int {
		// Workers by open orders, most first; cases without a worker last.
		if (a.UserID == 0) != (b.UserID == 0) {
			return cmp.Compare(b.UserID, a.UserID)
		}
		return cmp.Or(cmp.Compare(b.OpenOrders, a.OpenOrders), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

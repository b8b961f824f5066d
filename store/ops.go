package store

import (
	"context"
	"time"
)

// What operations metrics (/metrics) read from the database when they are
// scraped. These are the installation's totals across agencies on purpose:
// they describe the portal's machinery (the webhook inbox, the run engine),
// carry counts and ages only, and are labelled by provider, state and kind,
// never by agency, case or person.

// InboxBacklog is one provider's unprocessed webhook deliveries.
type InboxBacklog struct {
	Provider string
	// Due deliveries may be processed now; Waiting ones wait for a retry
	// (a failing provider, or an order the portal does not know yet).
	Due, Waiting int
	// Oldest is when the oldest of them was received.
	Oldest time.Time
}

// InboxBacklogs returns the unprocessed deliveries by provider (providers
// with none are left out).
func (s *Store) InboxBacklogs(ctx context.Context) ([]InboxBacklog, error) {
	now := fmtTime(s.Now())
	rows, err := s.read.QueryContext(ctx, `SELECT provider,
			count(*) FILTER (WHERE next_attempt_at <= ?), count(*) FILTER (WHERE next_attempt_at > ?), min(received_at)
		FROM webhook_inbox WHERE processed_at IS NULL GROUP BY provider ORDER BY provider`, now, now)
	if err != nil {
		return nil, wrap("InboxBacklogs", err)
	}
	defer rows.Close()
	var out []InboxBacklog
	for rows.Next() {
		var b InboxBacklog
		var oldest string
		if err := rows.Scan(&b.Provider, &b.Due, &b.Waiting, &oldest); err != nil {
			return nil, wrap("InboxBacklogs", err)
		}
		b.Oldest = parseTime(oldest)
		out = append(out, b)
	}
	return out, wrap("InboxBacklogs", rows.Err())
}

// RunProgress is the progress of the running runs of one kind.
type RunProgress struct {
	Kind    string
	Running int            // runs still running
	Items   map[string]int // their items by status (pending, working, refreshed, …)
}

// RunKindRenewal is the kind of the renewal runs.
const RunKindRenewal = string(RunRenewal)

// RunsInProgress returns, for each kind of run (renewal, bulk_send), how
// many are running and their items by status. Every kind appears, with
// zeros when idle, so a dashboard's series do not vanish between runs.
func (s *Store) RunsInProgress(ctx context.Context) ([]RunProgress, error) {
	out := []RunProgress{{Kind: string(RunRenewal), Items: map[string]int{}}, {Kind: string(RunBulkSend), Items: map[string]int{}}}
	at := map[string]*RunProgress{}
	for i := range out {
		at[out[i].Kind] = &out[i]
	}
	rows, err := s.read.QueryContext(ctx, `SELECT kind, count(*) FROM renewal_runs WHERE status = 'running' GROUP BY kind`)
	if err != nil {
		return nil, wrap("RunsInProgress", err)
	}
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			rows.Close()
			return nil, wrap("RunsInProgress", err)
		}
		if p := at[kind]; p != nil {
			p.Running = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("RunsInProgress", err)
	}
	rows, err = s.read.QueryContext(ctx, `SELECT r.kind, i.status, count(*) FROM renewal_items i
		JOIN renewal_runs r ON r.id = i.run_id WHERE r.status = 'running' GROUP BY r.kind, i.status`)
	if err != nil {
		return nil, wrap("RunsInProgress", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, status string
		var n int
		if err := rows.Scan(&kind, &status, &n); err != nil {
			return nil, wrap("RunsInProgress", err)
		}
		if p := at[kind]; p != nil {
			p.Items[status] = n
		}
	}
	return out, wrap("RunsInProgress", rows.Err())
}

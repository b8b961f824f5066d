package views

import (
	"fmt"
	"time"

	"caseverify/store"
)

// RenewalsView is the renewals page's state.
type RenewalsView struct {
	Window    int
	Cases     []RenewalCase
	Run       *store.RenewalRun // the newest bulk run, if any
	Compare   map[int64]*Comparison
	Providers map[string]string // name → label
	Now       time.Time
	Due       int // members in the window
	// Engagement is each member's community engagement result (Medicaid
	// cases), by member id; nil when the agency hides the check.
	Engagement map[int64]EngagementResult
}

// RenewalCase is a case due for renewal and its members (masked: the page
// shows their names only).
type RenewalCase struct {
	Case    *store.Case
	Members []RenewalMember
}

// RenewalMember is a member of a due case, their last completed
// verification (nil when none) and their renewal (nil when none).
type RenewalMember struct {
	Member MemberView
	Last   *store.Order
	Item   *store.RenewalItem
}

// Comparison puts a member's new income beside the previous one.
type Comparison struct {
	Basis                           string // "Monthly gross" (pay) or "Monthly deposits" (bank)
	PrevMonthly, NewMonthly, Change string
	Up                              bool
	PrevEmployers, NewEmployers     []string
	NewJobs, EndedJobs              []string
}

// Age says "41 days ago".
func Age(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := int(now.Sub(t).Hours() / 24)
	switch {
	case d <= 0:
		return "today"
	case d == 1:
		return "yesterday"
	}
	return fmt.Sprintf("%d days ago", d)
}

var renewalLabels = map[string]string{
	"pending": "Waiting", "working": "Working", "checking": "Checking with the provider", "refreshing": "Refresh requested", "refreshed": "Refreshed",
	"new_link": "New link sent", "queued": "Queued for you", "failed": "Failed", "skipped": "Skipped",
}

// RenewalLabel names a renewal item status.
func RenewalLabel(s string) string { return renewalLabels[s] }

func renewalTag(s string) string {
	switch s {
	case "refreshed":
		return "usa-tag cv-tag cv-tag--completed"
	case "new_link", "checking", "refreshing", "working", "pending":
		return "usa-tag cv-tag cv-tag--in_progress"
	case "queued":
		return "usa-tag cv-tag cv-tag--action_required"
	}
	return "usa-tag cv-tag cv-tag--failed"
}

func (v RenewalsView) label(p string) string {
	if l, ok := v.Providers[p]; ok {
		return l
	}
	return p
}

// Live says the page is still changing by itself: a run is going, or a
// member's renewal waits to be worked on or for the provider's refresh.
func (v RenewalsView) Live() bool {
	if v.Run != nil && v.Run.Status == "running" {
		return true
	}
	for _, dc := range v.Cases {
		for _, m := range dc.Members {
			if m.Item != nil && (m.Item.Status == "pending" || m.Item.Status == "working" || m.Item.Status == "checking" || m.Item.Status == "refreshing") {
				return true
			}
		}
	}
	return false
}

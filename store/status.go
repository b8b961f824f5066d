package store

import "time"

// OrderStatus is where a verification order is in its lifecycle:
//
//	created → sent → in_progress ⇄ action_required → completed | canceled | expired | failed
//
// The rules for moving between statuses live here, in one table, so that
// every source (webhook, poll, caseworker) goes through the same gate.
type OrderStatus string

// The order statuses.
const (
	StatusCreated        OrderStatus = "created"
	StatusSent           OrderStatus = "sent"
	StatusInProgress     OrderStatus = "in_progress"
	StatusActionRequired OrderStatus = "action_required"
	StatusCompleted      OrderStatus = "completed"
	StatusCanceled       OrderStatus = "canceled"
	StatusExpired        OrderStatus = "expired"
	StatusFailed         OrderStatus = "failed"
)

// rank orders the statuses: a status may only move to a higher rank, or
// sideways between in_progress and action_required.
var rank = map[OrderStatus]int{
	StatusCreated: 0, StatusSent: 1, StatusInProgress: 2, StatusActionRequired: 2,
	StatusCompleted: 3, StatusCanceled: 3, StatusExpired: 3, StatusFailed: 3,
}

// Valid reports whether s is a known status.
func (s OrderStatus) Valid() bool { _, ok := rank[s]; return ok }

// Final reports whether s ends the order (no further change expected).
func (s OrderStatus) Final() bool { return rank[s] == 3 }

// Transition decides the status after an update proposes next for a thing
// (order or sub-item) currently at cur. reopen says the update is one of the
// documented ways back. It returns the new status and whether it changed.
func Transition(cur, next OrderStatus, reopen bool) (OrderStatus, bool) {
	if !next.Valid() || next == cur {
		return cur, false
	}
	if !cur.Valid() {
		return next, true
	}
	rc, rn := rank[cur], rank[next]
	switch {
	case rn > rc:
		return next, true
	case rn == rc && rc == 2: // in_progress ⇄ action_required
		return next, true
	case reopen && rn == 2 && rc == 3:
		return next, true
	}
	return cur, false
}

// Forward reports whether moving from cur to next goes up the lifecycle
// (created → sent → in progress → a final status). Forward moves apply
// whenever they come; the others (sideways between in progress and action
// required, a documented way back from a final status) only when Newer.
func Forward(cur, next OrderStatus) bool {
	return !cur.Valid() || rank[next] > rank[cur]
}

// Newer decides whether an event at "at" that would move something sideways
// or back to next may override the newest event already applied (last, the
// provider's time; zero when none). A later event wins; an earlier one
// loses, so deliveries processed out of order end where in-order delivery
// ends. On a tie (the same provider time) action required wins, so that the
// result does not depend on which of the two was processed first.
func Newer(at, last time.Time, next OrderStatus) bool {
	switch {
	case last.IsZero() || at.After(last):
		return true
	case at.Equal(last):
		return next == StatusActionRequired
	}
	return false
}

// Derive computes an order's status from its sub-items (spec.md §7): any
// action_required wins; otherwise anything still open keeps the order in
// progress; once every item is final, any completed makes it completed, else
// failed, then expired, then canceled.
func Derive(items []OrderStatus) OrderStatus {
	if len(items) == 0 {
		return ""
	}
	open, any := false, map[OrderStatus]bool{}
	for _, s := range items {
		any[s] = true
		if !s.Final() {
			open = true
		}
	}
	switch {
	case any[StatusActionRequired]:
		return StatusActionRequired
	case open:
		if any[StatusInProgress] || any[StatusCompleted] || any[StatusFailed] || any[StatusExpired] || any[StatusCanceled] {
			return StatusInProgress
		}
		if any[StatusSent] {
			return StatusSent
		}
		return StatusCreated
	case any[StatusCompleted]:
		return StatusCompleted
	case any[StatusFailed]:
		return StatusFailed
	case any[StatusExpired]:
		return StatusExpired
	default:
		return StatusCanceled
	}
}

// Standing is where one verification leaves its case: the one rule both the
// case's stored roll-up status (the case list, the status tag) and the case
// page's summary sentence count by, so they never disagree.
type Standing int

// Standings of a verification.
const (
	StandingOpen           Standing = iota // still going
	StandingActionRequired                 // the applicant must act
	StandingDone                           // completed with a usable result
	StandingReview                         // completed, a person must look at it (identity "needs review")
	StandingRejected                       // completed, the check failed (identity rejected)
	StandingEnded                          // failed, expired or canceled: no result
)

// StandingOf classifies an order by its status and its outcome: a completed
// identity check that was rejected or needs review is not a success.
func StandingOf(s OrderStatus, outcome Outcome) Standing {
	switch {
	case s == StatusCompleted && outcome == OutcomeReview:
		return StandingReview
	case s == StatusCompleted && outcome == OutcomeFail:
		return StandingRejected
	case s == StatusCompleted:
		return StandingDone
	case s == StatusActionRequired:
		return StandingActionRequired
	case s.Final():
		return StandingEnded
	default:
		return StandingOpen
	}
}

// OrderState is what the roll-up needs of one order.
type OrderState struct {
	Status  OrderStatus
	Outcome Outcome
}

// RollUp computes a case's status from its current orders: action required
// when an applicant must act or a result needs the caseworker (rejected or
// needs review), pending while any is open, completed once all have ended.
func RollUp(orders []OrderState) CaseStatus {
	if len(orders) == 0 {
		return CaseNew
	}
	open := false
	for _, o := range orders {
		switch StandingOf(o.Status, o.Outcome) {
		case StandingActionRequired, StandingReview, StandingRejected:
			return CaseActionRequired
		case StandingOpen:
			open = true
		}
	}
	if open {
		return CasePending
	}
	return CaseCompleted
}

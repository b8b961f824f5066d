package views

import (
	"fmt"
	"net/url"

	"caseverify/store"
)

// AuditView is the audit log page: one page of entries and the filters.
type AuditView struct {
	Filter     store.AuditFilter
	From, To   string // the date filters as typed (YYYY-MM-DD), empty when unset or invalid
	CaseNumber string // the case filter's number
	Entries    []*store.AuditEntry
	More       bool // older entries remain
	Users      []*store.User
}

// query is the URL query of the current filters, without the page.
func (v AuditView) query() url.Values {
	q := url.Values{}
	if v.Filter.UserID != 0 {
		q.Set("user", fmt.Sprint(v.Filter.UserID))
	}
	if v.Filter.CaseID != 0 {
		q.Set("case", fmt.Sprint(v.Filter.CaseID))
	}
	if v.From != "" {
		q.Set("from", v.From)
	}
	if v.To != "" {
		q.Set("to", v.To)
	}
	return q
}

// NewestURL is the first page with the same filters.
func (v AuditView) NewestURL() string {
	if q := v.query().Encode(); q != "" {
		return "/audit?" + q
	}
	return "/audit"
}

// OlderURL is the next page: entries older than the last one shown.
func (v AuditView) OlderURL() string {
	q := v.query()
	if n := len(v.Entries); n > 0 {
		q.Set("before", fmt.Sprint(v.Entries[n-1].ID))
	}
	return "/audit?" + q.Encode()
}

// Filtered says any filter or page is applied.
func (v AuditView) Filtered() bool { return len(v.query()) > 0 || v.Filter.Before != 0 }

// CaseAuditURL is the audit log of one case.
func CaseAuditURL(caseID int64) string { return fmt.Sprintf("/audit?case=%d", caseID) }

// auditActions are the audit actions in words.
var auditActions = map[string]string{
	store.AuditSignIn:          "Signed in",
	store.AuditSignInFailed:    "Sign-in failed",
	store.AuditSignOut:         "Signed out",
	store.AuditMFAEnrolled:     "Set up two-step sign-in",
	store.AuditMFASignIn:       "Passed two-step sign-in",
	store.AuditMFAFailed:       "Two-step sign-in failed",
	store.AuditMFARecoveryUsed: "Used a recovery code",
	store.AuditMFAReset:        "Reset a user's two-step sign-in",
	store.AuditRecoveryCodes:   "Made new recovery codes",
	store.AuditMFARequired:     "Changed whether two-step sign-in is required",
	store.AuditPasswordChanged: "Changed their password",
	store.AuditPasswordReset:   "Reset a user's password",
	store.AuditViewCase:        "Opened the case",
	store.AuditRevealPII:       "Showed a member's details",
	store.AuditViewReport:      "Read a report",
	store.AuditReportPDF:       "Downloaded a report PDF",
	store.AuditExport:          "Exported data",
	store.AuditCaseReassign:    "Reassigned the case",
	store.AuditUserCreate:      "Added a user",
	store.AuditUserDisable:     "Disabled a user",
	store.AuditUserEnable:      "Enabled a user",
	store.AuditSettingsSaved:   "Changed the settings",
	store.AuditRefused:         "Refused: not allowed for the role",
}

// AuditActionLabel is an audit action in words (the action's name when new).
func AuditActionLabel(action string) string {
	if l, ok := auditActions[action]; ok {
		return l
	}
	return action
}

// userChoices are the agency's users, disabled ones too (they may have acted).
func userChoices(users []*store.User) []Choice {
	out := make([]Choice, 0, len(users))
	for _, u := range users {
		out = append(out, Choice{Value: fmt.Sprint(u.ID), Label: u.Name})
	}
	return out
}

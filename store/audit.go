package store

import (
	"context"
	"strings"
	"time"
)

// Audit actions: what the audit trail records. Each is written with ids only
// (user, case, member, order in Subject), the route template and the client
// address; never a personal value.
const (
	// Sign-in and account security.
	AuditSignIn       = "sign_in"
	AuditSignInFailed = "sign_in_failed" // a known account's wrong password (unknown emails are only logged)
	AuditSignOut      = "sign_out"
	// Multi-factor authentication and passwords (handlers/auth.go calls
	// Store.Audit with these).
	AuditMFAEnrolled     = "mfa_enrolled"
	AuditMFASignIn       = "mfa_sign_in"
	AuditMFAFailed       = "mfa_failed"
	AuditMFARecoveryUsed = "mfa_recovery_code_used"
	AuditMFAReset        = "mfa_reset" // an administrator reset a user's MFA (Subject: "user 12")
	AuditPasswordChanged = "password_changed"
	AuditPasswordReset   = "password_reset" // an administrator forced a reset (Subject: "user 12")
	// Reading case data.
	AuditViewCase   = "view_case"
	AuditRevealPII  = "reveal_pii"
	AuditViewReport = "view_report"
	AuditReportPDF  = "download_report"
	AuditExport     = "export"
	// Changes.
	AuditCaseReassign  = "case_reassign"
	AuditUserCreate    = "user_create"
	AuditUserDisable   = "user_disable"
	AuditUserEnable    = "user_enable"
	AuditSettingsSaved = "settings_saved"
	AuditCSVUpload     = "csv_upload" // a CSV file held for preview (Subject: "csv 1a2b3c4d, 120 rows")
	AuditCSVImport     = "csv_import" // its import started (Subject: the file and the mode)
	AuditBulkSend      = "bulk_send"  // a bulk send started (Subject: "run 7, 40 members")
	// A signed-in user's request that their role does not allow.
	AuditRefused = "refused"
)

// AuditEntry is one row of the audit trail: who did what to which case or
// member, when, through which route and from where. It never holds PII values.
type AuditEntry struct {
	ID         int64
	AgencyID   int64
	UserID     int64
	UserName   string
	Action     string
	CaseID     int64
	CaseNumber string // read back only: the agency's case number
	MemberID   int64
	Subject    string // e.g. "order 12"; never a PII value
	Route      string // the route template, e.g. /cases/:id
	IP         string
	At         time.Time
}

// Audit records an entry.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	_, err := s.execWrite(ctx, `INSERT INTO audit_log (agency_id, user_id, action, case_id, member_id, subject, route, ip, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.AgencyID, nullID(e.UserID), e.Action, nullID(e.CaseID), nullID(e.MemberID),
		e.Subject, e.Route, e.IP, fmtTime(s.Now()))
	return wrap("Audit", err)
}

// AuditFilter selects audit entries of one agency. Zero fields do not filter.
type AuditFilter struct {
	UserID   int64
	CaseID   int64
	From, To time.Time // From inclusive, To exclusive
	// Before is the keyset cursor: entries with a smaller id (older). A page
	// never shifts when new entries arrive, and no OFFSET is scanned.
	Before int64
	Limit  int
}

// AuditLog lists an agency's most recent audit entries.
func (s *Store) AuditLog(ctx context.Context, agencyID int64, limit int) ([]*AuditEntry, error) {
	es, _, err := s.AuditPage(ctx, agencyID, AuditFilter{Limit: limit})
	return es, wrap("AuditLog", err)
}

// AuditPage lists an agency's audit entries that pass f, newest first, and
// says whether older ones remain beyond this page.
func (s *Store) AuditPage(ctx context.Context, agencyID int64, f AuditFilter) ([]*AuditEntry, bool, error) {
	where := []string{"l.agency_id = ?"}
	args := []any{agencyID}
	if f.UserID != 0 {
		where, args = append(where, "l.user_id = ?"), append(args, f.UserID)
	}
	if f.CaseID != 0 {
		where, args = append(where, "l.case_id = ?"), append(args, f.CaseID)
	}
	if !f.From.IsZero() {
		where, args = append(where, "l.at >= ?"), append(args, fmtTime(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "l.at < ?"), append(args, fmtTime(f.To))
	}
	if f.Before > 0 {
		where, args = append(where, "l.id < ?"), append(args, f.Before)
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	rows, err := s.read.QueryContext(ctx, `SELECT l.id, l.agency_id, COALESCE(l.user_id, 0), COALESCE(u.name, ''), l.action,
		COALESCE(l.case_id, 0), COALESCE(c.case_number, ''), COALESCE(l.member_id, 0), l.subject, l.route, l.ip, l.at
		FROM audit_log l LEFT JOIN users u ON u.id = l.user_id AND u.agency_id = l.agency_id
		LEFT JOIN cases c ON c.id = l.case_id AND c.agency_id = l.agency_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY l.id DESC LIMIT ?`, append(args, f.Limit+1)...)
	if err != nil {
		return nil, false, wrap("AuditPage", err)
	}
	defer rows.Close()
	var out []*AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &e.AgencyID, &e.UserID, &e.UserName, &e.Action, &e.CaseID, &e.CaseNumber, &e.MemberID, &e.Subject,
			&e.Route, &e.IP, &at); err != nil {
			return nil, false, wrap("AuditPage", err)
		}
		e.At = parseTime(at)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, wrap("AuditPage", err)
	}
	more := len(out) > f.Limit
	if more {
		out = out[:f.Limit]
	}
	return out, more, nil
}

// CaseViewer is one person who looked at a case: how often and when last.
type CaseViewer struct {
	UserID   int64
	UserName string
	Views    int
	Reveals  int // reveals of a member's details, reports and PDFs read
	LastAt   time.Time
}

// caseReadActions are the audit actions that read a case's data.
var caseReadActions = []string{AuditViewCase, AuditRevealPII, AuditViewReport, AuditReportPDF}

// CaseViewers lists who read a case (page views, reveals, reports), most
// recent first: the case page's "Who looked at this case".
func (s *Store) CaseViewers(ctx context.Context, agencyID, caseID int64) ([]*CaseViewer, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT COALESCE(l.user_id, 0), COALESCE(u.name, ''),
		count(*) FILTER (WHERE l.action = ?), count(*) FILTER (WHERE l.action <> ?), MAX(l.at)
		FROM audit_log l LEFT JOIN users u ON u.id = l.user_id AND u.agency_id = l.agency_id
		WHERE l.agency_id = ? AND l.case_id = ? AND l.action IN (?, ?, ?, ?)
		GROUP BY l.user_id, u.name ORDER BY MAX(l.id) DESC`,
		AuditViewCase, AuditViewCase, agencyID, caseID, caseReadActions[0], caseReadActions[1], caseReadActions[2], caseReadActions[3])
	if err != nil {
		return nil, wrap("CaseViewers", err)
	}
	defer rows.Close()
	var out []*CaseViewer
	for rows.Next() {
		var v CaseViewer
		var at string
		if err := rows.Scan(&v.UserID, &v.UserName, &v.Views, &v.Reveals, &at); err != nil {
			return nil, wrap("CaseViewers", err)
		}
		v.LastAt = parseTime(at)
		out = append(out, &v)
	}
	return out, rows.Err()
}

// AccountForAudit finds the account an email names, in any agency, so a
// failed sign-in can be recorded in that agency's audit log. ErrNotFound
// for an unknown email.
func (s *Store) AccountForAudit(ctx context.Context, email string) (*User, error) {
	return scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u JOIN agencies a ON a.id = u.agency_id
		WHERE u.email = ?`, strings.ToLower(strings.TrimSpace(email))))
}

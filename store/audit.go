package store

import (
	"context"
	"time"
)

// Audit actions.
const (
	AuditRevealPII   = "reveal_pii"
	AuditSignIn      = "sign_in"
	AuditSignOut     = "sign_out"
	AuditUserCreate  = "user_create"
	AuditUserDisable = "user_disable"
	AuditUserEnable  = "user_enable"
	AuditViewReport  = "view_report"
	AuditReportPDF   = "download_report"
)

// AuditEntry is one row of the audit trail: who did what to which case or
// member, when and from where. It never holds PII values.
type AuditEntry struct {
	ID       int64
	AgencyID int64
	UserID   int64
	UserName string
	Action   string
	CaseID   int64
	MemberID int64
	Subject  string // e.g. "order 12"; never a PII value
	IP       string
	At       time.Time
}

// Audit records an entry.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO audit_log (agency_id, user_id, action, case_id, member_id, subject, ip, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.AgencyID, nullID(e.UserID), e.Action, nullID(e.CaseID), nullID(e.MemberID),
		e.Subject, e.IP, fmtTime(s.Now()))
	return err
}

// AuditLog lists an agency's most recent audit entries.
func (s *Store) AuditLog(ctx context.Context, agencyID int64, limit int) ([]*AuditEntry, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT l.id, l.agency_id, COALESCE(l.user_id, 0), COALESCE(u.name, ''), l.action,
		COALESCE(l.case_id, 0), COALESCE(l.member_id, 0), l.subject, l.ip, l.at
		FROM audit_log l LEFT JOIN users u ON u.id = l.user_id WHERE l.agency_id = ? ORDER BY l.id DESC LIMIT ?`, agencyID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.ID, &e.AgencyID, &e.UserID, &e.UserName, &e.Action, &e.CaseID, &e.MemberID, &e.Subject, &e.IP, &at); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}

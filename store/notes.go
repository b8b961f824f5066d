package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
	"unicode/utf8"
)

// Note is a caseworker's note on a case. The text is encrypted at rest: notes
// are free text and often hold personal details.
type Note struct {
	ID         int64
	CaseID     int64
	AuthorID   int64
	AuthorName string
	Body       string
	CreatedAt  time.Time
}

// AddNote adds a note to a case.
func (s *Store) AddNote(ctx context.Context, agencyID, caseID, authorID int64, body string) (*Note, error) {
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return nil, ValidationError{"body": "Write the note first."}
	case utf8.RuneCountInString(body) > 5000:
		return nil, ValidationError{"body": "Keep a note under 5,000 characters."}
	}
	now := s.Now()
	n := &Note{CaseID: caseID, AuthorID: authorID, Body: body, CreatedAt: now}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM cases WHERE agency_id = ? AND id = ?`, agencyID, caseID).Scan(&one); err != nil {
			return wrap("AddNote", formatError(err))
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO case_notes (agency_id, case_id, author_id, body_enc, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, agencyID, caseID, authorID, []byte{}, fmtTime(now)).Scan(&n.ID); err != nil {
			return wrap("AddNote", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE case_notes SET body_enc = ? WHERE id = ?`,
			s.crypt.Seal(body, aad("case_notes", "body", n.ID)), n.ID); err != nil {
			return wrap("AddNote", err)
		}
		return touchCase(ctx, tx, agencyID, caseID, now)
	})
	return n, wrap("AddNote", err)
}

// Notes lists a case's notes, newest first.
func (s *Store) Notes(ctx context.Context, agencyID, caseID int64) ([]*Note, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT n.id, n.case_id, n.author_id, u.name, n.body_enc, n.created_at
		FROM case_notes n JOIN users u ON u.id = n.author_id
		WHERE n.agency_id = ? AND n.case_id = ? ORDER BY n.created_at DESC, n.id DESC`, agencyID, caseID)
	if err != nil {
		return nil, wrap("Notes", err)
	}
	defer rows.Close()
	var out []*Note
	for rows.Next() {
		var n Note
		var body []byte
		var created string
		if err := rows.Scan(&n.ID, &n.CaseID, &n.AuthorID, &n.AuthorName, &body, &created); err != nil {
			return nil, wrap("Notes", err)
		}
		if n.Body, err = s.crypt.Open(body, aad("case_notes", "body", n.ID)); err != nil {
			return nil, wrap("Notes", err)
		}
		n.CreatedAt = parseTime(created)
		out = append(out, &n)
	}
	return out, rows.Err()
}

package store

import (
	"context"
	"database/sql"
	"time"
)

// OutboxMessage is an email or text message the portal "sent" while no SMTP
// server or Twilio account is configured. Staff read them at /outbox.
type OutboxMessage struct {
	ID        int64
	Channel   string // email or sms
	To        string
	Subject   string
	Body      string
	HTML      string
	CreatedAt time.Time
}

// AddOutbox stores a message and returns its id.
func (s *Store) AddOutbox(ctx context.Context, agencyID int64, m OutboxMessage) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO outbox (agency_id, channel, to_enc, body_enc, subject, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, agencyID, m.Channel, []byte{}, []byte{}, m.Subject, fmtTime(s.Now())).Scan(&id); err != nil {
			return wrap("AddOutbox", err)
		}
		c := s.crypt
		_, err := tx.ExecContext(ctx, `UPDATE outbox SET to_enc = ?, body_enc = ?, html_enc = ? WHERE id = ?`,
			c.Seal(m.To, aad("outbox", "to", id)), c.Seal(m.Body, aad("outbox", "body", id)), c.Seal(m.HTML, aad("outbox", "html", id)), id)
		return wrap("AddOutbox", err)
	})
	return id, wrap("AddOutbox", err)
}

// Outbox lists an agency's newest messages.
func (s *Store) Outbox(ctx context.Context, agencyID int64, limit int) ([]*OutboxMessage, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, channel, to_enc, subject, body_enc, html_enc, created_at FROM outbox
		WHERE agency_id = ? ORDER BY id DESC LIMIT ?`, agencyID, limit)
	if err != nil {
		return nil, wrap("Outbox", err)
	}
	defer rows.Close()
	var out []*OutboxMessage
	for rows.Next() {
		var m OutboxMessage
		var to, body, html []byte
		var created string
		if err := rows.Scan(&m.ID, &m.Channel, &to, &m.Subject, &body, &html, &created); err != nil {
			return nil, wrap("Outbox", err)
		}
		var err1, err2, err3 error
		m.To, err1 = s.crypt.Open(to, aad("outbox", "to", m.ID))
		m.Body, err2 = s.crypt.Open(body, aad("outbox", "body", m.ID))
		m.HTML, err3 = s.crypt.Open(html, aad("outbox", "html", m.ID))
		for _, e := range []error{err1, err2, err3} {
			if e != nil {
				return nil, e
			}
		}
		m.CreatedAt = parseTime(created)
		out = append(out, &m)
	}
	return out, rows.Err()
}

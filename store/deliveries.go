package store

import (
	"context"
	"database/sql"
	"time"
)

// Delivery is one sending of an order's link to the applicant.
type Delivery struct {
	ID              int64
	OrderID         int64
	MemberID        int64  // who it went to; 0 means the order's member
	Channel         string // email, sms, qr, copy, provider
	RecipientMasked string // never the full address or number
	Language        string
	Kind            string // first, reminder, resend
	Result          string // sent, queued, failed, shown, copied
	Error           string // plain-language reason when failed, PII-free
	MessageID       string
	MessageStatus   string // the SMS/email provider's delivery status, e.g. delivered
	LinkCode        string // the tracked link's code, /l/{code}
	OpenedAt        time.Time
	CreatedBy       int64
	CreatedAt       time.Time
}

// AddDelivery records a delivery, writes it on the timeline and publishes.
func (s *Store) AddDelivery(ctx context.Context, agencyID int64, d Delivery, detail string) (*Delivery, error) {
	now := s.Now()
	d.CreatedAt = now
	var caseID int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, d.OrderID).Scan(&caseID); err != nil {
			return formatError(err)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO deliveries (agency_id, order_id, member_id, channel, recipient_masked, language, kind,
			result, error, message_id, link_code, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			agencyID, d.OrderID, nullID(d.MemberID), d.Channel, d.RecipientMasked, d.Language, d.Kind, d.Result, d.Error, d.MessageID,
			nullString(d.LinkCode), nullID(d.CreatedBy), fmtTime(now))
		if err != nil {
			return err
		}
		if d.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		// The first successful delivery marks the order sent.
		if d.Result != "failed" {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'sent', updated_at = ? WHERE id = ? AND status = 'created'`,
				fmtTime(now), d.OrderID); err != nil {
				return err
			}
		}
		if err := addEvent(ctx, tx, agencyID, d.OrderID, now, "system", "", "", "", detail); err != nil {
			return err
		}
		return updateRollUp(ctx, tx, agencyID, caseID, now)
	})
	if err != nil {
		return nil, err
	}
	s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: d.OrderID, Kind: "delivery"})
	return &d, nil
}

// Deliveries lists an order's deliveries, oldest first.
func (s *Store) Deliveries(ctx context.Context, agencyID, orderID int64) ([]*Delivery, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, order_id, COALESCE(member_id, 0), channel, recipient_masked, language, kind, result,
		error, message_id, message_status, COALESCE(link_code, ''), opened_at, COALESCE(created_by, 0), created_at
		FROM deliveries WHERE agency_id = ? AND order_id = ? ORDER BY id`, agencyID, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Delivery
	for rows.Next() {
		var d Delivery
		var created string
		var opened sql.NullString
		if err := rows.Scan(&d.ID, &d.OrderID, &d.MemberID, &d.Channel, &d.RecipientMasked, &d.Language, &d.Kind, &d.Result, &d.Error,
			&d.MessageID, &d.MessageStatus, &d.LinkCode, &opened, &d.CreatedBy, &created); err != nil {
			return nil, err
		}
		d.CreatedAt, d.OpenedAt = parseTime(created), parseNullTime(opened)
		out = append(out, &d)
	}
	return out, rows.Err()
}

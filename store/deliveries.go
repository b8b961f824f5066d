package store

import (
	"context"
	"database/sql"
	"fmt"
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
	Kind            DeliveryKind
	Result          DeliveryResult
	Error           string // plain-language reason when failed, PII-free
	MessageID       string
	MessageStatus   string // the SMS/email provider's delivery status, e.g. delivered
	LinkCode        string // the tracked link's code, /l/{code} (stored as its SHA-256 and encrypted)
	OpenedAt        time.Time
	CreatedBy       int64
	CreatedAt       time.Time
}

// AddDelivery records a delivery whose result is already known (a QR code
// or link shown, a send refused before anything went out), writes it on the
// timeline and publishes.
func (s *Store) AddDelivery(ctx context.Context, agencyID int64, d Delivery, detail string) (*Delivery, error) {
	now := s.Now()
	d.CreatedAt = now
	var caseID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: d.OrderID, Kind: "delivery"}}
	}, func(tx *sql.Tx) error {
		var err error
		if caseID, err = deliveryCase(ctx, tx, agencyID, d.OrderID); err != nil {
			return wrap("AddDelivery", err)
		}
		if d.ID, err = s.insertDelivery(ctx, tx, agencyID, d, now); err != nil {
			return wrap("AddDelivery", err)
		}
		return settleDelivery(ctx, tx, agencyID, caseID, d.OrderID, d.Result, detail, now)
	}))
	if err != nil {
		return nil, wrap("AddDelivery", err)
	}
	s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: d.OrderID, Kind: "delivery"})
	return &d, nil
}

// StartDelivery records a delivery before its message is sent, result
// "sending", with its tracked-link code: the code works the moment the
// applicant can hold it, and a message that went out always has its row. No
// timeline line yet; FinishDelivery writes it with the outcome.
func (s *Store) StartDelivery(ctx context.Context, agencyID int64, d Delivery) (*Delivery, error) {
	now := s.Now()
	d.CreatedAt, d.Result = now, DeliverySending
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := deliveryCase(ctx, tx, agencyID, d.OrderID); err != nil {
			return wrap("StartDelivery", err)
		}
		var err error
		d.ID, err = s.insertDelivery(ctx, tx, agencyID, d, now)
		return wrap("StartDelivery", err)
	})
	if err != nil {
		return nil, wrap("StartDelivery", err)
	}
	return &d, nil
}

// FinishDelivery records the outcome of a delivery started with
// StartDelivery: its result, PII-free error and the message service's id,
// with the timeline line, then publishes.
func (s *Store) FinishDelivery(ctx context.Context, agencyID, deliveryID int64, result DeliveryResult, errText, messageID, detail string) error {
	if !result.Valid() || result == DeliverySending {
		return fmt.Errorf("store: FinishDelivery: result %q is not an outcome", result)
	}
	now := s.Now()
	var caseID, orderID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "delivery"}}
	}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT d.order_id, o.case_id FROM deliveries d JOIN orders o ON o.id = d.order_id
			WHERE d.agency_id = ? AND d.id = ?`, agencyID, deliveryID).Scan(&orderID, &caseID); err != nil {
			return wrap("FinishDelivery", formatError(err))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET result = ?, error = ?, message_id = ? WHERE id = ?`,
			result, errText, messageID, deliveryID); err != nil {
			return wrap("FinishDelivery", err)
		}
		return settleDelivery(ctx, tx, agencyID, caseID, orderID, result, detail, now)
	}))
	if err != nil {
		return wrap("FinishDelivery", err)
	}
	s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "delivery"})
	return nil
}

// deliveryCase returns the case of an order of the agency (ErrNotFound for
// another agency's order).
func deliveryCase(ctx context.Context, tx *sql.Tx, agencyID, orderID int64) (int64, error) {
	var caseID int64
	err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&caseID)
	return caseID, wrap("deliveryCase", formatError(err))
}

func (s *Store) insertDelivery(ctx context.Context, tx *sql.Tx, agencyID int64, d Delivery, now time.Time) (int64, error) {
	if !d.Kind.Valid() || !d.Result.Valid() {
		return 0, fmt.Errorf("store: delivery kind %q or result %q is not one of the store's values", d.Kind, d.Result)
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO deliveries (agency_id, order_id, member_id, channel, recipient_masked, language, kind,
		result, error, message_id, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		agencyID, d.OrderID, nullID(d.MemberID), d.Channel, d.RecipientMasked, d.Language, d.Kind, d.Result, d.Error, d.MessageID,
		nullID(d.CreatedBy), fmtTime(now)).Scan(&id)
	if err != nil {
		return 0, wrap("insertDelivery", err)
	}
	return id, s.setLinkCode(ctx, tx, id, d.LinkCode)
}

// setLinkCode stores a delivery's tracked-link code as the /v/ tokens are
// kept: its SHA-256 for the lookup, the code itself only encrypted (bound
// to the row). A copy of the database cannot open anyone's link.
func (s *Store) setLinkCode(ctx context.Context, tx *sql.Tx, deliveryID int64, code string) error {
	if code == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE deliveries SET link_code = NULL, link_code_hash = ?, link_code_enc = ? WHERE id = ?`,
		hashSecret(code), s.crypt.Seal(code, aad("deliveries", "link_code", deliveryID)), deliveryID)
	return wrap("setLinkCode", formatError(err))
}

// hashLinkCodes moves tracked-link codes stored in the clear by earlier
// versions into link_code_hash and link_code_enc (migration 00010: SQLite
// has no SHA-256). It runs at every start and finds nothing once done.
func (s *Store) hashLinkCodes(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, link_code FROM deliveries WHERE link_code IS NOT NULL`)
		if err != nil {
			return wrap("hashLinkCodes", err)
		}
		type plain struct {
			id   int64
			code string
		}
		var todo []plain
		for rows.Next() {
			var p plain
			if err := rows.Scan(&p.id, &p.code); err != nil {
				rows.Close()
				return wrap("hashLinkCodes", err)
			}
			todo = append(todo, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("hashLinkCodes", err)
		}
		for _, p := range todo {
			if err := s.setLinkCode(ctx, tx, p.id, p.code); err != nil {
				return wrap("hashLinkCodes", err)
			}
		}
		return nil
	})
}

// settleDelivery writes a delivery's outcome on the order: the first
// successful delivery marks the order sent, and the timeline says what
// happened.
func settleDelivery(ctx context.Context, tx *sql.Tx, agencyID, caseID, orderID int64, result DeliveryResult, detail string, now time.Time) error {
	if result != DeliveryFailed {
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'sent', updated_at = ? WHERE id = ? AND status = 'created'`,
			fmtTime(now), orderID); err != nil {
			return wrap("settleDelivery", err)
		}
	}
	if err := addEvent(ctx, tx, agencyID, orderID, now, SourceSystem, "", "", "", detail); err != nil {
		return wrap("settleDelivery", err)
	}
	return updateRollUp(ctx, tx, agencyID, caseID, now)
}

// Deliveries lists an order's deliveries, oldest first.
func (s *Store) Deliveries(ctx context.Context, agencyID, orderID int64) ([]*Delivery, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, order_id, COALESCE(member_id, 0), channel, recipient_masked, language, kind, result,
		error, message_id, message_status, link_code_enc, opened_at, COALESCE(created_by, 0), created_at
		FROM deliveries WHERE agency_id = ? AND order_id = ? ORDER BY id`, agencyID, orderID)
	if err != nil {
		return nil, wrap("Deliveries", err)
	}
	defer rows.Close()
	var out []*Delivery
	for rows.Next() {
		var d Delivery
		var created string
		var opened sql.NullString
		var code []byte
		if err := rows.Scan(&d.ID, &d.OrderID, &d.MemberID, &d.Channel, &d.RecipientMasked, &d.Language, &d.Kind, &d.Result, &d.Error,
			&d.MessageID, &d.MessageStatus, &code, &opened, &d.CreatedBy, &created); err != nil {
			return nil, wrap("Deliveries", err)
		}
		var err error
		if d.LinkCode, err = s.crypt.Open(code, aad("deliveries", "link_code", d.ID)); err != nil {
			return nil, wrap("Deliveries", err)
		}
		d.CreatedAt, d.OpenedAt = parseTime(created), parseNullTime(opened)
		out = append(out, &d)
	}
	return out, rows.Err()
}

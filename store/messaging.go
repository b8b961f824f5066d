package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"math/big"
	"strings"
	"time"
)

// NewLinkCode returns a random code for a tracked link, /l/{code}: 12
// characters of 32 (60 bits), unguessable for a link that is personal and
// short-lived. Capitals and digits without look-alikes (no I, O, 0 or 1):
// staff read it out on a call, in groups (K7QM-2XPA-9FRT), and OpenLink
// takes it typed in any case, with or without the dashes. (Codes made
// before were 10 characters of [A-Za-z0-9]; they still open exactly.)
func NewLinkCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

// SetDeliveryLinkCode stores the tracked-link code of a delivery.
func (s *Store) SetDeliveryLinkCode(ctx context.Context, deliveryID int64, code string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.setLinkCode(ctx, tx, deliveryID, code) })
}

// LinkOpen is what the tracked-link redirect needs.
type LinkOpen struct {
	Order     *Order
	Delivery  *Delivery
	Language  string
	FirstOpen bool
}

// OpenLink finds the delivery of a tracked-link code (across agencies: the
// applicant has no session; the code is the secret) and records its first
// open, with a timeline line. It returns ErrNotFound for an unknown code.
func (s *Store) OpenLink(ctx context.Context, code string) (*LinkOpen, error) {
	if code == "" {
		return nil, ErrNotFound
	}
	var d Delivery
	var agencyID int64
	var created string
	var opened sql.NullString
	// As typed from a read-out code: any case, dashes or spaces between
	// the groups. An older mixed-case code matches only exactly.
	typed := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	err := s.read.QueryRowContext(ctx, `SELECT id, agency_id, order_id, COALESCE(member_id, 0), channel, language, kind, created_at, opened_at
		FROM deliveries WHERE link_code_hash IN (?, ?)`, hashSecret(code), hashSecret(typed)).Scan(&d.ID, &agencyID, &d.OrderID, &d.MemberID, &d.Channel, &d.Language, &d.Kind, &created, &opened)
	if err != nil {
		return nil, wrap("OpenLink", formatError(err))
	}
	d.CreatedAt, d.OpenedAt = parseTime(created), parseNullTime(opened)
	lo := &LinkOpen{Delivery: &d, Language: d.Language}
	if !opened.Valid {
		now := s.Now()
		var caseID int64
		err := s.inTx(ctx, s.announcing(ctx, func() []Change {
			if !lo.FirstOpen {
				return nil
			}
			return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: d.OrderID, Kind: "delivery"}}
		}, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `UPDATE deliveries SET opened_at = ? WHERE id = ? AND opened_at IS NULL`, fmtTime(now), d.ID)
			if err != nil {
				return wrap("OpenLink", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // another request got there first
			}
			lo.FirstOpen, d.OpenedAt = true, now
			if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE id = ?`, d.OrderID).Scan(&caseID); err != nil {
				return wrap("OpenLink", err)
			}
			return addEvent(ctx, tx, agencyID, d.OrderID, now, SourceApplicant, "", "", "",
				"The applicant opened the link from the "+channelWords(d.Channel)+".")
		}))
		if err != nil {
			return nil, wrap("OpenLink", err)
		}
		if lo.FirstOpen {
			s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: d.OrderID, Kind: "delivery"})
		}
	}
	if lo.Order, err = s.Order(ctx, agencyID, d.OrderID); err != nil {
		return nil, wrap("OpenLink", err)
	}
	// A household order's delivery forwards to that member's own link.
	if d.MemberID != 0 && d.MemberID != lo.Order.MemberID {
		ms, err := s.OrderMembers(ctx, agencyID, d.OrderID)
		if err != nil {
			return nil, wrap("OpenLink", err)
		}
		for _, m := range ms {
			if m.MemberID == d.MemberID {
				lo.Order.Link, lo.Order.ShortLink = m.Link, m.ShortLink
			}
		}
	}
	return lo, nil
}

func channelWords(ch string) string {
	switch ch {
	case "sms":
		return "text message"
	case "email":
		return "email"
	case "qr":
		return "QR code"
	}
	return "link shown by staff"
}

// SetMessageStatus records the SMS or email provider's delivery status of a
// message (e.g. Twilio's delivered, undelivered) when replaces(prev) allows
// it. Status callbacks arrive late and out of order; which status may replace
// which is the channel's own lifecycle (for Twilio, sms.MessageStatus.
// Supersedes), so the rule stays in one place and the store only applies it.
// The check and the write are one immediate transaction: two callbacks racing
// cannot both pass the check against the same old status. A nil replaces
// records every status. It reports whether the status was recorded, and
// returns ErrNotFound for an unknown message id.
func (s *Store) SetMessageStatus(ctx context.Context, messageID, status, errText string, replaces func(prev string) bool) (bool, error) {
	if messageID == "" {
		return false, ErrNotFound
	}
	applied := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, message_status FROM deliveries WHERE message_id = ?`, messageID)
		if err != nil {
			return wrap("SetMessageStatus", err)
		}
		type row struct {
			id   int64
			prev string
		}
		var found []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.prev); err != nil {
				rows.Close()
				return wrap("SetMessageStatus", err)
			}
			found = append(found, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap("SetMessageStatus", err)
		}
		if len(found) == 0 {
			return ErrNotFound
		}
		for _, r := range found {
			if replaces != nil && !replaces(r.prev) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET message_status = ?,
				error = CASE WHEN ? != '' THEN ? ELSE error END,
				result = CASE WHEN ? IN ('failed', 'undelivered') THEN 'failed' ELSE result END
				WHERE id = ?`, status, errText, errText, status, r.id); err != nil {
				return wrap("SetMessageStatus", err)
			}
			applied = true
		}
		return nil
	})
	return applied, wrap("SetMessageStatus", err)
}

// OptOut records that a phone number answered STOP; OptIn removes it.
func (s *Store) OptOut(ctx context.Context, phone string) error {
	_, err := s.execWrite(ctx, `INSERT INTO sms_optouts (phone_idx, at) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		s.crypt.Index("phone", phone), fmtTime(s.Now()))
	return wrap("OptOut", err)
}

// OptIn forgets an opt-out (the applicant answered START).
func (s *Store) OptIn(ctx context.Context, phone string) error {
	_, err := s.execWrite(ctx, `DELETE FROM sms_optouts WHERE phone_idx = ?`, s.crypt.Index("phone", phone))
	return wrap("OptIn", err)
}

// OptedOut reports whether a phone number answered STOP.
func (s *Store) OptedOut(ctx context.Context, phone string) (bool, error) {
	var one int
	err := s.read.QueryRowContext(ctx, `SELECT 1 FROM sms_optouts WHERE phone_idx = ?`, s.crypt.Index("phone", phone)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("OptedOut", err)
}

// ScheduleReminders sets when an order's first reminder is due (or none).
func (s *Store) ScheduleReminders(ctx context.Context, orderID int64, first time.Time) error {
	_, err := s.execWrite(ctx, `UPDATE orders SET next_reminder_at = ? WHERE id = ?`, nullTime(first), orderID)
	return wrap("ScheduleReminders", err)
}

// ClaimReminder takes one order whose reminder is due, in one statement:
// the reminder count goes up and the next one is scheduled (or none when
// the agency's count is reached) before anything is sent, so two workers
// (or two processes) never send the same reminder. Orders that ended or
// whose provider sends the link are never claimed, nor are orders whose link
// has expired (a reminder would carry a dead link) or that already had the
// agency's count of reminders: the count is read at claim time, so an admin
// who lowers it stops reminders that were already scheduled. It returns the
// order and the reminder's number, or ErrNotFound when none is due.
func (s *Store) ClaimReminder(ctx context.Context) (*Order, int, error) {
	now := s.Now()
	var orderID, agencyID int64
	var n int
	// The write transaction takes SQLite's lock up front (_txlock=immediate),
	// so the read and the update below are one step for every other writer;
	// on PostgreSQL the order's row lock makes them one (claimTx).
	err := s.claimTx(ctx, func(tx *sql.Tx) error {
		var count, every int
		err := tx.QueryRowContext(ctx, `SELECT o.id, o.agency_id, o.reminders_sent, a.reminder_count, a.reminder_every_hours
			FROM orders o JOIN agencies a ON a.id = o.agency_id
			WHERE o.next_reminder_at IS NOT NULL AND o.next_reminder_at <= ?
			AND o.status IN ('created', 'sent', 'in_progress', 'action_required') AND o.notify = ?
			AND (o.link_expires_at IS NULL OR o.link_expires_at > ?) AND o.reminders_sent < a.reminder_count
			ORDER BY o.next_reminder_at LIMIT 1`+s.d.skipLocked("o"), fmtTime(now), NotifyAgency, fmtTime(now)).Scan(&orderID, &agencyID, &n, &count, &every)
		if err != nil {
			return wrap("ClaimReminder", formatError(err))
		}
		n++
		var next any
		if n < count {
			next = fmtTime(now.Add(time.Duration(every) * time.Hour))
		}
		_, err = tx.ExecContext(ctx, `UPDATE orders SET reminders_sent = ?, next_reminder_at = ? WHERE id = ?`, n, next, orderID)
		return wrap("ClaimReminder", err)
	})
	if err != nil {
		return nil, 0, wrap("ClaimReminder", err)
	}
	o, err := s.Order(ctx, agencyID, orderID)
	return o, n, wrap("ClaimReminder", err)
}

// StopReminders cancels an order's pending reminders (it ended, or staff
// resent by hand).
func (s *Store) StopReminders(ctx context.Context, orderID int64) error {
	_, err := s.execWrite(ctx, `UPDATE orders SET next_reminder_at = NULL WHERE id = ?`, orderID)
	return wrap("StopReminders", err)
}

// ChannelStat is how one channel did for an agency.
type ChannelStat struct {
	Channel string
	Sent    int
	// Tracked is how many of Sent carried a tracked link (/l/{code}), the
	// only ones whose opens can be seen: email, SMS, QR and the link shown
	// to staff (copy; before it was tracked it showed the provider's own,
	// so those older sendings have none and their opened share is unknown,
	// not 0%). The provider's own sendings have none.
	Tracked   int
	Opened    int
	Completed int
}

// ChannelStats counts, per channel, first sendings, their opens and the
// orders that completed: which channel works for this agency.
func (s *Store) ChannelStats(ctx context.Context, agencyID int64) ([]ChannelStat, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT d.channel, count(*), count(d.link_code_hash), count(d.opened_at),
		count(CASE WHEN o.status = 'completed' THEN 1 END)
		FROM deliveries d JOIN orders o ON o.id = d.order_id
		WHERE d.agency_id = ? AND d.kind = ? AND d.result != ?
		GROUP BY d.channel ORDER BY count(*) DESC`, agencyID, DeliveryFirst, DeliveryFailed)
	if err != nil {
		return nil, wrap("ChannelStats", err)
	}
	defer rows.Close()
	var out []ChannelStat
	for rows.Next() {
		var c ChannelStat
		if err := rows.Scan(&c.Channel, &c.Sent, &c.Tracked, &c.Opened, &c.Completed); err != nil {
			return nil, wrap("ChannelStats", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

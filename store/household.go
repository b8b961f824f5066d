package store

import (
	"context"
	"database/sql"
	"errors"
)

// OrderMember is one member of a household order (Payscore screening group)
// with their own link and sub-item.
type OrderMember struct {
	OrderID   int64
	MemberID  int64
	Name      string
	FirstName string
	SubID     string
	Link      string
	ShortLink string
	Status    OrderStatus // the member's sub-item status ("" when unknown)
	Outcome   Outcome     // the member's sub-item outcome ("" when none yet)
}

// AddOrderMembers records a household order's members and their links
// (again, when their links arrive).
func (s *Store) AddOrderMembers(ctx context.Context, agencyID, orderID int64, ms []OrderMember) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&one); err != nil {
			return wrap("AddOrderMembers", formatError(err))
		}
		now := fmtTime(s.Now())
		for _, m := range ms {
			// Every member's sub-item exists from the start, so the order's
			// status is derived from all of them, not only those that reported.
			if m.SubID != "" {
				if _, err := tx.ExecContext(ctx, `INSERT INTO order_items (order_id, sub_id, status, updated_at) VALUES (?, ?, 'created', ?)
					ON CONFLICT DO NOTHING`, orderID, m.SubID, now); err != nil {
					return wrap("AddOrderMembers", err)
				}
			}
			key := aad("order_members", "link", orderID*1_000_000+m.MemberID)
			// A member kept with an order being checked (no link yet) gets
			// its link and sub-item once the provider confirms the order.
			if _, err := tx.ExecContext(ctx, `INSERT INTO order_members (order_id, member_id, sub_id, link_enc, short_link_enc)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (order_id, member_id) DO UPDATE SET sub_id = excluded.sub_id,
				link_enc = excluded.link_enc, short_link_enc = excluded.short_link_enc`, orderID, m.MemberID, m.SubID, s.crypt.Seal(m.Link, key), s.crypt.Seal(m.ShortLink, key+":short")); err != nil {
				return wrap("AddOrderMembers", formatError(err))
			}
		}
		return nil
	})
}

// OrderMemberFirstName is the first name of the household member whose
// sub-item (screening) is subID on an order, or "" when the order is not a
// household order or no member has it. Names are not encrypted, so this is
// one indexed read with nothing to decrypt: it runs for webhook updates.
func (s *Store) OrderMemberFirstName(ctx context.Context, agencyID, orderID int64, subID string) (string, error) {
	var name string
	err := s.read.QueryRowContext(ctx, `SELECT m.first_name FROM order_members om JOIN members m ON m.id = om.member_id
		JOIN orders o ON o.id = om.order_id WHERE o.agency_id = ? AND om.order_id = ? AND om.sub_id = ?`,
		agencyID, orderID, subID).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return name, wrap("OrderMemberFirstName", err)
}

// OrderMembers lists a household order's members, in household order.
func (s *Store) OrderMembers(ctx context.Context, agencyID, orderID int64) ([]*OrderMember, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT om.order_id, om.member_id, m.first_name || ' ' || m.last_name, m.first_name, om.sub_id,
		om.link_enc, om.short_link_enc, COALESCE(i.status, ''), COALESCE(i.outcome, '') FROM order_members om JOIN members m ON m.id = om.member_id
		JOIN orders o ON o.id = om.order_id LEFT JOIN order_items i ON i.order_id = om.order_id AND i.sub_id = om.sub_id
		WHERE o.agency_id = ? AND om.order_id = ? ORDER BY m.position`, agencyID, orderID)
	if err != nil {
		return nil, wrap("OrderMembers", err)
	}
	defer rows.Close()
	var out []*OrderMember
	for rows.Next() {
		var om OrderMember
		var link, short []byte
		var status string
		if err := rows.Scan(&om.OrderID, &om.MemberID, &om.Name, &om.FirstName, &om.SubID, &link, &short, &status, &om.Outcome); err != nil {
			return nil, wrap("OrderMembers", err)
		}
		key := aad("order_members", "link", om.OrderID*1_000_000+om.MemberID)
		var e1, e2 error
		om.Status = OrderStatus(status)
		om.Link, e1 = s.crypt.Open(link, key)
		om.ShortLink, e2 = s.crypt.Open(short, key+":short")
		if err := errors.Join(e1, e2); err != nil {
			return nil, wrap("OrderMembers", err)
		}
		out = append(out, &om)
	}
	return out, rows.Err()
}

// PurgeReports removes the data of an order's reports (the provider's report
// expired: Payscore keeps reports 14 days). The rows stay, marked purged, so
// the page can say the report expired.
func (s *Store) PurgeReports(ctx context.Context, agencyID, orderID int64) error {
	var caseID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "report"}}
	}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&caseID); err != nil {
			return wrap("PurgeReports", formatError(err))
		}
		_, err := tx.ExecContext(ctx, `UPDATE reports SET data_enc = NULL, purged_at = COALESCE(purged_at, ?) WHERE order_id = ?`,
			fmtTime(s.Now()), orderID)
		return wrap("PurgeReports", err)
	}))
	if err == nil {
		s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "report"})
	}
	return wrap("PurgeReports", err)
}

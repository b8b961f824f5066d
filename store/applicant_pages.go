package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"time"
)

// ApplicantPageTTL is how long an applicant page (/v/{token}) works after it
// is made. The caseworker can send a fresh one at any time.
const ApplicantPageTTL = 7 * 24 * time.Hour

// NewApplicantPageToken returns a fresh applicant page token: 256 random
// bits, URL-safe. It is a bearer secret; the store keeps only its SHA-256.
func NewApplicantPageToken() string { return NewSessionToken() }

// ApplicantPage is the portal's public page that opens a provider's widget
// (Truework Direct) for one order.
type ApplicantPage struct {
	AgencyID  int64
	OrderID   int64
	CreatedAt time.Time
	ExpiresAt time.Time
	Revoked   bool // a newer page of the same order replaced it
	FirstOpen bool // this request is the first open (OpenApplicantPage)
}

// Usable reports whether the page may still be shown at now.
func (p *ApplicantPage) Usable(now time.Time) bool {
	return !p.Revoked && now.Before(p.ExpiresAt)
}

// CreateApplicantPage stores a page for an order of the agency. Older pages
// of the order stop working.
func (s *Store) CreateApplicantPage(ctx context.Context, agencyID, orderID int64, token string, expires time.Time) error {
	if token == "" {
		return errors.New("store: applicant page token is empty")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return insertApplicantPage(ctx, tx, agencyID, orderID, token, s.Now(), expires)
	})
}

func insertApplicantPage(ctx context.Context, tx *sql.Tx, agencyID, orderID int64, token string, now, expires time.Time) error {
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&one); err != nil {
		return wrap("insertApplicantPage", formatError(err))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE applicant_pages SET revoked_at = ? WHERE agency_id = ? AND order_id = ? AND revoked_at IS NULL`,
		fmtTime(now), agencyID, orderID); err != nil {
		return wrap("insertApplicantPage", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO applicant_pages (token_hash, agency_id, order_id, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, hashSecret(token), agencyID, orderID, fmtTime(now), fmtTime(expires))
	return wrap("insertApplicantPage", formatError(err))
}

// RenewApplicantPage gives an open order a new applicant page and widget
// session token in one transaction: the older pages stop working, the
// order's link becomes link (the new page's URL), the timeline says detail,
// and live pages hear of it.
func (s *Store) RenewApplicantPage(ctx context.Context, agencyID, orderID int64, token string, expires time.Time,
	link, widgetToken, detail string) error {
	if token == "" || link == "" || widgetToken == "" {
		return errors.New("store: renew applicant page needs a token, a link and a widget token")
	}
	now := s.Now()
	var caseID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"}}
	}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&caseID); err != nil {
			return wrap("RenewApplicantPage", formatError(err))
		}
		if err := insertApplicantPage(ctx, tx, agencyID, orderID, token, now, expires); err != nil {
			return wrap("RenewApplicantPage", err)
		}
		c := s.crypt
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET link_enc = ?, widget_token_enc = ?, updated_at = ?, last_event_at = ?
			WHERE agency_id = ? AND id = ?`, c.Seal(link, aad("orders", "link", orderID)),
			c.Seal(widgetToken, aad("orders", "widget_token", orderID)), fmtTime(now), fmtTime(now), agencyID, orderID); err != nil {
			return wrap("RenewApplicantPage", err)
		}
		return addEvent(ctx, tx, agencyID, orderID, now, SourceCaseworker, "", "", "", detail)
	}))
	if err == nil {
		s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"})
	}
	return wrap("RenewApplicantPage", err)
}

// OpenApplicantPage finds the page of a token (across agencies: the
// applicant has no session; the token is the secret) and records its first
// open on the order's timeline while it is usable. It returns ErrNotFound
// for an unknown token.
func (s *Store) OpenApplicantPage(ctx context.Context, token string) (*ApplicantPage, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	want := hashSecret(token)
	var p ApplicantPage
	var stored, created, expires string
	var revoked, opened sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT token_hash, agency_id, order_id, created_at, expires_at, revoked_at, opened_at
		FROM applicant_pages WHERE token_hash = ?`, want).Scan(&stored, &p.AgencyID, &p.OrderID, &created, &expires, &revoked, &opened)
	if err != nil {
		return nil, wrap("OpenApplicantPage", formatError(err))
	}
	// The lookup is by hash; compare again in constant time for the record.
	if subtle.ConstantTimeCompare([]byte(stored), []byte(want)) != 1 {
		return nil, ErrNotFound
	}
	p.CreatedAt, p.ExpiresAt, p.Revoked = parseTime(created), parseTime(expires), revoked.Valid
	now := s.Now()
	if opened.Valid || !p.Usable(now) {
		return &p, nil
	}
	var caseID int64
	err = s.inTx(ctx, s.announcing(ctx, func() []Change {
		if !p.FirstOpen {
			return nil
		}
		return []Change{{AgencyID: p.AgencyID, CaseID: caseID, OrderID: p.OrderID, Kind: "order"}}
	}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE applicant_pages SET opened_at = ? WHERE token_hash = ? AND opened_at IS NULL`, fmtTime(now), want)
		if err != nil {
			return wrap("OpenApplicantPage", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // another request got there first
		}
		p.FirstOpen = true
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, p.AgencyID, p.OrderID).Scan(&caseID); err != nil {
			return wrap("OpenApplicantPage", formatError(err))
		}
		return addEvent(ctx, tx, p.AgencyID, p.OrderID, now, SourceApplicant, "", "", "", "The applicant opened the verification page.")
	}))
	if err != nil {
		return nil, wrap("OpenApplicantPage", err)
	}
	if p.FirstOpen {
		s.Feed.Publish(Change{AgencyID: p.AgencyID, CaseID: caseID, OrderID: p.OrderID, Kind: "order"})
	}
	return &p, nil
}

// HasUsableApplicantPage reports whether an order of the agency has an
// applicant page that still works.
func (s *Store) HasUsableApplicantPage(ctx context.Context, agencyID, orderID int64) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM applicant_pages WHERE agency_id = ? AND order_id = ?
		AND revoked_at IS NULL AND expires_at > ?`, agencyID, orderID, fmtTime(s.Now())).Scan(&n)
	return n > 0, wrap("HasUsableApplicantPage", err)
}

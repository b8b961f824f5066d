package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Order is one verification request for one member with one provider.
type Order struct {
	ID              int64
	AgencyID        int64
	CaseID          int64
	MemberID        int64
	MemberName      string
	Reference       string // the portal's own id, sent to the provider
	Provider        string
	Products        []string
	Notify          Notify
	ProviderOrderID string
	ProviderUserID  string
	Status          OrderStatus
	Outcome         Outcome
	Detail          string // the latest plain-language detail, PII-free
	Link            string // the applicant's hosted link (a bearer secret: encrypted at rest)
	ShortLink       string
	WidgetToken     string
	LinkExpiresAt   time.Time
	RefreshOf       int64
	CreatedBy       int64
	CreatedAt       time.Time
	UpdatedAt       time.Time
	LastEventAt     time.Time
	CompletedAt     time.Time
	// UnconfirmedAt is when the provider's create got no answer (neither
	// the create nor the adapter's lookup): the provider may have the
	// order. Zero for an order whose create was answered.
	UnconfirmedAt time.Time
}

// LinkExpired says the applicant's link no longer works at now: its expiry
// (the earlier of the provider's and the agency's lifetime, LinkExpiry) has
// passed.
func (o *Order) LinkExpired(now time.Time) bool {
	return !o.LinkExpiresAt.IsZero() && !now.Before(o.LinkExpiresAt)
}

// Checking says the portal does not know yet whether the provider has this
// order: its create got no answer and no lookup has settled it. The
// reconciler asks the provider by the order's reference (its idempotency
// key) until it does; meanwhile the order is shown as "Checking with …" and
// nobody may send the member another order of that provider.
func (o *Order) Checking() bool {
	return !o.UnconfirmedAt.IsZero() && o.ProviderOrderID == "" && o.Status == StatusCreated
}

// NewOrderReference returns a fresh portal order reference, e.g. "CV-7K2M9QX4RT3B".
func NewOrderReference() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "CV-" + strings.TrimRight(base32.StdEncoding.EncodeToString(b), "=")
}

// NewOrder is the input for CreateOrder.
type NewOrder struct {
	CaseID    int64
	MemberID  int64
	Reference string
	Provider  string
	Products  []string
	Notify    Notify
	CreatedBy int64
	RefreshOf int64
}

// CreateOrder records an order before the provider is called, so that a
// crash in between leaves a trace and the reference is reserved. It is not
// shown as sent until AttachProviderOrder; DeleteOrder removes it when the
// provider refuses.
func (s *Store) CreateOrder(ctx context.Context, agencyID int64, in NewOrder) (*Order, error) {
	if !in.Notify.Valid() {
		return nil, errors.New("store: order notify must be agency or provider")
	}
	now := s.Now()
	o := &Order{AgencyID: agencyID, CaseID: in.CaseID, MemberID: in.MemberID, Reference: in.Reference, Provider: in.Provider,
		Products: in.Products, Notify: in.Notify, Status: StatusCreated, RefreshOf: in.RefreshOf, CreatedBy: in.CreatedBy,
		CreatedAt: now, UpdatedAt: now, LastEventAt: now}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM members WHERE agency_id = ? AND case_id = ? AND id = ?`,
			agencyID, in.CaseID, in.MemberID).Scan(&one); err != nil {
			return wrap("CreateOrder", formatError(err))
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO orders (agency_id, case_id, member_id, reference, provider, products, notify,
			status, refresh_of, created_by, created_at, updated_at, last_event_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'created', ?, ?, ?, ?, ?) RETURNING id`,
			agencyID, in.CaseID, in.MemberID, in.Reference, in.Provider, strings.Join(in.Products, ","), in.Notify,
			nullID(in.RefreshOf), nullID(in.CreatedBy), fmtTime(now), fmtTime(now), fmtTime(now)).Scan(&o.ID)
		return wrap("CreateOrder", formatError(err))
	})
	if err != nil {
		return nil, wrap("CreateOrder", err)
	}
	return o, nil
}

// ProviderOrder is what the provider returned for a created order.
type ProviderOrder struct {
	OrderID     string
	UserID      string
	Status      OrderStatus // usually created or sent
	Link        string
	ShortLink   string
	WidgetToken string
	ExpiresAt   time.Time
	// Secret is a per-order webhook secret (AccountChek); only its hash is kept.
	Secret string
}

// AttachProviderOrder stores the provider's ids and the applicant's link on
// an order created with CreateOrder, and writes the first timeline event.
func (s *Store) AttachProviderOrder(ctx context.Context, agencyID, orderID int64, p ProviderOrder, detail string) error {
	_, err := s.attachProviderOrder(ctx, agencyID, orderID, p, detail, false)
	return wrap("AttachProviderOrder", err)
}

// ConfirmOrder attaches what a lookup found to an order whose create got no
// answer (Order.Checking), like AttachProviderOrder, only while nothing is
// attached yet: when the reconciler and a late webhook settle the same
// order at once, the second does nothing. It reports whether it attached.
func (s *Store) ConfirmOrder(ctx context.Context, agencyID, orderID int64, p ProviderOrder, detail string) (bool, error) {
	return s.attachProviderOrder(ctx, agencyID, orderID, p, detail, true)
}

func (s *Store) attachProviderOrder(ctx context.Context, agencyID, orderID int64, p ProviderOrder, detail string, onlyUnattached bool) (bool, error) {
	now := s.Now()
	attached := true
	var caseID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		if !attached {
			return nil
		}
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"}}
	}, func(tx *sql.Tx) error {
		var have sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT case_id, provider_order_id FROM orders WHERE agency_id = ? AND id = ?`,
			agencyID, orderID).Scan(&caseID, &have); err != nil {
			return wrap("AttachProviderOrder", formatError(err))
		}
		if onlyUnattached && have.Valid {
			attached = false
			return nil
		}
		var lifetime int
		var created string
		if err := tx.QueryRowContext(ctx, `SELECT a.link_lifetime_hours, o.created_at FROM orders o JOIN agencies a ON a.id = o.agency_id
			WHERE o.id = ?`, orderID).Scan(&lifetime, &created); err != nil {
			return wrap("attachProviderOrder", err)
		}
		expires := LinkExpiry(p.ExpiresAt, parseTime(created), lifetime)
		status := p.Status
		if !status.Valid() {
			status = StatusCreated
		}
		c := s.crypt
		var secretHash string
		if p.Secret != "" {
			secretHash = hashSecret(p.Secret)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET provider_order_id = ?, provider_user_id = ?, status = ?,
			link_enc = ?, short_link_enc = ?, widget_token_enc = ?, link_expires_at = ?, secret_hash = COALESCE(NULLIF(?, ''), secret_hash), updated_at = ?,
			last_event_at = ? WHERE id = ?`,
			p.OrderID, p.UserID, string(status), c.Seal(p.Link, aad("orders", "link", orderID)),
			c.Seal(p.ShortLink, aad("orders", "short_link", orderID)), c.Seal(p.WidgetToken, aad("orders", "widget_token", orderID)),
			nullTime(expires), secretHash, fmtTime(now), fmtTime(now), orderID); err != nil {
			return wrap("AttachProviderOrder", formatError(err))
		}
		if err := addEvent(ctx, tx, agencyID, orderID, now, SourceSystem, "", "", string(status), detail); err != nil {
			return wrap("AttachProviderOrder", err)
		}
		// Deliveries that came before the order was known wait in the inbox
		// under its partition: they are due now.
		var provider string
		if err := tx.QueryRowContext(ctx, `SELECT provider FROM orders WHERE id = ?`, orderID).Scan(&provider); err != nil {
			return wrap("AttachProviderOrder", err)
		}
		if p.OrderID != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_inbox SET next_attempt_at = ? WHERE processed_at IS NULL
				AND partition_key = ? AND error = 'order not known yet'`, fmtTime(now), provider+":"+p.OrderID); err != nil {
				return wrap("AttachProviderOrder", err)
			}
		}
		return updateRollUp(ctx, tx, agencyID, caseID, now)
	}))
	if err == nil && attached {
		s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"})
	}
	return attached && err == nil, wrap("attachProviderOrder", err)
}

// shownOrder is the condition for an order that belongs on the case page
// and in its roll-up: one the provider accepted, or one whose create got no
// answer (the provider may have it: shown as "Checking with …" and, if the
// provider never got it, as failed).
const shownOrder = `(o.provider_order_id IS NOT NULL OR o.unconfirmed_at IS NOT NULL)`

// MarkUnconfirmed keeps an order whose create got no answer (the provider
// may have committed it: providers.CreateMayHaveLanded) instead of deleting
// it: it records when, writes detail on the timeline, and makes the order
// due for the reconciler's lookup by its reference after firstCheck.
//
// channel is how the caseworker asked the link to go out (sent once the
// order is confirmed); secret is the order's per-order webhook secret, if
// any, so the provider's deliveries to that URL find the order meanwhile.
func (s *Store) MarkUnconfirmed(ctx context.Context, agencyID, orderID int64, channel, secret, detail string, firstCheck time.Duration) error {
	now := s.Now()
	var caseID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"}}
	}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ? AND provider_order_id IS NULL`,
			agencyID, orderID).Scan(&caseID); err != nil {
			return wrap("MarkUnconfirmed", formatError(err))
		}
		var secretHash string
		if secret != "" {
			secretHash = hashSecret(secret)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET unconfirmed_at = ?, unconfirmed_channel = ?, secret_hash = ?, detail = ?,
			next_poll_at = ?, updated_at = ? WHERE id = ?`, fmtTime(now), channel, secretHash, detail, fmtTime(now.Add(firstCheck)),
			fmtTime(now), orderID); err != nil {
			return wrap("MarkUnconfirmed", err)
		}
		if err := addEvent(ctx, tx, agencyID, orderID, now, "system", "", "", "", detail); err != nil {
			return wrap("MarkUnconfirmed", err)
		}
		return updateRollUp(ctx, tx, agencyID, caseID, now)
	}))
	if err == nil {
		s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"})
	}
	return wrap("MarkUnconfirmed", err)
}

// UnconfirmedChannel is the channel a checking order's link waits to go
// out by (MarkUnconfirmed), "" when none.
func (s *Store) UnconfirmedChannel(ctx context.Context, agencyID, orderID int64) (string, error) {
	var ch string
	err := s.read.QueryRowContext(ctx, `SELECT unconfirmed_channel FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&ch)
	return ch, wrap("UnconfirmedChannel", formatError(err))
}

// CheckingOrder returns the member's order of provider whose create got no
// answer and is not settled yet (Order.Checking), or ErrNotFound. A new
// order of that provider waits until it is settled: the first may exist,
// billed, at the provider.
func (s *Store) CheckingOrder(ctx context.Context, agencyID, memberID int64, provider string) (*Order, error) {
	return s.scanOrder(s.read.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE o.agency_id = ? AND o.member_id = ? AND o.provider = ? AND `+checkingOrder+` ORDER BY o.id LIMIT 1`,
		agencyID, memberID, provider))
}

// checkingOrder is the condition of Order.Checking.
const checkingOrder = `o.unconfirmed_at IS NOT NULL AND o.provider_order_id IS NULL AND o.status = 'created'`

// CheckingOrders lists up to limit of provider's orders whose create got no
// answer and is not settled, oldest first. Like OrderByProviderID it takes
// no agency: the webhook path asks, then works through each order's own
// agency.
func (s *Store) CheckingOrders(ctx context.Context, provider string, limit int) ([]*Order, error) {
	return s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE o.provider = ? AND `+checkingOrder+` ORDER BY o.id LIMIT ?`, provider, limit)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// InboxPathForSecret is what the webhook inbox keeps of a per-order webhook
// URL: the secret's hash, never the secret, which would let anyone who reads
// the database post as AccountChek for that order.
func InboxPathForSecret(secret string) string { return "sha256:" + hashSecret(secret) }

// OrderByInboxPath returns the order a stored delivery's path names: the
// hash InboxPathForSecret kept, or (rows stored before it) the secret path.
func (s *Store) OrderByInboxPath(ctx context.Context, provider, path string) (*Order, error) {
	if h, ok := strings.CutPrefix(path, "sha256:"); ok {
		return s.orderBySecretHash(ctx, provider, h)
	}
	return s.OrderBySecret(ctx, provider, strings.TrimPrefix(path, "/"))
}

// OrderBySecret returns the provider's order whose per-order webhook secret
// is secret (compared by SHA-256, then again in constant time), or ErrNotFound.
func (s *Store) OrderBySecret(ctx context.Context, provider, secret string) (*Order, error) {
	if secret == "" {
		return nil, ErrNotFound
	}
	return s.orderBySecretHash(ctx, provider, hashSecret(secret))
}

func (s *Store) orderBySecretHash(ctx context.Context, provider, want string) (*Order, error) {
	if want == "" {
		return nil, ErrNotFound
	}
	o, err := s.scanOrder(s.read.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE o.provider = ? AND o.secret_hash = ?`, provider, want))
	if err != nil {
		return nil, wrap("orderBySecretHash", err)
	}
	// The lookup is by hash; compare again in constant time for the record.
	var stored string
	if err := s.read.QueryRowContext(ctx, `SELECT secret_hash FROM orders WHERE id = ?`, o.ID).Scan(&stored); err != nil {
		return nil, wrap("orderBySecretHash", err)
	}
	if subtle.ConstantTimeCompare([]byte(stored), []byte(want)) != 1 {
		return nil, ErrNotFound
	}
	return o, nil
}

// DeleteOrder removes an order the provider never accepted.
func (s *Store) DeleteOrder(ctx context.Context, agencyID, orderID int64) error {
	_, err := s.execWrite(ctx, `DELETE FROM orders WHERE agency_id = ? AND id = ? AND provider_order_id IS NULL`, agencyID, orderID)
	return wrap("DeleteOrder", err)
}

const orderColumns = `o.id, o.agency_id, o.case_id, o.member_id, m.first_name || ' ' || m.last_name, o.reference, o.provider,
	o.products, o.notify, COALESCE(o.provider_order_id, ''), o.provider_user_id, o.status, o.outcome, o.detail, o.link_enc,
	o.short_link_enc, o.widget_token_enc, o.link_expires_at, COALESCE(o.refresh_of, 0), COALESCE(o.created_by, 0),
	o.created_at, o.updated_at, o.last_event_at, o.completed_at, o.unconfirmed_at`

// scanOrder reads a row of orderColumns; extra receives the columns a
// query selects after them.
func (s *Store) scanOrder(row interface{ Scan(...any) error }, extra ...any) (*Order, error) {
	var o Order
	var products, status, created, updated, lastEvent string
	var link, short, widget []byte
	var expires, completed, unconfirmed sql.NullString
	if err := row.Scan(append([]any{&o.ID, &o.AgencyID, &o.CaseID, &o.MemberID, &o.MemberName, &o.Reference, &o.Provider, &products,
		&o.Notify, &o.ProviderOrderID, &o.ProviderUserID, &status, &o.Outcome, &o.Detail, &link, &short, &widget, &expires,
		&o.RefreshOf, &o.CreatedBy, &created, &updated, &lastEvent, &completed, &unconfirmed}, extra...)...); err != nil {
		return nil, wrap("scanOrder", formatError(err))
	}
	if products != "" {
		o.Products = strings.Split(products, ",")
	}
	o.Status = OrderStatus(status)
	var errs [3]error
	o.Link, errs[0] = s.crypt.Open(link, aad("orders", "link", o.ID))
	o.ShortLink, errs[1] = s.crypt.Open(short, aad("orders", "short_link", o.ID))
	o.WidgetToken, errs[2] = s.crypt.Open(widget, aad("orders", "widget_token", o.ID))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, wrap("scanOrder", err)
	}
	o.LinkExpiresAt = parseNullTime(expires)
	o.CreatedAt, o.UpdatedAt, o.LastEventAt = parseTime(created), parseTime(updated), parseTime(lastEvent)
	o.CompletedAt = parseNullTime(completed)
	o.UnconfirmedAt = parseNullTime(unconfirmed)
	return &o, nil
}

// Order returns one order of an agency.
func (s *Store) Order(ctx context.Context, agencyID, orderID int64) (*Order, error) {
	return s.scanOrder(s.read.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE o.agency_id = ? AND o.id = ?`, agencyID, orderID))
}

// CaseOrders lists a case's orders that the provider accepted, newest first.
func (s *Store) CaseOrders(ctx context.Context, agencyID, caseID int64) ([]*Order, error) {
	return s.queryOrders(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE o.agency_id = ? AND o.case_id = ? AND `+shownOrder+` ORDER BY o.created_at DESC, o.id DESC`, agencyID, caseID)
}

func (s *Store) queryOrders(ctx context.Context, q string, args ...any) ([]*Order, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("queryOrders", err)
	}
	defer rows.Close()
	var out []*Order
	for rows.Next() {
		o, err := s.scanOrder(rows)
		if err != nil {
			return nil, wrap("queryOrders", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// OrderByProviderID finds an order by the provider's id. It is the entry
// point of the webhook path, which knows the provider's id but not the
// agency; everything after it uses the order's own agency.
func (s *Store) OrderByProviderID(ctx context.Context, provider, providerOrderID string) (*Order, error) {
	if providerOrderID == "" {
		return nil, ErrNotFound
	}
	return s.scanOrder(s.read.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
		WHERE o.provider = ? AND o.provider_order_id = ?`, provider, providerOrderID))
}

// StatusUpdate is one provider-neutral change to apply to an order.
type StatusUpdate struct {
	SubID     string
	RawEvent  string
	RawStatus string
	Status    OrderStatus // "" = informational
	Outcome   Outcome
	Detail    string
	At        time.Time // the provider's time, zero if unknown
	Source    Source
	// AboutReport marks a note about the order's report (expiring,
	// expired): it replaces the order's summary even after the order ended.
	AboutReport bool
	// ForwardOnly marks a status read that cannot tell in progress from
	// action required (Payscore's API knows no bank problems): it moves
	// things forward (or back with a reopener) but never sideways.
	ForwardOnly bool
	// Reopen marks the update as one of its provider's documented ways back
	// from a final status (providers.Capabilities.Reopens: a re-open, a
	// "needs update", a refresh that failed). Without it, an update that
	// would move a final order back is late or a duplicate and is ignored.
	Reopen bool
}

// ApplyUpdate applies an update to an order through the status rules
// (Transition, Derive) in one transaction, writes the timeline event and the
// case roll-up, and publishes the change after commit. It returns the order
// and whether its status changed. Late, duplicate or out-of-order updates
// never move an order backwards.
func (s *Store) ApplyUpdate(ctx context.Context, agencyID, orderID int64, u StatusUpdate) (*Order, bool, error) {
	if !u.Source.Valid() {
		return nil, false, fmt.Errorf("store: ApplyUpdate: source %q is not one of the store's values", u.Source)
	}
	now := s.Now()
	at := u.At
	if at.IsZero() {
		at = now // a status read (or an event without a time) is news as of now
	}
	var changed bool
	var caseID int64
	// o is the order as this transaction leaves it: read whole at its start
	// and given the columns it writes, so the caller gets it without
	// another read after the commit (issue 17: the inbox's hot path).
	var o *Order
	// Written with the inbox's other writes (groupTx): most status changes
	// come from webhook deliveries, many at once.
	err := s.groupTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"}}
	}, func(tx *sql.Tx) error {
		changed = false // a transaction run again starts over
		var statusAt sql.NullString
		var err error
		if o, err = s.scanOrder(tx.QueryRowContext(ctx, `SELECT `+orderColumns+`, o.status_at FROM orders o
			JOIN members m ON m.id = o.member_id WHERE o.agency_id = ? AND o.id = ?`, agencyID, orderID), &statusAt); err != nil {
			return wrap("ApplyUpdate", err)
		}
		caseID = o.CaseID
		cur, outcome, lastDetail := string(o.Status), o.Outcome, o.Detail
		reopen := u.Reopen
		candidate := u.Status
		if u.SubID != "" && u.Status != "" {
			itemChanged, err := applyItem(ctx, tx, orderID, u, at, reopen)
			if err != nil {
				return wrap("ApplyUpdate", err)
			}
			if itemChanged {
				items, err := itemStatuses(ctx, tx, orderID)
				if err != nil {
					return wrap("ApplyUpdate", err)
				}
				candidate = Derive(items)
			} else {
				candidate = ""
			}
		}
		last := parseNullTime(statusAt)
		next, ch := Transition(OrderStatus(cur), candidate, reopen)
		timed := !u.At.IsZero() // without the provider's time an update is news as of now
		if ch && !Forward(OrderStatus(cur), next) && (timed && !Newer(at, last, next) || u.ForwardOnly && !reopen) {
			// A sideways move or a way back that happened before the newest
			// event already applied: it lost to that event.
			next, ch = OrderStatus(cur), false
		}
		changed = ch
		stale := timed && at.Before(last) && !changed
		if u.Outcome != "" && !stale && (next.Final() || u.SubID == "") {
			outcome = u.Outcome
		}
		if changed && !next.Final() && reopen {
			outcome = "" // reopened: the old outcome no longer holds
		}
		detail := lastDetail
		// An informational note (e.g. Truuth's Biopass provisioning) after the
		// order ended goes on the timeline but keeps the order's own summary,
		// unless it is about the report (about to expire, expired). A note
		// older than the newest event applied keeps the summary too.
		if u.Detail != "" && !stale && (!(u.Status == "" && OrderStatus(cur).Final()) || u.AboutReport) {
			detail = u.Detail
		}
		// The order's clock advances with every order-level status event
		// (changed or not: a repeat of the current status is still news)
		// and every sub-item change, not with an item's repeat of its own
		// status, which says nothing about the order.
		newAt := last
		if at.After(newAt) && candidate != "" {
			newAt = at
		}
		var completed any
		if changed && next == StatusCompleted {
			completed = fmtTime(now)
			o.CompletedAt = parseTime(fmtTime(now))
		}
		// As stored: the times at their stored precision.
		o.Status, o.Outcome, o.Detail = next, outcome, detail
		o.UpdatedAt, o.LastEventAt = parseTime(fmtTime(now)), parseTime(fmtTime(now))
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = ?, outcome = ?, detail = ?, updated_at = ?, last_event_at = ?,
			completed_at = COALESCE(?, completed_at), status_at = ? WHERE id = ?`, string(next), outcome, detail, fmtTime(now), fmtTime(now),
			completed, nullTime(newAt), orderID); err != nil {
			return wrap("ApplyUpdate", err)
		}
		// The timeline: every webhook and caseworker action; a poll only when
		// it changed something or says something new.
		if u.Source != SourcePoll || changed || (u.Detail != "" && u.Detail != lastDetail) {
			newStatus := ""
			if changed {
				newStatus = string(next)
			}
			if err := addEvent(ctx, tx, agencyID, orderID, at, u.Source, u.RawEvent, u.RawStatus, newStatus, u.Detail); err != nil {
				return wrap("ApplyUpdate", err)
			}
		}
		if changed {
			return updateRollUp(ctx, tx, agencyID, caseID, now)
		}
		return nil
	}))
	if err != nil {
		return nil, false, wrap("ApplyUpdate", err)
	}
	s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"})
	return o, changed, nil
}

// applyItem moves one sub-item through the rules. The item's updated_at is
// the provider's time of the newest event applied to it, advanced by every
// newer event whether or not it changes the status, so that a sideways move
// or a way back older than it loses (Newer).
func applyItem(ctx context.Context, tx *sql.Tx, orderID int64, u StatusUpdate, at time.Time, reopen bool) (bool, error) {
	var cur, updated string
	err := tx.QueryRowContext(ctx, `SELECT status, updated_at FROM order_items WHERE order_id = ? AND sub_id = ?`, orderID, u.SubID).
		Scan(&cur, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO order_items (order_id, sub_id, status, outcome, raw_status, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, orderID, u.SubID, string(u.Status), u.Outcome, u.RawStatus, fmtTime(at))
		return err == nil, wrap("applyItem", err)
	}
	if err != nil {
		return false, wrap("applyItem", err)
	}
	last := parseTime(updated)
	next, changed := Transition(OrderStatus(cur), u.Status, reopen)
	if changed && !Forward(OrderStatus(cur), next) && (!u.At.IsZero() && !Newer(at, last, next) || u.ForwardOnly && !reopen) {
		changed = false // an older sideways move (or way back) arriving late
	}
	if !changed {
		if at.After(last) {
			_, err = tx.ExecContext(ctx, `UPDATE order_items SET updated_at = ? WHERE order_id = ? AND sub_id = ?`,
				fmtTime(at), orderID, u.SubID)
		}
		return false, wrap("applyItem", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE order_items SET status = ?, outcome = CASE WHEN ? != '' THEN ? ELSE outcome END,
		raw_status = ?, updated_at = ? WHERE order_id = ? AND sub_id = ?`,
		string(next), u.Outcome, u.Outcome, u.RawStatus, fmtTime(latest(at, last)), orderID, u.SubID)
	return err == nil, wrap("applyItem", err)
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func itemStatuses(ctx context.Context, tx *sql.Tx, orderID int64) ([]OrderStatus, error) {
	rows, err := tx.QueryContext(ctx, `SELECT status FROM order_items WHERE order_id = ?`, orderID)
	if err != nil {
		return nil, wrap("itemStatuses", err)
	}
	defer rows.Close()
	var out []OrderStatus
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, wrap("itemStatuses", err)
		}
		out = append(out, OrderStatus(s))
	}
	return out, rows.Err()
}

func updateRollUp(ctx context.Context, tx *sql.Tx, agencyID, caseID int64, now time.Time) error {
	// The agency in the subquery too: orders_case (agency_id, case_id)
	// serves it; by case_id alone it read every order of every agency, on
	// every status change (issue 17: most of the inbox's processing time).
	rows, err := tx.QueryContext(ctx, `SELECT status, outcome FROM orders o WHERE agency_id = ? AND case_id = ? AND `+shownOrder+`
		AND id NOT IN (SELECT refresh_of FROM orders WHERE refresh_of IS NOT NULL AND agency_id = ? AND case_id = ?)`,
		agencyID, caseID, agencyID, caseID)
	if err != nil {
		return wrap("updateRollUp", err)
	}
	var sts []OrderState
	for rows.Next() {
		var s, outcome string
		if err := rows.Scan(&s, &outcome); err != nil {
			rows.Close()
			return wrap("updateRollUp", err)
		}
		sts = append(sts, OrderState{Status: OrderStatus(s), Outcome: Outcome(outcome)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap("updateRollUp", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE cases SET status = ?, updated_at = ? WHERE agency_id = ? AND id = ?`,
		string(RollUp(sts)), fmtTime(now), agencyID, caseID)
	return wrap("updateRollUp", err)
}

// Event is one line of an order's timeline.
type Event struct {
	ID        int64
	At        time.Time
	Source    Source
	RawEvent  string
	RawStatus string
	Status    OrderStatus // the status it led to; "" when unchanged
	Detail    string
}

func addEvent(ctx context.Context, tx *sql.Tx, agencyID, orderID int64, at time.Time, source Source, rawEvent, rawStatus, status, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO order_events (agency_id, order_id, at, source, raw_event, raw_status, status, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, agencyID, orderID, fmtTime(at), source, rawEvent, rawStatus, status, detail)
	return wrap("addEvent", err)
}

// AddEvent writes a timeline line without a status change (a caseworker
// action, a delivery, a report fetched) and publishes it.
func (s *Store) AddEvent(ctx context.Context, agencyID, orderID int64, source Source, detail string) error {
	if !source.Valid() {
		return fmt.Errorf("store: AddEvent: source %q is not one of the store's values", source)
	}
	var caseID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "event"}}
	}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&caseID); err != nil {
			return wrap("AddEvent", formatError(err))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET last_event_at = ? WHERE id = ?`, fmtTime(s.Now()), orderID); err != nil {
			return wrap("AddEvent", err)
		}
		return addEvent(ctx, tx, agencyID, orderID, s.Now(), source, "", "", "", detail)
	}))
	if err == nil {
		s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "event"})
	}
	return wrap("AddEvent", err)
}

// Events lists an order's timeline, oldest first.
func (s *Store) Events(ctx context.Context, agencyID, orderID int64) ([]*Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, at, source, raw_event, raw_status, status, detail FROM order_events
		WHERE agency_id = ? AND order_id = ? ORDER BY at, id`, agencyID, orderID)
	if err != nil {
		return nil, wrap("Events", err)
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		var e Event
		var at, status string
		if err := rows.Scan(&e.ID, &at, &e.Source, &e.RawEvent, &e.RawStatus, &status, &e.Detail); err != nil {
			return nil, wrap("Events", err)
		}
		e.At, e.Status = parseTime(at), OrderStatus(status)
		out = append(out, &e)
	}
	return out, rows.Err()
}

// ReplaceLink gives an open order a fresh applicant link (AccountChek's new
// sign-in URL after its link expired), with a timeline line.
func (s *Store) ReplaceLink(ctx context.Context, agencyID, orderID int64, link, detail string) error {
	var caseID int64
	err := s.inTx(ctx, s.announcing(ctx, func() []Change {
		return []Change{{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"}}
	}, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT case_id FROM orders WHERE agency_id = ? AND id = ?`, agencyID, orderID).Scan(&caseID); err != nil {
			return wrap("ReplaceLink", formatError(err))
		}
		now := s.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET link_enc = ?, short_link_enc = NULL, updated_at = ?, last_event_at = ? WHERE id = ?`,
			s.crypt.Seal(link, aad("orders", "link", orderID)), fmtTime(now), fmtTime(now), orderID); err != nil {
			return wrap("ReplaceLink", err)
		}
		return addEvent(ctx, tx, agencyID, orderID, now, SourceCaseworker, "", "", "", detail)
	}))
	if err == nil {
		s.Feed.Publish(Change{AgencyID: agencyID, CaseID: caseID, OrderID: orderID, Kind: "order"})
	}
	return wrap("ReplaceLink", err)
}

// CaseChangedSince reports whether any of a case's orders, deliveries or
// reports changed after t (the live stream uses it on connect).
func (s *Store) CaseChangedSince(ctx context.Context, agencyID, caseID int64, t time.Time) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM orders o WHERE o.agency_id = ? AND o.case_id = ? AND (o.updated_at > ?
		OR o.last_event_at > ? OR EXISTS (SELECT 1 FROM reports r WHERE r.order_id = o.id AND r.fetched_at > ?))`,
		agencyID, caseID, fmtTime(t), fmtTime(t), fmtTime(t)).Scan(&n)
	return n > 0, wrap("CaseChangedSince", err)
}

// ItemStatuses returns an order's sub-items and their statuses, by the
// provider's sub-item id (tests, diagnostics).
func (s *Store) ItemStatuses(ctx context.Context, agencyID, orderID int64) (map[string]OrderStatus, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT i.sub_id, i.status FROM order_items i JOIN orders o ON o.id = i.order_id
		WHERE o.agency_id = ? AND i.order_id = ?`, agencyID, orderID)
	if err != nil {
		return nil, wrap("ItemStatuses", err)
	}
	defer rows.Close()
	out := map[string]OrderStatus{}
	for rows.Next() {
		var sub, st string
		if err := rows.Scan(&sub, &st); err != nil {
			return nil, wrap("ItemStatuses", err)
		}
		out[sub] = OrderStatus(st)
	}
	return out, rows.Err()
}

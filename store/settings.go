package store

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// AgencySettings are an agency's choices for reaching applicants and for the
// contact-center screen.
type AgencySettings struct {
	ReminderFirstHours int    // hours after the first sending
	ReminderEveryHours int    // hours between reminders
	ReminderCount      int    // reminders at most (0 = none)
	ReminderChannel    string // "same" (as the first sending), "email" or "sms"
	DefaultProvider    string
	DefaultProducts    []string
	DefaultProgram     string
	// LinkLifetimeHours is how long the agency's verification links stay
	// valid, from when the order was created: 0 means as long as the
	// provider keeps them. A link never outlives the provider's own
	// (LinkExpiry).
	LinkLifetimeHours int
}

// MaxLinkLifetimeHours bounds the agency's link lifetime (30 days).
const MaxLinkLifetimeHours = 30 * 24

// LinkExpiry is when a link created at created stops working for the
// applicant: the earlier of the provider's own expiry (zero: none known)
// and the agency's lifetime (0 hours: none). The one rule for it; the
// order's link_expires_at holds its result.
func LinkExpiry(provider, created time.Time, lifetimeHours int) time.Time {
	if lifetimeHours <= 0 {
		return provider
	}
	agency := created.Add(time.Duration(lifetimeHours) * time.Hour)
	if provider.IsZero() || agency.Before(provider) {
		return agency
	}
	return provider
}

// Settings returns an agency's settings.
func (s *Store) Settings(ctx context.Context, agencyID int64) (AgencySettings, error) {
	var a AgencySettings
	var products string
	err := s.read.QueryRowContext(ctx, `SELECT reminder_first_hours, reminder_every_hours, reminder_count, reminder_channel,
		default_provider, default_products, default_program, link_lifetime_hours FROM agencies WHERE id = ?`, agencyID).
		Scan(&a.ReminderFirstHours, &a.ReminderEveryHours, &a.ReminderCount, &a.ReminderChannel, &a.DefaultProvider,
			&products, &a.DefaultProgram, &a.LinkLifetimeHours)
	if err != nil {
		return a, wrap("Settings", formatError(err))
	}
	if products != "" {
		a.DefaultProducts = strings.Split(products, ",")
	}
	return a, nil
}

// UpdateSettings validates and saves an agency's settings.
func (s *Store) UpdateSettings(ctx context.Context, agencyID int64, a AgencySettings) error {
	p := ValidationError{}
	if a.ReminderFirstHours < 1 || a.ReminderFirstHours > 24*14 {
		p["reminder_first_hours"] = "Use a number of hours from 1 to 336 (two weeks)."
	}
	if a.ReminderEveryHours < 1 || a.ReminderEveryHours > 24*14 {
		p["reminder_every_hours"] = "Use a number of hours from 1 to 336 (two weeks)."
	}
	if a.ReminderCount < 0 || a.ReminderCount > 10 {
		p["reminder_count"] = "Use a number of reminders from 0 to 10."
	}
	if a.ReminderChannel != "same" && a.ReminderChannel != "email" && a.ReminderChannel != "sms" {
		p["reminder_channel"] = "Choose how reminders go out."
	}
	if !isOption(Programs, a.DefaultProgram) {
		p["default_program"] = "Choose a program."
	}
	if len(a.DefaultProducts) == 0 {
		p["default_products"] = "Choose at least one product."
	}
	if a.LinkLifetimeHours < 0 || a.LinkLifetimeHours > MaxLinkLifetimeHours {
		p["link_lifetime_days"] = "Use a number of days from 0 to 30 (0: as long as the provider keeps the link)."
	}
	if len(p) > 0 {
		return p
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE agencies SET reminder_first_hours = ?, reminder_every_hours = ?, reminder_count = ?,
			reminder_channel = ?, default_provider = ?, default_products = ?, default_program = ?, link_lifetime_hours = ? WHERE id = ?`,
			a.ReminderFirstHours, a.ReminderEveryHours, a.ReminderCount, a.ReminderChannel, a.DefaultProvider,
			strings.Join(a.DefaultProducts, ","), a.DefaultProgram, a.LinkLifetimeHours, agencyID)
		if err != nil {
			return wrap("UpdateSettings", err)
		}
		return wrap("UpdateSettings", boundOpenLinks(ctx, tx, agencyID, a.LinkLifetimeHours))
	})
}

// boundOpenLinks applies a new link lifetime to the agency's open orders:
// a link already sent ends no later than its creation plus the lifetime.
// A longer lifetime (or none) does not lengthen a link already bounded:
// the provider's own expiry is not kept apart.
func boundOpenLinks(ctx context.Context, tx *sql.Tx, agencyID int64, lifetimeHours int) error {
	if lifetimeHours <= 0 {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, created_at, link_expires_at FROM orders WHERE agency_id = ?
		AND provider_order_id IS NOT NULL AND status NOT IN ('completed', 'canceled', 'expired', 'failed')`, agencyID)
	if err != nil {
		return wrap("boundOpenLinks", err)
	}
	type bound struct {
		id  int64
		exp time.Time
	}
	var out []bound
	for rows.Next() {
		var id int64
		var created string
		var current sql.NullString
		if err := rows.Scan(&id, &created, &current); err != nil {
			rows.Close()
			return wrap("boundOpenLinks", err)
		}
		cur := parseNullTime(current)
		if exp := LinkExpiry(cur, parseTime(created), lifetimeHours); !exp.Equal(cur) {
			out = append(out, bound{id, exp})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrap("boundOpenLinks", err)
	}
	for _, b := range out {
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET link_expires_at = ? WHERE id = ?`, nullTime(b.exp), b.id); err != nil {
			return wrap("boundOpenLinks", err)
		}
	}
	return nil
}

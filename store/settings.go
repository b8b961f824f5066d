package store

import (
	"context"
	"database/sql"
	"strings"
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
}

// Settings returns an agency's settings.
func (s *Store) Settings(ctx context.Context, agencyID int64) (AgencySettings, error) {
	var a AgencySettings
	var products string
	err := s.read.QueryRowContext(ctx, `SELECT reminder_first_hours, reminder_every_hours, reminder_count, reminder_channel,
		default_provider, default_products, default_program FROM agencies WHERE id = ?`, agencyID).
		Scan(&a.ReminderFirstHours, &a.ReminderEveryHours, &a.ReminderCount, &a.ReminderChannel, &a.DefaultProvider,
			&products, &a.DefaultProgram)
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
	if len(p) > 0 {
		return p
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE agencies SET reminder_first_hours = ?, reminder_every_hours = ?, reminder_count = ?,
			reminder_channel = ?, default_provider = ?, default_products = ?, default_program = ? WHERE id = ?`,
			a.ReminderFirstHours, a.ReminderEveryHours, a.ReminderCount, a.ReminderChannel, a.DefaultProvider,
			strings.Join(a.DefaultProducts, ","), a.DefaultProgram, agencyID)
		return wrap("UpdateSettings", err)
	})
}

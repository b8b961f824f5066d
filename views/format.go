package views

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"caseverify/store"
)

// Formatting for people: dates, times, phone numbers, masks. One place, so
// every page says the same thing the same way.

// Date formats YYYY-MM-DD as "Mar 31, 2027"; "" stays "".
func Date(ymd string) string {
	t, err := time.Parse("2006-01-02", ymd)
	if err != nil {
		return ymd
	}
	return t.Format("Jan 2, 2006")
}

// When formats a time as "Mar 31, 2027, 2:04 PM" in the agency's zone
// (Chrome.Zone; the server stores UTC).
func When(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(zone(ctx)).Format("Jan 2, 2006, 3:04 PM")
}

// Clock formats a time as "2:04 PM" in the agency's zone.
func Clock(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(zone(ctx)).Format("3:04 PM")
}

func zone(ctx context.Context) *time.Location {
	if z := ChromeFrom(ctx).Zone; z != nil {
		return z
	}
	return time.Local
}

// ISO formats a time for a <time datetime> attribute.
func ISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Phone formats +15552010123 as (555) 201-0123; other E.164 numbers stay.
func Phone(e164 string) string {
	if len(e164) == 12 && strings.HasPrefix(e164, "+1") {
		d := e164[2:]
		return fmt.Sprintf("(%s) %s-%s", d[:3], d[3:6], d[6:])
	}
	return e164
}

// Initial returns "J." for "Jane".
func Initial(name string) string {
	r, _ := utf8.DecodeRuneInString(name)
	if r == utf8.RuneError {
		return ""
	}
	return string(r) + "."
}

// ProgramLabel, RelationshipLabel and LanguageLabel name a stored value.
func ProgramLabel(v string) string      { return store.Label(store.Programs, v) }
func RelationshipLabel(v string) string { return store.Label(store.Relationships, v) }
func LanguageLabel(v string) string     { return store.Label(store.Languages, v) }

// CaseStatusLabel names a case roll-up status.
func CaseStatusLabel(s store.CaseStatus) string { return store.Label(store.CaseStatuses, string(s)) }

// RoleLabel names a role.
func RoleLabel(r store.Role) string {
	switch r {
	case store.RoleAdmin:
		return "Administrator"
	case store.RoleSupervisor:
		return "Supervisor"
	case store.RoleAgent:
		return "Contact-center agent"
	default:
		return "Caseworker"
	}
}

// Plural returns "1 member" / "3 members".
func Plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// itoa formats an id for URLs and attributes.
func itoa(n int64) string { return fmt.Sprint(n) }

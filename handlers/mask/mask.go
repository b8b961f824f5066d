// Package mask is the one place that decides how much of an applicant's
// contact and identity details a screen, a flash message or a stored
// delivery row may show when the details are not revealed. The handlers'
// view models (handlers/viewmodel.go) and the workflows (handlers/verify,
// which stores each message's masked recipient) both use it; the views never
// see the stored values.
package mask

import (
	"strings"
	"unicode/utf8"
)

// Email shows the first letter and the domain: j•••@example.org.
func Email(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 1 {
		return all(email)
	}
	r, _ := utf8.DecodeRuneInString(email)
	return string(r) + "•••" + email[at:]
}

// Phone shows the last two digits: (•••) •••-••23.
func Phone(e164 string) string {
	if len(e164) < 4 {
		return all(e164)
	}
	return "(•••) •••-••" + e164[len(e164)-2:]
}

// Date hides a date of birth entirely but says one is on file.
func Date(ymd string) string {
	if ymd == "" {
		return ""
	}
	return "••/••/••••"
}

// SSN4 hides the last four of the SSN but says they are on file.
func SSN4(last4 string) string {
	if last4 == "" {
		return ""
	}
	return "•••-••-••••"
}

func all(s string) string {
	if s == "" {
		return ""
	}
	return "•••"
}

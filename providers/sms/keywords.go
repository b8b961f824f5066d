package sms

import (
	"strings"
	"unicode"
)

// IsOptOut reports whether an inbound reply body is an opt-out keyword.
//
// Twilio's default opt-out keywords are STOP, STOPALL, UNSUBSCRIBE, CANCEL,
// END and QUIT, plus OPTOUT, REVOKE and STOP ALL; Twilio blocks further
// messages to that number itself (error 21610). We add the Spanish ALTO and
// PARAR because the portal writes to applicants in Spanish. Twilio does NOT
// act on those two by default, so the portal must record the opt-out and
// stop sending on its own when IsOptOut matches them.
//
// Matching is case-insensitive on the whole body after normalizing: leading
// and trailing spaces and punctuation are dropped and inner runs of spaces
// become one ("  Stop. " and "stop  all" match; "please stop" does not).
// That is a little broader than Twilio's exact match, on purpose: honouring
// an opt-out the carrier did not catch is the safe mistake.
func IsOptOut(body string) bool {
	switch normalizeKeyword(body) {
	case "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE",
		"ALTO", "PARAR":
		return true
	}
	return false
}

// IsOptIn reports whether an inbound reply body is one of Twilio's default
// opt-in keywords (START, YES, UNSTOP), matched like IsOptOut. After an
// opt-in Twilio delivers to the number again.
func IsOptIn(body string) bool {
	switch normalizeKeyword(body) {
	case "START", "YES", "UNSTOP":
		return true
	}
	return false
}

// normalizeKeyword upper-cases body, trims spaces and punctuation at both
// ends and collapses inner whitespace to single spaces.
func normalizeKeyword(body string) string {
	trimmed := strings.TrimFunc(body, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r)
	})
	return strings.ToUpper(strings.Join(strings.Fields(trimmed), " "))
}

package providers

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redacted stands where Redact removed something.
const Redacted = "[redacted]"

// maxMessage caps a provider-supplied message the portal shows or logs.
const maxMessage = 200

var (
	reEmail = regexp.MustCompile(`[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+`)
	// A number as people write one: digits with the separators of phone
	// numbers, SSNs and dates between them ("+1 (555) 010-2030",
	// "123-45-6789", "1990/01/31", "6789").
	reNumber = regexp.MustCompile(`\+?\d(?:[\d\s().\-/]*\d)?`)
)

// Redact makes a message from a provider safe to show to staff and to log.
// A provider may echo a value from the request in its error text, so
// whatever could be personal data is replaced by [redacted]: email
// addresses; every number with 4 or more digits, separators included
// (SSNs and their last 4, phone numbers, dates of birth, account numbers);
// and the names given (the applicant's, as whole words, in any case).
// Control characters are dropped and the length is capped. Every adapter's
// provider messages go through it (issue 16: it was written 5 ways, and one
// let an SSN's last 4 through).
func Redact(msg string, names ...string) string {
	s := redact(msg, names)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxMessage {
		s = string([]rune(s)[:maxMessage]) + "..."
	}
	return s
}

// EchoesPII says msg holds something Redact would remove: a caller that
// would rather drop such a message than show it redacted asks this.
func EchoesPII(msg string, names ...string) bool { return redact(msg, names) != msg }

func redact(s string, names []string) string {
	s = reEmail.ReplaceAllString(s, Redacted)
	s = reNumber.ReplaceAllStringFunc(s, func(n string) string {
		digits := 0
		for _, r := range n {
			if '0' <= r && r <= '9' {
				digits++
			}
		}
		if digits < 4 {
			return n
		}
		return Redacted
	})
	for _, name := range names {
		s = redactWord(s, strings.TrimSpace(name))
	}
	return s
}

// redactWord replaces every whole-word, case-insensitive occurrence of
// name in s.
func redactWord(s, name string) string {
	if utf8.RuneCountInString(name) < 2 {
		return s
	}
	re, err := regexp.Compile(`(?i)(^|[^\p{L}\p{N}])` + regexp.QuoteMeta(name) + `($|[^\p{L}\p{N}])`)
	if err != nil {
		return s
	}
	// Matches share their boundary characters, so repeat until stable.
	for {
		next := re.ReplaceAllString(s, "${1}"+Redacted+"${2}")
		if next == s {
			return s
		}
		s = next
	}
}

package providers

import (
	"strings"
	"testing"
)

// TestRedact: what a provider's message may echo from the request never
// reaches a page or a log (issue 16). The old Payscore rule (7+ digits)
// let an SSN's last 4 and a short phone number through.
func TestRedact(t *testing.T) {
	for _, tt := range []struct {
		name  string
		in    string
		names []string
		want  string
	}{
		{"plain text stays", "The email address is not valid.", nil, "The email address is not valid."},
		{"short numbers stay", "Field 2 of 3 failed (HTTP 400).", nil, "Field 2 of 3 failed (HTTP 400)."},
		{"email", "ana.lopez+x@example.org is not allowed", nil, "[redacted] is not allowed"},
		{"SSN last 4", "last4SSN 6789 does not match", nil, "last4SSN [redacted] does not match"},
		{"SSN last 4 glued", "ssn_last4=6789", nil, "ssn_last4=[redacted]"},
		{"full SSN", "SSN 123-45-6789 is frozen", nil, "SSN [redacted] is frozen"},
		{"SSN with spaces", "SSN 123 45 6789", nil, "SSN [redacted]"},
		{"SSN digits only", "social_security_number: 123456789", nil, "social_security_number: [redacted]"},
		{"phone", "phone +1 (555) 010-2030 invalid", nil, "phone [redacted] invalid"},
		{"short phone", "call 555-0123", nil, "call [redacted]"},
		{"date of birth", "dob 1990-01-31 and 01/31/1990", nil, "dob [redacted] and [redacted]"},
		{"account number", "account 000123456789", nil, "account [redacted]"},
		{"name given", "Applicant Ana LOPEZ not found; ana again", []string{"Ana", "Lopez"}, "Applicant [redacted] [redacted] not found; [redacted] again"},
		{"name inside a word stays", "Banana", []string{"Ana"}, "Banana"},
		{"one-letter names ignored", "a b c", []string{"a", " "}, "a b c"},
		{"control characters", "bad\x00value\r\nhere", nil, "bad value here"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in, tt.names...); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := EchoesPII(tt.in, tt.names...); got != strings.Contains(tt.want, Redacted) {
				t.Errorf("EchoesPII(%q) = %v", tt.in, got)
			}
		})
	}
	long := strings.Repeat("word ", 100)
	if got := Redact(long); len([]rune(got)) != maxMessage+3 || !strings.HasSuffix(got, "...") {
		t.Errorf("a long message is not capped: %d runes", len([]rune(got)))
	}
}

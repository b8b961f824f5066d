package mask_test

import (
	"testing"

	"caseverify/handlers/mask"
)

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"email", mask.Email("jane.doe@example.org"), "j•••@example.org"},
		{"email, no local part", mask.Email("@example.org"), "•••"},
		{"email, none", mask.Email(""), ""},
		{"phone", mask.Phone("+15552010123"), "(•••) •••-••23"},
		{"phone, too short to show digits", mask.Phone("+12"), "•••"},
		{"date", mask.Date("1990-02-03"), "••/••/••••"},
		{"date, none", mask.Date(""), ""},
		{"ssn4", mask.SSN4("5566"), "•••-••-••••"},
		{"ssn4, none", mask.SSN4(""), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

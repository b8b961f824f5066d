package handlers

import "testing"

// safeNext accepts a plain path on this site and nothing else.
func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/cases", "/cases"},
		{"/cases/12?status=pending", "/cases/12?status=pending"},
		{"/cases/12#notes", "/cases/12#notes"},
		{"/renewals/runs/3/progress", "/renewals/runs/3/progress"},
		{"/", "/"},
		{"", ""},
		{"cases", ""},
		{"//evil.example", ""},
		{"///evil.example", ""},
		{"/\\evil.example", ""},
		{"\\\\evil.example", ""},
		{"/\t/evil.example", ""},  // Chromium drops the tab: //evil.example
		{"/%09/evil.example", ""}, // the same, still encoded
		{"/\n/evil.example", ""},
		{"/\r\n/evil.example", ""},
		{"/%0a/evil.example", ""},
		{"/%0D%0A/evil.example", ""},
		{"/%2F/evil.example", ""},
		{"/%2f%2fevil.example", ""},
		{"/%5Cevil.example", ""},
		{"/%5c%5cevil.example", ""},
		{"/ /evil.example", ""},
		{"/\x00/evil.example", ""},
		{"/\x7f/x", ""},
		{"/caf\u00e9", ""},
		{"/\u2215evil.example", ""}, // division slash
		{"https://evil.example", ""},
		{"http:/evil.example", ""},
		{"javascript:alert(1)", ""},
		{"/javascript:alert(1)", "/javascript:alert(1)"}, // a path on this site, harmless
		{"data:text/html,x", ""},
		{" /cases", ""},
		{"/%", ""},
		{"/%zz", ""},
		{"/%252F%252Fevil.example", "/%252F%252Fevil.example"}, // decodes once to /%2F%2F…: still a path here
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

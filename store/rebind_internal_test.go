package store

import "testing"

// The store writes "?" once for both engines; on PostgreSQL each becomes
// $1, $2, … in order, and a "?" inside a string literal, a quoted
// identifier or a comment stays as it is (issue 18).
func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`},
		{`SELECT '?' || ? FROM "we?rd" WHERE x = ?`, `SELECT '?' || $1 FROM "we?rd" WHERE x = $2`},
		{"SELECT ? -- why?\nFROM t WHERE y = ?", "SELECT $1 -- why?\nFROM t WHERE y = $2"},
		{`UPDATE t SET a = 'it''s' WHERE b = ?`, `UPDATE t SET a = 'it''s' WHERE b = $1`},
		{`SELECT x - 1 FROM t WHERE y = ?`, `SELECT x - 1 FROM t WHERE y = $1`},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := rebind(tc.in); got != tc.want { // cached
			t.Errorf("rebind(%q) again = %q", tc.in, got)
		}
	}
}

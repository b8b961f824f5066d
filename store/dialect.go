package store

// dialect holds the few statements that differ between SQLite and
// PostgreSQL (issue 18); everything else is written once, in SQL both
// accept, with "?" placeholders (rebound for PostgreSQL in postgres.go).
type dialect struct{ pg bool }

// nocase is expr compared and ordered without regard to ASCII case:
// SQLite's NOCASE collation (its indexes use it); lower() on PostgreSQL,
// where the expression indexes use lower().
func (d dialect) nocase(expr string) string {
	if d.pg {
		return "lower(" + expr + ")"
	}
	return expr + " COLLATE NOCASE"
}

// jsonInts is a subquery yielding the integers of one JSON array parameter.
func (d dialect) jsonInts() string {
	if d.pg {
		return "SELECT value::bigint FROM json_array_elements_text(?::json) AS j(value)"
	}
	return "SELECT value FROM json_each(?)"
}

// jsonTexts is a subquery yielding the strings of one JSON array parameter.
func (d dialect) jsonTexts() string {
	if d.pg {
		return "SELECT value FROM json_array_elements_text(?::json) AS j(value)"
	}
	return "SELECT value FROM json_each(?)"
}

// rowid names a table's physical row for tables without an id column:
// insertion order on SQLite; ctid on PostgreSQL (insertion order for rows
// never updated, which is how the store uses it).
func (d dialect) rowid() string {
	if d.pg {
		return "ctid"
	}
	return "rowid"
}

// skipLocked ends a claim's SELECT (run by claimTx): on PostgreSQL
// another replica's claim in progress holds the row and this one takes the
// next (FOR UPDATE SKIP LOCKED), locking only the rows of the claimed
// table (of, its name or alias in the FROM); SQLite has one writer at a
// time, so nothing is ever locked.
func (d dialect) skipLocked(of string) string {
	if d.pg {
		return " FOR UPDATE OF " + of + " SKIP LOCKED"
	}
	return ""
}

// greatest is the larger of two values (SQLite's two-argument max).
func (d dialect) greatest(a, b string) string {
	if d.pg {
		return "GREATEST(" + a + ", " + b + ")"
	}
	return "max(" + a + ", " + b + ")"
}

// zeroblob is a blob of n zero bytes, n a parameter (the health probe).
func (d dialect) zeroblob() string {
	if d.pg {
		return "decode(repeat('00', ?::int), 'hex')"
	}
	return "zeroblob(?)"
}

// nocaseCmp compares column col with one parameter without regard to
// ASCII case (op is =, <, >= …), so that SQLite's NOCASE index and
// PostgreSQL's lower() index serve it.
func (d dialect) nocaseCmp(col, op string) string {
	if d.pg {
		return "lower(" + col + ") " + op + " lower(?)"
	}
	return col + " " + op + " ? COLLATE NOCASE"
}

// crossJoin joins keeping the left side first: SQLite's CROSS JOIN is its
// planner's order hint (a search starts from its few hits); PostgreSQL's
// planner needs none, and its CROSS JOIN takes no ON.
func (d dialect) crossJoin() string {
	if d.pg {
		return "JOIN"
	}
	return "CROSS JOIN"
}

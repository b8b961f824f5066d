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

// inHits keeps the rows whose expr is among sub's (many) results while a
// list is walked in its index's order, so a page stops after a few rows.
// SQLite evaluates "IN (sub)" once into a lookup table, which is that.
// PostgreSQL turns a top-level IN into a join and, for a common last name
// (10,000 hits among 30,000 cases), chose to hash-join and sort every hit
// (50-190 ms on the bench); as an expression it stays a hashed subplan,
// built once, probed per row of the ordered index walk (about 3 ms).
func (d dialect) inHits(expr, sub string) string {
	if d.pg {
		return "(" + expr + " IN (" + sub + ")) IS TRUE"
	}
	return expr + " IN (" + sub + ")"
}

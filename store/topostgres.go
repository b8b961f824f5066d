package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// TableCount is one table's rows as copied by CopyToPostgres.
type TableCount struct {
	Table string
	Rows  int64
}

// CopyToPostgres moves a deployment from SQLite to PostgreSQL (the
// `caseverify migrate-to-postgres` command, issue 18). Both databases are
// first migrated to this version's schema (Open), then every table is
// copied from the SQLite file at from into the empty PostgreSQL database at
// to, in foreign-key order and in ONE transaction: a failure leaves the
// target as empty as it was. Values are copied as stored, so encrypted
// personal data stays encrypted under the same DATA_KEY (opts.DataKey) and
// is never decrypted here. Identity sequences restart after the highest
// copied id, and each table's row count is checked against the source
// before the commit. A target that already holds data is refused.
//
// The portal must be stopped while it runs (the source is read in one
// read transaction, so what is copied is one consistent snapshot).
func CopyToPostgres(ctx context.Context, from, to string, opts Options) ([]TableCount, error) {
	if IsPostgres(from) {
		return nil, errors.New("migrate-to-postgres: the source must be a SQLite file")
	}
	if !IsPostgres(to) {
		return nil, errors.New("migrate-to-postgres: the target must be a postgres:// URL")
	}
	// Both at this version's schema, as the portal would leave them at start.
	for _, u := range []string{from, to} {
		s, err := Open(ctx, u, opts)
		if err != nil {
			return nil, err
		}
		if err := s.Close(); err != nil {
			return nil, err
		}
	}
	src, err := sql.Open("sqlite3", "file:"+strings.TrimPrefix(from, "file:")+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return nil, fmt.Errorf("migrate-to-postgres: open source: %w", err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("migrate-to-postgres: read source: %w", err)
	}
	defer stx.Rollback()

	cfg, err := pgx.ParseConfig(to)
	if err != nil {
		return nil, errors.New("migrate-to-postgres: DATABASE_URL is not a valid PostgreSQL URL")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("migrate-to-postgres: connect: %w", pgSafe(err))
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate-to-postgres: %w", pgSafe(err))
	}
	defer tx.Rollback(context.Background())

	order, err := sqliteTablesInFKOrder(ctx, stx)
	if err != nil {
		return nil, err
	}
	pgCols, err := pgColumns(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := sameTables(order, pgCols); err != nil {
		return nil, err
	}
	if err := refuseNonEmpty(ctx, tx, order); err != nil {
		return nil, err
	}
	// The migration's own seed row is replaced by the source's.
	if _, err := tx.Exec(ctx, `DELETE FROM health_probe`); err != nil {
		return nil, fmt.Errorf("migrate-to-postgres: %w", pgSafe(err))
	}
	var counts []TableCount
	for _, t := range order {
		n, err := copyTable(ctx, stx, tx, t, pgCols[t])
		if err != nil {
			return nil, err
		}
		counts = append(counts, TableCount{Table: t, Rows: n})
	}
	if err := resetIdentities(ctx, tx); err != nil {
		return nil, err
	}
	for _, c := range counts {
		var srcN, dstN int64
		if err := stx.QueryRowContext(ctx, `SELECT count(*) FROM "`+c.Table+`"`).Scan(&srcN); err != nil {
			return nil, fmt.Errorf("migrate-to-postgres: count %s: %w", c.Table, err)
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM "`+c.Table+`"`).Scan(&dstN); err != nil {
			return nil, fmt.Errorf("migrate-to-postgres: count %s: %w", c.Table, pgSafe(err))
		}
		if srcN != dstN || srcN != c.Rows {
			return nil, fmt.Errorf("migrate-to-postgres: %s has %d rows in SQLite but %d in PostgreSQL (%d copied); nothing was committed", c.Table, srcN, dstN, c.Rows)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("migrate-to-postgres: commit: %w", pgSafe(err))
	}
	// Freshly copied tables have no planner statistics until autovacuum
	// gets to them, and PostgreSQL plans the first queries on guesses: what
	// PostgreSQL's manual advises after a bulk load. VACUUM too: until it
	// marks the pages all-visible no index-only scan can skip the rows, and
	// the list's and search's lookups are index-only (measured on the
	// bench's 30,000 cases: a deep list page read every row before it).
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return counts, fmt.Errorf("migrate-to-postgres: the data is copied, but VACUUM ANALYZE failed (run it by hand): %w", pgSafe(err))
	}
	return counts, nil
}

// ignoredTable is bookkeeping each engine keeps for itself.
func ignoredTable(t string) bool { return t == "goose_db_version" || strings.HasPrefix(t, "sqlite_") }

// sqliteTablesInFKOrder lists the source's tables, each after the tables
// its foreign keys reference.
func sqliteTablesInFKOrder(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("migrate-to-postgres: list tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		if !ignoredTable(t) {
			tables = append(tables, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	deps := map[string][]string{}
	for _, t := range tables {
		rs, err := tx.QueryContext(ctx, `SELECT "table" FROM pragma_foreign_key_list(?)`, t)
		if err != nil {
			return nil, fmt.Errorf("migrate-to-postgres: foreign keys of %s: %w", t, err)
		}
		for rs.Next() {
			var ref string
			if err := rs.Scan(&ref); err != nil {
				rs.Close()
				return nil, err
			}
			if ref != t {
				deps[t] = append(deps[t], ref)
			}
		}
		rs.Close()
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("migrate-to-postgres: foreign keys form a cycle through %s", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, d := range deps[t] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[t] = 2
		order = append(order, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// pgColumn is a target column: its name and PostgreSQL type.
type pgColumn struct{ name, typ string }

func pgColumns(ctx context.Context, tx pgx.Tx) (map[string][]pgColumn, error) {
	rows, err := tx.Query(ctx, `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("migrate-to-postgres: list columns: %w", pgSafe(err))
	}
	defer rows.Close()
	out := map[string][]pgColumn{}
	for rows.Next() {
		var t, c, typ string
		if err := rows.Scan(&t, &c, &typ); err != nil {
			return nil, err
		}
		if !ignoredTable(t) {
			out[t] = append(out[t], pgColumn{c, typ})
		}
	}
	return out, rows.Err()
}

// sameTables refuses schemas that differ in their tables: this version's
// migrations made both, so a difference is a bug to report, not to guess at.
func sameTables(sqlite []string, pg map[string][]pgColumn) error {
	var onlySQLite, onlyPG []string
	for _, t := range sqlite {
		if _, ok := pg[t]; !ok {
			onlySQLite = append(onlySQLite, t)
		}
	}
	for t := range pg {
		if !slices.Contains(sqlite, t) {
			onlyPG = append(onlyPG, t)
		}
	}
	if len(onlySQLite)+len(onlyPG) > 0 {
		sort.Strings(onlyPG)
		return fmt.Errorf("migrate-to-postgres: the schemas differ: tables only in SQLite %v, only in PostgreSQL %v", onlySQLite, onlyPG)
	}
	return nil
}

// refuseNonEmpty: the target must hold nothing but what its migrations
// seed (health_probe's row).
func refuseNonEmpty(ctx context.Context, tx pgx.Tx, tables []string) error {
	for _, t := range tables {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM "`+t+`"`).Scan(&n); err != nil {
			return fmt.Errorf("migrate-to-postgres: count %s: %w", t, pgSafe(err))
		}
		if n > 0 && (t != "health_probe" || n > 1) {
			return fmt.Errorf("migrate-to-postgres: the PostgreSQL database is not empty (%s has %d rows); give it an empty database", t, n)
		}
	}
	return nil
}

// copyTable streams one table's rows into PostgreSQL with COPY, each value
// as stored, converted only in representation to the column's type.
func copyTable(ctx context.Context, src *sql.Tx, dst pgx.Tx, table string, cols []pgColumn) (int64, error) {
	srcCols := map[string]bool{}
	rs, err := src.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return 0, fmt.Errorf("migrate-to-postgres: columns of %s: %w", table, err)
	}
	for rs.Next() {
		var c string
		if err := rs.Scan(&c); err != nil {
			rs.Close()
			return 0, err
		}
		srcCols[c] = true
	}
	rs.Close()
	names := make([]string, len(cols))
	quoted := make([]string, len(cols))
	for i, c := range cols {
		if !srcCols[c.name] {
			return 0, fmt.Errorf("migrate-to-postgres: %s.%s exists only in PostgreSQL", table, c.name)
		}
		delete(srcCols, c.name)
		names[i], quoted[i] = c.name, `"`+c.name+`"`
	}
	if len(srcCols) > 0 {
		return 0, fmt.Errorf("migrate-to-postgres: %s has columns only in SQLite: %v", table, srcCols)
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM "`+table+`" ORDER BY rowid`)
	if err != nil {
		// WITHOUT ROWID tables have no rowid; their order does not matter.
		rows, err = src.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM "`+table+`"`)
	}
	if err != nil {
		return 0, fmt.Errorf("migrate-to-postgres: read %s: %w", table, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n, err := dst.CopyFrom(ctx, pgx.Identifier{table}, names, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out := make([]any, len(vals))
		for i, v := range vals {
			cv, err := asColumn(v, cols[i].typ)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", table, cols[i].name, err)
			}
			out[i] = cv
		}
		return out, nil
	}))
	if err != nil {
		return 0, fmt.Errorf("migrate-to-postgres: copy %s: %w", table, pgSafe(err))
	}
	return n, nil
}

// asColumn gives a SQLite value the Go type PostgreSQL's column takes,
// without changing it: SQLite's columns accept any storage class.
func asColumn(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch typ {
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case int64:
			return x, nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		case []byte:
			return strconv.ParseInt(string(x), 10, 64)
		}
	case "text", "character varying":
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		}
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case "double precision", "real", "numeric":
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	}
	return nil, fmt.Errorf("a %T value does not fit a %s column", v, typ)
}

// resetIdentities restarts every identity column's sequence after the
// highest id copied, so the next insert does not collide.
func resetIdentities(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return fmt.Errorf("migrate-to-postgres: identity columns: %w", pgSafe(err))
	}
	type col struct{ t, c string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.t, &c.c); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, c)
	}
	rows.Close()
	for _, c := range cols {
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT max("`+c.c+`") FROM "`+c.t+`"), 0) + 1, false)`,
			`"`+c.t+`"`, c.c); err != nil {
			return fmt.Errorf("migrate-to-postgres: reset %s.%s: %w", c.t, c.c, pgSafe(err))
		}
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL is the scale-out engine (issue 18): several replicas share
// one database. The store's SQL is written once, with SQLite's "?"
// placeholders; the few statements that differ ask the dialect (dialect.go).

// DefaultPoolSize is Options.PoolSize when none is given: connections one
// replica may hold on PostgreSQL. Ten serve a replica's requests and
// workers with room to spare; the server's max_connections (100 by
// default) bounds replicas × pool.
const DefaultPoolSize = 10

// listsPoolSize is the case list and search's own pool on PostgreSQL
// (issue 17: a burst of searches queues behind itself, never holding every
// connection a case page needs).
const listsPoolSize = 2

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.d.pg }

// IsPostgres reports whether a DATABASE_URL names a PostgreSQL database.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

func openPostgres(ctx context.Context, url string, opts Options, crypt *Crypt, wait time.Duration) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// The URL may carry a password: never put it in the error.
		return nil, errors.New("store: DATABASE_URL is not a valid PostgreSQL URL")
	}
	// A write waiting for a row lock another replica holds gives up after
	// the store's wait, as SQLite's busy timeout does: *BusyError, 503.
	cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(wait.Milliseconds(), 10)
	connector := rebindConnector{stdlib.GetConnector(*cfg)}
	pool := opts.PoolSize
	if pool <= 0 {
		pool = DefaultPoolSize
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(pool)
	db.SetMaxIdleConns(pool)
	lists := sql.OpenDB(connector)
	lists.SetMaxOpenConns(listsPoolSize)
	lists.SetMaxIdleConns(listsPoolSize)
	s := &Store{write: db, read: db, lists: lists, crypt: crypt, now: opts.Now, Feed: NewFeed(), wait: wait,
		d: dialect{pg: true}, url: url}
	if s.now == nil {
		s.now = time.Now
	}
	if err := db.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", pgSafe(err))
	}
	return s, nil
}

// pgSafe keeps what a PostgreSQL or connection error says about the
// failure and drops what it says about where: pgx's connection errors name
// the user and database ("failed to connect to `user=… database=…`") and
// the server's address, network errors carry addresses, and the server's
// own refusals at connect time name the role or database ("role "x" does
// not exist"). Logs and errors must carry none of them (no PII, no
// secrets), whatever the URL holds.
func pgSafe(err error) error {
	if err == nil {
		return nil
	}
	var ce *pgconn.ConnectError
	connecting := errors.As(err, &ce)
	var pe *pgconn.PgError
	var errno syscall.Errno
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &pe) && connecting:
		return fmt.Errorf("the server refused the connection (SQLSTATE %s)", pe.Code)
	case errors.As(err, &pe):
		return fmt.Errorf("%s (SQLSTATE %s)", pe.Message, pe.Code)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errors.New("database connection: canceled or timed out")
	case errors.As(err, &errno):
		return errors.New("database connection: " + errno.Error()) // e.g. "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return errors.New("database connection: timeout")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("database connection: closed by the server")
	case connecting, errors.As(err, &oe):
		return errors.New("database connection failed")
	}
	return err
}

// connError is a connection-level failure (connect, network, a connection
// cut mid-query) as the store's callers see it: its text is pgSafe's, so no
// log line or error page built from it names the host, port, user or
// database; it still unwraps to the driver's error, so driver.ErrBadConn
// (database/sql's cue to retry on a fresh connection), context errors and
// the rest match as before.
type connError struct {
	msg string
	err error
}

func (e *connError) Error() string { return e.msg }
func (e *connError) Unwrap() error { return e.err }

// redactConn is applied by the driver wrappers below to every error pgx
// returns to the store (issue 18): the one place ordinary queries' errors
// pass, whichever pool, request or background job ran them. Errors about a
// statement (a PgError on a working connection: constraint, lock timeout,
// serialization) carry no address and keep their type for the store's
// mapping (formatError, BusyError).
func redactConn(err error) error {
	if err == nil {
		return nil
	}
	var done *connError
	var conn *pgconn.ConnectError
	var op *net.OpError
	var ne net.Error
	var errno syscall.Errno
	switch {
	case errors.As(err, &done):
		return err
	case errors.As(err, &conn), errors.As(err, &op), errors.As(err, &ne), errors.As(err, &errno):
		return &connError{msg: pgSafe(err).Error(), err: err}
	}
	return err // io.EOF ending rows, driver.ErrBadConn, a statement's PgError: as they are
}

// rebindConnector gives database/sql pgx connections that accept the
// store's "?" placeholders: the one place they become PostgreSQL's $n,
// and the one place pgx's errors are redacted (redactConn).
type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, redactConn(err)
	}
	return &rebindConn{conn.(*stdlib.Conn)}, nil
}

type rebindConn struct{ *stdlib.Conn }

func (c *rebindConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *rebindConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.Conn.PrepareContext(ctx, rebind(query))
	if err != nil {
		return nil, redactConn(err)
	}
	return &redactStmt{st.(*stdlib.Stmt)}, nil
}

func (c *rebindConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.Conn.ExecContext(ctx, rebind(query), args)
	return r, redactConn(err)
}

func (c *rebindConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, rebind(query), args)
	if err != nil {
		return nil, redactConn(err)
	}
	return &redactRows{rows.(*stdlib.Rows)}, nil
}

func (c *rebindConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *rebindConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, redactConn(err)
	}
	return redactTx{tx}, nil
}

func (c *rebindConn) Ping(ctx context.Context) error { return redactConn(c.Conn.Ping(ctx)) }

func (c *rebindConn) ResetSession(ctx context.Context) error {
	return redactConn(c.Conn.ResetSession(ctx))
}

// redactRows, redactStmt and redactTx pass pgx's results through redactConn
// (a connection lost while rows stream, at a prepared statement, at commit).
type redactRows struct{ *stdlib.Rows }

func (r *redactRows) Next(dest []driver.Value) error { return redactConn(r.Rows.Next(dest)) }

type redactStmt struct{ *stdlib.Stmt }

func (s *redactStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	r, err := s.Stmt.ExecContext(ctx, args)
	return r, redactConn(err)
}

func (s *redactStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.Stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, redactConn(err)
	}
	return &redactRows{rows.(*stdlib.Rows)}, nil
}

type redactTx struct{ driver.Tx }

func (t redactTx) Commit() error   { return redactConn(t.Tx.Commit()) }
func (t redactTx) Rollback() error { return redactConn(t.Tx.Rollback()) }

// CheckNamedValue passes Go booleans as 0/1: the schema keeps SQLite's
// integer flags on both engines.
func (c *rebindConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		if b {
			nv.Value = int64(1)
		} else {
			nv.Value = int64(0)
		}
	}
	return nil
}

var rebound sync.Map // query -> rebound query; the store's queries are a fixed, small set

// rebind turns each "?" placeholder into $1, $2, … in order, leaving
// string literals, quoted identifiers and comments alone.
func rebind(query string) string {
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				b.WriteString(query[i:])
				i = len(query)
				continue
			}
			b.WriteString(query[i : i+j+2])
			i += j + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j - 1
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	// Dynamic queries (IN lists, filters) vary: bound the cache.
	if n <= 64 {
		rebound.Store(query, out)
	}
	return out
}

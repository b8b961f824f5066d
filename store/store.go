// Package store persists caseverify's domain (agencies, staff, sessions,
// cases, household members, verification orders, deliveries, events,
// reports, the webhook inbox, audit) in SQLite, owns the order status rules,
// and publishes changes after they commit.
//
// Every method that reads or writes case data takes the agency id and puts it
// in the WHERE clause: no query crosses agencies. Each method owns its
// transaction. Errors are the sentinels in errors.go, wrapped with %w.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mattn/go-sqlite3" // also registers the "sqlite3" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationsFS embed.FS

// Store is the persistence layer. It is safe for concurrent use.
type Store struct {
	// write has one connection: SQLite allows one writer at a time, and a
	// single connection with BEGIN IMMEDIATE (the _txlock DSN key) turns lock
	// contention into queueing in Go instead of SQLITE_BUSY errors.
	write *sql.DB
	// read serves queries outside write transactions, in parallel with the writer (WAL).
	read *sql.DB
	// lists serves the case list and search, which can be many at once and
	// each longer than a page's lookups: a pool of their own, so a burst
	// of searches queues behind itself and never holds every connection
	// a case page needs (issue 17).
	lists *sql.DB
	// ckpt checkpoints the WAL, off the commit path (checkpoint.go;
	// SQLite only, nil on PostgreSQL).
	ckpt               *sql.DB
	ckptQuit, ckptDone chan struct{}
	ckptOnce           sync.Once
	crypt              *Crypt
	now                func() time.Time
	Feed               *Feed // change feed: published after commit
	// inboxWriter writes webhook deliveries in batches (inbox_batch.go).
	inboxWriter *inboxWriter
	// wait bounds each wait for the database (Options.Wait).
	wait time.Duration
	// d says which engine's SQL to use where the two differ (dialect.go).
	d dialect
	// url is the PostgreSQL DATABASE_URL ("" on SQLite): the change feed's
	// listener connects with it (feed_pg.go).
	url string
	// changes is this replica's side of the cross-replica change feed
	// (PostgreSQL only, feed_pg.go); nil on SQLite.
	changes *pgChanges
}

// Options configure Open.
type Options struct {
	// DataKey encrypts PII at rest; 32 bytes. Required.
	DataKey []byte
	// Now replaces the clock (tests). Nil means time.Now.
	Now func() time.Time
	// Unsynced turns synchronous=FULL off: for building benchmark data
	// sets only (`make bench`), where a crash may lose what was committed
	// and nobody minds. Never set by the portal.
	Unsynced bool
	// Wait bounds how long one write waits for the database: for the
	// write connection (another transaction of this process holds it) and
	// for SQLite's write lock (another process holds it, the busy
	// timeout). Past it the write fails with a *BusyError and the request
	// is answered 503 with Retry-After, instead of queueing until the
	// server drops it unanswered while its write commits later (issue 13).
	// Zero means DefaultWait. On PostgreSQL it bounds the wait for a
	// pooled connection and for row locks (lock_timeout).
	Wait time.Duration
	// PoolSize is how many connections this replica holds on PostgreSQL
	// (DB_POOL); zero means DefaultPoolSize. SQLite ignores it: its
	// connections are fixed by Open.
	PoolSize int
}

// DefaultWait is Options.Wait when none is given: long enough for any
// healthy transaction ahead (milliseconds), well under the server's 60 s
// write timeout.
const DefaultWait = 3 * time.Second

// Open opens the database named by path, applies pending migrations and
// returns the store. A "postgres://" or "postgresql://" URL selects
// PostgreSQL (the scale-out engine: several replicas share it, issue 18);
// anything else is the SQLite database at that path, which may be a plain
// file path or a "file:" URI, created if needed.
//
// The connection settings are fixed here rather than taken from the caller:
// WAL, synchronous=FULL (a webhook we acknowledged must survive a power loss,
// reliability.md §4), foreign keys on, a busy timeout of opts.Wait, immediate write
// transactions, and secure_delete so purged PII is overwritten.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	crypt, err := NewCrypt(opts.DataKey)
	if err != nil {
		return nil, wrap("Open", err)
	}
	wait := opts.Wait
	if wait <= 0 {
		wait = DefaultWait
	}
	var s *Store
	if IsPostgres(path) {
		s, err = openPostgres(ctx, path, opts, crypt, wait)
	} else {
		s, err = openSQLite(path, opts, crypt, wait)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, wrap("Open", err)
	}
	if err := s.hashLinkCodes(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: hash tracked-link codes: %w", err)
	}
	if s.d.pg {
		// Other replicas' changes reach this one's Feed (feed_pg.go).
		if s.changes, err = startChanges(ctx, s.url, s.Feed, nil); err != nil {
			s.Close()
			return nil, wrap("Open", err)
		}
	}
	s.startInboxWriter()
	if s.ckpt != nil {
		s.ckptQuit, s.ckptDone = make(chan struct{}), make(chan struct{})
		go s.runCheckpoints(s.ckpt, s.ckptQuit, s.ckptDone)
	}
	return s, nil
}

// Migrate applies the pending migrations to the database at url and closes
// it. It reads and writes no personal data, so it needs no data key. The
// PostgreSQL test suites make their template database with it (pgtest.Main).
func Migrate(ctx context.Context, url string) error {
	s, err := Open(ctx, url, Options{DataKey: make([]byte, 32)})
	if err != nil {
		return err
	}
	return s.Close()
}

// stmtCacheSize is how many prepared statements each SQLite connection
// keeps: more than the distinct queries of the inbox's hot path (claim,
// finish, ApplyUpdate, the order lookups), so a burst of other queries
// (a case page) evicts the least recently used, not the whole path.
const stmtCacheSize = 128

func openSQLite(path string, opts Options, crypt *Crypt, wait time.Duration) (*Store, error) {
	file := strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(file, '?'); i >= 0 {
		file = file[:i]
	}
	if file == "" || file == ":memory:" {
		return nil, errors.New("store: DATABASE_URL must name a file (an in-memory database is different on every connection)")
	}
	if dir := filepath.Dir(file); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create database folder: %w", err)
		}
	}
	if err := privateFiles(file); err != nil {
		return nil, wrap("Open", err)
	}
	base := "file:" + (&url.URL{Path: file}).EscapedPath()
	sync := "FULL"
	if opts.Unsynced {
		sync = "OFF"
	}
	// _stmt_cache_size: each connection keeps its prepared statements
	// (go-sqlite3 otherwise compiles every query's SQL again on every
	// call: about a fifth of the inbox processor's CPU, issue 17). The
	// driver re-prepares a cached statement after a schema change and
	// finalizes them with the connection; eviction is least recently used.
	common := "_journal_mode=WAL&_synchronous=" + sync + "&_busy_timeout=" + strconv.FormatInt(wait.Milliseconds(), 10) +
		"&_foreign_keys=on&_secure_delete=on&_stmt_cache_size=" + strconv.Itoa(stmtCacheSize)
	write, err := sql.Open(writerDriver, base+"?"+common+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite3", base+"?"+common+"&_query_only=true")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	read.SetMaxOpenConns(4)
	lists, err := sql.Open("sqlite3", base+"?"+common+"&_query_only=true")
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	// One connection: on a 2-core machine two busy searches take both
	// cores and a case page waits for CPU (17.6 ms p95 against 7.7 ms with
	// one, make bench); searches take a few ms, so they queue briefly.
	lists.SetMaxOpenConns(1)
	// Checkpoints run from a connection of their own (checkpoint.go).
	ckpt, err := sql.Open("sqlite3", base+"?"+common)
	if err != nil {
		write.Close()
		read.Close()
		lists.Close()
		return nil, fmt.Errorf("store: open: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	s := &Store{write: write, read: read, lists: lists, ckpt: ckpt, crypt: crypt, now: opts.Now, Feed: NewFeed(), wait: wait}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// privateFiles makes the database file before SQLite does, readable and
// writable by the portal's user only (0600): SQLite gives the -wal and -shm
// files it creates the database file's permissions. Files left readable by
// others by an older version are made private too.
func privateFiles(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store: create database file: %w", err)
	}
	f.Close()
	for _, name := range []string{file, file + "-wal", file + "-shm", file + "-journal"} {
		fi, err := os.Stat(name)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(name, 0o600); err != nil {
			return fmt.Errorf("store: make %s private (0600): %w", filepath.Base(name), err)
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	dir, dialect, opts := "migrations", goose.DialectSQLite3, []goose.ProviderOption{}
	if s.d.pg {
		// Replicas starting at once: one migrates, the others wait on
		// the lock (a PostgreSQL advisory lock held by its session).
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("store: migrations: %w", err)
		}
		dir, dialect, opts = "migrations/postgres", goose.DialectPostgres, []goose.ProviderOption{goose.WithSessionLocker(locker)}
	}
	sub, err := fs.Sub(migrationsFS, dir)
	if err != nil {
		return wrap("migrate", err)
	}
	// Migrations are numbered when work starts and land in any order, so a
	// database may already have a higher one than a migration that lands
	// later: apply the missing one rather than refuse to start.
	db := s.write
	if s.d.pg {
		// goose writes PostgreSQL's own SQL ($n, booleans): give it
		// plain pgx connections, not the store's rebinding ones.
		cfg, err := pgx.ParseConfig(s.url)
		if err != nil {
			return errors.New("store: DATABASE_URL is not a valid PostgreSQL URL")
		}
		db = stdlib.OpenDB(*cfg)
		defer db.Close()
	}
	p, err := goose.NewProvider(dialect, db, sub, append(opts, goose.WithAllowOutofOrder(true))...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.changes.stop()
	if s.inboxWriter != nil {
		s.inboxWriter.stop()
	}
	if s.read == s.write { // PostgreSQL: one pool serves both
		return errors.Join(s.lists.Close(), s.write.Close())
	}
	if s.ckptDone != nil {
		s.ckptOnce.Do(func() { close(s.ckptQuit) })
		<-s.ckptDone
	}
	return errors.Join(s.lists.Close(), s.read.Close(), s.write.Close(), s.ckpt.Close())
}

// Ping reports whether the database answers (health checks).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// CanWrite reports whether the database can take a write now (health
// checks). It really writes, within ctx's deadline (a write lock held past
// the caller's bound fails it):
//
//   - it commits the time of the check on health_probe's row 1, so a
//     commit that cannot reach the disk (the WAL cannot grow on a full
//     disk: SQLITE_FULL, or an I/O error) fails it;
//   - it inserts a row padded with probePad bytes and rolls it back, so a
//     database that cannot grow by that much (SQLITE_FULL: the disk, or
//     max_page_count) fails it too, while nothing stays behind.
func (s *Store) CanWrite(ctx context.Context) error {
	if err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE health_probe SET at = ? WHERE id = 1`, fmtTime(s.Now()))
		return err
	}); err != nil {
		return err
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return wrap("CanWrite", err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO health_probe (at, pad) VALUES (?, `+s.d.zeroblob()+`)`, fmtTime(s.Now()), probePad)
	return err
}

// probePad is how much the health probe's rolled-back row asks the
// database to grow by: more than a few free pages, so a database that
// cannot grow fails the check. It stays in the page cache (nothing is
// written to disk for it).
const probePad = 256 << 10

// Pragmas returns the effective settings of a pooled connection, for tests
// and diagnostics (reliability.md D4).
func (s *Store) Pragmas(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	if s.d.pg {
		for _, p := range []string{"synchronous_commit", "fsync", "lock_timeout", "default_transaction_isolation"} {
			var v string
			if err := s.write.QueryRowContext(ctx, "SELECT current_setting('"+p+"')").Scan(&v); err != nil {
				return nil, wrap("Pragmas", err)
			}
			out[p] = v
		}
		return out, nil
	}
	for _, p := range []string{"journal_mode", "synchronous", "foreign_keys", "busy_timeout", "secure_delete"} {
		var v string
		if err := s.write.QueryRowContext(ctx, "PRAGMA "+p).Scan(&v); err != nil {
			return nil, wrap("Pragmas", err)
		}
		out[p] = v
	}
	return out, nil
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now().UTC() }

// inTx runs fn in a write transaction and commits it when fn returns nil.
// Waiting for the write connection and for the write lock (BEGIN
// IMMEDIATE) are each bounded by s.wait (*BusyError).
//
// On PostgreSQL several replicas write at once: the transaction is
// SERIALIZABLE, so it behaves as if it had the database to itself as on
// SQLite, and one that loses a race (serialization failure, deadlock) is
// run again, a bounded number of times. fn must therefore be safe to run
// again: it only touches the database through tx and resets whatever it
// fills in (the change feed is published after commit, by the caller).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.d.pg {
		return s.retryTx(ctx, sql.LevelSerializable, fn)
	}
	return s.txOnce(ctx, nil, fn)
}

// claimTx runs a claim: fn takes rows with the dialect's skipLocked, so on
// PostgreSQL a row another replica is claiming is passed over rather than
// waited for or fought over. Row locks decide who takes what, so the
// transaction is READ COMMITTED (a SERIALIZABLE one would fail on the
// other claims' writes it read past). On SQLite it is inTx.
func (s *Store) claimTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.d.pg {
		return s.retryTx(ctx, sql.LevelReadCommitted, fn)
	}
	return s.txOnce(ctx, nil, fn)
}

// pgTxAttempts bounds how often a PostgreSQL transaction that lost a race
// is run; past it the caller gets a *BusyError (503, try again later).
const pgTxAttempts = 8

func (s *Store) retryTx(ctx context.Context, level sql.IsolationLevel, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{Isolation: level}
	for attempt := 1; ; attempt++ {
		err := s.txOnce(ctx, opts, fn)
		if !raced(err) {
			return err
		}
		if attempt == pgTxAttempts {
			return &BusyError{Wait: s.wait, Err: err}
		}
		// Back off a little, more each time, jittered so that the
		// replicas that collided do not collide again.
		d := time.Duration(attempt*attempt)*time.Millisecond + time.Duration(rand.Int64N(int64(2*time.Millisecond)))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return err
		}
	}
}

// raced reports a PostgreSQL transaction that failed only because another
// ran at the same time: serialization failure or deadlock.
func raced(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func (s *Store) txOnce(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	conn, err := s.writeConn(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", s.busy(err))
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return s.busy(err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", s.busy(formatError(err)))
	}
	return nil
}

// writeConn takes the write connection, waiting at most s.wait for it: a
// transaction of this process that holds it longer (itself waiting for
// the lock, or slow) makes the caller fail with a *BusyError rather than
// queue. The wait's deadline covers the taking only, not the work after.
func (s *Store) writeConn(ctx context.Context) (*sql.Conn, error) {
	waitCtx, cancel := context.WithTimeout(ctx, s.wait)
	defer cancel()
	conn, err := s.write.Conn(waitCtx)
	if err != nil && ctx.Err() == nil && errors.Is(waitCtx.Err(), context.DeadlineExceeded) {
		return nil, &BusyError{Wait: s.wait, Err: err}
	}
	return conn, err
}

// execWrite runs one statement outside a transaction on the write
// connection, with inTx's bounds.
func (s *Store) execWrite(ctx context.Context, query string, args ...any) (sql.Result, error) {
	conn, err := s.writeConn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	res, err := conn.ExecContext(ctx, query, args...)
	return res, s.busy(err)
}

// busy makes SQLite's "database is locked" (the busy timeout, s.wait,
// ran out) and PostgreSQL's lock_timeout (s.wait, set per connection) a
// *BusyError; any other error is returned as it is.
func (s *Store) busy(err error) error {
	var be *BusyError
	if err == nil || errors.As(err, &be) {
		return err
	}
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
		return &BusyError{Wait: s.wait, Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
		return &BusyError{Wait: s.wait, Err: err}
	}
	return err
}

// timestamps

// timeLayout is fixed-width (always nine fraction digits, always UTC), so
// that times compare correctly as text in SQL (RFC 3339 with trimmed
// fractions does not: "…:00Z" sorts after "…:00.5Z").
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseTime(s string) time.Time {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t
}

func parseNullTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	return parseTime(s.String)
}

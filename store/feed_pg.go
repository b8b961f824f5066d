package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// On PostgreSQL several replicas share one database, and a change committed
// by one must reach the pages open on every replica (issue 18). Each replica
// holds ONE dedicated LISTEN connection (pgx, outside the pool) and
// republishes what it hears to its in-process Feed; changes are announced
// with pg_notify inside the transaction that makes them, so PostgreSQL
// delivers them only if, and when, it commits. The notification carries
// ids only (agency, case, order, kind, the sending replica): the pages read
// their state from the database.
//
// The replica that made a change publishes it to its own Feed after commit,
// as on SQLite, and ignores its own notification, so its pages see it at
// once and once only.

// changeChannel is the LISTEN/NOTIFY channel of the portal's changes.
const changeChannel = "caseverify_changes"

// ResyncKind is the Kind of the change a replica publishes to every
// subscriber after its listen connection was lost and came back: what was
// announced meanwhile is unknown, so open pages re-read everything
// (OrderID 0).
const ResyncKind = "resync"

// notice is a change as it travels in a notification: ids only.
type notice struct {
	Replica string `json:"r"`
	Agency  int64  `json:"a"`
	Case    int64  `json:"c"`
	Order   int64  `json:"o,omitempty"`
	Kind    string `json:"k"`
}

// pgChanges is one replica's side of the cross-replica feed.
type pgChanges struct {
	replica string // random per process: tells our own notifications apart
	feed    *Feed
	cfg     *pgx.ConnConfig
	log     *slog.Logger
	cancel  context.CancelFunc
	done    chan struct{}

	mu                     sync.Mutex
	conn                   *pgx.Conn // the LISTEN connection; nil while reconnecting
	backoffMin, backoffMax time.Duration
}

// startChanges opens the LISTEN connection to the database at url and
// starts republishing what it hears to feed. It returns once LISTEN is in
// place, so a change committed after it returns is not missed.
func startChanges(ctx context.Context, url string, feed *Feed, log *slog.Logger) (*pgChanges, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// The URL may carry a password: never put it in the error.
		return nil, errors.New("store: DATABASE_URL is not a valid PostgreSQL URL")
	}
	if log == nil {
		log = slog.Default()
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	p := &pgChanges{replica: hex.EncodeToString(b), feed: feed, cfg: cfg, log: log, done: make(chan struct{}),
		backoffMin: 100 * time.Millisecond, backoffMax: 5 * time.Second}
	conn, err := p.listen(ctx)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.setConn(conn)
	go p.run(runCtx, conn)
	return p, nil
}

// listen connects and issues LISTEN.
func (p *pgChanges) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		return nil, fmt.Errorf("store: change listener: connect: %w", pgSafe(err))
	}
	if _, err := conn.Exec(ctx, "LISTEN "+changeChannel); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("store: change listener: listen: %w", pgSafe(err))
	}
	return conn, nil
}

// run waits for notifications until stopped; a lost connection is
// reconnected with backoff, and a resync follows every reconnection.
func (p *pgChanges) run(ctx context.Context, conn *pgx.Conn) {
	defer close(p.done)
	for {
		err := p.receive(ctx, conn)
		p.setConn(nil)
		conn.Close(context.Background())
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("change listener lost its connection; reconnecting", "err", pgSafe(err))
		if conn = p.reconnect(ctx); conn == nil {
			return
		}
		p.setConn(conn)
		p.log.Info("change listener reconnected; open pages refresh")
		p.feed.resync()
	}
}

func (p *pgChanges) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var m notice
		if err := json.Unmarshal([]byte(n.Payload), &m); err != nil {
			p.log.Warn("change listener: unreadable notification ignored", "err", err)
			continue
		}
		if m.Replica == p.replica {
			continue // published to our Feed after commit already
		}
		p.feed.Publish(Change{AgencyID: m.Agency, CaseID: m.Case, OrderID: m.Order, Kind: m.Kind})
	}
}

// reconnect retries with doubling backoff until LISTEN is in place again
// or ctx ends (nil).
func (p *pgChanges) reconnect(ctx context.Context) *pgx.Conn {
	wait := p.backoffMin
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := p.listen(attempt)
		cancel()
		if err == nil {
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		p.log.Warn("change listener: reconnect failed", "err", err, "retry_in", wait)
		wait = min(2*wait, p.backoffMax)
	}
}

func (p *pgChanges) setConn(c *pgx.Conn) {
	p.mu.Lock()
	p.conn = c
	p.mu.Unlock()
}

// backendPID is the listen connection's server process (tests cut it), 0
// while reconnecting.
func (p *pgChanges) backendPID() uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conn == nil {
		return 0
	}
	return p.conn.PgConn().PID()
}

// stop ends the listener and closes its connection. Nil-safe.
func (p *pgChanges) stop() {
	if p == nil {
		return
	}
	p.cancel()
	<-p.done
}

// announce queues c on tx's connection: PostgreSQL delivers it to every
// replica's listener when tx commits, and never if it rolls back. Nil-safe
// (SQLite: one process, the Feed alone does).
func (p *pgChanges) announce(ctx context.Context, tx *sql.Tx, c Change) error {
	if p == nil {
		return nil
	}
	payload, err := json.Marshal(notice{Replica: p.replica, Agency: c.AgencyID, Case: c.CaseID, Order: c.OrderID, Kind: c.Kind})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", changeChannel, string(payload)); err != nil {
		return fmt.Errorf("store: announce change: %w", err)
	}
	return nil
}

// resync tells every subscriber to re-read all it shows (OrderID 0), for
// when changes may have been missed (the listen connection was lost). A
// full buffer marks the subscriber lagged, which has the same effect.
func (f *Feed) resync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for agency, subs := range f.subs {
		for s := range subs {
			select {
			case s.C <- Change{AgencyID: agency, CaseID: s.caseID, Kind: ResyncKind}:
			default:
				s.lagged.Store(true)
			}
		}
	}
}

// announcing wraps a write transaction's fn for a change live pages must
// hear of: once fn has succeeded, the changes changed() names are announced
// in the same transaction, so the other replicas hear of them when, and
// only if, it commits. The caller publishes them to its own Feed after the
// commit, as on SQLite, where announcing adds nothing.
func (s *Store) announcing(ctx context.Context, changed func() []Change, fn func(tx *sql.Tx) error) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		if err := fn(tx); err != nil || s.changes == nil {
			return err
		}
		for _, c := range changed() {
			if err := s.changes.announce(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	}
}

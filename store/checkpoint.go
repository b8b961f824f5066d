package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Checkpoints off the commit path (issue 17). SQLite copies the WAL back
// into the database file (a checkpoint, with an fsync of the file) inside
// whichever commit takes the WAL past 1,000 pages: under webhook load that
// was a commit every few hundred milliseconds, and every request waiting
// on it paid for it (intake p99). The write connection turns that off; a
// goroutine of the store checkpoints from a connection of its own instead
// (PASSIVE: it never blocks the writer or the readers).

// writerDriver is the write connection's driver: automatic checkpoints off.
const writerDriver = "sqlite3_caseverify_writer"

func init() {
	sql.Register(writerDriver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil)
		return err
	}})
}

// checkpointEvery is how often the checkpointer runs: the WAL stays within
// what a few hundred milliseconds of writes add.
const checkpointEvery = 250 * time.Millisecond

// runCheckpoints checkpoints every checkpointEvery until quit closes, and
// once more then.
func (s *Store) runCheckpoints(db *sql.DB, quit <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-quit:
			_, _ = db.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			// A failure (the disk) shows on the next commit and on the
			// health check; the next tick tries again.
			_, _ = db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			cancel()
		}
	}
}

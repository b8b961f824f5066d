package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// TakeRateSlot reserves the next call of the rate named name, which allows
// perSecond calls a second in all, and returns when that call may be made
// (now, or later: the caller waits until then). The rate is kept in the
// database (rate_slots), so every process on it shares it: two portal
// processes running bulk renewals against one provider make perSecond
// calls a second between them, not each (issue 17). Calls are spaced
// evenly, without bursts. The times are the wall clock's, not the store's
// (a test's clock): a provider counts real seconds.
//
// The reservation is one statement that reads and moves the rate's next
// slot: SQLite runs one writer at a time; on PostgreSQL the upsert locks
// the row, so replicas taking slots at once queue on it, and the
// SERIALIZABLE transaction (inTx) that loses to a concurrent one is run
// again and reads the slot the winner left.
func (s *Store) TakeRateSlot(ctx context.Context, name string, perSecond float64) (time.Time, error) {
	if perSecond <= 0 {
		return time.Time{}, errors.New("store: TakeRateSlot: the rate must be positive")
	}
	interval := int64(float64(time.Second) / perSecond)
	var next int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// The slot taken is the later of now and the rate's next slot;
		// the row then holds the one after it.
		now := time.Now().UnixNano()
		return tx.QueryRowContext(ctx, `INSERT INTO rate_slots (name, next_ns) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET next_ns = `+s.d.greatest("rate_slots.next_ns + ?", "excluded.next_ns")+`
			RETURNING next_ns`, name, now+interval, interval).Scan(&next)
	})
	if err != nil {
		return time.Time{}, wrap("TakeRateSlot", err)
	}
	return time.Unix(0, next-interval), nil
}

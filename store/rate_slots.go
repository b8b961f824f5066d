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
func (s *Store) TakeRateSlot(ctx context.Context, name string, perSecond float64) (time.Time, error) {
	if perSecond <= 0 {
		return time.Time{}, errors.New("store: TakeRateSlot: the rate must be positive")
	}
	interval := time.Duration(float64(time.Second) / perSecond)
	var slot time.Time
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := time.Now().UTC()
		slot = now
		var next string
		err := tx.QueryRowContext(ctx, `SELECT next_at FROM rate_slots WHERE name = ?`, name).Scan(&next)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case parseTime(next).After(now):
			slot = parseTime(next)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rate_slots (name, next_at) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET next_at = excluded.next_at`, name, fmtTime(slot.Add(interval)))
		return err
	})
	if err != nil {
		return time.Time{}, wrap("TakeRateSlot", err)
	}
	return slot, nil
}

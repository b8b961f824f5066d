package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// RememberProviderKeys records other provider ids an order is known by
// ("link:…", "task:…" for Truv), so that a later event carrying only one of
// them finds the order (OrderByProviderKeys). With moved, a key recorded for
// another order moves to this one: the event named its order, and a newer
// order can take over an id (a Truv refresh reuses the original's link).
// Otherwise a key keeps its order. "user:" keys are not recorded: the order
// holds its provider user id, which several orders may share. Blank keys are
// skipped.
func (s *Store) RememberProviderKeys(ctx context.Context, provider string, orderID int64, keys []string, moved bool) error {
	q := `INSERT INTO provider_keys (provider, key, order_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`
	if moved {
		q = `INSERT INTO provider_keys (provider, key, order_id) VALUES (?, ?, ?)
			ON CONFLICT (provider, key) DO UPDATE SET order_id = excluded.order_id`
	}
	var record []string
	for _, k := range keys {
		if strings.TrimSpace(k) != "" && !strings.HasPrefix(k, "user:") {
			record = append(record, k)
		}
	}
	if len(record) == 0 {
		return nil
	}
	// In the inbox writer's next transaction (groupTx), like the status
	// change that follows: a delivery that names a task and a link would
	// otherwise make a commit (an fsync on SQLite) per key.
	return wrap("RememberProviderKeys", s.groupTx(ctx, func(tx *sql.Tx) error {
		for _, k := range record {
			if _, err := tx.ExecContext(ctx, q, provider, k, orderID); err != nil {
				return err
			}
		}
		return nil
	}))
}

// OrderByProviderKeys finds the order a provider event belongs to when the
// event names no order: by the first of keys recorded before
// (RememberProviderKeys), else by a "user:…" key matching the provider user
// id stored at create (the newest such order: a refresh shares its user).
// It returns ErrNotFound when none matches. Like OrderByProviderID it is the
// webhook path's lookup, not agency-scoped: the provider ids are the scope.
func (s *Store) OrderByProviderKeys(ctx context.Context, provider string, keys []string) (*Order, error) {
	for _, k := range keys {
		o, err := s.scanOrder(s.read.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM provider_keys k
			JOIN orders o ON o.id = k.order_id JOIN members m ON m.id = o.member_id
			WHERE k.provider = ? AND k.key = ?`, provider, k))
		if !errors.Is(err, ErrNotFound) {
			return o, wrap("OrderByProviderKeys", err)
		}
	}
	for _, k := range keys {
		user, ok := strings.CutPrefix(k, "user:")
		if !ok || user == "" {
			continue
		}
		o, err := s.scanOrder(s.read.QueryRowContext(ctx, `SELECT `+orderColumns+` FROM orders o JOIN members m ON m.id = o.member_id
			WHERE o.provider = ? AND o.provider_user_id = ? ORDER BY o.id DESC LIMIT 1`, provider, user))
		if !errors.Is(err, ErrNotFound) {
			return o, wrap("OrderByProviderKeys", err)
		}
	}
	return nil, ErrNotFound
}

package store

import (
	"context"
	"time"
)

// PurgeInboxBodies removes the bodies of webhook deliveries processed before
// cutoff: they hold personal data (reliability.md R2). The dedupe key and the
// body's hash stay, so a provider's late retry is still recognised.
func (s *Store) PurgeInboxBodies(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.execWrite(ctx, `UPDATE webhook_inbox SET body_enc = NULL
		WHERE processed_at IS NOT NULL AND processed_at < ? AND body_enc IS NOT NULL`, fmtTime(cutoff))
	if err != nil {
		return 0, wrap("PurgeInboxBodies", err)
	}
	return res.RowsAffected()
}

// PurgeOutbox deletes outbox messages older than cutoff.
func (s *Store) PurgeOutbox(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.execWrite(ctx, `DELETE FROM outbox WHERE created_at < ?`, fmtTime(cutoff))
	if err != nil {
		return 0, wrap("PurgeOutbox", err)
	}
	return res.RowsAffected()
}

-- +goose Up
-- The reconciler: open orders that have been quiet too long are polled at
-- their provider. next_poll_at is both the schedule (backoff) and the lease:
-- a process claims an order by moving next_poll_at into the future in one
-- write transaction, so no other process polls it before then.
-- poll_attempts counts polls since the order last had news (it sets the
-- backoff); polled_at is when the last poll finished.

ALTER TABLE orders ADD COLUMN next_poll_at TEXT;
ALTER TABLE orders ADD COLUMN poll_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN polled_at TEXT;
CREATE INDEX orders_reconcile ON orders(status, next_poll_at);

-- +goose Down
DROP INDEX orders_reconcile;
ALTER TABLE orders DROP COLUMN polled_at;
ALTER TABLE orders DROP COLUMN poll_attempts;
ALTER TABLE orders DROP COLUMN next_poll_at;

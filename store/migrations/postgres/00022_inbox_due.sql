-- +goose Up
-- Twin of ../00022_inbox_due.sql (issue 17): the partial index that serves
-- the inbox processor's per-provider claims in the order deliveries fell due.
CREATE INDEX webhook_inbox_due ON webhook_inbox(provider, next_attempt_at, id) WHERE processed_at IS NULL;

-- +goose Down
DROP INDEX webhook_inbox_due;

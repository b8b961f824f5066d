-- +goose Up
-- Issue 17: the inbox processor claims each provider's due deliveries, as
-- many as that provider has room for, in the order they fell due: this
-- index serves that claim (provider = ?, ORDER BY next_attempt_at, id)
-- over the undone deliveries only. Without it, a provider at its limit
-- made every claim walk all of its due deliveries to skip them.
CREATE INDEX webhook_inbox_due ON webhook_inbox(provider, next_attempt_at, id) WHERE processed_at IS NULL;

-- +goose Down
DROP INDEX webhook_inbox_due;

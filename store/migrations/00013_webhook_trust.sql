-- +goose Up
-- Webhooks you can trust (issue 13).

-- status_at is the provider's time of the newest event applied to the
-- order's summary (status, outcome, detail): a sideways move (in progress ⇄
-- action required), a way back from a final status, or a new detail only
-- applies when it is not older, so deliveries processed out of order end
-- where in-order delivery ends. order_items.updated_at plays the same part
-- for a sub-item and now advances with every newer event.
ALTER TABLE orders ADD COLUMN status_at TEXT;

-- unconfirmed_at marks an order whose create got no answer (neither the
-- create nor the follow-up lookup): the provider may have it. The reconciler
-- looks it up by the portal's reference until the provider answers.
ALTER TABLE orders ADD COLUMN unconfirmed_at TEXT;

-- hint_fetched_at paces the status reads that Payscore's webhooks (hints
-- without an id or a time) trigger, per order.
ALTER TABLE orders ADD COLUMN hint_fetched_at TEXT;

-- What each Payscore delivery already caused, per order and (code, body
-- hash): a byte-identical re-fire is recognised and causes nothing again.
-- Bounded per order (the store keeps the newest rows).
CREATE TABLE webhook_effects (
    order_id   INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    code       TEXT NOT NULL,
    body_hash  TEXT NOT NULL,
    effect     TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL,
    PRIMARY KEY (order_id, code, body_hash)
);

-- The inbox is processed by a pool of workers, partitioned by order: a
-- delivery is taken only when no older delivery of the same partition
-- (provider and provider order) is still pending.
ALTER TABLE webhook_inbox ADD COLUMN partition_key TEXT NOT NULL DEFAULT '';
CREATE INDEX webhook_inbox_partition ON webhook_inbox(partition_key, id) WHERE processed_at IS NULL;

-- Form tokens make a form post idempotent: the first post with a token
-- records where it led; a retry of the same post is sent there instead of
-- doing the work twice.
CREATE TABLE form_posts (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    result      TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

-- +goose Down
DROP TABLE form_posts;
DROP INDEX webhook_inbox_partition;
ALTER TABLE webhook_inbox DROP COLUMN partition_key;
DROP TABLE webhook_effects;
ALTER TABLE orders DROP COLUMN hint_fetched_at;
ALTER TABLE orders DROP COLUMN unconfirmed_at;
ALTER TABLE orders DROP COLUMN status_at;

-- +goose Up
-- Other provider ids an order is known by, besides provider_order_id (issue
-- 14): Truv's task-status-updated events carry no order_id, only link_id,
-- task_id and sometimes user_id, so the portal records the ids it has seen
-- with each order ("link:…", "task:…") and finds the order by them.
-- Provider ids, not personal data.
CREATE TABLE provider_keys (
    provider   TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    order_id   INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    PRIMARY KEY (provider, key)
);
CREATE INDEX provider_keys_order ON provider_keys(order_id);
-- Truv's create answer gives the user_id: a task event that carries only
-- it finds its order by this column.
CREATE INDEX orders_provider_user ON orders(provider, provider_user_id) WHERE provider_user_id <> '';

-- +goose Down
DROP INDEX orders_provider_user;
DROP TABLE provider_keys;

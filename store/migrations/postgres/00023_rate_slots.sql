-- +goose Up
-- Twin of ../00023_rate_slots.sql (issue 17 item 5): the shared rates and
-- the provider a renewal item is expected to call. On PostgreSQL
-- TakeRateSlot's INSERT … ON CONFLICT DO UPDATE … RETURNING locks the row,
-- so replicas taking slots of one rate at once queue on it.
CREATE TABLE rate_slots (
    name     TEXT COLLATE "C" PRIMARY KEY,
    next_ns  BIGINT NOT NULL
);

ALTER TABLE renewal_items ADD COLUMN provider TEXT COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE renewal_items DROP COLUMN provider;
DROP TABLE rate_slots;

-- +goose Up
-- Issue 13 items 5, 6 and 7.

-- An order whose create got no answer (orders.unconfirmed_at, 00013) is kept
-- and looked up by its reference; the channel the caseworker chose waits
-- here, so the link goes out once the provider confirms the order.
ALTER TABLE orders ADD COLUMN unconfirmed_channel TEXT NOT NULL DEFAULT '';

-- How long an agency's verification links stay valid, in hours (0: as long
-- as the provider keeps them). A link never outlives the provider's own.
ALTER TABLE agencies ADD COLUMN link_lifetime_hours INTEGER NOT NULL DEFAULT 0;

-- /healthz writes here, so a full disk or a database that cannot take a
-- write shows as unhealthy: it commits the time of the check on row 1, and
-- inserts a padded row in a transaction it rolls back (the database must be
-- able to grow).
CREATE TABLE health_probe (
    id   INTEGER PRIMARY KEY,
    at   TEXT NOT NULL,
    pad  BLOB
);
INSERT INTO health_probe (id, at) VALUES (1, '');

-- +goose Down
DROP TABLE health_probe;
ALTER TABLE agencies DROP COLUMN link_lifetime_hours;
ALTER TABLE orders DROP COLUMN unconfirmed_channel;

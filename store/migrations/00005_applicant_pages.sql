-- +goose Up
-- The applicant's page for widget providers (Truework Direct): the portal
-- serves /v/{token}, which opens the provider's widget with the order's
-- session token. The token in the URL is a bearer secret: only its SHA-256 is
-- kept. A page expires, and a newer page for the same order revokes the
-- older ones (the caseworker sent a fresh session).

CREATE TABLE applicant_pages (
    token_hash  TEXT PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    order_id    INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT,
    opened_at   TEXT
);
CREATE INDEX applicant_pages_order ON applicant_pages(order_id);

-- +goose Down
DROP INDEX applicant_pages_order;
DROP TABLE applicant_pages;

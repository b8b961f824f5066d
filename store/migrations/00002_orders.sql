-- +goose Up
-- Verification orders and everything that hangs off them: sub-items (Truv
-- employers, Payscore screenings, AccountChek services...), the timeline,
-- link deliveries, reports, the webhook inbox and the message outbox.

CREATE TABLE orders (
    id                 INTEGER PRIMARY KEY,
    agency_id          INTEGER NOT NULL REFERENCES agencies(id),
    case_id            INTEGER NOT NULL REFERENCES cases(id),
    member_id          INTEGER NOT NULL REFERENCES members(id),
    reference          TEXT NOT NULL UNIQUE,      -- the portal's own id, sent to the provider
    provider           TEXT NOT NULL,
    products           TEXT NOT NULL,             -- comma-separated
    notify             TEXT NOT NULL CHECK (notify IN ('agency', 'provider')),
    provider_order_id  TEXT,
    provider_user_id   TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL CHECK (status IN ('created', 'sent', 'in_progress', 'action_required',
                                                       'completed', 'canceled', 'expired', 'failed')),
    outcome            TEXT NOT NULL DEFAULT '',
    detail             TEXT NOT NULL DEFAULT '',  -- last plain-language detail, PII-free
    link_enc           BLOB,                      -- the applicant's link is a bearer secret
    short_link_enc     BLOB,
    widget_token_enc   BLOB,
    link_expires_at    TEXT,
    secret_hash        TEXT NOT NULL DEFAULT '',  -- per-order webhook secret (AccountChek), SHA-256
    refresh_of         INTEGER REFERENCES orders(id),
    created_by         INTEGER REFERENCES users(id),
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    last_event_at      TEXT NOT NULL,             -- the reconciler polls orders quiet for too long
    completed_at       TEXT,
    UNIQUE (provider, provider_order_id)
);
CREATE INDEX orders_case ON orders(agency_id, case_id);
CREATE INDEX orders_member ON orders(agency_id, member_id);
CREATE INDEX orders_open ON orders(status, last_event_at);

CREATE TABLE order_items (
    order_id    INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    sub_id      TEXT NOT NULL,
    status      TEXT NOT NULL,
    outcome     TEXT NOT NULL DEFAULT '',
    raw_status  TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (order_id, sub_id)
);

CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    order_id    INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('webhook', 'poll', 'caseworker', 'system', 'applicant')),
    raw_event   TEXT NOT NULL DEFAULT '',
    raw_status  TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',         -- the status it led to, '' when unchanged
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_events_order ON order_events(order_id, id);

CREATE TABLE deliveries (
    id                INTEGER PRIMARY KEY,
    agency_id         INTEGER NOT NULL REFERENCES agencies(id),
    order_id          INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    channel           TEXT NOT NULL CHECK (channel IN ('email', 'sms', 'qr', 'copy', 'provider')),
    recipient_masked  TEXT NOT NULL DEFAULT '',
    language          TEXT NOT NULL DEFAULT 'en',
    kind              TEXT NOT NULL CHECK (kind IN ('first', 'reminder', 'resend')),
    result            TEXT NOT NULL,              -- queued, sent, failed, shown, copied
    error             TEXT NOT NULL DEFAULT '',
    message_id        TEXT NOT NULL DEFAULT '',
    created_by        INTEGER REFERENCES users(id),
    created_at        TEXT NOT NULL
);
CREATE INDEX deliveries_order ON deliveries(order_id, id);

CREATE TABLE reports (
    id                  INTEGER PRIMARY KEY,
    agency_id           INTEGER NOT NULL REFERENCES agencies(id),
    order_id            INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    provider_report_id  TEXT NOT NULL DEFAULT '',
    kind                TEXT NOT NULL,
    data_enc            BLOB,                     -- normalized report JSON, encrypted
    fetched_at          TEXT NOT NULL,
    expires_at          TEXT,
    purged_at           TEXT
);
CREATE INDEX reports_order ON reports(order_id, id);

-- Every authenticated webhook delivery as received, committed before the
-- 2xx. dedupe_key is UNIQUE per provider so a retried delivery is stored
-- once; providers whose legitimate re-fires are byte-identical get a fresh
-- key per delivery (nothing is thrown away). The body holds PII: encrypted,
-- and purged after processing on the retention schedule; body_hash stays.
CREATE TABLE webhook_inbox (
    id               INTEGER PRIMARY KEY,
    provider         TEXT NOT NULL,
    dedupe_key       TEXT NOT NULL,
    path             TEXT NOT NULL DEFAULT '',
    body_hash        TEXT NOT NULL,
    body_enc         BLOB,
    received_at      TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    processed_at     TEXT,
    error            TEXT NOT NULL DEFAULT '',
    UNIQUE (provider, dedupe_key)
);
CREATE INDEX webhook_inbox_pending ON webhook_inbox(processed_at, next_attempt_at);

-- Messages "sent" when no SMTP or Twilio is configured: shown at /outbox.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    to_enc      BLOB NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    body_enc    BLOB NOT NULL,
    html_enc    BLOB,
    created_at  TEXT NOT NULL
);

-- +goose Down
DROP TABLE outbox;
DROP TABLE webhook_inbox;
DROP TABLE reports;
DROP TABLE deliveries;
DROP TABLE order_events;
DROP TABLE order_items;
DROP TABLE orders;

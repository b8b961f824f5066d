-- +goose Up
-- Renewals at recertification: a run (one case, or every case due) with one
-- item per member, claimed by workers one at a time so that a member is
-- never renewed twice, and a run survives a restart.

ALTER TABLE agencies ADD COLUMN renewal_fallback TEXT NOT NULL DEFAULT 'send'; -- send | queue

CREATE TABLE renewal_runs (
    id           INTEGER PRIMARY KEY,
    agency_id    INTEGER NOT NULL REFERENCES agencies(id),
    case_id      INTEGER REFERENCES cases(id),   -- NULL: every case due in the window
    window_days  INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('running', 'canceled', 'done')),
    started_by   INTEGER REFERENCES users(id),
    created_at   TEXT NOT NULL,
    finished_at  TEXT
);
CREATE INDEX renewal_runs_agency ON renewal_runs(agency_id, id);

CREATE TABLE renewal_items (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES renewal_runs(id) ON DELETE CASCADE,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    member_id      INTEGER NOT NULL REFERENCES members(id),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'working', 'refreshing', 'refreshed', 'new_link', 'queued', 'failed', 'skipped')),
    path           TEXT NOT NULL DEFAULT '',      -- refresh | new_link | queue
    detail         TEXT NOT NULL DEFAULT '',      -- why, in plain words
    prev_order_id  INTEGER REFERENCES orders(id),
    order_id       INTEGER REFERENCES orders(id),
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_until    TEXT,
    updated_at     TEXT NOT NULL,
    UNIQUE (run_id, member_id)
);
CREATE INDEX renewal_items_pending ON renewal_items(status, lease_until);
CREATE INDEX renewal_items_order ON renewal_items(order_id);

-- +goose Down
DROP TABLE renewal_items;
DROP TABLE renewal_runs;
ALTER TABLE agencies DROP COLUMN renewal_fallback;

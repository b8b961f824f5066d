-- +goose Up
-- Issue 13 item 5: a renewal or bulk-send item whose order's create (or
-- refresh) got no answer waits, 'checking', while the portal asks the
-- provider whether it has the order (orders.unconfirmed_at); the lookup's
-- answer finishes it. SQLite cannot change a CHECK constraint in place: the
-- table is rebuilt with the same columns, rows and indexes. Nothing
-- references renewal_items, so dropping the old table breaks no key.
CREATE TABLE renewal_items_new (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES renewal_runs(id) ON DELETE CASCADE,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    member_id      INTEGER NOT NULL REFERENCES members(id),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'working', 'checking', 'refreshing', 'refreshed', 'new_link', 'queued', 'failed', 'skipped')),
    path           TEXT NOT NULL DEFAULT '',      -- refresh | new_link | queue
    detail         TEXT NOT NULL DEFAULT '',      -- why, in plain words
    prev_order_id  INTEGER REFERENCES orders(id),
    order_id       INTEGER REFERENCES orders(id),
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_until    TEXT,
    updated_at     TEXT NOT NULL,
    prev_report_id INTEGER,
    recert_due     TEXT,
    UNIQUE (run_id, member_id)
);
INSERT INTO renewal_items_new (id, run_id, agency_id, case_id, member_id, status, path, detail, prev_order_id, order_id,
    attempts, lease_until, updated_at, prev_report_id, recert_due)
SELECT id, run_id, agency_id, case_id, member_id, status, path, detail, prev_order_id, order_id,
    attempts, lease_until, updated_at, prev_report_id, recert_due FROM renewal_items;
DROP TABLE renewal_items;
ALTER TABLE renewal_items_new RENAME TO renewal_items;
CREATE INDEX renewal_items_pending ON renewal_items(status, lease_until);
CREATE INDEX renewal_items_order ON renewal_items(order_id);
CREATE INDEX renewal_items_member ON renewal_items(member_id, status);

-- +goose Down
UPDATE renewal_items SET status = 'refreshing' WHERE status = 'checking';
CREATE TABLE renewal_items_old (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES renewal_runs(id) ON DELETE CASCADE,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    case_id        INTEGER NOT NULL REFERENCES cases(id),
    member_id      INTEGER NOT NULL REFERENCES members(id),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'working', 'refreshing', 'refreshed', 'new_link', 'queued', 'failed', 'skipped')),
    path           TEXT NOT NULL DEFAULT '',
    detail         TEXT NOT NULL DEFAULT '',
    prev_order_id  INTEGER REFERENCES orders(id),
    order_id       INTEGER REFERENCES orders(id),
    attempts       INTEGER NOT NULL DEFAULT 0,
    lease_until    TEXT,
    updated_at     TEXT NOT NULL,
    prev_report_id INTEGER,
    recert_due     TEXT,
    UNIQUE (run_id, member_id)
);
INSERT INTO renewal_items_old SELECT id, run_id, agency_id, case_id, member_id, status, path, detail, prev_order_id, order_id,
    attempts, lease_until, updated_at, prev_report_id, recert_due FROM renewal_items;
DROP TABLE renewal_items;
ALTER TABLE renewal_items_old RENAME TO renewal_items;
CREATE INDEX renewal_items_pending ON renewal_items(status, lease_until);
CREATE INDEX renewal_items_order ON renewal_items(order_id);
CREATE INDEX renewal_items_member ON renewal_items(member_id, status);

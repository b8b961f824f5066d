-- +goose Up
-- Issue 20: CSV intake and bulk send.
--
-- csv_imports holds an uploaded CSV between its preview and its import, on
-- the server (never in the URL): the id is 128 random bits, the file is
-- sealed with the data key (it holds names, dates of birth and contacts),
-- and every read is scoped to the agency and the user who uploaded it.
CREATE TABLE csv_imports (
    id             TEXT PRIMARY KEY,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    user_id        INTEGER NOT NULL REFERENCES users(id),
    data_enc       BLOB NOT NULL,                -- the file, AES-GCM; emptied when the hold expires
    row_count      INTEGER NOT NULL,
    status         TEXT NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'importing', 'imported', 'failed')),
    mode           TEXT NOT NULL DEFAULT '',     -- all | valid: the last import's choice
    created_cases  INTEGER NOT NULL DEFAULT 0,
    added_members  INTEGER NOT NULL DEFAULT 0,
    unchanged      INTEGER NOT NULL DEFAULT 0,
    skipped        INTEGER NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    started_at     TEXT,
    finished_at    TEXT
);
CREATE INDEX csv_imports_owner ON csv_imports(agency_id, user_id, created_at);

-- The members a file named (added or already there): "the imported batch"
-- a bulk send can start from.
CREATE TABLE csv_import_members (
    import_id  TEXT NOT NULL REFERENCES csv_imports(id) ON DELETE CASCADE,
    member_id  INTEGER NOT NULL REFERENCES members(id) ON DELETE CASCADE,
    PRIMARY KEY (import_id, member_id)
);
CREATE INDEX csv_import_members_member ON csv_import_members(member_id);

-- One engine for runs: a renewal run or a bulk send run share the runs and
-- items tables, the claim, the lease, cancel and progress. A bulk send
-- names its provider, products (comma-separated) and channel; its items
-- end 'new_link' (the link was sent), 'skipped' (with the reason) or
-- 'failed'.
ALTER TABLE renewal_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'renewal' CHECK (kind IN ('renewal', 'bulk_send'));
ALTER TABLE renewal_runs ADD COLUMN provider TEXT NOT NULL DEFAULT '';
ALTER TABLE renewal_runs ADD COLUMN products TEXT NOT NULL DEFAULT '';
ALTER TABLE renewal_runs ADD COLUMN channel TEXT NOT NULL DEFAULT '';
CREATE INDEX renewal_runs_kind ON renewal_runs(agency_id, kind, id);

-- +goose Down
DROP INDEX renewal_runs_kind;
ALTER TABLE renewal_runs DROP COLUMN channel;
ALTER TABLE renewal_runs DROP COLUMN products;
ALTER TABLE renewal_runs DROP COLUMN provider;
ALTER TABLE renewal_runs DROP COLUMN kind;
DROP TABLE csv_import_members;
DROP TABLE csv_imports;

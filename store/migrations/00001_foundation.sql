-- +goose Up
-- The foundation: agencies (tenants), staff users and their server-side
-- sessions, sign-in throttling, cases, household members, notes, audit.
-- Every row that holds case data carries agency_id so that every query can
-- be scoped by agency. Columns ending in _enc hold AES-GCM ciphertext
-- (store/crypt.go); columns ending in _idx hold a keyed hash for exact search.
-- Times are UTC RFC 3339 text.

CREATE TABLE agencies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    agency_id      INTEGER NOT NULL REFERENCES agencies(id),
    email          TEXT NOT NULL UNIQUE,          -- staff work email, lowercased
    name           TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'caseworker', 'agent')),
    password_hash  TEXT NOT NULL,                 -- argon2id, PHC string
    disabled_at    TEXT,
    last_login_at  TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX users_agency ON users(agency_id);

-- A session row is the real session; the cookie only carries its random
-- token, and only a SHA-256 of the token is stored, so a copy of the
-- database does not hand out live sessions.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Failed sign-ins per key ("acct:<hash of email>" or "ip:<address>"), kept in
-- the database so throttling holds across restarts and replicas.
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  TEXT NOT NULL,
    locked_until  TEXT
);

CREATE TABLE cases (
    id                INTEGER PRIMARY KEY,
    agency_id         INTEGER NOT NULL REFERENCES agencies(id),
    case_number       TEXT NOT NULL,
    program           TEXT NOT NULL,
    assigned_user_id  INTEGER REFERENCES users(id),
    recert_due        TEXT,                       -- YYYY-MM-DD
    -- roll-up of the members' verifications, kept by the store
    status            TEXT NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'pending', 'action_required', 'completed')),
    created_by        INTEGER REFERENCES users(id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (agency_id, case_number)
);
CREATE INDEX cases_agency_updated ON cases(agency_id, updated_at);

CREATE TABLE members (
    id            INTEGER PRIMARY KEY,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    case_id       INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,               -- 1 is the primary applicant
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    name_search   TEXT NOT NULL,                  -- lowercased "first last", for search
    relationship  TEXT NOT NULL,
    email_enc     BLOB,
    email_idx     TEXT,
    phone_enc     BLOB,
    phone_idx     TEXT,
    dob_enc       BLOB,
    ssn4_enc      BLOB,
    language      TEXT NOT NULL DEFAULT 'en',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX members_case ON members(case_id, position);
CREATE INDEX members_agency_name ON members(agency_id, name_search);
CREATE INDEX members_agency_email ON members(agency_id, email_idx);
CREATE INDEX members_agency_phone ON members(agency_id, phone_idx);

CREATE TABLE case_notes (
    id          INTEGER PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    case_id     INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    author_id   INTEGER NOT NULL REFERENCES users(id),
    body_enc    BLOB NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX case_notes_case ON case_notes(case_id, created_at);

-- Who looked at or changed what. Never holds PII values.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    user_id     INTEGER REFERENCES users(id),
    action      TEXT NOT NULL,
    case_id     INTEGER,
    member_id   INTEGER,
    subject     TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    at          TEXT NOT NULL
);
CREATE INDEX audit_log_agency_at ON audit_log(agency_id, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE case_notes;
DROP TABLE members;
DROP TABLE cases;
DROP TABLE login_throttle;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE agencies;

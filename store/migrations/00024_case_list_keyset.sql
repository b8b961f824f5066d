-- +goose Up
-- Issue 17: the case list orders by (updated_at, id), newest first, and
-- pages by keyset on it. SQLite's index carried id already (every SQLite
-- index ends with the rowid, which cases.id is); naming it keeps the two
-- engines' schemas one (see postgres/00024, where it matters).
CREATE INDEX cases_agency_updated_id ON cases(agency_id, updated_at, id);
DROP INDEX cases_agency_updated;

-- +goose Down
CREATE INDEX cases_agency_updated ON cases(agency_id, updated_at);
DROP INDEX cases_agency_updated_id;

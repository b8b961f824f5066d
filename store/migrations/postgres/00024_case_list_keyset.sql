-- +goose Up
-- Twin of ../00024_case_list_keyset.sql (issue 17): the case list orders by
-- (updated_at, id) and pages by keyset on it. With id in the index a page
-- is an index-only seek (and a page chosen by number skips index entries,
-- not rows); without it PostgreSQL read every row before the page to sort
-- by id (page 1,000 of 30,000 cases: a sort of the whole agency).
CREATE INDEX cases_agency_updated_id ON cases(agency_id, updated_at, id);
DROP INDEX cases_agency_updated;

-- +goose Down
CREATE INDEX cases_agency_updated ON cases(agency_id, updated_at);
DROP INDEX cases_agency_updated_id;

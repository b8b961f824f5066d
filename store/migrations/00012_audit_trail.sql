-- +goose Up
-- The audit log page filters by user, case and date and pages by id
-- (keyset); the route the action came through is kept (a template, never a
-- value).
ALTER TABLE audit_log ADD COLUMN route TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_agency_id ON audit_log(agency_id, id);
CREATE INDEX audit_log_agency_case ON audit_log(agency_id, case_id, id);
CREATE INDEX audit_log_agency_user ON audit_log(agency_id, user_id, id);

-- +goose Down
DROP INDEX audit_log_agency_user;
DROP INDEX audit_log_agency_case;
DROP INDEX audit_log_agency_id;
ALTER TABLE audit_log DROP COLUMN route;

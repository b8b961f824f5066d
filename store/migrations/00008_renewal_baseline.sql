-- +goose Up
-- Renewals (issue 9): what a renewal compares against, and which
-- recertification it was for.
--
-- prev_report_id is the previous order's newest report (reports.id) when the
-- renewal started: the "before" of the income comparison. AccountChek
-- refreshes in place (the same order gets a new report), so without it the
-- order's newest report would be compared with itself.
--
-- recert_due is the case's recertification due date when the run started:
-- a member already renewed for that date is not renewed (and billed) again.
ALTER TABLE renewal_items ADD COLUMN prev_report_id INTEGER;
ALTER TABLE renewal_items ADD COLUMN recert_due TEXT;
CREATE INDEX renewal_items_member ON renewal_items(member_id, status);

-- +goose Down
DROP INDEX renewal_items_member;
ALTER TABLE renewal_items DROP COLUMN recert_due;
ALTER TABLE renewal_items DROP COLUMN prev_report_id;

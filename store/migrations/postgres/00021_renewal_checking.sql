-- +goose Up
-- Twin of ../00021_renewal_checking.sql (issue 13 item 5): renewal items
-- may be 'checking'. PostgreSQL changes the CHECK constraint in place.
ALTER TABLE renewal_items DROP CONSTRAINT renewal_items_status_check;
ALTER TABLE renewal_items ADD CONSTRAINT renewal_items_status_check
    CHECK (status IN ('pending', 'working', 'checking', 'refreshing', 'refreshed', 'new_link', 'queued', 'failed', 'skipped'));

-- +goose Down
UPDATE renewal_items SET status = 'refreshing' WHERE status = 'checking';
ALTER TABLE renewal_items DROP CONSTRAINT renewal_items_status_check;
ALTER TABLE renewal_items ADD CONSTRAINT renewal_items_status_check
    CHECK (status IN ('pending', 'working', 'refreshing', 'refreshed', 'new_link', 'queued', 'failed', 'skipped'));

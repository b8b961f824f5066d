-- +goose Up
-- The report sweep (completed orders without a report) backs off per order:
-- report_attempts counts failed fetches since the order completed without a
-- report, report_retry_at is when the next one is due. Without it a report
-- that cannot be fetched was retried, and noted on the timeline, every 30 s.
ALTER TABLE orders ADD COLUMN report_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN report_retry_at TEXT;

-- The expiry sweep looks for reports past expires_at whose data is still
-- there (reliability.md R1).
CREATE INDEX reports_expiry ON reports(expires_at) WHERE purged_at IS NULL AND expires_at IS NOT NULL;

-- +goose Down
DROP INDEX reports_expiry;
ALTER TABLE orders DROP COLUMN report_retry_at;
ALTER TABLE orders DROP COLUMN report_attempts;

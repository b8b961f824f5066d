-- +goose Up
-- Medicaid community engagement (issue 19): the agency's choices for the
-- monthly hours-and-income check (store/engagement). Defaults are the
-- statute's: 80 hours, the federal minimum wage ($7.25, in cents), one month
-- before the application and one before the renewal, the seasonal-worker
-- six-month average on. The check is shown on Medicaid cases only.
ALTER TABLE agencies ADD COLUMN engagement_shown INTEGER NOT NULL DEFAULT 1 CHECK (engagement_shown IN (0, 1));
ALTER TABLE agencies ADD COLUMN engagement_hours INTEGER NOT NULL DEFAULT 80 CHECK (engagement_hours BETWEEN 1 AND 300);
ALTER TABLE agencies ADD COLUMN engagement_rate_cents INTEGER NOT NULL DEFAULT 725 CHECK (engagement_rate_cents BETWEEN 1 AND 10000);
ALTER TABLE agencies ADD COLUMN engagement_lookback_application INTEGER NOT NULL DEFAULT 1 CHECK (engagement_lookback_application BETWEEN 1 AND 6);
ALTER TABLE agencies ADD COLUMN engagement_lookback_renewal INTEGER NOT NULL DEFAULT 1 CHECK (engagement_lookback_renewal BETWEEN 1 AND 6);
ALTER TABLE agencies ADD COLUMN engagement_seasonal INTEGER NOT NULL DEFAULT 1 CHECK (engagement_seasonal IN (0, 1));

-- +goose Down
ALTER TABLE agencies DROP COLUMN engagement_seasonal;
ALTER TABLE agencies DROP COLUMN engagement_lookback_renewal;
ALTER TABLE agencies DROP COLUMN engagement_lookback_application;
ALTER TABLE agencies DROP COLUMN engagement_rate_cents;
ALTER TABLE agencies DROP COLUMN engagement_hours;
ALTER TABLE agencies DROP COLUMN engagement_shown;

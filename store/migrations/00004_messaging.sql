-- +goose Up
-- Reaching the applicant: agency settings for reminders and the contact
-- center, tracked links (/l/{code}) with first-open times, message delivery
-- status from the SMS provider, reminder bookkeeping, and SMS opt-outs.

ALTER TABLE agencies ADD COLUMN reminder_first_hours INTEGER NOT NULL DEFAULT 24;
ALTER TABLE agencies ADD COLUMN reminder_every_hours INTEGER NOT NULL DEFAULT 24;
ALTER TABLE agencies ADD COLUMN reminder_count INTEGER NOT NULL DEFAULT 3;
ALTER TABLE agencies ADD COLUMN reminder_channel TEXT NOT NULL DEFAULT 'same';
ALTER TABLE agencies ADD COLUMN default_provider TEXT NOT NULL DEFAULT 'truv';
ALTER TABLE agencies ADD COLUMN default_products TEXT NOT NULL DEFAULT 'income';
ALTER TABLE agencies ADD COLUMN default_program TEXT NOT NULL DEFAULT 'snap';

ALTER TABLE deliveries ADD COLUMN link_code TEXT;
ALTER TABLE deliveries ADD COLUMN opened_at TEXT;
ALTER TABLE deliveries ADD COLUMN message_status TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX deliveries_link_code ON deliveries(link_code) WHERE link_code IS NOT NULL;
CREATE INDEX deliveries_message_id ON deliveries(message_id);

ALTER TABLE orders ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN next_reminder_at TEXT;
CREATE INDEX orders_next_reminder ON orders(next_reminder_at) WHERE next_reminder_at IS NOT NULL;

-- Numbers that answered STOP, by keyed hash: no number is kept in the clear.
CREATE TABLE sms_optouts (
    phone_idx  TEXT PRIMARY KEY,
    at         TEXT NOT NULL
);

-- +goose Down
DROP TABLE sms_optouts;
DROP INDEX orders_next_reminder;
ALTER TABLE orders DROP COLUMN next_reminder_at;
ALTER TABLE orders DROP COLUMN reminders_sent;
DROP INDEX deliveries_message_id;
DROP INDEX deliveries_link_code;
ALTER TABLE deliveries DROP COLUMN message_status;
ALTER TABLE deliveries DROP COLUMN opened_at;
ALTER TABLE deliveries DROP COLUMN link_code;
ALTER TABLE agencies DROP COLUMN default_program;
ALTER TABLE agencies DROP COLUMN default_products;
ALTER TABLE agencies DROP COLUMN default_provider;
ALTER TABLE agencies DROP COLUMN reminder_channel;
ALTER TABLE agencies DROP COLUMN reminder_count;
ALTER TABLE agencies DROP COLUMN reminder_every_hours;
ALTER TABLE agencies DROP COLUMN reminder_first_hours;

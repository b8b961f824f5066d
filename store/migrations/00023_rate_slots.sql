-- +goose Up
-- Issue 17 item 5: bulk renewal bounded by the providers' rates, shared by
-- every process on the database.
--
-- rate_slots holds, per named rate ("provider:<name>", "channel:<sms|email>"),
-- the earliest time its next call may be made, in Unix nanoseconds (wall
-- clock): store.TakeRateSlot reserves a call and moves it on by 1/rate in
-- one statement, so two processes never take the same slot.
CREATE TABLE rate_slots (
    name     TEXT PRIMARY KEY,
    next_ns  INTEGER NOT NULL
);

-- renewal_items.provider is the provider an item is expected to call (the
-- member's last completed verification's, or a bulk send's), recorded when
-- the run starts, so that a worker can claim an item of a provider that is
-- not at its rate: items of different providers do not wait on each other.
-- It only schedules; the renewal itself reads the member's orders again.
ALTER TABLE renewal_items ADD COLUMN provider TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE renewal_items DROP COLUMN provider;
DROP TABLE rate_slots;

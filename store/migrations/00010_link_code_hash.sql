-- +goose Up
-- Tracked-link codes (/l/{code}) are kept like the /v/ tokens: looked up by
-- their SHA-256 (link_code_hash), the code itself only encrypted
-- (link_code_enc; the desk QR page shows a QR delivery's link again). SQLite
-- has no SHA-256, so the store moves codes stored in the clear in link_code
-- into these columns at every start (Store.hashLinkCodes) and clears
-- link_code; nothing writes link_code any more.
ALTER TABLE deliveries ADD COLUMN link_code_hash TEXT;
ALTER TABLE deliveries ADD COLUMN link_code_enc BLOB;
CREATE UNIQUE INDEX deliveries_link_code_hash ON deliveries(link_code_hash) WHERE link_code_hash IS NOT NULL;

-- +goose Down
-- Codes moved to link_code_hash cannot be restored: those links stop working.
DROP INDEX deliveries_link_code_hash;
ALTER TABLE deliveries DROP COLUMN link_code_enc;
ALTER TABLE deliveries DROP COLUMN link_code_hash;

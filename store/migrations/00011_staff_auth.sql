-- +goose Up
-- Staff authentication (ASVS 6, NIST 800-63B AAL2): TOTP second factor,
-- recovery codes, forced password changes, sign-in stages, and the agency's
-- "MFA required for everyone" setting.

-- On for every agency that exists when this runs: the migration cannot know
-- whether the portal runs in sandbox mode, and on is the safe side. In sandbox
-- mode the demo accounts skip it anyway, and an administrator can turn it off.
-- New agencies get it from CreateAgency (on, unless the sandbox seeds them).
ALTER TABLE agencies ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 1;

-- totp_secret_enc / totp_pending_enc: the RFC 6238 secret (base32), AES-GCM
-- sealed like PII (store/crypt.go). The pending one is being enrolled and
-- counts for nothing until a code from it is confirmed.
-- totp_last_step: the 30-second step of the last accepted code, so a code is
-- never accepted twice (ASVS 6.5.1).
ALTER TABLE users ADD COLUMN totp_secret_enc BLOB;
ALTER TABLE users ADD COLUMN totp_pending_enc BLOB;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN mfa_enabled_at TEXT;
-- 1: the password was set by someone else (a new user's or an admin's
-- temporary password) and must be replaced at the next sign-in.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN password_changed_at TEXT;

-- Ten single-use recovery codes per user; only a keyed hash is stored.
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    UNIQUE (user_id, code_hash)
);

-- A session's stage: 'full', or a sign-in still under way after the password:
-- 'code' (second factor pending), 'password' (must set a new password),
-- 'enroll' (must set up a second factor). Only 'full' opens staff pages.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full'
    CHECK (stage IN ('full', 'code', 'password', 'enroll'));

-- +goose Down
ALTER TABLE sessions DROP COLUMN stage;
DROP TABLE recovery_codes;
ALTER TABLE users DROP COLUMN password_changed_at;
ALTER TABLE users DROP COLUMN must_change_password;
ALTER TABLE users DROP COLUMN mfa_enabled_at;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_pending_enc;
ALTER TABLE users DROP COLUMN totp_secret_enc;
ALTER TABLE agencies DROP COLUMN mfa_required;

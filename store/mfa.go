package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Two-step sign-in: a TOTP authenticator (RFC 6238: SHA-1, 6 digits, 30 s,
// what every authenticator app supports) and ten single-use recovery codes.
// The codes come from github.com/pquerna/otp; this file only stores the
// secret (sealed like PII), compares codes in constant time, refuses a code
// whose time step was already used, and throttles guesses.

// totpOpts are the parameters every code is made and checked with.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpSkew is how many 30-second steps before and after now a code may come
// from: clocks on phones drift.
const totpSkew = 1

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

// Second-factor throttle: 5 wrong codes free, then a delay from 30 s
// doubling up to 15 min. Whoever reaches this step already has the password,
// so it may be strict (NIST 800-63B 5.2.2).
const (
	codeFreeFailures = 5
	codeBaseDelay    = 30 * time.Second
	codeMaxDelay     = 15 * time.Minute
)

// ErrBadCode is the answer for a wrong, reused or expired code.
var ErrBadCode = errors.New("store: wrong code")

// TOTPEnrollment is an authenticator being set up: the otpauth:// URL the QR
// code carries and the secret to type in by hand.
type TOTPEnrollment struct {
	URL    string
	Secret string
}

// BeginTOTP makes a new secret for u, kept as pending until a code from it
// is confirmed (ConfirmTOTP); an authenticator already in use keeps working
// until then. issuer names the portal in the authenticator app.
func (s *Store) BeginTOTP(ctx context.Context, u *User, issuer string) (*TOTPEnrollment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: u.Email, Period: totpOpts.Period,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm})
	if err != nil {
		return nil, wrap("BeginTOTP", err)
	}
	sealed := s.crypt.Seal(key.URL(), aad("users", "totp_pending", u.ID))
	if _, err := s.execWrite(ctx, `UPDATE users SET totp_pending_enc = ? WHERE id = ? AND agency_id = ?`,
		sealed, u.ID, u.AgencyID); err != nil {
		return nil, wrap("BeginTOTP", err)
	}
	return &TOTPEnrollment{URL: key.URL(), Secret: key.Secret()}, nil
}

// PendingTOTP returns the authenticator u is setting up, or ErrNotFound.
func (s *Store) PendingTOTP(ctx context.Context, u *User) (*TOTPEnrollment, error) {
	var sealed []byte
	if err := s.read.QueryRowContext(ctx, `SELECT totp_pending_enc FROM users WHERE id = ? AND agency_id = ?`,
		u.ID, u.AgencyID).Scan(&sealed); err != nil {
		return nil, wrap("PendingTOTP", formatError(err))
	}
	if len(sealed) == 0 {
		return nil, ErrNotFound
	}
	url, err := s.crypt.Open(sealed, aad("users", "totp_pending", u.ID))
	if err != nil {
		return nil, wrap("PendingTOTP", err)
	}
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		return nil, wrap("PendingTOTP", err)
	}
	return &TOTPEnrollment{URL: url, Secret: key.Secret()}, nil
}

// ConfirmTOTP checks a code from the pending authenticator. When it matches,
// the authenticator becomes u's second factor (replacing any earlier one),
// and u gets new recovery codes, returned here once and stored hashed.
func (s *Store) ConfirmTOTP(ctx context.Context, u *User, code string) ([]string, error) {
	pending, err := s.PendingTOTP(ctx, u)
	if err != nil {
		return nil, wrap("ConfirmTOTP", err)
	}
	now := s.Now()
	if err := s.throttleCode(ctx, u.ID, now); err != nil {
		return nil, wrap("ConfirmTOTP", err)
	}
	step, ok := matchTOTP(pending.Secret, code, now)
	if !ok {
		return nil, ErrBadCode
	}
	codes := newRecoveryCodes()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret_enc = ?, totp_pending_enc = NULL, totp_last_step = ?,
			mfa_enabled_at = ? WHERE id = ? AND agency_id = ? AND totp_pending_enc IS NOT NULL`,
			s.crypt.Seal(pending.Secret, aad("users", "totp_secret", u.ID)), step, fmtTime(now), u.ID, u.AgencyID)
		if err != nil {
			return wrap("ConfirmTOTP", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrBadCode // confirmed twice at once
		}
		if err := s.replaceRecoveryCodes(ctx, tx, u.ID, codes); err != nil {
			return wrap("ConfirmTOTP", err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = ?`, codeThrottleKey(u.ID))
		return wrap("ConfirmTOTP", err)
	})
	if err != nil {
		return nil, wrap("ConfirmTOTP", err)
	}
	return codes, nil
}

// CheckSecondFactor checks a sign-in's second factor: a code from u's
// authenticator, or one of u's recovery codes (which is then used up). It
// returns whether a recovery code was used, ErrBadCode, or a
// *ThrottledError. The check and the count of a guess happen in one write
// transaction before the comparison, so concurrent guesses are counted.
func (s *Store) CheckSecondFactor(ctx context.Context, u *User, code string) (recovery bool, err error) {
	now := s.Now()
	if err := s.throttleCode(ctx, u.ID, now); err != nil {
		return false, wrap("CheckSecondFactor", err)
	}
	if rc, ok := normalizeRecoveryCode(code); ok {
		res, err := s.execWrite(ctx, `UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`,
			fmtTime(now), u.ID, s.recoveryHash(u.ID, rc))
		if err != nil {
			return false, wrap("CheckSecondFactor", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return false, ErrBadCode
		}
		return true, s.clearCodeThrottle(ctx, u.ID)
	}
	var sealed []byte
	if err := s.read.QueryRowContext(ctx, `SELECT totp_secret_enc FROM users WHERE id = ? AND agency_id = ?`,
		u.ID, u.AgencyID).Scan(&sealed); err != nil {
		return false, wrap("CheckSecondFactor", formatError(err))
	}
	if len(sealed) == 0 {
		return false, ErrBadCode
	}
	secret, err := s.crypt.Open(sealed, aad("users", "totp_secret", u.ID))
	if err != nil {
		return false, wrap("CheckSecondFactor", err)
	}
	step, ok := matchTOTP(secret, code, now)
	if !ok {
		return false, ErrBadCode
	}
	// A code is good once: its step must come after the last one accepted,
	// checked and recorded in one statement (ASVS 6.5.1).
	res, err := s.execWrite(ctx, `UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?`, step, u.ID, step)
	if err != nil {
		return false, wrap("CheckSecondFactor", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return false, ErrBadCode
	}
	return false, s.clearCodeThrottle(ctx, u.ID)
}

// matchTOTP compares code with the secret's codes for the steps around now,
// in constant time, and returns the matching step.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != totpOpts.Digits.Length() {
		return 0, false
	}
	var matched int64
	found := 0
	for d := -totpSkew; d <= totpSkew; d++ {
		t := now.Add(time.Duration(d) * time.Duration(totpOpts.Period) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found == 0 {
			matched, found = t.Unix()/int64(totpOpts.Period), 1
		}
	}
	return matched, found == 1
}

// throttleCode counts a second-factor try for a user, or refuses it while
// the user's delay runs.
func (s *Store) throttleCode(ctx context.Context, userID int64, now time.Time) error {
	key := codeThrottleKey(userID)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		r, err := readThrottle(ctx, tx, key)
		if err != nil {
			return wrap("throttleCode", err)
		}
		if r.lockedUntil.After(now) {
			return &ThrottledError{RetryAfter: r.lockedUntil.Sub(now)}
		}
		r.failures++
		r.lockedUntil = now.Add(backoff(r.failures, codeFreeFailures, codeBaseDelay, codeMaxDelay))
		return writeThrottle(ctx, tx, key, r, now)
	})
}

func (s *Store) clearCodeThrottle(ctx context.Context, userID int64) error {
	_, err := s.execWrite(ctx, `DELETE FROM login_throttle WHERE key = ?`, codeThrottleKey(userID))
	return wrap("clearCodeThrottle", err)
}

func codeThrottleKey(userID int64) string { return fmt.Sprintf("code:%d", userID) }

// NewRecoveryCodes replaces u's recovery codes with ten new ones, returned
// once. ErrNotFound when u has no authenticator.
func (s *Store) NewRecoveryCodes(ctx context.Context, u *User) ([]string, error) {
	codes := newRecoveryCodes()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var enabled sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT mfa_enabled_at FROM users WHERE id = ? AND agency_id = ?`,
			u.ID, u.AgencyID).Scan(&enabled); err != nil {
			return wrap("NewRecoveryCodes", formatError(err))
		}
		if !enabled.Valid {
			return ErrNotFound
		}
		return s.replaceRecoveryCodes(ctx, tx, u.ID, codes)
	})
	if err != nil {
		return nil, wrap("NewRecoveryCodes", err)
	}
	return codes, nil
}

// RecoveryCodesLeft counts u's unused recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`, userID).Scan(&n)
	return n, wrap("RecoveryCodesLeft", err)
}

func (s *Store) replaceRecoveryCodes(ctx context.Context, tx *sql.Tx, userID int64, codes []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
		return wrap("replaceRecoveryCodes", err)
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)`,
			userID, s.recoveryHash(userID, c)); err != nil {
			return wrap("replaceRecoveryCodes", err)
		}
	}
	return nil
}

// recoveryHash is a keyed hash of a recovery code: the codes are random
// (about 49 bits each, and ten guesses are all a sign-in gets before its
// delay), so a slow hash would add nothing but time.
func (s *Store) recoveryHash(userID int64, code string) string {
	return s.crypt.Index("recovery", fmt.Sprintf("%d:%s", userID, code))
}

func newRecoveryCodes() []string {
	out := make([]string, RecoveryCodeCount)
	for i := range out {
		out[i] = randomGroups(2, 5)
	}
	return out
}

// normalizeRecoveryCode accepts a recovery code typed with or without its
// dash, in any case, with spaces; ok is false for anything else (a TOTP code).
func normalizeRecoveryCode(code string) (string, bool) {
	c := strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(code)))
	if len(c) != 10 {
		return "", false
	}
	for _, r := range c {
		if !strings.ContainsRune(tempAlphabet, r) {
			return "", false
		}
	}
	return c[:5] + "-" + c[5:], true
}

// ResetMFA removes a user's authenticator and recovery codes (an
// administrator's reset, or a user turning two-step sign-in off where the
// agency allows it). Every session of the user except keepToken's ends; with
// the agency's requirement on, the user sets up a new authenticator at the
// next sign-in.
func (s *Store) ResetMFA(ctx context.Context, agencyID, userID int64, keepToken string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET totp_secret_enc = NULL, totp_pending_enc = NULL, mfa_enabled_at = NULL
			WHERE agency_id = ? AND id = ?`, agencyID, userID)
		if err != nil {
			return wrap("ResetMFA", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return wrap("ResetMFA", err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash != ?`, userID, hashToken(keepToken))
		return wrap("ResetMFA", err)
	})
}

// SetMFARequired turns an agency's "MFA required for everyone" on or off.
func (s *Store) SetMFARequired(ctx context.Context, agencyID int64, required bool) error {
	_, err := s.execWrite(ctx, `UPDATE agencies SET mfa_required = ? WHERE id = ?`, required, agencyID)
	return wrap("SetMFARequired", err)
}

// MFARequired reads an agency's "MFA required for everyone".
func (s *Store) MFARequired(ctx context.Context, agencyID int64) (bool, error) {
	var on bool
	err := s.read.QueryRowContext(ctx, `SELECT mfa_required FROM agencies WHERE id = ?`, agencyID).Scan(&on)
	return on, wrap("MFARequired", formatError(err))
}

// Audit actions of staff authentication beside those in audit.go (no
// secret or code is ever recorded).
const (
	AuditRecoveryCodes = "mfa_recovery_codes"   // a user made new recovery codes
	AuditMFARequired   = "setting_mfa_required" // Subject: "on" or "off"
)

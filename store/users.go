package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Role is what a staff user may do.
type Role string

// The roles. Every role works cases; admins also manage users.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleCaseworker Role = "caseworker"
	RoleAgent      Role = "agent"
)

// Roles lists the roles in the order forms show them.
var Roles = []Role{RoleCaseworker, RoleAgent, RoleSupervisor, RoleAdmin}

// Agency is a tenant: every case, user and order belongs to one.
type Agency struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// User is a staff member of one agency.
type User struct {
	ID          int64
	AgencyID    int64
	AgencyName  string
	Email       string
	Name        string
	Role        Role
	Disabled    bool
	LastLoginAt time.Time
	CreatedAt   time.Time
}

// IsAdmin reports whether u manages users and settings.
func (u *User) IsAdmin() bool { return u != nil && u.Role == RoleAdmin }

// Session timeouts (ASVS 7.3, NIST 800-63B AAL2): enforced on the server.
const (
	SessionIdleTimeout     = 30 * time.Minute
	SessionAbsoluteTimeout = 8 * time.Hour
)

// CreateAgency adds an agency.
func (s *Store) CreateAgency(ctx context.Context, name string) (*Agency, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, ValidationError{"agency": "Enter the agency's name."}
	}
	a := &Agency{Name: name, CreatedAt: s.Now()}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO agencies (name, created_at) VALUES (?, ?)`, a.Name, fmtTime(a.CreatedAt))
		if err != nil {
			return err
		}
		a.ID, err = res.LastInsertId()
		return err
	})
	return a, err
}

// AgencyByName finds an agency by its exact name.
func (s *Store) AgencyByName(ctx context.Context, name string) (*Agency, error) {
	var a Agency
	var created string
	err := s.read.QueryRowContext(ctx, `SELECT id, name, created_at FROM agencies WHERE name = ?`, name).
		Scan(&a.ID, &a.Name, &created)
	if err != nil {
		return nil, formatError(err)
	}
	a.CreatedAt = parseTime(created)
	return &a, nil
}

// NewUser is the input for CreateUser.
type NewUser struct {
	Email    string
	Name     string
	Role     Role
	Password string
}

// NormalizeEmail lowercases and trims an email address and checks its form.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.IndexByte(email, '@')+1:], ".") {
		return "", errors.New("Enter an email address like name@agency.gov.")
	}
	return email, nil
}

// CreateUser adds a staff user to an agency. It returns a ValidationError
// for bad input and for an email already in use.
func (s *Store) CreateUser(ctx context.Context, agencyID int64, in NewUser) (*User, error) {
	problems := ValidationError{}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		problems["email"] = err.Error()
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		problems["name"] = "Enter the person's name."
	}
	if !validRole(in.Role) {
		problems["role"] = "Choose a role."
	}
	if err := CheckPasswordPolicy(in.Password); err != nil {
		problems["password"] = strings.TrimPrefix(err.Error(), ErrWeakPassword.Error()+": ")
		problems["password"] = "Password refused: " + problems["password"] + "."
	}
	if len(problems) > 0 {
		return nil, problems
	}
	u := &User{AgencyID: agencyID, Email: email, Name: name, Role: in.Role, CreatedAt: s.Now()}
	hash := HashPassword(in.Password)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO users (agency_id, email, name, role, password_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, agencyID, email, name, string(in.Role), hash, fmtTime(u.CreatedAt))
		if err != nil {
			return formatError(err)
		}
		u.ID, err = res.LastInsertId()
		return err
	})
	if errors.Is(err, ErrConflict) {
		return nil, ValidationError{"email": "A user with this email already exists."}
	}
	return u, err
}

func validRole(r Role) bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

const userColumns = `u.id, u.agency_id, a.name, u.email, u.name, u.role, u.disabled_at, u.last_login_at, u.created_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var disabled, lastLogin sql.NullString
	var created, role string
	if err := row.Scan(&u.ID, &u.AgencyID, &u.AgencyName, &u.Email, &u.Name, &role, &disabled, &lastLogin, &created); err != nil {
		return nil, formatError(err)
	}
	u.Role = Role(role)
	u.Disabled = disabled.Valid
	u.LastLoginAt = parseNullTime(lastLogin)
	u.CreatedAt = parseTime(created)
	return &u, nil
}

// Users lists an agency's users by name.
func (s *Store) Users(ctx context.Context, agencyID int64) ([]*User, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users u JOIN agencies a ON a.id = u.agency_id
		WHERE u.agency_id = ? ORDER BY u.name COLLATE NOCASE, u.id`, agencyID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// User returns one user of an agency.
func (s *Store) User(ctx context.Context, agencyID, userID int64) (*User, error) {
	return scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u JOIN agencies a ON a.id = u.agency_id
		WHERE u.agency_id = ? AND u.id = ?`, agencyID, userID))
}

// SetUserDisabled disables or re-enables a user. Disabling ends every
// session of that user in the same transaction.
func (s *Store) SetUserDisabled(ctx context.Context, agencyID, userID int64, disabled bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var at any
		if disabled {
			at = fmtTime(s.Now())
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = ? WHERE agency_id = ? AND id = ?`, at, agencyID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if disabled {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		}
		return err
	})
}

// SetPassword replaces a user's password (CLI and admin resets).
func (s *Store) SetPassword(ctx context.Context, agencyID, userID int64, password string) error {
	if err := CheckPasswordPolicy(password); err != nil {
		return err
	}
	hash := HashPassword(password)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE agency_id = ? AND id = ?`, hash, agencyID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return err
	})
}

// CountUsers returns how many users exist in all agencies (first start).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, err
}

// Sessions

// NewSessionToken returns 32 random bytes, base64url: the opaque id the
// session cookie carries (ASVS 7.2.3: at least 128 bits from crypto/rand).
func NewSessionToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateSession starts a server-side session for a user and returns its token.
func (s *Store) CreateSession(ctx context.Context, u *User) (string, error) {
	token := NewSessionToken()
	now := fmtTime(s.Now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, agency_id, created_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?)`, hashToken(token), u.ID, u.AgencyID, now, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, now, u.ID)
		return err
	})
	return token, err
}

// SessionUser returns the user of a live session and records the activity.
// It returns ErrNotFound (and deletes the row) when the session is unknown,
// idle for more than SessionIdleTimeout, older than SessionAbsoluteTimeout,
// or its user is disabled.
func (s *Store) SessionUser(ctx context.Context, token string) (*User, error) {
	if token == "" {
		return nil, ErrNotFound
	}
	h := hashToken(token)
	var u *User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var created, seen string
		row := tx.QueryRowContext(ctx, `SELECT s.created_at, s.last_seen_at, `+userColumns+`
			FROM sessions s JOIN users u ON u.id = s.user_id JOIN agencies a ON a.id = u.agency_id
			WHERE s.token_hash = ?`, h)
		var user User
		var disabled, lastLogin sql.NullString
		var ucreated, role string
		if err := row.Scan(&created, &seen, &user.ID, &user.AgencyID, &user.AgencyName, &user.Email, &user.Name,
			&role, &disabled, &lastLogin, &ucreated); err != nil {
			return formatError(err)
		}
		now := s.Now()
		if sessionEnded(now, created, seen, disabled.Valid) {
			return errExpired // rolls back; the row is deleted below
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?`, fmtTime(now), h); err != nil {
			return err
		}
		user.Role = Role(role)
		user.LastLoginAt = parseNullTime(lastLogin)
		user.CreatedAt = parseTime(ucreated)
		u = &user
		return nil
	})
	if errors.Is(err, errExpired) {
		// The deletion must commit even though the caller gets no user.
		_, _ = s.write.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, h)
		return nil, ErrNotFound
	}
	return u, err
}

var errExpired = errors.New("session expired")

// SessionLive says whether a session is still valid, without recording
// activity: a long-lived stream (the case page's live status) asks this
// every few seconds, and must not keep an idle session alive by doing so.
func (s *Store) SessionLive(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	var created, seen string
	var disabled sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT s.created_at, s.last_seen_at, u.disabled_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, hashToken(token)).Scan(&created, &seen, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !sessionEnded(s.Now(), created, seen, disabled.Valid), nil
}

// sessionEnded is the one rule for when a session is over: its user is
// disabled, it has been idle too long, or it is too old.
func sessionEnded(now time.Time, created, seen string, userDisabled bool) bool {
	return userDisabled || now.Sub(parseTime(seen)) > SessionIdleTimeout || now.Sub(parseTime(created)) > SessionAbsoluteTimeout
}

// DeleteSession ends a session (sign-out).
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hashToken(token))
	return err
}

// Sign-in and throttling

// Throttling limits (reliability.md A1, A2): per account, an enforced delay
// after 5 consecutive failures that doubles up to 15 minutes; per client
// address, 20 failures a minute.
const (
	acctFreeFailures = 5
	acctBaseDelay    = 30 * time.Second
	acctMaxDelay     = 15 * time.Minute
	ipFailuresPerMin = 20
)

// ErrBadCredentials is the one answer for an unknown email, a wrong password
// and a disabled account, so sign-in does not reveal which accounts exist.
var ErrBadCredentials = errors.New("store: bad credentials")

// ThrottledError says sign-in is paused for this account or address.
type ThrottledError struct{ RetryAfter time.Duration }

// Error implements error.
func (e *ThrottledError) Error() string { return fmt.Sprintf("store: throttled for %s", e.RetryAfter) }

// SignIn checks an email and password. It returns the user, ErrBadCredentials,
// or a *ThrottledError. Unknown emails cost the same hashing time as known ones.
func (s *Store) SignIn(ctx context.Context, email, password, ip string) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	acctKey := "acct:" + s.crypt.Index("email", email)
	ipKey := "ip:" + ip
	now := s.Now()
	if wait := s.lockedFor(ctx, now, acctKey, ipKey); wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	var hash string
	var id int64
	var disabled sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT id, password_hash, disabled_at FROM users WHERE email = ?`, email).
		Scan(&id, &hash, &disabled)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		hash = dummyHash()
	}
	ok := CheckPassword(hash, password) && err == nil && !disabled.Valid
	if !ok {
		if err := s.recordFailure(ctx, now, acctKey, ipKey); err != nil {
			return nil, err
		}
		return nil, ErrBadCredentials
	}
	if _, err := s.write.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = ?`, acctKey); err != nil {
		return nil, err
	}
	return scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u JOIN agencies a ON a.id = u.agency_id WHERE u.id = ?`, id))
}

func (s *Store) lockedFor(ctx context.Context, now time.Time, keys ...string) time.Duration {
	var wait time.Duration
	for _, k := range keys {
		var until sql.NullString
		if err := s.read.QueryRowContext(ctx, `SELECT locked_until FROM login_throttle WHERE key = ?`, k).Scan(&until); err != nil {
			continue
		}
		if t := parseNullTime(until); t.After(now) && t.Sub(now) > wait {
			wait = t.Sub(now)
		}
	}
	return wait
}

func (s *Store) recordFailure(ctx context.Context, now time.Time, acctKey, ipKey string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range []string{acctKey, ipKey} {
			var failures int
			var start string
			err := tx.QueryRowContext(ctx, `SELECT failures, window_start FROM login_throttle WHERE key = ?`, k).Scan(&failures, &start)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			windowStart := parseTime(start)
			isIP := k == ipKey
			if errors.Is(err, sql.ErrNoRows) || (isIP && now.Sub(windowStart) >= time.Minute) {
				failures, windowStart = 0, now
			}
			failures++
			var locked any
			switch {
			case isIP && failures >= ipFailuresPerMin:
				locked = fmtTime(windowStart.Add(time.Minute))
			case !isIP && failures >= acctFreeFailures:
				d := acctBaseDelay << min(failures-acctFreeFailures, 10)
				locked = fmtTime(now.Add(min(d, acctMaxDelay)))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_throttle (key, failures, window_start, locked_until)
				VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
				window_start = excluded.window_start, locked_until = excluded.locked_until`,
				k, failures, fmtTime(windowStart), locked); err != nil {
				return err
			}
		}
		return nil
	})
}

// AgencyName returns an agency's name.
func (s *Store) AgencyName(ctx context.Context, agencyID int64) (string, error) {
	var name string
	err := s.read.QueryRowContext(ctx, `SELECT name FROM agencies WHERE id = ?`, agencyID).Scan(&name)
	return name, formatError(err)
}

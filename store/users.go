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
	"maps"
	"net/mail"
	"slices"
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
	// MFAEnabled: the user has confirmed a TOTP authenticator.
	MFAEnabled bool
	// MustChangePassword: the password was set by someone else (a new
	// user's or a reset's temporary password) and is replaced at sign-in.
	MustChangePassword bool
	// MFARequired is the agency's "MFA required for everyone" setting.
	MFARequired bool
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
		err := tx.QueryRowContext(ctx, `INSERT INTO agencies (name, created_at) VALUES (?, ?) RETURNING id`, a.Name, fmtTime(a.CreatedAt)).Scan(&a.ID)
		return wrap("CreateAgency", err)
	})
	return a, wrap("CreateAgency", err)
}

// AgencyByName finds an agency by its exact name.
func (s *Store) AgencyByName(ctx context.Context, name string) (*Agency, error) {
	var a Agency
	var created string
	err := s.read.QueryRowContext(ctx, `SELECT id, name, created_at FROM agencies WHERE name = ?`, name).
		Scan(&a.ID, &a.Name, &created)
	if err != nil {
		return nil, wrap("AgencyByName", formatError(err))
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
	// Temporary marks Password as one the system made for an administrator
	// to hand over (NewTemporaryPassword): the user must replace it at the
	// first sign-in, and the password rules do not apply to it.
	Temporary bool
	// SkipPolicy is for the sandbox's demo accounts only, whose passwords
	// are published in the README anyway.
	SkipPolicy bool
}

// NormalizeEmail lowercases and trims an email address and checks its form.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || !strings.Contains(email[strings.IndexByte(email, '@')+1:], ".") {
		//lint:ignore ST1005 shown to the caseworker as is, as a sentence
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
	agencyName, err := s.AgencyName(ctx, agencyID)
	if err != nil {
		return nil, wrap("CreateUser", err)
	}
	if !in.Temporary && !in.SkipPolicy {
		if err := CheckPasswordPolicy(in.Password, PasswordContext{Email: email, AgencyName: agencyName}); err != nil {
			problems["password"] = PasswordProblem(err)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	u := &User{AgencyID: agencyID, Email: email, Name: name, Role: in.Role, CreatedAt: s.Now(), MustChangePassword: in.Temporary}
	hash := HashPassword(in.Password)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (agency_id, email, name, role, password_hash, must_change_password, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, agencyID, email, name, string(in.Role), hash, in.Temporary, fmtTime(u.CreatedAt)).Scan(&u.ID)
		return wrap("CreateUser", formatError(err))
	})
	if errors.Is(err, ErrConflict) {
		return nil, ValidationError{"email": "A user with this email already exists."}
	}
	return u, wrap("CreateUser", err)
}

func validRole(r Role) bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

const userColumns = `u.id, u.agency_id, a.name, u.email, u.name, u.role, u.disabled_at, u.last_login_at, u.created_at,
	u.mfa_enabled_at IS NOT NULL, u.must_change_password, a.mfa_required`

// scanUser reads userColumns, then any extra columns into extra.
func scanUser(row interface{ Scan(...any) error }, extra ...any) (*User, error) {
	var u User
	var disabled, lastLogin sql.NullString
	var created, role string
	dest := append([]any{&u.ID, &u.AgencyID, &u.AgencyName, &u.Email, &u.Name, &role, &disabled, &lastLogin, &created,
		&u.MFAEnabled, &u.MustChangePassword, &u.MFARequired}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, wrap("scanUser", formatError(err))
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
		WHERE u.agency_id = ? ORDER BY `+s.d.nocase("u.name")+`, u.id`, agencyID)
	if err != nil {
		return nil, wrap("Users", err)
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("Users", err)
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
			return wrap("SetUserDisabled", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if disabled {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		}
		return wrap("SetUserDisabled", err)
	})
}

// SetPassword replaces a user's password with one they chose (the command
// line), under the password rules. Every session of the user ends.
func (s *Store) SetPassword(ctx context.Context, agencyID, userID int64, password string) error {
	u, err := s.User(ctx, agencyID, userID)
	if err != nil {
		return wrap("SetPassword", err)
	}
	if err := CheckPasswordPolicy(password, PasswordContext{Email: u.Email, AgencyName: u.AgencyName, MFA: u.MFAEnabled}); err != nil {
		return wrap("SetPassword", err)
	}
	return s.storePassword(ctx, agencyID, userID, HashPassword(password), false, "")
}

// SetDemoPassword gives a sandbox demo account its published password
// again, outside the password rules (the README prints it: the rules would
// protect nothing). Every session of the user ends.
func (s *Store) SetDemoPassword(ctx context.Context, agencyID, userID int64, password string) error {
	return s.storePassword(ctx, agencyID, userID, HashPassword(password), false, "")
}

// ChangePassword is a user replacing their own password. current must be
// the present password (checked like a sign-in, throttle included) unless
// the user must change it at this sign-in (their session already proved the
// temporary one). Every other session of the user ends (keepToken's stays).
// Errors: ErrBadCredentials, *ThrottledError or ErrBusy for the current
// password, ErrWeakPassword (wrapped) for a refused new one.
func (s *Store) ChangePassword(ctx context.Context, u *User, current, password, ip, keepToken string) error {
	fresh, err := s.User(ctx, u.AgencyID, u.ID)
	if err != nil {
		return wrap("ChangePassword", err)
	}
	if !fresh.MustChangePassword {
		if err := s.VerifyPassword(ctx, fresh, current, ip); err != nil {
			return wrap("ChangePassword", err)
		}
	}
	if err := CheckPasswordPolicy(password, PasswordContext{Email: fresh.Email, AgencyName: fresh.AgencyName, MFA: fresh.MFAEnabled}); err != nil {
		return wrap("ChangePassword", err)
	}
	return s.storePassword(ctx, u.AgencyID, u.ID, HashPassword(password), false, keepToken)
}

// VerifyPassword checks a signed-in user's password again before a change
// to their factors, through the same throttle and hashing queue as SignIn.
func (s *Store) VerifyPassword(ctx context.Context, u *User, password, ip string) error {
	got, err := s.SignIn(ctx, u.Email, password, ip)
	if err != nil {
		return wrap("VerifyPassword", err)
	}
	if got.ID != u.ID {
		return ErrBadCredentials
	}
	return nil
}

// ResetPassword is an administrator's forced reset: the user gets a new
// temporary password (returned, to hand over in person), must replace it at
// the next sign-in, and every session of theirs ends now.
func (s *Store) ResetPassword(ctx context.Context, agencyID, userID int64) (string, error) {
	temp := NewTemporaryPassword()
	return temp, s.storePassword(ctx, agencyID, userID, HashPassword(temp), true, "")
}

// storePassword saves a password hash and ends the user's sessions except
// keepToken's.
func (s *Store) storePassword(ctx context.Context, agencyID, userID int64, hash string, temporary bool, keepToken string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ?
			WHERE agency_id = ? AND id = ?`, hash, temporary, fmtTime(s.Now()), agencyID, userID)
		if err != nil {
			return wrap("storePassword", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash != ?`, userID, hashToken(keepToken))
		return wrap("storePassword", err)
	})
}

// CountUsers returns how many users exist in all agencies (first start).
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, wrap("CountUsers", err)
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

// SessionStage is how far a sign-in has come. Only StageFull opens staff
// pages; the others are a sign-in still under way after a correct password.
type SessionStage string

// The stages of a session.
const (
	StageFull     SessionStage = "full"
	StageCode     SessionStage = "code"     // the second factor is pending
	StagePassword SessionStage = "password" // must replace a temporary password
	StageEnroll   SessionStage = "enroll"   // must set up a second factor
)

// PendingTimeout is how long a sign-in may stay between the password and
// a full session.
const PendingTimeout = 10 * time.Minute

// CreateSession starts a full server-side session for a user and returns
// its token.
func (s *Store) CreateSession(ctx context.Context, u *User) (string, error) {
	return s.StartSession(ctx, u, StageFull)
}

// StartSession starts a session at stage for a user whose password was just
// checked, and returns its token.
func (s *Store) StartSession(ctx context.Context, u *User, stage SessionStage) (string, error) {
	token := NewSessionToken()
	now := fmtTime(s.Now())
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, agency_id, created_at, last_seen_at, stage)
			VALUES (?, ?, ?, ?, ?, ?)`, hashToken(token), u.ID, u.AgencyID, now, now, string(stage)); err != nil {
			return wrap("StartSession", err)
		}
		if stage != StageFull {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, now, u.ID)
		return wrap("StartSession", err)
	})
	return token, wrap("StartSession", err)
}

// PromoteSession moves a sign-in under way to its next stage. The old token
// dies and a new one is returned (ASVS 7.2.4: a new session token at every
// change of privilege), so a token seen before the second factor opens
// nothing after it. ErrNotFound when the old session is gone or over.
func (s *Store) PromoteSession(ctx context.Context, oldToken string, stage SessionStage) (string, error) {
	token := NewSessionToken()
	now := s.Now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var userID, agencyID int64
		var created, seen, old string
		var disabled sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT s.user_id, s.agency_id, s.created_at, s.last_seen_at, s.stage, u.disabled_at
			FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?`, hashToken(oldToken)).
			Scan(&userID, &agencyID, &created, &seen, &old, &disabled)
		if err != nil {
			return wrap("PromoteSession", formatError(err))
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hashToken(oldToken)); err != nil {
			return wrap("PromoteSession", err)
		}
		if sessionEnded(now, created, seen, SessionStage(old), disabled.Valid) {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (token_hash, user_id, agency_id, created_at, last_seen_at, stage)
			VALUES (?, ?, ?, ?, ?, ?)`, hashToken(token), userID, agencyID, fmtTime(now), fmtTime(now), string(stage)); err != nil {
			return wrap("PromoteSession", err)
		}
		if stage == StageFull {
			_, err = tx.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, fmtTime(now), userID)
		}
		return wrap("PromoteSession", err)
	})
	if errors.Is(err, ErrNotFound) {
		return "", ErrNotFound
	}
	return token, wrap("PromoteSession", err)
}

// SessionUser returns the user of a live full session and records the
// activity; ErrNotFound otherwise (see Session).
func (s *Store) SessionUser(ctx context.Context, token string) (*User, error) {
	u, stage, err := s.Session(ctx, token)
	if err == nil && stage != StageFull {
		return nil, ErrNotFound
	}
	return u, wrap("SessionUser", err)
}

// sessionTouchEvery is how stale a session's recorded activity may get: a
// request records it only when it is older than this. So a page view is a
// read, not a write transaction and its commit (an fsync on SQLite, a
// SERIALIZABLE transaction on PostgreSQL) on every request. The idle limit
// counts from the recorded activity, so a session may end up to this much
// before SessionIdleTimeout of real idleness: earlier, never later.
const sessionTouchEvery = time.Minute

// Session returns the user and stage of a live session and records the
// activity (at most every sessionTouchEvery). It returns ErrNotFound (and
// deletes the row) when the session is unknown, idle for more than
// SessionIdleTimeout, older than SessionAbsoluteTimeout (PendingTimeout
// before it is full), or its user is disabled.
func (s *Store) Session(ctx context.Context, token string) (*User, SessionStage, error) {
	if token == "" {
		return nil, "", ErrNotFound
	}
	h := hashToken(token)
	var created, seen, stage string
	user, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+`, s.created_at, s.last_seen_at, s.stage
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN agencies a ON a.id = u.agency_id
		WHERE s.token_hash = ?`, h), &created, &seen, &stage)
	if err != nil {
		return nil, "", wrap("Session", err)
	}
	now := s.Now()
	if sessionEnded(now, created, seen, SessionStage(stage), user.Disabled) {
		_, _ = s.execWrite(ctx, `DELETE FROM sessions WHERE token_hash = ?`, h)
		return nil, "", ErrNotFound
	}
	if now.Sub(parseTime(seen)) >= sessionTouchEvery {
		// Only forward: a request that read an older time must not undo a
		// newer one recorded meanwhile.
		if _, err := s.execWrite(ctx, `UPDATE sessions SET last_seen_at = ? WHERE token_hash = ? AND last_seen_at < ?`,
			fmtTime(now), h, fmtTime(now)); err != nil {
			return nil, "", wrap("Session", err)
		}
	}
	return user, SessionStage(stage), nil
}

// SessionLive says whether a full session is still valid, without recording
// activity: a long-lived stream (the case page's live status) asks this
// every few seconds, and must not keep an idle session alive by doing so.
func (s *Store) SessionLive(ctx context.Context, token string) (bool, error) {
	live, err := s.SessionsLive(ctx, []string{token}) // one query and one rule for both
	return live[token], err
}

// SessionsLive is SessionLive for many sessions in one read: the live
// streams of a case ask together when a change arrives (handlers'
// live_sessions.go), instead of one read per stream. The answer has every
// token asked; unknown and empty ones are false.
func (s *Store) SessionsLive(ctx context.Context, tokens []string) (map[string]bool, error) {
	out := make(map[string]bool, len(tokens))
	byHash := map[string]string{}
	for _, t := range tokens {
		out[t] = false
		if t != "" {
			byHash[hashToken(t)] = t
		}
	}
	hashes := slices.Sorted(maps.Keys(byHash))
	now := s.Now()
	for len(hashes) > 0 {
		n := sessionsChunk(len(hashes))
		// Padded to one of a few list lengths (repeating the last hash,
		// which IN does not mind), so the statement's text is one of a few
		// and a prepared-statement cache keeps them.
		chunk := make([]string, n)
		m := copy(chunk, hashes)
		for i := m; i < n; i++ {
			chunk[i] = chunk[m-1]
		}
		hashes = hashes[m:]
		list, args := inList(chunk)
		rows, err := s.read.QueryContext(ctx, `SELECT s.token_hash, s.created_at, s.last_seen_at, s.stage, u.disabled_at
			FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash IN `+list, args...)
		if err != nil {
			return nil, wrap("SessionsLive", err)
		}
		for rows.Next() {
			var h, created, seen, stage string
			var disabled sql.NullString
			if err := rows.Scan(&h, &created, &seen, &stage, &disabled); err != nil {
				rows.Close()
				return nil, wrap("SessionsLive", err)
			}
			out[byHash[h]] = fullSessionLive(now, created, seen, stage, disabled.Valid)
		}
		if err := rows.Close(); err != nil {
			return nil, wrap("SessionsLive", err)
		}
		if err := rows.Err(); err != nil {
			return nil, wrap("SessionsLive", err)
		}
	}
	return out, nil
}

// sessionsChunk is the IN list length SessionsLive uses for n sessions: the
// smallest of a few that holds them, at most 256 (well under SQLite's and
// PostgreSQL's limits on parameters).
func sessionsChunk(n int) int {
	for _, size := range []int{1, 4, 16, 64} {
		if n <= size {
			return size
		}
	}
	return 256
}

// fullSessionLive is whether a session row is a full session that has not
// ended (sessionEnded), as of now.
func fullSessionLive(now time.Time, created, seen, stage string, userDisabled bool) bool {
	return SessionStage(stage) == StageFull && !sessionEnded(now, created, seen, StageFull, userDisabled)
}

// sessionEnded is the one rule for when a session is over: its user is
// disabled, it has been idle too long, or it is too old (a sign-in under
// way: older than PendingTimeout).
func sessionEnded(now time.Time, created, seen string, stage SessionStage, userDisabled bool) bool {
	limit := SessionAbsoluteTimeout
	if stage != StageFull {
		limit = PendingTimeout
	}
	return userDisabled || now.Sub(parseTime(seen)) > SessionIdleTimeout || now.Sub(parseTime(created)) > limit
}

// DeleteSession ends a session (sign-out).
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.execWrite(ctx, `DELETE FROM sessions WHERE token_hash = ?`, hashToken(token))
	return wrap("DeleteSession", err)
}

// Sign-in and throttling

// Throttling limits (reliability.md A1, A2).
//
// Per client address: 20 failed sign-ins a minute, then refused until the
// minute is over.
//
// Per account, the throttle slows guessing without letting anyone lock a
// named user out: after 5 consecutive failures on an account (from anywhere)
// each further try must wait a delay, from 1 s doubling up to 30 s, after
// the previous try *from the same address*. An attacker's guesses therefore
// never delay the user at another address, and the user's own wait after
// their own mistakes is at most 30 s. The check and the count happen in one
// write transaction before any hashing, so concurrent guesses are counted
// one by one and those over the limit are refused without being evaluated.
// A correct password resets the account's count. The second factor has its
// own, stricter throttle (see CheckSecondFactor).
const (
	acctFreeFailures = 5
	acctBaseDelay    = time.Second
	acctMaxDelay     = 30 * time.Second
	ipFailuresPerMin = 20
)

// ErrBadCredentials is the one answer for an unknown email, a wrong password
// and a disabled account, so sign-in does not reveal which accounts exist.
var ErrBadCredentials = errors.New("store: bad credentials")

// ThrottledError says sign-in is paused for this account or address.
type ThrottledError struct{ RetryAfter time.Duration }

// Error implements error.
func (e *ThrottledError) Error() string { return fmt.Sprintf("store: throttled for %s", e.RetryAfter) }

// backoff is the delay after failures consecutive failures: none for the
// first free ones, then base doubling up to max.
func backoff(failures, free int, base, max time.Duration) time.Duration {
	if failures < free {
		return 0
	}
	return min(base<<min(failures-free, 20), max)
}

// SignIn checks an email and password. It returns the user, ErrBadCredentials,
// a *ThrottledError, or ErrBusy when the hashing queue is full. Unknown
// emails cost the same hashing time as known ones.
func (s *Store) SignIn(ctx context.Context, email, password, ip string) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	idx := s.crypt.Index("email", email)
	keys := signInKeys{acct: "acct:" + idx, pair: "pair:" + idx + "|" + ip, ip: "ip:" + ip}
	if err := s.reserveSignIn(ctx, keys); err != nil {
		return nil, wrap("SignIn", err)
	}
	var hash string
	var id int64
	var disabled sql.NullString
	err := s.read.QueryRowContext(ctx, `SELECT id, password_hash, disabled_at FROM users WHERE email = ?`, email).
		Scan(&id, &hash, &disabled)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap("SignIn", err)
	}
	known := err == nil
	if !known {
		hash = dummyHash()
	}
	match, err := checkPassword(ctx, hash, password, true)
	if err != nil {
		// Not evaluated (queue full): the try does not count.
		return nil, errors.Join(err, s.settleSignIn(ctx, keys, false))
	}
	if !match || !known || disabled.Valid {
		return nil, ErrBadCredentials
	}
	if err := s.settleSignIn(ctx, keys, true); err != nil {
		return nil, wrap("SignIn", err)
	}
	return scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users u JOIN agencies a ON a.id = u.agency_id WHERE u.id = ?`, id))
}

type signInKeys struct{ acct, pair, ip string }

// reserveSignIn checks the address and account limits and counts this try
// as a failure, in one write transaction, before any hashing. settleSignIn
// takes the count back when the password was right (or never checked).
func (s *Store) reserveSignIn(ctx context.Context, k signInKeys) error {
	now := s.Now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		ip, err := readThrottle(ctx, tx, k.ip)
		if err != nil {
			return wrap("reserveSignIn", err)
		}
		if now.Sub(ip.windowStart) >= time.Minute {
			ip = throttleRow{windowStart: now}
		}
		if ip.failures >= ipFailuresPerMin {
			return &ThrottledError{RetryAfter: ip.windowStart.Add(time.Minute).Sub(now)}
		}
		pair, err := readThrottle(ctx, tx, k.pair)
		if err != nil {
			return wrap("reserveSignIn", err)
		}
		if pair.lockedUntil.After(now) {
			return &ThrottledError{RetryAfter: pair.lockedUntil.Sub(now)}
		}
		acct, err := readThrottle(ctx, tx, k.acct)
		if err != nil {
			return wrap("reserveSignIn", err)
		}
		acct.failures++
		ip.failures++
		pair.failures++
		pair.lockedUntil = now.Add(backoff(acct.failures, acctFreeFailures, acctBaseDelay, acctMaxDelay))
		// Always in this order: on PostgreSQL concurrent sign-ins write
		// the same rows, and two writing them in different orders (a map's)
		// deadlock.
		for _, w := range []struct {
			key string
			r   throttleRow
		}{{k.ip, ip}, {k.pair, pair}, {k.acct, acct}} {
			if err := writeThrottle(ctx, tx, w.key, w.r, now); err != nil {
				return wrap("reserveSignIn", err)
			}
		}
		return nil
	})
}

// settleSignIn undoes the reservation's count on the address (a success is
// not a failure), and on a correct password clears the account's count.
func (s *Store) settleSignIn(ctx context.Context, k signInKeys, success bool) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE login_throttle SET failures = `+s.d.greatest("failures - 1", "0")+` WHERE key = ?`, k.ip); err != nil {
			return wrap("settleSignIn", err)
		}
		if success {
			_, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key IN (?, ?)`, k.acct, k.pair)
			return wrap("settleSignIn", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE login_throttle SET failures = `+s.d.greatest("failures - 1", "0")+`, locked_until = NULL WHERE key IN (?, ?)`, k.acct, k.pair)
		return wrap("settleSignIn", err)
	})
}

type throttleRow struct {
	failures    int
	windowStart time.Time
	lockedUntil time.Time
}

func readThrottle(ctx context.Context, tx *sql.Tx, key string) (throttleRow, error) {
	var r throttleRow
	var start string
	var until sql.NullString
	err := tx.QueryRowContext(ctx, `SELECT failures, window_start, locked_until FROM login_throttle WHERE key = ?`, key).
		Scan(&r.failures, &start, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return throttleRow{}, nil
	}
	r.windowStart, r.lockedUntil = parseTime(start), parseNullTime(until)
	return r, wrap("readThrottle", err)
}

func writeThrottle(ctx context.Context, tx *sql.Tx, key string, r throttleRow, now time.Time) error {
	if r.windowStart.IsZero() {
		r.windowStart = now
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO login_throttle (key, failures, window_start, locked_until)
		VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
		window_start = excluded.window_start, locked_until = excluded.locked_until`,
		key, r.failures, fmtTime(r.windowStart), nullTime(r.lockedUntil))
	return wrap("writeThrottle", err)
}

// AgencyName returns an agency's name.
func (s *Store) AgencyName(ctx context.Context, agencyID int64) (string, error) {
	var name string
	err := s.read.QueryRowContext(ctx, `SELECT name FROM agencies WHERE id = ?`, agencyID).Scan(&name)
	return name, wrap("AgencyName", formatError(err))
}

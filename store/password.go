package store

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: the OWASP minimum (m=19 MiB, t=2, p=1), about 110 ms
// per hash on the reference machine (ecosystem.md §6).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// The hashing queue. Each hash takes 19 MiB and a core for ~100 ms, so at
// most hashSlots run at once. A sign-in waits for a slot at most hashWait,
// and only while fewer than hashQueue others are already waiting; otherwise
// it is answered ErrBusy at once (the handler says 503 and Retry-After), so a
// burst of guesses cannot delay real sign-ins by seconds or exhaust memory.
const (
	hashSlotCount = 2
	hashQueue     = 4
	hashWait      = 500 * time.Millisecond
)

var (
	hashSlots   = make(chan struct{}, hashSlotCount)
	hashWaiting atomic.Int32
)

// ErrBusy says every hashing slot is taken and the queue is full: try again
// in a second.
var ErrBusy = errors.New("store: password hashing busy")

// acquireHashSlot takes a hashing slot, waiting at most hashWait behind at
// most hashQueue others.
func acquireHashSlot(ctx context.Context) error {
	select {
	case hashSlots <- struct{}{}:
		return nil
	default:
	}
	if hashWaiting.Add(1) > hashQueue {
		hashWaiting.Add(-1)
		return ErrBusy
	}
	defer hashWaiting.Add(-1)
	t := time.NewTimer(hashWait)
	defer t.Stop()
	select {
	case hashSlots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func releaseHashSlot() { <-hashSlots }

// HashPassword returns an argon2id PHC string for password. It waits for a
// hashing slot as long as it takes (administration and the command line);
// sign-in uses the bounded queue.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	hashSlots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	releaseHashSlot()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether password matches the PHC hash, in constant
// time. It waits for a hashing slot as long as it takes.
func CheckPassword(hash, password string) bool {
	ok, _ := checkPassword(context.Background(), hash, password, false)
	return ok
}

// checkPassword compares password with a PHC hash. bounded: through the
// bounded queue (ErrBusy when it is full).
func checkPassword(ctx context.Context, hash, password string, bounded bool) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, nil
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false, nil
	}
	if bounded {
		if err := acquireHashSlot(ctx); err != nil {
			return false, wrap("checkPassword", err)
		}
	} else {
		hashSlots <- struct{}{}
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	releaseHashSlot()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is checked against when the email is unknown, so that a sign-in
// for an unknown account takes as long as one for a known account. It is a
// constant with the same parameters (HashPassword of a throwaway phrase), so
// the first unknown email of a burst does not compute it while others wait.
func dummyHash() string {
	return "$argon2id$v=19$m=19456,t=2,p=1$1As7giDf5nDivddA+Hbjsg$vKjgt3foH1l1Tc7vYaqkWe/6YmSORkankc6VCGAfW60"
}

// commonPasswords is the 49,233 most common passwords of the zxcvbn password
// dictionary (lowercase, most frequent first), as shipped in the npm package
// @zxcvbn-ts/language-common 4.1.3 (src/passwords.json, MIT licence,
// Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc., (c) 2021 zxcvbn-ts).
// zxcvbn took it from Mark Burnett's 10 million leaked passwords (xato.net),
// so it is a published breached-password top list (NIST 800-63B 3.1.1.2).
//
//go:embed commonpasswords.txt
var commonPasswordsText string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 50000)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsText))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[strings.ToLower(w)] = struct{}{}
		}
	}
	// Words that make a password guessable here in particular.
	for _, w := range []string{"caseverify", "caseworker", "medicaid", "benefits", "truv", "truework", "payscore",
		"accountchek", "truuth"} {
		set[w] = struct{}{}
	}
	return set
})

// Password length limits (NIST 800-63B 3.1.1.2, ASVS 6.2.1, 6.2.9): 15
// characters when the password is the only factor, 8 with a second factor,
// and up to 128 characters, all of which count (argon2id takes the whole
// password; nothing is truncated).
const (
	PasswordMinAlone   = 15
	PasswordMinWithMFA = 8
	PasswordMax        = 128
)

// ErrWeakPassword explains why a password was refused.
var ErrWeakPassword = errors.New("password too weak")

// PasswordContext is what a password must not contain or be: the user's
// email and agency, and whether the user has a second factor.
type PasswordContext struct {
	Email      string
	AgencyName string
	MFA        bool
}

// CheckPasswordPolicy returns nil or an error saying why password is
// refused (wrapping ErrWeakPassword): too short for the user's factors, too
// long, a common or breached password, or containing the email's local part
// or the agency's name. No composition rules (NIST 800-63B, ASVS 6.2).
func CheckPasswordPolicy(password string, pc PasswordContext) error {
	n := utf8.RuneCountInString(password)
	minLen := PasswordMinAlone
	if pc.MFA {
		minLen = PasswordMinWithMFA
	}
	switch {
	case n < minLen && pc.MFA:
		return fmt.Errorf("%w: use at least %d characters", ErrWeakPassword, minLen)
	case n < minLen:
		return fmt.Errorf("%w: use at least %d characters (8 once two-step sign-in is on); a phrase of a few words is easiest",
			ErrWeakPassword, minLen)
	case n > PasswordMax:
		return fmt.Errorf("%w: use at most %d characters", ErrWeakPassword, PasswordMax)
	}
	lower := strings.ToLower(password)
	common := commonPasswords()
	if _, ok := common[lower]; ok {
		return fmt.Errorf("%w: it is on a list of common or breached passwords", ErrWeakPassword)
	}
	if _, ok := common[strings.TrimRight(lower, "0123456789!.?*#@$ ")]; ok {
		return fmt.Errorf("%w: it is a common password with a few characters added", ErrWeakPassword)
	}
	if at := strings.IndexByte(pc.Email, '@'); at >= 3 && strings.Contains(lower, strings.ToLower(pc.Email[:at])) {
		return fmt.Errorf("%w: it contains your email address", ErrWeakPassword)
	}
	if a := strings.ToLower(strings.TrimSpace(pc.AgencyName)); a != "" &&
		(strings.Contains(lower, a) || strings.Contains(strings.ReplaceAll(lower, " ", ""), strings.ReplaceAll(a, " ", ""))) {
		return fmt.Errorf("%w: it contains the agency's name", ErrWeakPassword)
	}
	return nil
}

// PasswordProblem is the sentence a form shows for a refused password.
// The reason is what follows ErrWeakPassword in the message, however many
// operations wrapped it on the way up.
func PasswordProblem(err error) string {
	msg := err.Error()
	if _, reason, ok := strings.Cut(msg, ErrWeakPassword.Error()+": "); ok {
		msg = reason
	}
	return "Password refused: " + msg + "."
}

// tempAlphabet has no look-alike characters (0/o, 1/l/i), for passwords
// read off a screen and typed once.
const tempAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// NewTemporaryPassword returns a random one-time password (about 98 bits, in
// four groups of five) that an administrator hands over; the user must
// replace it at the next sign-in.
func NewTemporaryPassword() string {
	return randomGroups(4, 5)
}

// randomGroups returns groups of n random characters from tempAlphabet,
// joined by dashes (temporary passwords and recovery codes).
func randomGroups(groups, n int) string {
	var b strings.Builder
	buf := make([]byte, 1)
	for g := range groups {
		if g > 0 {
			b.WriteByte('-')
		}
		for i := 0; i < n; {
			if _, err := rand.Read(buf); err != nil {
				panic(err)
			}
			// Reject bytes past the last whole multiple: no modulo bias.
			if int(buf[0]) >= 256-256%len(tempAlphabet) {
				continue
			}
			b.WriteByte(tempAlphabet[int(buf[0])%len(tempAlphabet)])
			i++
		}
	}
	return b.String()
}

package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
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

// hashSlots caps concurrent hashes: each takes 19 MiB and a core for 100 ms,
// so a burst of sign-ins must queue rather than exhaust the machine.
var hashSlots = make(chan struct{}, 2)

// HashPassword returns an argon2id PHC string for password.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	hashSlots <- struct{}{}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	<-hashSlots
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether password matches the PHC hash, in constant time.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	hashSlots <- struct{}{}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	<-hashSlots
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the email is unknown, so that a sign-in
// for an unknown account takes as long as one for a known account.
var dummyHash = sync.OnceValue(func() string { return HashPassword("caseverify-timing-equalizer") })

// common passwords and words that make a staff password guessable. A short
// list on purpose: the length rule does most of the work (NIST 800-63B).
var blockedPasswords = []string{
	"password", "passw0rd", "123456", "12345678", "123456789", "1234567890", "qwerty", "qwertyuiop",
	"letmein", "welcome", "iloveyou", "admin", "caseverify", "caseworker", "monkey", "dragon",
	"football", "baseball", "abc123", "111111", "000000", "changeme", "trustno1", "sunshine",
	"medicaid", "snap", "benefits", "truv", "truework", "payscore", "accountchek", "truuth",
}

// ErrWeakPassword explains why a password was refused.
var ErrWeakPassword = errors.New("password too weak")

// CheckPasswordPolicy returns nil or a sentence saying why password is refused:
// at least 8 characters (15 recommended), at most 128, not a common or product word.
// No composition rules (NIST 800-63B, ASVS 6.2).
func CheckPasswordPolicy(password string) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < 8:
		return fmt.Errorf("%w: use at least 8 characters (a phrase of 15 or more is best)", ErrWeakPassword)
	case n > 128:
		return fmt.Errorf("%w: use at most 128 characters", ErrWeakPassword)
	}
	lower := strings.ToLower(password)
	for _, w := range blockedPasswords {
		if lower == w || strings.TrimRight(lower, "0123456789!") == w {
			return fmt.Errorf("%w: it is too common; choose a longer phrase", ErrWeakPassword)
		}
	}
	return nil
}

package store_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"caseverify/store"
)

const good = "correct horse battery"

// A named user cannot be locked out: an attacker's wrong guesses from one
// address never stop the user at another address, the delay is bounded,
// and per-address throttling still holds.
func TestSignIn_Throttle(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()

	if u, err := s.SignIn(ctx, "A1@A.GOV ", good, "10.0.0.1"); err != nil || u.ID != f.userA.ID {
		t.Fatalf("good sign-in: %v", err)
	}
	// Unknown and known emails get the same error.
	_, errUnknown := s.SignIn(ctx, "nobody@a.gov", "x", "10.0.0.1")
	_, errKnown := s.SignIn(ctx, "a1@a.gov", "x", "10.0.0.1")
	if !errors.Is(errUnknown, store.ErrBadCredentials) || !errors.Is(errKnown, store.ErrBadCredentials) {
		t.Fatalf("errors: %v / %v", errUnknown, errKnown)
	}
	// An attacker at 10.0.0.66 guesses on and on, waiting out each delay.
	var th *store.ThrottledError
	for i := range 30 {
		_, err := s.SignIn(ctx, "a1@a.gov", "wrong guess", "10.0.0.66")
		switch {
		case errors.As(err, &th):
			// The account's delay is at most 30 s; the address's own limit
			// (20 failures a minute) may add up to a minute.
			if th.RetryAfter <= 0 || th.RetryAfter > time.Minute {
				t.Fatalf("guess %d: delay %s, want (0, 1m]", i, th.RetryAfter)
			}
			clk.Add(th.RetryAfter)
		case !errors.Is(err, store.ErrBadCredentials):
			t.Fatalf("guess %d: %v", i, err)
		}
		// Meanwhile the real user, elsewhere, signs in at once.
		if i%7 == 6 {
			if _, err := s.SignIn(ctx, "a1@a.gov", good, "10.0.0.3"); err != nil {
				t.Fatalf("real user kept out after %d guesses: %v", i+1, err)
			}
		}
	}
	// The attacker's own address waits, at most 30 s, even with the right password.
	clk.Add(time.Minute)
	for range 6 {
		s.SignIn(ctx, "a1@a.gov", "wrong guess", "10.0.0.66")
	}
	if _, err := s.SignIn(ctx, "a1@a.gov", good, "10.0.0.66"); !errors.As(err, &th) || th.RetryAfter > 30*time.Second {
		t.Fatalf("guessing address not slowed, or slowed too long: %v", err)
	}
	clk.Add(th.RetryAfter)
	if _, err := s.SignIn(ctx, "a1@a.gov", good, "10.0.0.66"); err != nil {
		t.Fatalf("after the bounded delay: %v", err)
	}

	// One address spraying many accounts is stopped after 20 failures a
	// minute, and a real user elsewhere still signs in.
	clk.Add(time.Minute)
	var throttledAt int
	for i := range 40 {
		_, err := s.SignIn(ctx, "user"+string(rune('a'+i%26))+"@x.gov", "wrong", "203.0.113.9")
		if errors.As(err, &th) {
			throttledAt = i
			break
		}
	}
	if throttledAt != 20 {
		t.Fatalf("address throttled after %d failures, want 20", throttledAt)
	}
	if _, err := s.SignIn(ctx, "b1@b.gov", good, "198.51.100.7"); err != nil {
		t.Fatalf("real user blocked: %v", err)
	}
	clk.Add(61 * time.Second)
	if _, err := s.SignIn(ctx, "b1@b.gov", good, "203.0.113.9"); err != nil {
		t.Fatalf("address still blocked after a minute: %v", err)
	}
}

// 60 concurrent guesses on one account from one address: the throttle is
// checked and counted in one transaction before hashing, so no more than the
// 5 free tries are evaluated; the rest are refused (throttled or busy).
func TestSignIn_ConcurrentGuessesAreCounted(t *testing.T) {
	s, _, _ := mustOpen(t)
	mustFixture(t, s)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	evaluated := 0
	for range 60 {
		wg.Go(func() {
			_, err := s.SignIn(ctx, "a1@a.gov", "wrong guess", "10.9.9.9")
			var th *store.ThrottledError
			switch {
			case errors.Is(err, store.ErrBadCredentials):
				mu.Lock()
				evaluated++
				mu.Unlock()
			case errors.As(err, &th), errors.Is(err, store.ErrBusy):
			default:
				t.Errorf("unexpected: %v", err)
			}
		})
	}
	wg.Wait()
	if evaluated > 5 {
		t.Fatalf("%d of 60 concurrent guesses were evaluated, want at most 5", evaluated)
	}
}

func TestPasswordPolicy(t *testing.T) {
	pc := store.PasswordContext{Email: "jordan.lee@county.gov", AgencyName: "Pine County Human Services"}
	mfa := pc
	mfa.MFA = true
	for _, tc := range []struct {
		pw   string
		pc   store.PasswordContext
		ok   bool
		want string
	}{
		{"short12", pc, false, "at least 15"},
		{"eight-ch", mfa, true, ""},
		{"seven-c", mfa, false, "at least 8"},
		{"fourteen chars", pc, false, "at least 15"},
		{"fifteen chars!!", pc, true, ""},
		{strings.Repeat("é", 64), pc, true, ""},
		{strings.Repeat("x", 128), pc, true, ""},
		{strings.Repeat("x", 129), pc, false, "at most 128"},
		{"password1", mfa, false, "common"},
		{"Trustno1", mfa, false, "common"},
		{"1qaz2wsx3edc4rfv", pc, false, "common"},     // on the shipped list, 16 characters
		{"passwordpassword!!", pc, false, "common"},   // a listed password with characters added
		{"jordan.lee-is-my-name", pc, false, "email"}, // the email's local part
		{"i work at pine county human services", pc, false, "agency"},
		{"PineCountyHumanServices1", pc, false, "agency"},
		{"a quiet river at dawn", pc, true, ""},
	} {
		err := store.CheckPasswordPolicy(tc.pw, tc.pc)
		if (err == nil) != tc.ok || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckPasswordPolicy(%q, mfa=%v) = %v, want ok=%v %q", tc.pw, tc.pc.MFA, err, tc.ok, tc.want)
		}
	}
	// A long password is not truncated: only the whole of it matches.
	long := strings.Repeat("abcdefgh", 12)
	h := store.HashPassword(long)
	if !strings.HasPrefix(h, "$argon2id$") || !store.CheckPassword(h, long) || store.CheckPassword(h, long[:72]) ||
		store.CheckPassword(h, long[:len(long)-1]+"X") {
		t.Fatal("argon2id round trip failed or truncated")
	}
}

func TestCreateUser_PasswordRulesUseEmailAndAgency(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	_, err := s.CreateUser(ctx, f.agencyA.ID, store.NewUser{Email: "riverstone@a.gov", Name: "R", Role: store.RoleCaseworker,
		Password: "riverstone rolls downhill"})
	var v store.ValidationError
	if !errors.As(err, &v) || !strings.Contains(v["password"], "email") {
		t.Fatalf("password with the email's name accepted: %v", err)
	}
	_, err = s.CreateUser(ctx, f.agencyA.ID, store.NewUser{Email: "r2@a.gov", Name: "R", Role: store.RoleCaseworker,
		Password: "we are agency a and proud"})
	if !errors.As(err, &v) || !strings.Contains(v["password"], "agency") {
		t.Fatalf("password with the agency's name accepted: %v", err)
	}
}

// An administrator's reset gives a temporary password that works once to
// reach the "choose your password" step; the user must replace it.
func TestResetPassword_TemporaryMustBeChanged(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	tok, _ := s.CreateSession(ctx, f.userA)
	temp, err := s.ResetPassword(ctx, f.agencyA.ID, f.userA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, tok); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a reset left the user's sessions alive")
	}
	if _, err := s.SignIn(ctx, "a1@a.gov", good, "10.1.1.1"); !errors.Is(err, store.ErrBadCredentials) {
		t.Fatalf("old password still works: %v", err)
	}
	u, err := s.SignIn(ctx, "a1@a.gov", temp, "10.1.1.1")
	if err != nil || !u.MustChangePassword {
		t.Fatalf("temporary password: %v, must change = %v", err, u != nil && u.MustChangePassword)
	}
	// A weak choice is refused; a good one clears the flag without the
	// current (temporary) password.
	if err := s.ChangePassword(ctx, u, "", "too short", "10.1.1.1", ""); !errors.Is(err, store.ErrWeakPassword) {
		t.Fatalf("weak new password: %v", err)
	}
	if err := s.ChangePassword(ctx, u, "", "a brand new passphrase", "10.1.1.1", ""); err != nil {
		t.Fatal(err)
	}
	u, err = s.SignIn(ctx, "a1@a.gov", "a brand new passphrase", "10.1.1.1")
	if err != nil || u.MustChangePassword {
		t.Fatalf("after the change: %v %+v", err, u)
	}
	// Now the current password is required.
	if err := s.ChangePassword(ctx, u, "wrong current one", "another new passphrase", "10.1.1.1", ""); !errors.Is(err, store.ErrBadCredentials) {
		t.Fatalf("change without the current password: %v", err)
	}
	// A new user made by an administrator has a temporary password.
	nu, err := s.CreateUser(ctx, f.agencyA.ID, store.NewUser{Email: "n@a.gov", Name: "N", Role: store.RoleAgent,
		Password: store.NewTemporaryPassword(), Temporary: true})
	if err != nil || !nu.MustChangePassword {
		t.Fatalf("new user: %v", err)
	}
}

// A sign-in under way (password checked, second factor pending) is not a
// session: it opens nothing, expires after PendingTimeout, and its token
// dies when it is promoted.
func TestSession_Stages(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	pending, err := s.StartSession(ctx, f.userA, store.StageCode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, pending); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pending session is a session: %v", err)
	}
	if live, _ := s.SessionLive(ctx, pending); live {
		t.Fatal("pending session is live")
	}
	if _, stage, err := s.Session(ctx, pending); err != nil || stage != store.StageCode {
		t.Fatalf("stage = %q, %v", stage, err)
	}
	full, err := s.PromoteSession(ctx, pending, store.StageFull)
	if err != nil || full == pending {
		t.Fatalf("promote: %v", err)
	}
	if _, _, err := s.Session(ctx, pending); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("the pre-promotion token still works")
	}
	if u, err := s.SessionUser(ctx, full); err != nil || u.ID != f.userA.ID {
		t.Fatalf("full session: %v", err)
	}
	stale, _ := s.StartSession(ctx, f.userA, store.StageCode)
	clk.Add(store.PendingTimeout + time.Second)
	if _, err := s.PromoteSession(ctx, stale, store.StageFull); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an expired sign-in was promoted: %v", err)
	}
}

func TestTOTP_EnrollSignInReplayAndRecovery(t *testing.T) {
	s, clk, path := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	u := f.userA
	enr, err := s.BeginTOTP(ctx, u, "caseverify")
	if err != nil || !strings.HasPrefix(enr.URL, "otpauth://totp/") || len(enr.Secret) < 16 {
		t.Fatalf("begin: %v %+v", err, enr)
	}
	if again, err := s.PendingTOTP(ctx, u); err != nil || again.Secret != enr.Secret {
		t.Fatalf("pending: %v", err)
	}
	if _, err := s.ConfirmTOTP(ctx, u, "000000"); !errors.Is(err, store.ErrBadCode) {
		t.Fatalf("wrong confirmation code: %v", err)
	}
	code, _ := totp.GenerateCode(enr.Secret, clk.Now())
	codes, err := s.ConfirmTOTP(ctx, u, code)
	if err != nil || len(codes) != 10 {
		t.Fatalf("confirm: %v, %d codes", err, len(codes))
	}
	// The code used to confirm cannot be used again to sign in.
	if _, err := s.CheckSecondFactor(ctx, u, code); !errors.Is(err, store.ErrBadCode) {
		t.Fatalf("confirmation code replayed: %v", err)
	}
	clk.Add(30 * time.Second)
	code, _ = totp.GenerateCode(enr.Secret, clk.Now())
	if rec, err := s.CheckSecondFactor(ctx, u, code); err != nil || rec {
		t.Fatalf("fresh code: %v", err)
	}
	if _, err := s.CheckSecondFactor(ctx, u, code); !errors.Is(err, store.ErrBadCode) {
		t.Fatalf("code replayed within its window: %v", err)
	}
	// Recovery codes: each works once, typed loosely.
	if rec, err := s.CheckSecondFactor(ctx, u, " "+strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))+" "); err != nil || !rec {
		t.Fatalf("recovery code: %v", err)
	}
	if _, err := s.CheckSecondFactor(ctx, u, codes[3]); !errors.Is(err, store.ErrBadCode) {
		t.Fatalf("recovery code used twice: %v", err)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 9 {
		t.Fatalf("%d recovery codes left, want 9", n)
	}
	// Secrets and codes are not in the database file in the clear.
	raw := readAll(t, path, path+"-wal")
	for _, secret := range append([]string{enr.Secret, "otpauth"}, codes...) {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("database file contains %q in the clear", secret)
		}
	}
	// Wrong codes are throttled: after 5, even the right code waits.
	for range 5 {
		s.CheckSecondFactor(ctx, u, "123456")
	}
	clk.Add(10 * time.Second)
	code, _ = totp.GenerateCode(enr.Secret, clk.Now())
	var th *store.ThrottledError
	if _, err := s.CheckSecondFactor(ctx, u, code); !errors.As(err, &th) {
		t.Fatalf("sixth try not throttled: %v", err)
	}
	// An administrator's reset removes the authenticator and the codes.
	if err := s.ResetMFA(ctx, f.agencyA.ID, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	after, _ := s.User(ctx, f.agencyA.ID, u.ID)
	if after.MFAEnabled {
		t.Fatal("MFA still on after reset")
	}
	if n, _ := s.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Fatalf("%d recovery codes left after reset", n)
	}
	// Another agency's admin cannot reset this user.
	if err := s.ResetMFA(ctx, f.agencyB.ID, u.ID, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-agency reset: %v", err)
	}
}

func TestAgency_MFARequiredByDefault(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	if on, err := s.MFARequired(ctx, f.agencyA.ID); err != nil || !on {
		t.Fatalf("new agency: required = %v, %v", on, err)
	}
	if err := s.SetMFARequired(ctx, f.agencyA.ID, false); err != nil {
		t.Fatal(err)
	}
	u, _ := s.User(ctx, f.agencyA.ID, f.userA.ID)
	if u.MFARequired {
		t.Fatal("setting not read back on the user")
	}
}

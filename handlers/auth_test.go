package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"caseverify/store"
)

var (
	secretRE   = regexp.MustCompile(`data-testid="mfa-secret">([A-Z2-7 ]+)<`)
	recoveryRE = regexp.MustCompile(`<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>`)
)

// sessionCookie is the client's session cookie value.
func (c *client) sessionCookie() string {
	if ck := c.cookies["caseverify"]; ck != nil {
		return ck.Value
	}
	return ""
}

// With the agency's requirement on (the default for a new agency), a user
// without an authenticator goes from the password to the enrollment page,
// reaches no case page before confirming a code, and then signs in with
// password and code; codes are not replayable, and every step has a new
// session token.
func TestMFA_RequiredEnrollmentAndSignIn(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	a, err := s.store.CreateAgency(ctx, "Strict County") // required by default
	if err != nil {
		t.Fatal(err)
	}
	mustUser(t, s.store, a.ID, "strict@s.gov", store.RoleCaseworker)
	c := s.client(t)
	c.get("/login?next=%2Fcases%2Fnew")
	rec := c.post("/login", url.Values{"email": {"strict@s.gov"}, "password": {testPassword}, "next": {"/cases/new"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login/enroll" {
		t.Fatalf("password step: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	pendingCookie := c.sessionCookie()
	for _, path := range []string{"/cases", "/cases/new", "/account", "/admin/users", "/login/code"} {
		if rec := c.get(path); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login/enroll" {
			t.Fatalf("%s before enrolling: %d %s", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	page := c.get("/login/enroll")
	m := secretRE.FindStringSubmatch(page.Body.String())
	if page.Code != http.StatusOK || m == nil {
		t.Fatalf("enroll page: %d", page.Code)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if qr := c.get("/login/enroll/qr.png"); qr.Code != http.StatusOK || qr.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("qr: %d %s", qr.Code, qr.Header().Get("Content-Type"))
	}
	if rec := c.post("/login/enroll", url.Values{"code": {"000000"}}); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("wrong code: %d", rec.Code)
	}
	code, _ := totp.GenerateCode(secret, time.Now())
	rec = c.post("/login/enroll", url.Values{"code": {code}})
	codes := recoveryRE.FindAllStringSubmatch(rec.Body.String(), -1)
	if rec.Code != http.StatusOK || len(codes) != 10 || !strings.Contains(rec.Body.String(), `href="/cases/new"`) {
		t.Fatalf("confirm: %d, %d codes", rec.Code, len(codes))
	}
	if c.sessionCookie() == pendingCookie {
		t.Fatal("the session token did not change at the second factor")
	}
	if rec := c.get("/cases"); rec.Code != http.StatusOK {
		t.Fatalf("after enrolling: %d", rec.Code)
	}
	// The pre-enrollment cookie opens nothing.
	old := s.client(t)
	old.cookies["caseverify"] = &http.Cookie{Name: "caseverify", Value: pendingCookie}
	if rec := old.get("/cases"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") == "/cases" {
		t.Fatalf("old pending cookie: %d", rec.Code)
	}

	// Next sign-in: password, then code.
	c.post("/logout", nil)
	c.get("/login")
	rec = c.post("/login", url.Values{"email": {"strict@s.gov"}, "password": {testPassword}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login/code" {
		t.Fatalf("password step with MFA: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := c.get("/cases"); rec.Header().Get("Location") != "/login/code" {
		t.Fatalf("case list before the code: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	c.get("/login/code")
	// The enrollment code is spent: replaying it fails.
	if rec := c.post("/login/code", url.Values{"code": {code}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", rec.Code)
	}
	if rec := c.post("/login/code", url.Values{"code": {codes[0][1]}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/cases" {
		t.Fatalf("recovery code: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := c.get("/cases"); rec.Code != http.StatusOK {
		t.Fatalf("after the code: %d", rec.Code)
	}
	// The MFA events are audited, without codes.
	entries, _ := s.store.AuditLog(ctx, a.ID, 50)
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Action] = true
		if strings.Contains(e.Subject, codes[0][1]) || strings.Contains(e.Subject, code) {
			t.Error("audit holds a code")
		}
	}
	for _, want := range []string{store.AuditMFAEnrolled, store.AuditMFAFailed, store.AuditMFARecoveryUsed, store.AuditSignIn} {
		if !seen[want] {
			t.Errorf("no %s audit row", want)
		}
	}
}

// An administrator's resets: a temporary password the user must replace at
// the next sign-in, and a two-step reset; both audited, both end sessions.
func TestAdmin_ResetPasswordAndMFA(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	worker := s.client(t)
	worker.signIn("worker@a.gov")
	admin := s.client(t)
	admin.signIn("admin@a.gov")
	rec := admin.post("/admin/users/"+itoa(s.workerA.ID)+"/reset-password", nil)
	temp := tempPasswordRE.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || temp == nil {
		t.Fatalf("reset: %d", rec.Code)
	}
	if rec := worker.get("/cases"); rec.Code != http.StatusSeeOther {
		t.Fatalf("session survived a reset: %d", rec.Code)
	}
	worker.get("/login")
	rec = worker.post("/login", url.Values{"email": {"worker@a.gov"}, "password": {temp[1]}})
	if rec.Header().Get("Location") != "/login/password" {
		t.Fatalf("temporary password: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := worker.get("/cases"); rec.Header().Get("Location") != "/login/password" {
		t.Fatalf("cases before choosing a password: %s", rec.Header().Get("Location"))
	}
	worker.get("/login/password")
	for _, bad := range []struct{ pw, want string }{
		{"short one", "at least 15"},
		{"passwordpassword", "common"},
		{"worker reports to duty", "email"},
		{"we are agency a after all", "agency"},
	} {
		rec := worker.post("/login/password", url.Values{"new_password": {bad.pw}, "confirm_password": {bad.pw}})
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), bad.want) {
			t.Errorf("%q: %d, want a problem about %q", bad.pw, rec.Code, bad.want)
		}
	}
	long := strings.Repeat("a sentence of words ", 4) // 80 characters, all of them count
	rec = worker.post("/login/password", url.Values{"new_password": {long}, "confirm_password": {long}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/cases" {
		t.Fatalf("own password: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if _, err := s.store.SignIn(ctx, "worker@a.gov", long[:72], "192.0.2.99"); err == nil {
		t.Fatal("a truncated password signed in")
	}

	// Two-step reset: enroll the worker, then the admin resets it.
	if _, err := s.store.BeginTOTP(ctx, s.workerA, "t"); err != nil {
		t.Fatal(err)
	}
	enr, _ := s.store.PendingTOTP(ctx, s.workerA)
	code, _ := totp.GenerateCode(enr.Secret, time.Now())
	if _, err := s.store.ConfirmTOTP(ctx, s.workerA, code); err != nil {
		t.Fatal(err)
	}
	admin.get("/admin/users")
	if rec := admin.post("/admin/users/"+itoa(s.workerA.ID)+"/reset-mfa", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("reset mfa: %d", rec.Code)
	}
	if u, _ := s.store.User(ctx, s.agencyA.ID, s.workerA.ID); u.MFAEnabled {
		t.Fatal("MFA still on")
	}
	// Another agency's user is not found.
	if rec := admin.post("/admin/users/"+itoa(s.userB.ID)+"/reset-mfa", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("cross-agency reset: %d", rec.Code)
	}
	entries, _ := s.store.AuditLog(ctx, s.agencyA.ID, 50)
	seen := map[string]string{}
	for _, e := range entries {
		seen[e.Action] = e.Subject
	}
	want := "user " + itoa(s.workerA.ID)
	if seen[store.AuditPasswordReset] != want || seen[store.AuditMFAReset] != want || seen[store.AuditPasswordChanged] != "" {
		t.Fatalf("audit: %v", seen)
	}
	if _, ok := seen[store.AuditPasswordChanged]; !ok {
		t.Fatal("no password_change audit row")
	}
	// A worker cannot reset anyone.
	if rec := worker.post("/admin/users/"+itoa(s.adminA.ID)+"/reset-password", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("worker reset: %d", rec.Code)
	}
}

// The Account page: the password change needs the current password and ends
// the user's other sessions; setting up an authenticator needs a code and
// the current password; the agency setting is an administrator's, audited.
func TestAccount_PasswordAndMFA(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	other := s.client(t)
	other.signIn("worker@a.gov")
	c := s.client(t)
	c.signIn("worker@a.gov")
	if rec := c.get("/account"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-testid="mfa-status"`) {
		t.Fatalf("account page: %d", rec.Code)
	}
	np := "a new long passphrase"
	if rec := c.post("/account/password", url.Values{"current_password": {"not it at all"}, "new_password": {np},
		"confirm_password": {np}}); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "not your current password") {
		t.Fatalf("wrong current password: %d", rec.Code)
	}
	if rec := c.post("/account/password", url.Values{"current_password": {testPassword}, "new_password": {np},
		"confirm_password": {np}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("change: %d", rec.Code)
	}
	if rec := c.get("/cases"); rec.Code != http.StatusOK {
		t.Fatalf("own session ended by the change: %d", rec.Code)
	}
	if rec := other.get("/cases"); rec.Code != http.StatusSeeOther {
		t.Fatalf("other session survived the change: %d", rec.Code)
	}
	// Set up two-step sign-in from the account page.
	c.get("/account")
	if rec := c.post("/account/mfa/start", nil); rec.Header().Get("Location") != "/account/mfa" {
		t.Fatalf("start: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	page := c.get("/account/mfa")
	m := secretRE.FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatalf("enroll page: %d", page.Code)
	}
	code, _ := totp.GenerateCode(strings.ReplaceAll(m[1], " ", ""), time.Now())
	if rec := c.post("/account/mfa", url.Values{"code": {code}, "current_password": {"wrong"}}); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("without the password: %d", rec.Code)
	}
	rec := c.post("/account/mfa", url.Values{"code": {code}, "current_password": {np}})
	if rec.Code != http.StatusOK || len(recoveryRE.FindAllString(rec.Body.String(), -1)) != 10 {
		t.Fatalf("confirm: %d", rec.Code)
	}
	if u, _ := s.store.User(ctx, s.agencyA.ID, s.workerA.ID); !u.MFAEnabled {
		t.Fatal("MFA not on")
	}
	// With MFA on, 8 characters are enough.
	c.get("/account")
	if rec := c.post("/account/password", url.Values{"current_password": {np}, "new_password": {"tulip-42"},
		"confirm_password": {"tulip-42"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("8 characters with MFA: %d", rec.Code)
	}

	// The agency setting: admins only, audited.
	if rec := c.post("/admin/settings/mfa", url.Values{"mfa_required": {"on"}}); rec.Code != http.StatusForbidden {
		t.Fatalf("worker changed the setting: %d", rec.Code)
	}
	admin := s.client(t)
	admin.signIn("admin@a.gov")
	admin.get("/admin/settings")
	if rec := admin.post("/admin/settings/mfa", url.Values{"mfa_required": {"on"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("setting: %d", rec.Code)
	}
	if on, _ := s.store.MFARequired(ctx, s.agencyA.ID); !on {
		t.Fatal("setting not saved")
	}
	// Now the admin (no authenticator) is sent to enrollment at sign-in.
	again := s.client(t)
	again.get("/login")
	if rec := again.post("/login", url.Values{"email": {"admin@a.gov"}, "password": {testPassword}}); rec.Header().Get("Location") != "/login/enroll" {
		t.Fatalf("admin without MFA: %s", rec.Header().Get("Location"))
	}
	entries, _ := s.store.AuditLog(ctx, s.agencyA.ID, 50)
	found := false
	for _, e := range entries {
		found = found || (e.Action == store.AuditMFARequired && e.Subject == "on")
	}
	if !found {
		t.Fatal("setting change not audited")
	}
}

// /login?next= goes only to a plain path on this site, whatever the form.
func TestLogin_NextStaysOnSite(t *testing.T) {
	s := newServer(t, false)
	for _, next := range []string{"/%09/evil.example", "/\t/evil.example", "//evil.example", "/\\evil.example",
		"https://evil.example/", "/%2F%2Fevil.example", "/%5Cevil.example", "\n/evil.example", "/ /evil.example"} {
		c := s.client(t)
		c.get("/login?next=" + url.QueryEscape(next))
		rec := c.post("/login", url.Values{"email": {"worker@a.gov"}, "password": {testPassword}, "next": {next}})
		if loc := rec.Header().Get("Location"); loc != "/cases" {
			t.Errorf("next %q redirected to %q", next, loc)
		}
	}
	c := s.client(t)
	c.get("/login")
	rec := c.post("/login", url.Values{"email": {"worker@a.gov"}, "password": {testPassword}, "next": {"/cases/new?x=1"}})
	if loc := rec.Header().Get("Location"); loc != "/cases/new?x=1" {
		t.Fatalf("a plain path was refused: %q", loc)
	}
}

// Too many failures answer 429 with Retry-After; the sign-in form says how
// long to wait.
func TestLogin_ThrottledAnswer(t *testing.T) {
	s := newServer(t, false)
	c := s.client(t)
	c.get("/login")
	var rec interface{ Header() http.Header }
	code := 0
	for range 7 {
		r := c.post("/login", url.Values{"email": {"worker@a.gov"}, "password": {"wrong password here"}})
		rec, code = r, r.Code
		if code == http.StatusTooManyRequests {
			break
		}
	}
	if code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("after repeated failures: %d", code)
	}
	// Another address is not held back (newServer clients share one
	// address, so ask the store directly).
	if _, err := s.store.SignIn(context.Background(), "worker@a.gov", testPassword, "198.51.100.1"); err != nil {
		t.Fatalf("user elsewhere: %v", err)
	}
}

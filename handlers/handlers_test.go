package handlers_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// server is the real router with the real middleware and a real store.
type server struct {
	h     *handlers.Handler
	e     *echo.Echo
	store *store.Store
	logs  *bytes.Buffer
	// two agencies, one caseworker and one admin in A, a caseworker in B
	agencyA, agencyB       *store.Agency
	workerA, adminA, userB *store.User
}

const testPassword = "correct horse battery"

func newServer(t *testing.T, secure bool) *server {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.DatabaseURL(t, "h.db"), store.Options{DataKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &bytes.Buffer{}
	cookies := sessions.NewCookieStore(bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32))
	cookies.Options = &sessions.Options{Path: "/", MaxAge: 8 * 3600, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	log := slog.New(slog.NewTextHandler(logs, nil))
	h := handlers.New(st, log, cookies, verify.New(st, log, verify.Config{Messages: handlers.LinkMessages{}}), handlers.Config{Secure: secure, CSRFKey: []byte("k")})
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	h.Register(e)
	s := &server{h: h, e: e, store: st, logs: logs}
	s.agencyA = mustAgency(t, st, "Agency A")
	s.agencyB = mustAgency(t, st, "Agency B")
	s.workerA = mustUser(t, st, s.agencyA.ID, "worker@a.gov", store.RoleCaseworker)
	s.adminA = mustUser(t, st, s.agencyA.ID, "admin@a.gov", store.RoleAdmin)
	s.userB = mustUser(t, st, s.agencyB.ID, "worker@b.gov", store.RoleCaseworker)
	return s
}

// mustAgency creates an agency with two-step sign-in optional, so that
// tests about other things sign in with a password; auth_test.go covers the
// default (required) and the MFA flow.
func mustAgency(t *testing.T, st *store.Store, name string) *store.Agency {
	t.Helper()
	a, err := st.CreateAgency(context.Background(), name)
	if err == nil {
		err = st.SetMFARequired(context.Background(), a.ID, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustUser(t *testing.T, st *store.Store, agencyID int64, email string, role store.Role) *store.User {
	u, err := st.CreateUser(context.Background(), agencyID, store.NewUser{Email: email, Name: email, Role: role, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// client keeps cookies and the page's CSRF token, like a browser.
type client struct {
	t       *testing.T
	s       *server
	cookies map[string]*http.Cookie
	csrf    string
}

func (s *server) client(t *testing.T) *client {
	return &client{t: t, s: s, cookies: map[string]*http.Cookie{}}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// formTokenRE finds a form's one-time token (new at every rendering).
var formTokenRE = regexp.MustCompile(`name="_form" value="([0-9a-f]+)"`)

// withoutTokens is a page without its CSRF and form tokens, to compare pages.
func withoutTokens(body string) string {
	return formTokenRE.ReplaceAllString(csrfRE.ReplaceAllString(body, ""), "")
}

// tempPasswordRE finds a temporary password on the users page.
var tempPasswordRE = regexp.MustCompile(`data-testid="temporary-password-value">([a-z0-9-]+)<`)

func (c *client) do(req *http.Request) *httptest.ResponseRecorder {
	c.t.Helper()
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	req.RemoteAddr = "192.0.2.10:5555"
	rec := httptest.NewRecorder()
	c.s.e.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck
		}
	}
	if m := csrfRE.FindStringSubmatch(rec.Body.String()); m != nil {
		c.csrf = m[1]
	}
	return rec
}

func (c *client) get(path string) *httptest.ResponseRecorder {
	return c.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// post sends a form with the client's CSRF token (unless form sets _csrf).
func (c *client) post(path string, form url.Values) *httptest.ResponseRecorder {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", c.csrf)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *client) signIn(email string) {
	c.t.Helper()
	c.get("/login")
	rec := c.post("/login", url.Values{"email": {email}, "password": {testPassword}})
	if rec.Code != http.StatusSeeOther {
		c.t.Fatalf("sign in %s: %d %s", email, rec.Code, rec.Body.String())
	}
	c.get("/cases") // pick up the signed-in CSRF token
}

func TestSignIn_FlowAndCookies(t *testing.T) {
	for _, secure := range []bool{false, true} {
		s := newServer(t, secure)
		c := s.client(t)
		c.get("/login")
		pre := map[string]*http.Cookie{}
		for k, v := range c.cookies {
			pre[k] = v
		}
		c.signIn("worker@a.gov")
		name := handlers.CookieName(secure)
		ck := c.cookies[name]
		if ck == nil {
			t.Fatalf("no %s cookie", name)
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != secure || ck.MaxAge > 8*3600 || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("cookie attributes: %+v", ck)
		}
		if secure && !strings.HasPrefix(name, "__Host-") {
			t.Errorf("secure cookie without __Host- prefix: %s", name)
		}
		if strings.Contains(ck.Value, "worker") {
			t.Error("cookie carries the email")
		}
		// A6: the pre-sign-in cookie opens nothing.
		old := s.client(t)
		old.cookies = pre
		if rec := old.get("/cases"); rec.Code != http.StatusSeeOther {
			t.Errorf("pre-sign-in cookie reached /cases: %d", rec.Code)
		}
		// A9: after sign-out, a copy of the cookie opens nothing.
		copied := map[string]*http.Cookie{}
		for k, v := range c.cookies {
			copied[k] = v
		}
		if rec := c.post("/logout", nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
			t.Fatalf("logout: %d %s", rec.Code, rec.Header().Get("Location"))
		}
		replay := s.client(t)
		replay.cookies = copied
		if rec := replay.get("/cases"); rec.Code != http.StatusSeeOther {
			t.Errorf("replayed cookie after sign-out: %d", rec.Code)
		}
	}
}

func TestSignIn_SameAnswerForUnknownEmail(t *testing.T) {
	s := newServer(t, false)
	answer := func(email string) (int, string) {
		c := s.client(t)
		c.get("/login")
		rec := c.post("/login", url.Values{"email": {email}, "password": {"wrong password"}})
		body := withoutTokens(rec.Body.String())
		return rec.Code, strings.ReplaceAll(body, email, "EMAIL")
	}
	codeKnown, bodyKnown := answer("worker@a.gov")
	codeUnknown, bodyUnknown := answer("ghost@a.gov")
	if codeKnown != http.StatusUnauthorized || codeKnown != codeUnknown || bodyKnown != bodyUnknown {
		t.Fatalf("answers differ: %d vs %d", codeKnown, codeUnknown)
	}
}

func TestPages_RequireSignIn(t *testing.T) {
	s := newServer(t, false)
	c := s.client(t)
	rec := c.get("/cases/1")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?next=%2Fcases%2F1" {
		t.Fatalf("got %d %s", rec.Code, rec.Header().Get("Location"))
	}
	// An open redirect through next= is refused.
	c.get("/login")
	rec = c.post("/login", url.Values{"email": {"worker@a.gov"}, "password": {testPassword}, "next": {"//evil.example/x"}})
	if loc := rec.Header().Get("Location"); loc != "/cases" {
		t.Fatalf("next redirect went to %q", loc)
	}
}

// X1: every state-changing route refuses a request without this session's token.
func TestCSRF_EveryStateChangingRoute(t *testing.T) {
	s := newServer(t, false)
	a := s.client(t)
	a.signIn("admin@a.gov")
	b := s.client(t)
	b.signIn("worker@a.gov")
	var checked int
	for _, r := range s.e.Routes() {
		if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == echo.RouteNotFound || strings.HasPrefix(r.Path, "/static") {
			continue
		}
		if strings.HasPrefix(r.Path, "/webhooks/") || strings.HasPrefix(r.Path, "/sandbox/") {
			continue // signed or token-checked instead; covered by the webhook tests
		}
		path := strings.NewReplacer(":id", "1", ":mid", "1", ":uid", "2", ":oid", "1", ":provider", "truv").Replace(r.Path)
		for name, form := range map[string]url.Values{
			"no token":            {"_csrf": {""}},
			"other session token": {"_csrf": {b.csrf}},
		} {
			if rec := a.post(path, form); rec.Code != http.StatusForbidden {
				t.Errorf("%s %s with %s: %d, want 403", r.Method, path, name, rec.Code)
			}
		}
		req := httptest.NewRequest(r.Method, path, strings.NewReader(url.Values{"_csrf": {a.csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		if rec := a.do(req); rec.Code != http.StatusForbidden {
			t.Errorf("%s %s cross-site with a valid token: %d, want 403", r.Method, path, rec.Code)
		}
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d routes checked", checked)
	}
	// And the same-origin request with the token goes through.
	if rec := a.post("/cases", url.Values{"case_number": {"X-1"}, "program": {"snap"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("valid create: %d", rec.Code)
	}
}

// X2: another agency's ids get the same 404 page as ids that do not exist.
func TestIDOR_OtherAgencyIsNotFound(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	cb, _ := s.store.CreateCase(ctx, s.agencyB.ID, s.userB.ID, store.CaseInput{Number: "CANARY-B", Program: "snap"})
	mb, _ := s.store.AddMember(ctx, s.agencyB.ID, cb.ID, store.MemberInput{FirstName: "Canarybee", LastName: "B", Relationship: "self", Email: "canary-b@example.org"})
	c := s.client(t)
	c.signIn("worker@a.gov")
	_, notFound := c.get("/cases/999999").Code, c.get("/cases/999999").Body.String()
	paths := []string{
		"/cases/" + itoa(cb.ID), "/cases/" + itoa(cb.ID) + "/edit", "/cases/" + itoa(cb.ID) + "/members/new",
		"/cases/" + itoa(cb.ID) + "/members/" + itoa(mb.ID) + "/edit", "/cases/abc", "/cases/-1",
	}
	for _, p := range paths {
		rec := c.get(p)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, rec.Code)
		}
		if body := withoutTokens(rec.Body.String()); body != withoutTokens(notFound) {
			t.Errorf("GET %s: the 404 page differs from an unknown id's", p)
		}
		if strings.Contains(rec.Body.String(), "CANARY-B") || strings.Contains(rec.Body.String(), "Canarybee") {
			t.Errorf("GET %s leaks agency B data", p)
		}
	}
	for _, p := range []string{"/cases/" + itoa(cb.ID), "/cases/" + itoa(cb.ID) + "/notes", "/cases/" + itoa(cb.ID) + "/members",
		"/cases/" + itoa(cb.ID) + "/members/" + itoa(mb.ID), "/cases/" + itoa(cb.ID) + "/members/" + itoa(mb.ID) + "/reveal",
		"/cases/" + itoa(cb.ID) + "/members/" + itoa(mb.ID) + "/remove"} {
		form := url.Values{"case_number": {"HIJACK"}, "program": {"snap"}, "body": {"x"}, "first_name": {"X"}, "last_name": {"Y"}, "relationship": {"self"}}
		if rec := c.post(p, form); rec.Code != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", p, rec.Code)
		}
	}
	if m, err := s.store.Member(ctx, s.agencyB.ID, cb.ID, mb.ID); err != nil || m.FirstName != "Canarybee" {
		t.Fatalf("agency B's member changed: %+v %v", m, err)
	}
	// The list and search show none of B's cases.
	for _, body := range []string{c.get("/cases").Body.String(), c.post("/cases/search", url.Values{"q": {"canary"}}).Body.String()} {
		if strings.Contains(body, "CANARY-B") {
			t.Error("agency B's case listed for agency A")
		}
	}
	// Users: A's admin cannot disable B's user.
	admin := s.client(t)
	admin.signIn("admin@a.gov")
	if rec := admin.post("/admin/users/"+itoa(s.userB.ID)+"/disable", nil); rec.Code != http.StatusNotFound {
		t.Errorf("disable another agency's user: %d", rec.Code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestForms_ProblemsKeepInput(t *testing.T) {
	s := newServer(t, false)
	c := s.client(t)
	c.signIn("worker@a.gov")
	rec := c.post("/cases", url.Values{"case_number": {"2026-77"}, "program": {""}, "recert_due": {"tomorrow"}})
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("got %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`value="2026-77"`, "Choose the program.", "Enter the date as YYYY-MM-DD", `aria-invalid="true"`} {
		if !strings.Contains(body, want) {
			t.Errorf("form lacks %q", want)
		}
	}
	// A duplicate case number is a message, never a 500.
	if rec := c.post("/cases", url.Values{"case_number": {"2026-77"}, "program": {"snap"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d", rec.Code)
	}
	rec = c.post("/cases", url.Values{"case_number": {"2026-77"}, "program": {"snap"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "already exists") {
		t.Fatalf("duplicate: %d", rec.Code)
	}
	// X8: extra fields do not reach the store.
	cs, _, _ := s.store.Cases(context.Background(), s.agencyA.ID, store.CaseFilter{Query: "2026-77"})
	rec = c.post("/cases/"+itoa(cs[0].ID)+"/members", url.Values{"first_name": {"Ann"}, "last_name": {"Lee"}, "relationship": {"self"},
		"language": {"en"}, "agency_id": {itoa(s.agencyB.ID)}, "case_id": {"999"}, "email": {"bad"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `value="Ann"`) {
		t.Fatalf("member form: %d", rec.Code)
	}
}

func TestReveal_IsAudited(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	ca, _ := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "R-1", Program: "snap"})
	m, _ := s.store.AddMember(ctx, s.agencyA.ID, ca.ID, store.MemberInput{FirstName: "Rae", LastName: "R", Relationship: "self",
		Email: "rae.secret@example.org", DateOfBirth: "1990-02-03", SSNLast4: "5566"})
	c := s.client(t)
	c.signIn("worker@a.gov")
	page := c.get("/cases/" + itoa(ca.ID)).Body.String()
	// Whole numbers only: the page carries times in milliseconds (the live
	// stream's "at"), which may contain any four digits.
	for _, secret := range []string{"rae.secret@example.org", "1990", "5566"} {
		if regexp.MustCompile(`(^|\D)` + regexp.QuoteMeta(secret) + `(\D|$)`).MatchString(page) {
			t.Errorf("masked page shows %q", secret)
		}
	}
	rec := c.post("/cases/"+itoa(ca.ID)+"/members/"+itoa(m.ID)+"/reveal", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "rae.secret@example.org") || !strings.Contains(rec.Body.String(), "5566") {
		t.Fatalf("reveal: %d", rec.Code)
	}
	log, _ := s.store.AuditLog(ctx, s.agencyA.ID, 10)
	var reveals int
	for _, e := range log {
		if e.Action == store.AuditRevealPII && e.MemberID == m.ID && e.UserID == s.workerA.ID {
			reveals++
		}
		if strings.Contains(e.Subject, "rae") || strings.Contains(e.Subject, "5566") {
			t.Errorf("audit row holds PII: %+v", e)
		}
	}
	if reveals != 1 {
		t.Fatalf("%d reveal rows, want 1", reveals)
	}
	if strings.Contains(s.logs.String(), "rae.secret") || strings.Contains(s.logs.String(), "5566") {
		t.Error("log holds PII")
	}
}

func TestAdmin_DisableEndsSessions(t *testing.T) {
	s := newServer(t, false)
	worker := s.client(t)
	worker.signIn("worker@a.gov")
	if rec := worker.get("/admin/users"); rec.Code != http.StatusForbidden {
		t.Fatalf("caseworker reached admin: %d", rec.Code)
	}
	admin := s.client(t)
	admin.signIn("admin@a.gov")
	if rec := admin.post("/admin/users/"+itoa(s.workerA.ID)+"/disable", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d", rec.Code)
	}
	if rec := worker.get("/cases"); rec.Code != http.StatusSeeOther {
		t.Fatalf("disabled user still in: %d", rec.Code)
	}
	if rec := admin.post("/admin/users/"+itoa(s.adminA.ID)+"/disable", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("admin disabled themselves: %d", rec.Code)
	}
	rec := admin.post("/admin/users", url.Values{"name": {"New Person"}, "email": {"not-an-email"}, "role": {"agent"}})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Enter an email address") {
		t.Fatalf("bad email: %d", rec.Code)
	}
	// A new user gets a temporary password, shown once, and must choose
	// their own at the first sign-in.
	rec = admin.post("/admin/users", url.Values{"name": {"New Person"}, "email": {"new@a.gov"}, "role": {"agent"}})
	temp := tempPasswordRE.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || temp == nil {
		t.Fatalf("add user: %d", rec.Code)
	}
	newbie := s.client(t)
	newbie.get("/login")
	rec = newbie.post("/login", url.Values{"email": {"new@a.gov"}, "password": {temp[1]}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login/password" {
		t.Fatalf("first sign-in: %d %s", rec.Code, rec.Header().Get("Location"))
	}
}

func TestHealthAndErrors(t *testing.T) {
	s := newServer(t, false)
	c := s.client(t)
	if rec := c.get("/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("healthz: %d", rec.Code)
	}
	// Signed out, an unknown page sends to sign-in (routes are not revealed);
	// signed in, it is the plain 404 page.
	if rec := c.get("/no/such/page"); rec.Code != http.StatusSeeOther {
		t.Fatalf("signed-out unknown page: %d", rec.Code)
	}
	c.signIn("worker@a.gov")
	rec := c.get("/no/such/page")
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "Page not found") {
		t.Fatalf("404: %d", rec.Code)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
		if rec.Header().Get(h) == "" {
			t.Errorf("404 page lacks %s", h)
		}
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Error("pages must not be cached")
	}
	s.store.Close()
	if rec := c.get("/healthz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("healthz with the database closed: %d", rec.Code)
	}
	rec = c.get("/login")
	body := rec.Body.String()
	if rec.Code != http.StatusInternalServerError || strings.Contains(body, "sql") || strings.Contains(body, "database") || strings.Contains(body, ".go") {
		t.Fatalf("500 page: %d %s", rec.Code, body)
	}
}

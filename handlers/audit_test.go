package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"caseverify/store"
)

// Issue 12: sign-ins, failures included, are audited with the account and
// the client address; an unknown email is only logged, without the email.
func TestAudit_SignInsAndFailures(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	c := s.client(t)
	c.get("/login")
	s.logs.Reset()
	if rec := c.post("/login", url.Values{"email": {"worker@a.gov"}, "password": {"wrong password here"}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", rec.Code)
	}
	if rec := c.post("/login", url.Values{"email": {"nobody-canary@a.gov"}, "password": {"wrong password here"}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("unknown email: %d", rec.Code)
	}
	c.signIn("worker@a.gov")
	es, _ := s.store.AuditLog(ctx, s.agencyA.ID, 10)
	var failed, signedIn bool
	for _, e := range es {
		switch e.Action {
		case store.AuditSignInFailed:
			failed = e.UserID == s.workerA.ID && e.IP == "192.0.2.10" && e.Route == "/login"
		case store.AuditSignIn:
			signedIn = e.UserID == s.workerA.ID && e.IP == "192.0.2.10"
		}
	}
	if !failed || !signedIn {
		t.Fatalf("sign-in audit: %+v", es)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "kind=sign_in_failed") || !strings.Contains(logs, "account=unknown") ||
		strings.Contains(logs, "nobody-canary") || strings.Contains(logs, "worker@a.gov") {
		t.Fatalf("sign-in failure log: %s", logs)
	}
}

// Case views, settings changes and reports are audited with ids only; the
// audit log page (supervisors, administrators) filters by user, case and
// date in the URL, pages by id without overlap, and shows only its agency.
func TestAudit_LogPageFiltersPagesAndScopes(t *testing.T) {
	s := newServer(t, false)
	clients := roleClients(t, s)
	ctx := context.Background()
	c1, _ := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "AUD-1", Program: "snap"})
	c2, _ := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "AUD-2", Program: "snap"})
	cb, _ := s.store.CreateCase(ctx, s.agencyB.ID, s.userB.ID, store.CaseInput{Number: "AUD-B", Program: "snap"})
	w := clients[store.RoleCaseworker]
	for range 60 {
		if rec := w.get("/cases/" + itoa(c1.ID)); rec.Code != http.StatusOK {
			t.Fatal(rec.Code)
		}
	}
	clients[store.RoleSupervisor].get("/cases/" + itoa(c2.ID))
	b := s.client(t)
	b.signIn("worker@b.gov")
	b.get("/cases/" + itoa(cb.ID))
	admin := clients[store.RoleAdmin]
	admin.get("/admin/settings")
	if rec := admin.post("/admin/settings", url.Values{"reminder_first_hours": {"24"}, "reminder_every_hours": {"48"},
		"reminder_count": {"3"}, "reminder_channel": {"same"}, "renewal_fallback": {"send"}, "default_program": {"snap"},
		"default_products": {"income"}, "engagement_hours": {"80"}, "engagement_rate": {"7.25"},
		"engagement_lookback_application": {"3"}, "engagement_lookback_renewal": {"3"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("settings: %d", rec.Code)
	}

	sup := clients[store.RoleSupervisor]
	rowRE := regexp.MustCompile(`data-testid="audit-row"`)
	page := sup.get("/audit").Body.String()
	if n := len(rowRE.FindAllString(page, -1)); n != 50 {
		t.Fatalf("first page: %d rows", n)
	}
	if strings.Contains(page, "AUD-B") {
		t.Fatal("the audit log shows another agency's case")
	}

	// Only the caseworker's views of case 1, paged: 60 = 50 + 10, no overlap.
	q := fmt.Sprintf("/audit?user=%d&case=%d", s.workerA.ID, c1.ID)
	first := sup.get(q).Body.String()
	older := regexp.MustCompile(`href="(/audit\?[^"]*before=\d+[^"]*)"`).FindStringSubmatch(first)
	if older == nil {
		t.Fatal("no link to older entries")
	}
	second := sup.get(strings.ReplaceAll(older[1], "&amp;", "&")).Body.String()
	n1, n2 := len(rowRE.FindAllString(first, -1)), len(rowRE.FindAllString(second, -1))
	if n1 != 50 || n2 != 10 || strings.Contains(second, `data-testid="audit-older"`) {
		t.Fatalf("pages: %d + %d rows", n1, n2)
	}
	for _, p := range []string{first, second} {
		if strings.Contains(p, "AUD-2") || strings.Contains(p, "Changed the settings") {
			t.Fatal("the filter let other entries through")
		}
	}
	// Settings changes are there, with the admin, and dates filter.
	today := time.Now().Format(time.DateOnly)
	settings := sup.get(fmt.Sprintf("/audit?user=%d&from=%s&to=%s", s.adminA.ID, today, today)).Body.String()
	if !strings.Contains(settings, "Changed the settings") || !strings.Contains(settings, "/admin/settings") {
		t.Fatal("settings change not in the audit log")
	}
	if past := sup.get(fmt.Sprintf("/audit?to=%s", time.Now().AddDate(0, 0, -2).Format(time.DateOnly))).Body.String(); !strings.Contains(past, `data-testid="audit-empty"`) {
		t.Fatal("the date filter let today's entries through")
	}
	// Another agency's case id is "not found", like everywhere else.
	if rec := sup.get(fmt.Sprintf("/audit?case=%d", cb.ID)); rec.Code != http.StatusNotFound {
		t.Fatalf("another agency's case: %d", rec.Code)
	}

	// "Who looked at this case", for supervisors only.
	panel := sup.get("/cases/" + itoa(c1.ID)).Body.String()
	if !strings.Contains(panel, `data-testid="case-viewers"`) || !strings.Contains(panel, "worker@a.gov") || !strings.Contains(panel, "60 times") {
		t.Fatalf("who looked panel: %s", panel)
	}
	if strings.Contains(w.get("/cases/"+itoa(c1.ID)).Body.String(), `data-testid="case-viewers"`) {
		t.Fatal("a caseworker sees who looked at the case")
	}
}

// Security-relevant refusals are logged with the request id and the client
// address: CSRF, cross-origin, sign-in throttling, webhook authentication.
func TestRefusals_LoggedWithRequestIDAndClient(t *testing.T) {
	s := newServer(t, false)
	c := s.client(t)
	c.signIn("worker@a.gov")
	reqID := regexp.MustCompile(`request_id=[A-Za-z0-9]{8,}`)
	check := func(kind string) {
		t.Helper()
		logs := s.logs.String()
		var line string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, "kind="+kind) {
				line = l
			}
		}
		if line == "" || !reqID.MatchString(line) || !strings.Contains(line, "client=192.0.2.10") {
			t.Errorf("%s refusal log: %q", kind, line)
		}
		s.logs.Reset()
	}
	s.logs.Reset()
	if rec := c.post("/cases", url.Values{"_csrf": {""}}); rec.Code != http.StatusForbidden {
		t.Fatalf("csrf: %d", rec.Code)
	}
	check("csrf")
	req := httptest.NewRequest(http.MethodPost, "/cases", strings.NewReader(url.Values{"_csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec := c.do(req); rec.Code != http.StatusForbidden {
		t.Fatalf("cross-origin: %d", rec.Code)
	}
	check("cross_origin")
	if rec := c.post("/webhooks/twilio/status", url.Values{"MessageSid": {"SM1"}}); rec.Code != http.StatusForbidden {
		t.Fatalf("twilio without signature: %d", rec.Code)
	}
	check("webhook_auth")
	anon := s.client(t)
	anon.get("/login")
	throttled := false
	for i := 0; i < 30 && !throttled; i++ {
		rec := anon.post("/login", url.Values{"email": {fmt.Sprintf("x%d@nowhere.gov", i)}, "password": {"wrong password here"}})
		throttled = rec.Code == http.StatusTooManyRequests
	}
	if !throttled {
		t.Fatal("never throttled")
	}
	check("sign_in_throttled")
}

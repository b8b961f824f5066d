package handlers_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers/truework"
	"caseverify/store"
)

// logBuffer collects the portal's log; the server writes it from its own
// goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Truework refuses an SSN that is not one of its sandbox test SSNs with a
// 400 naming social_security_number. For the caseworker that is a form
// problem: 422, the SSN field marked, the message in plain words (not
// Truework's property name), no order created; in the log it is a refusal
// at info, not a provider failure at warn or error, and it never holds the
// SSN.
func TestSendForm_TrueworkRefusesSSN(t *testing.T) {
	ctx := context.Background()
	hp := newHTTPPortal(t)
	logs := &logBuffer{}
	hp.log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, srv := hp.st, hp.srv
	em := truework.NewEmulator(truework.EmulatorConfig{PublicURL: srv.URL + "/sandbox/truework",
		WebhookURL: srv.URL + "/webhooks/truework", HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	t.Cleanup(em.Close)
	tw, err := truework.New(truework.SandboxConfig(srv.URL + "/sandbox/truework"))
	if err != nil {
		t.Fatal(err)
	}
	svc := verify.New(st, hp.log, verify.Config{Messages: handlers.LinkMessages{}, BaseURL: srv.URL,
		Providers: []*verify.Provider{{Name: "truework", Label: "Truework", Verifier: tw, Webhooks: tw, Sandbox: true}}})
	hp.register(svc, handlers.Config{Sandboxes: map[string]http.Handler{"truework": em}})
	a := mustAgency(t, st, "Refusal Agency")
	u, _ := st.CreateUser(ctx, a.ID, store.NewUser{Email: "w@r.gov", Name: "W", Role: store.RoleCaseworker, Password: testPassword})
	cs, _ := st.CreateCase(ctx, a.ID, u.ID, store.CaseInput{Number: "R-1", Program: "snap"})
	m, err := st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Kyle", LastName: "Curtis", Relationship: "self",
		Email: "kyle@example.org", DateOfBirth: "1990-04-12", SSNLast4: "1234", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}

	c := &liveClient{t: t, base: srv.URL}
	c.signIn(nil, "w@r.gov")
	formURL := srv.URL + "/cases/" + strconv.FormatInt(cs.ID, 10) + "/members/" + strconv.FormatInt(m.ID, 10)
	// Ends in the last 4 on file (the portal's own check passes), but is
	// not a sandbox test SSN: Truework answers 400.
	const ssn = "987-65-1234"
	form := url.Values{"provider": {"truework"}, "products": {"income"}, "channel": {verify.ChannelCopy}, "ssn": {ssn}}
	resp, body := postSendForm(t, c, formURL, form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("send: %d, want 422\n%s", resp.StatusCode, body)
	}
	// The SSN field is marked, with a message in words.
	if !strings.Contains(body, `id="ssn-error"`) && !strings.Contains(body, `data-testid="error-ssn"`) {
		t.Errorf("the SSN field is not marked:\n%s", body)
	}
	if !strings.Contains(body, "Truework did not accept this value.") {
		t.Errorf("no plain message at the SSN field:\n%s", body)
	}
	for _, never := range []string{"social_security_number", ssn, "987651234"} {
		if strings.Contains(body, never) {
			t.Errorf("the page shows %q", never)
		}
	}
	if orders, err := st.CaseOrders(ctx, a.ID, cs.ID); err != nil || len(orders) != 0 {
		t.Errorf("a refused send left %d orders (%v)", len(orders), err)
	}
	log := logs.String()
	var refusal string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "provider=truework") && strings.Contains(line, "status=400") && strings.Contains(line, "msg=\"provider") {
			refusal = line
		}
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			t.Errorf("logged above info: %s", line)
		}
	}
	if !strings.Contains(refusal, "level=INFO") || !strings.Contains(refusal, "refused") {
		t.Errorf("no info line for the refusal:\n%s", log)
	}
	assertNoSSN(t, log, ssn, "987651234")
}

func assertNoSSN(t *testing.T, log string, forms ...string) {
	t.Helper()
	for _, f := range forms {
		if strings.Contains(log, f) {
			t.Errorf("the log holds the SSN %q", f)
		}
	}
}

package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/truework"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// twEnv is a store on a real SQLite file, the Truework emulator on a real
// HTTP server, and a Service with Truework wired as in sandbox mode.
// Webhooks are authenticated by the adapter and stored in the inbox the way
// handlers.webhook does.
type twEnv struct {
	st     *store.Store
	svc    *verify.Service
	em     *truework.Emulator
	user   *store.User
	caseID int64
	dir    string
	url    string
	clock  *testClock
	logs   *lockedBuffer
	// faults sits in front of the emulator's reverification (unconfirmed_test.go).
	faults *createFaults
}

// lockedBuffer collects the service's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func newTwEnv(t *testing.T) *twEnv {
	t.Helper()
	ctx := context.Background()
	e := &twEnv{dir: t.TempDir(), clock: &testClock{t: time.Now().UTC()}, logs: &lockedBuffer{}}
	dbURL := filepath.Join(e.dir, "v.db") // the SSN test reads its files
	if pgtest.Enabled() {
		dbURL = pgtest.URL(t)
	}
	st, err := store.Open(ctx, dbURL, store.Options{DataKey: bytes.Repeat([]byte{9}, 32), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.em = truework.NewEmulator(truework.EmulatorConfig{PublicURL: srv.URL + "/sandbox/truework",
		WebhookURL: srv.URL + "/webhooks/truework", Logger: log})
	t.Cleanup(e.em.Close)
	c, err := truework.New(truework.SandboxConfig(srv.URL + "/sandbox/truework"))
	if err != nil {
		t.Fatal(err)
	}
	e.svc = verify.New(st, log, verify.Config{Messages: handlers.LinkMessages{}, BaseURL: srv.URL, Providers: []*verify.Provider{
		{Name: "truework", Label: "Truework", Verifier: c, Webhooks: c, Sandbox: true}}})
	e.faults = &createFaults{next: e.em,
		creates: func(r *http.Request) bool {
			return r.Method == http.MethodPost && r.URL.Path == "/orders/reverification"
		},
		lookups: func(r *http.Request) bool { return r.Method == http.MethodGet && r.URL.Path == "/orders" }}
	mux.Handle("/sandbox/truework/", http.StripPrefix("/sandbox/truework", e.faults))
	mux.HandleFunc("POST /webhooks/truework", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := providers.Delivery{Header: r.Header, Body: body}
		if c.Authenticate(d) != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if _, err := st.AddInbox(r.Context(), "truework", c.DedupeKey(d), "", body); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	a, _ := st.CreateAgency(ctx, "Lake County Human Services")
	e.user, _ = st.CreateUser(ctx, a.ID, store.NewUser{Email: "w@lake.gov", Name: "Wren Worker", Role: store.RoleCaseworker, Password: "long enough passphrase"})
	e.user.AgencyName = a.Name
	cs, _ := st.CreateCase(ctx, a.ID, e.user.ID, store.CaseInput{Number: "TW-1", Program: "snap"})
	e.caseID = cs.ID
	return e
}

// member adds a household member with what Truework needs.
func (e *twEnv) member(t *testing.T, first, last4 string) *store.Member {
	t.Helper()
	m, err := e.st.AddMember(context.Background(), e.user.AgencyID, e.caseID, store.MemberInput{FirstName: first, LastName: "Curtis",
		Relationship: "self", Email: strings.ToLower(first) + "@example.org", DateOfBirth: "1990-04-12", SSNLast4: last4, Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *twEnv) send(t *testing.T, m *store.Member, ssn string) *store.Order {
	t.Helper()
	o, err := e.svc.Send(context.Background(), verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: m.ID,
		Provider: "truework", Products: []string{"income"}, Channel: verify.ChannelEmail, SSN: ssn, Employers: []string{"Truework Demo Co"}})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// drain processes the inbox until the order reaches want.
func (e *twEnv) drain(t *testing.T, orderID int64, want store.OrderStatus) *store.Order {
	t.Helper()
	return waitOrder(t, e.svc, e.st, e.user.AgencyID, orderID, want, func(o *store.Order) string {
		return fmt.Sprintf("order %d status %s, want %s\nlog:\n%s", orderID, o.Status, want, e.logs.String())
	})
}

// waitReport polls until the order has a report.
func (e *twEnv) waitReport(t *testing.T, orderID int64) *store.Report {
	t.Helper()
	var r *store.Report
	var err error
	processUntil(t, e.svc, func() bool {
		r, err = e.st.LatestReport(context.Background(), e.user.AgencyID, orderID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("report of order %d: %v", orderID, err)
		}
		return err == nil
	}, func() string { return fmt.Sprintf("no report for order %d: %v", orderID, err) })
	return r
}

func (e *twEnv) drainOnce(t *testing.T) {
	drainInbox(t, e.svc)
}

// pageToken is the applicant page token of an order's link.
func (e *twEnv) pageToken(t *testing.T, o *store.Order) string {
	t.Helper()
	prefix := e.url + "/v/"
	if !strings.HasPrefix(o.Link, prefix) {
		t.Fatalf("order link %q is not the portal's applicant page", o.Link)
	}
	return strings.TrimPrefix(o.Link, prefix)
}

// complete sends a Truework order and runs the applicant's widget through
// the page's session token until the order is completed with its report.
func (e *twEnv) complete(t *testing.T, m *store.Member, ssn string) *store.Order {
	t.Helper()
	o := e.send(t, m, ssn)
	page, err := e.svc.OpenWidgetPage(context.Background(), e.pageToken(t, o))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.em.CompleteWidget(page.SessionToken); err != nil {
		t.Fatal(err)
	}
	o = e.drain(t, o.ID, store.StatusCompleted)
	e.waitReport(t, o.ID)
	// The order's line stays beside "Read the report": it must not say the
	// report is still being fetched.
	if o, _ = e.st.Order(context.Background(), e.user.AgencyID, o.ID); strings.Contains(o.Detail, "fetching") {
		t.Errorf("completed order with its report says %q", o.Detail)
	}
	return o
}

// TestTruework_SendMakesApplicantPage: the applicant's link is the portal's
// own page, which shows only the first name and the agency, opens
// Truework.js with a live session token, records the first open, and ends
// when it expires; the email carries a tracked link to it; the member keeps
// the SSN's last 4.
func TestTruework_SendMakesApplicantPage(t *testing.T) {
	e := newTwEnv(t)
	ctx := context.Background()
	m := e.member(t, "Taylor", "")
	o := e.send(t, m, "000000000")
	if o.Status != store.StatusSent || o.WidgetToken == "" {
		t.Fatalf("order status %s, widget token set %v", o.Status, o.WidgetToken != "")
	}
	tok := e.pageToken(t, o)
	if len(tok) < 43 {
		t.Errorf("page token has %d characters, want 256 bits", len(tok))
	}
	msgs, err := e.st.Outbox(ctx, e.user.AgencyID, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("outbox: %d messages (%v)", len(msgs), err)
	}
	if !strings.Contains(msgs[0].Body, e.url+"/l/") || strings.Contains(msgs[0].Body, tok) {
		t.Errorf("the email should carry the tracked link, not the page itself:\n%s", msgs[0].Body)
	}

	page, err := e.svc.OpenWidgetPage(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if page.Ended || page.FirstName != "Taylor" || page.AgencyName != "Lake County Human Services" || page.Lang != "es" {
		t.Fatalf("page = %+v", page)
	}
	if page.ScriptURL != e.url+"/sandbox/truework/js/v1" || page.PublishableKey != truework.DefaultSandboxPublishableKey || page.Env != "sandbox" {
		t.Errorf("widget settings = %q %q %q", page.ScriptURL, page.PublishableKey, page.Env)
	}
	if page.SessionToken == "" {
		t.Fatal("no session token")
	}
	events, _ := e.st.Events(ctx, e.user.AgencyID, o.ID)
	opened := 0
	for _, ev := range events {
		if strings.Contains(ev.Detail, "opened the verification page") {
			opened++
		}
	}
	if _, err := e.svc.OpenWidgetPage(ctx, tok); err != nil {
		t.Fatal(err)
	}
	events, _ = e.st.Events(ctx, e.user.AgencyID, o.ID)
	again := 0
	for _, ev := range events {
		if strings.Contains(ev.Detail, "opened the verification page") {
			again++
		}
	}
	if opened != 1 || again != 1 {
		t.Errorf("first-open events: %d after one open, %d after two; want 1 and 1", opened, again)
	}

	for _, bad := range []string{"", "nope", tok[:len(tok)-1], strings.ToUpper(tok)} {
		if _, err := e.svc.OpenWidgetPage(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token %q: err = %v, want not found", bad, err)
		}
	}
	got, err := e.st.Member(ctx, e.user.AgencyID, e.caseID, m.ID)
	if err != nil || got.SSNLast4 != "0000" {
		t.Errorf("member SSN last 4 = %q (%v), want 0000", got.SSNLast4, err)
	}

	// The widget completes: completed, with Truework's report.
	if err := e.em.CompleteWidget(page.SessionToken); err != nil {
		t.Fatal(err)
	}
	o = e.drain(t, o.ID, store.StatusCompleted)
	r := e.waitReport(t, o.ID)
	if r.ProviderReportID == "" || !strings.Contains(string(r.Data), "Software Engineer") {
		t.Errorf("report %q lacks the fixture job", r.ProviderReportID)
	}
	// A finished verification's page shows the plain "ended" page.
	if page, err := e.svc.OpenWidgetPage(ctx, tok); err != nil || !page.Ended {
		t.Errorf("page after completion: ended=%v (%v)", page != nil && page.Ended, err)
	}

	// An open order's page expires.
	m2 := e.member(t, "Sarah", "")
	o2 := e.send(t, m2, "000000001")
	e.clock.Add(store.ApplicantPageTTL + time.Minute)
	if page, err := e.svc.OpenWidgetPage(ctx, e.pageToken(t, o2)); err != nil || !page.Ended {
		t.Errorf("expired page: ended=%v (%v)", page != nil && page.Ended, err)
	}
	a, err := e.svc.WidgetActionsFor(ctx, o2)
	if err != nil || a == nil || !a.FreshSession {
		t.Errorf("an open order whose page expired should offer a fresh page: %+v (%v)", a, err)
	}
}

// TestTruework_SSNChecks: the full SSN is required for Truework and must
// end in the last 4 on file; a refusal leaves no order behind.
func TestTruework_SSNChecks(t *testing.T) {
	e := newTwEnv(t)
	ctx := context.Background()
	m := e.member(t, "Kyle", "0003")
	for _, tc := range []struct{ name, ssn, want string }{
		{"missing", "", "full 9-digit"},
		{"too short", "00000003", "full 9-digit"},
		{"other last 4", "000000004", "last 4 digits on file"},
	} {
		_, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: m.ID, Provider: "truework",
			Products: []string{"income"}, Channel: verify.ChannelEmail, SSN: tc.ssn})
		var p verify.Problems
		if !errors.As(err, &p) || !strings.Contains(p["ssn"], tc.want) {
			t.Errorf("%s: err = %v, want an ssn problem with %q", tc.name, err, tc.want)
		}
	}
	orders, err := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID)
	if err != nil || len(orders) != 0 {
		t.Errorf("%d orders after refusals (%v)", len(orders), err)
	}
	e.send(t, m, "000000003")
}

// TestTruework_SSNNeverStoredOrLogged: after a send and a completed
// verification, neither the log nor any database file holds the SSN, in
// any spelling; the member holds only the last 4 (encrypted).
func TestTruework_SSNNeverStoredOrLogged(t *testing.T) {
	e := newTwEnv(t)
	m := e.member(t, "Jamie", "")
	e.complete(t, m, "000230000")
	e.st.Close() // checkpoints the WAL into the file
	logs := e.logs.String()
	if !strings.Contains(logs, "report saved") {
		t.Fatal("the log is not being captured")
	}
	files, _ := filepath.Glob(filepath.Join(e.dir, "v.db*"))
	if len(files) == 0 && !pgtest.Enabled() { // PostgreSQL: the store suite checks its rows
		t.Fatal("no database files")
	}
	for _, spelling := range []string{"000230000", "000-23-0000", "000 23 0000"} {
		if strings.Contains(logs, spelling) {
			t.Errorf("the log holds the SSN as %q", spelling)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(spelling)) {
				t.Errorf("%s holds the SSN as %q", filepath.Base(f), spelling)
			}
		}
	}
}

// TestTruework_ReverifySeamless: 000-23-0000's reverification completes by
// itself, with a new report, without asking the applicant; the new order
// links to the original.
func TestTruework_ReverifySeamless(t *testing.T) {
	e := newTwEnv(t)
	ctx := context.Background()
	m := e.member(t, "Jamie", "")
	o := e.complete(t, m, "000230000")
	a, err := e.svc.WidgetActionsFor(ctx, o)
	if err != nil || !a.Reverify || a.NoReverify != "" {
		t.Fatalf("completed order actions = %+v (%v)", a, err)
	}
	n, err := e.svc.Reverify(ctx, e.user, o)
	if err != nil {
		t.Fatal(err)
	}
	if n.RefreshOf != o.ID || n.ID == o.ID || n.ProviderOrderID == o.ProviderOrderID {
		t.Fatalf("new order refresh_of=%d (want %d), provider id %q", n.RefreshOf, o.ID, n.ProviderOrderID)
	}
	n = e.drain(t, n.ID, store.StatusCompleted)
	r := e.waitReport(t, n.ID)
	if r.ProviderReportID == "" {
		t.Error("the reverification has no report id")
	}
	if ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, n.ID); len(ds) != 0 {
		t.Errorf("a seamless reverification sent the applicant %d messages", len(ds))
	}
	cs, _ := e.st.Case(ctx, e.user.AgencyID, e.caseID)
	if cs.Status != store.CaseCompleted {
		t.Errorf("case status %s", cs.Status)
	}
}

// TestTruework_ReverifyNeedsApplicant: 000-22-0000's reverification loses
// the payroll connection: order.applicant_action_required turns the new
// order action required, the caseworker sends a new page with a fresh
// session (the earlier page stops working), and the widget completes it.
func TestTruework_ReverifyNeedsApplicant(t *testing.T) {
	e := newTwEnv(t)
	ctx := context.Background()
	m := e.member(t, "Alex", "")
	o := e.complete(t, m, "000220000")
	n, err := e.svc.Reverify(ctx, e.user, o)
	if err != nil {
		t.Fatal(err)
	}
	oldPage := e.pageToken(t, n)
	n = e.drain(t, n.ID, store.StatusActionRequired)
	cs, _ := e.st.Case(ctx, e.user.AgencyID, e.caseID)
	if cs.Status != store.CaseActionRequired {
		t.Errorf("case status %s, want action_required", cs.Status)
	}
	a, err := e.svc.WidgetActionsFor(ctx, n)
	if err != nil || !a.FreshSession || a.Reverify {
		t.Fatalf("action-required order actions = %+v (%v)", a, err)
	}
	fresh, err := e.svc.SendFreshSession(ctx, e.user, n, verify.ChannelEmail)
	if err != nil {
		t.Fatal(err)
	}
	newPage := e.pageToken(t, fresh)
	if newPage == oldPage || fresh.WidgetToken == n.WidgetToken {
		t.Fatal("the fresh session reused the old page or token")
	}
	if p, err := e.svc.OpenWidgetPage(ctx, oldPage); err != nil || !p.Ended {
		t.Errorf("the earlier page still works: ended=%v (%v)", p != nil && p.Ended, err)
	}
	ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, n.ID)
	if len(ds) != 1 || ds[0].Channel != verify.ChannelEmail || ds[0].Kind != "resend" {
		t.Errorf("deliveries = %+v", ds)
	}
	page, err := e.svc.OpenWidgetPage(ctx, newPage)
	if err != nil || page.Ended {
		t.Fatalf("new page: %+v (%v)", page, err)
	}
	if err := e.em.CompleteWidget(page.SessionToken); err != nil {
		t.Fatal(err)
	}
	e.drain(t, n.ID, store.StatusCompleted)
	e.waitReport(t, n.ID)
	// The stored token (from the fresh session) is the fallback: it opens too.
	if err := e.em.CompleteWidget(fresh.WidgetToken); err == nil {
		t.Error("a finished verification accepted its session again")
	}
}

// TestTruework_ReverifyWindow: past 90 days the order page explains why
// reverification is not offered, and a request is refused before any
// provider call or new order.
func TestTruework_ReverifyWindow(t *testing.T) {
	e := newTwEnv(t)
	ctx := context.Background()
	m := e.member(t, "Taylor", "")
	o := e.complete(t, m, "000000000")
	e.clock.Add(truework.ReverifyWindow + time.Hour)
	a, err := e.svc.WidgetActionsFor(ctx, o)
	if err != nil || a.Reverify || !strings.Contains(a.NoReverify, "90 days") {
		t.Fatalf("actions after 90 days = %+v (%v)", a, err)
	}
	_, err = e.svc.Reverify(ctx, e.user, o)
	var p verify.Problems
	if !errors.As(err, &p) || !strings.Contains(p["reverify"], "90 days") {
		t.Fatalf("err = %v", err)
	}
	orders, _ := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID)
	if len(orders) != 1 {
		t.Errorf("%d orders, want only the original", len(orders))
	}
	// An open order cannot be reverified at all.
	o2 := e.send(t, e.member(t, "Sarah", ""), "000000001")
	if _, err := e.svc.Reverify(ctx, e.user, o2); !errors.As(err, &p) {
		t.Errorf("reverify of an open order: %v", err)
	}
}

// Issue 14: Truework's orders never expire on their own, so an order the
// applicant never opened stayed "sent" forever. Past the adapter's order
// lifetime (7 days, truework.Contract) the reconciler ends it as expired.
func TestTruework_UnopenedOrderExpires(t *testing.T) {
	e := newTwEnv(t)
	ctx := context.Background()
	m := e.member(t, "Taylor", "0000")
	o := e.send(t, m, "000000000")
	if o.LinkExpiresAt.IsZero() {
		t.Fatal("the order has no link expiry")
	}
	e.clock.Add(6 * 24 * time.Hour)
	e.svc.Reconcile(ctx)
	if got, _ := e.st.Order(ctx, e.user.AgencyID, o.ID); got.Status.Final() {
		t.Fatalf("expired before its lifetime: %s", got.Status)
	}
	e.clock.Add(24*time.Hour + time.Hour)
	e.svc.Reconcile(ctx)
	got, err := e.st.Order(ctx, e.user.AgencyID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusExpired {
		t.Fatalf("status %s after 7 days unopened, want expired", got.Status)
	}
}

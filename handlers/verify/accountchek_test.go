package verify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/accountchek"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// acClock is the store's clock in these tests: it runs with real time and
// can be pushed ahead, so "quiet for 15 minutes" passes instantly.
type acClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *acClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *acClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// acEnv is the portal's real router (webhook handler included) on a real
// HTTP server, the AccountChek emulator mounted in it as in sandbox mode,
// the real adapter wrapped to count its calls, and a store with a clock the
// test can push ahead.
type acEnv struct {
	st     *store.Store
	svc    *verify.Service
	em     *accountchek.Emulator
	ac     *countingAC
	clock  *acClock
	url    string
	dbPath string
	user   *store.User
	caseID int64
	member *store.Member
	// emLog counts the emulator's postback log lines by message.
	emLog *lineCounter
	// rec records the adapter's requests (paths and hosts).
	rec *requestLog
	// postbacks counts the emulator's postback requests.
	postbacks *postbackCounter
}

type acOptions struct {
	allowedSources []string
	dropRate       float64
	seed           uint64
	emulatorNow    func() time.Time
}

func newACEnv(t *testing.T, opts acOptions) *acEnv {
	t.Helper()
	ctx := context.Background()
	e := &acEnv{clock: &acClock{}, emLog: &lineCounter{}, rec: &requestLog{}, postbacks: &postbackCounter{}}
	e.dbPath = pgtest.DatabaseURL(t, "ac.db")
	st, err := store.Open(ctx, e.dbPath, store.Options{DataKey: testDataKey(), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	var router http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { router.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.em = accountchek.NewEmulator(accountchek.EmulatorConfig{
		PublicURL: srv.URL + "/sandbox/accountchek", WebhookURL: srv.URL + "/webhooks/accountchek",
		Logger: slog.New(e.emLog), RetryBackoff: 50 * time.Millisecond, DropRate: opts.dropRate, Seed: opts.seed,
		Now: opts.emulatorNow, HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: e.postbacks},
	})
	t.Cleanup(e.em.Close)
	c, err := accountchek.New(accountchek.Config{BaseURL: srv.URL + "/sandbox/accountchek", Username: accountchek.SandboxUsername,
		Password: accountchek.SandboxPassword, AllowedSourceCIDRs: opts.allowedSources,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: recordingTransport{e.rec, http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	e.ac = newCountingAC(c)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.svc = e.service(st, log)
	h := handlers.New(st, log, sessions.NewCookieStore(bytes.Repeat([]byte{2}, 32)), e.svc, handlers.Config{CSRFKey: []byte("k"),
		Sandboxes: map[string]http.Handler{"accountchek": e.em}})
	ech := echo.New()
	ech.IPExtractor = echo.ExtractIPDirect()
	h.Register(ech)
	router = ech

	a, _ := st.CreateAgency(ctx, "Test Agency")
	e.user, _ = st.CreateUser(ctx, a.ID, store.NewUser{Email: "w@t.gov", Name: "W", Role: store.RoleCaseworker, Password: "long enough passphrase"})
	e.user.AgencyName = a.Name
	cs, _ := st.CreateCase(ctx, a.ID, e.user.ID, store.CaseInput{Number: "AC-1", Program: "snap"})
	e.caseID = cs.ID
	e.member, err = st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Ana", LastName: "Diaz", Relationship: "self",
		Email: "ana@example.org", Phone: "555-201-0456", SSNLast4: "6789", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testDataKey() []byte { return bytes.Repeat([]byte{5}, 32) }

// service builds a Service on st with the counting AccountChek adapter, as
// web/ wires it (a second one on another store handle is a second process).
func (e *acEnv) service(st *store.Store, log *slog.Logger) *verify.Service {
	return verify.New(st, log, verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url, Providers: []*verify.Provider{{Name: accountchek.Name,
		Label: "AccountChek", Verifier: e.ac, Webhooks: e.ac.Client, Sandbox: true}}})
}

// send creates an AccountChek order for the member; the link is shown, not sent.
func (e *acEnv) send(t *testing.T, products ...string) *store.Order {
	t.Helper()
	o, err := e.svc.Send(context.Background(), verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID,
		Provider: accountchek.Name, Products: products, Channel: verify.ChannelCopy})
	if err != nil {
		t.Fatalf("send %v: %v", products, err)
	}
	return o
}

func (e *acEnv) order(t *testing.T, id int64) *store.Order {
	t.Helper()
	o, err := e.st.Order(context.Background(), e.user.AgencyID, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// processUntil works the inbox (as the portal's worker does) until cond
// holds, or fails after settleWithin.
func (e *acEnv) processUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	processUntil(t, e.svc, cond, func() string {
		for _, o := range e.allOrders(t) {
			for _, ev := range e.events(t, o.ID) {
				t.Logf("order %d: %s %s %s -> %s %s", o.ID, ev.Source, ev.RawEvent, ev.RawStatus, ev.Status, ev.Detail)
			}
		}
		return fmt.Sprintf("%s did not happen within %v", what, settleWithin)
	})
}

func (e *acEnv) allOrders(t *testing.T) []*store.Order {
	t.Helper()
	os, err := e.st.CaseOrders(context.Background(), e.user.AgencyID, e.caseID)
	if err != nil {
		t.Fatal(err)
	}
	return os
}

func (e *acEnv) drainInbox(t *testing.T) {
	t.Helper()
	drainInbox(t, e.svc)
}

func (e *acEnv) waitStatus(t *testing.T, id int64, want store.OrderStatus) *store.Order {
	t.Helper()
	var o *store.Order
	e.processUntil(t, "order status "+string(want), func() bool {
		o = e.order(t, id)
		return o.Status == want
	})
	return o
}

// post sends a form to the portal like AccountChek does.
func (e *acEnv) post(t *testing.T, u, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "AccountChek Webhook")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *acEnv) inboxTotal(t *testing.T) int {
	t.Helper()
	total, _, err := e.st.InboxStats(context.Background(), accountchek.Name)
	if err != nil {
		t.Fatal(err)
	}
	return total
}

func (e *acEnv) events(t *testing.T, id int64) []*store.Event {
	t.Helper()
	evs, err := e.st.Events(context.Background(), e.user.AgencyID, id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// reportsReceived counts the "Report received." lines of an order's timeline
// (one per stored report).
func (e *acEnv) reportsReceived(t *testing.T, id int64) int {
	n := 0
	for _, ev := range e.events(t, id) {
		if ev.Detail == "Report received." {
			n++
		}
	}
	return n
}

func randomGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

// countingAC is the real adapter, counting status calls per AccountChek
// order (and those made by Reconcile apart), and keeping each order's
// notificationUrl as AccountChek received it.
type countingAC struct {
	*accountchek.Client
	mu          sync.Mutex
	fetches     map[string]int
	reconciles  map[string]int
	webhookURLs map[string]string
	inFlight    map[string]int
	overlaps    int
}

func newCountingAC(c *accountchek.Client) *countingAC {
	return &countingAC{Client: c, fetches: map[string]int{}, reconciles: map[string]int{}, webhookURLs: map[string]string{},
		inFlight: map[string]int{}}
}

// reconcileKey marks the context of a Reconcile call, so the counter can
// tell the reconciler's polls from the ones a postback hint triggers.
type reconcileKey struct{}

func (c *countingAC) CreateOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	o, err := c.Client.CreateOrder(ctx, req)
	if err == nil {
		c.mu.Lock()
		c.webhookURLs[o.OrderID] = req.WebhookURL
		c.mu.Unlock()
	}
	return o, err
}

func (c *countingAC) FetchStatus(ctx context.Context, ref providers.OrderRef) ([]providers.Update, error) {
	c.mu.Lock()
	c.fetches[ref.OrderID]++
	if ctx.Value(reconcileKey{}) != nil {
		c.reconciles[ref.OrderID]++
	}
	c.inFlight[ref.OrderID]++
	if c.inFlight[ref.OrderID] > 1 {
		c.overlaps++
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight[ref.OrderID]--
		c.mu.Unlock()
	}()
	time.Sleep(5 * time.Millisecond) // widen the window two pollers would share
	return c.Client.FetchStatus(ctx, ref)
}

func (c *countingAC) counts() (fetches, reconciles map[string]int, overlaps int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, r := map[string]int{}, map[string]int{}
	for k, v := range c.fetches {
		f[k] = v
	}
	for k, v := range c.reconciles {
		r[k] = v
	}
	return f, r, c.overlaps
}

func (c *countingAC) webhookURL(orderID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.webhookURLs[orderID]
}

// requestLog records the adapter's outgoing requests.
type requestLog struct {
	mu    sync.Mutex
	paths []string
	hosts map[string]bool
}

func (r *requestLog) snapshot() ([]string, map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	hosts := map[string]bool{}
	for h := range r.hosts {
		hosts[h] = true
	}
	return append([]string(nil), r.paths...), hosts
}

type recordingTransport struct {
	log  *requestLog
	next http.RoundTripper
}

func (t recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.log.mu.Lock()
	t.log.paths = append(t.log.paths, r.Method+" "+r.URL.Path)
	if t.log.hosts == nil {
		t.log.hosts = map[string]bool{}
	}
	t.log.hosts[r.URL.Host] = true
	t.log.mu.Unlock()
	return t.next.RoundTrip(r)
}

// postbackCounter is the emulator's transport: it counts postbacks sent and
// in flight, so a test can wait until the emulator has said everything.
type postbackCounter struct {
	mu             sync.Mutex
	inFlight, sent int
}

func (p *postbackCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.inFlight++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inFlight--
		p.sent++
		p.mu.Unlock()
	}()
	return http.DefaultTransport.RoundTrip(r)
}

func (p *postbackCounter) state() (inFlight, sent int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight, p.sent
}

// settle works the inbox until the emulator has stopped posting (nothing in
// flight, nothing new for 200 ms) and every stored postback is processed.
func (e *acEnv) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(settleWithin)
	last, calm := -1, 0
	for calm < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("the emulator's postbacks did not settle within %v", settleWithin)
		}
		e.drainInbox(t)
		inFlight, sent := e.postbacks.state()
		_, pending, err := e.st.InboxStats(context.Background(), accountchek.Name)
		if err != nil {
			t.Fatal(err)
		}
		if inFlight == 0 && pending == 0 && sent == last {
			calm++
		} else {
			calm = 0
		}
		last = sent
		time.Sleep(20 * time.Millisecond)
	}
}

// lineCounter is a slog.Handler counting records by message.
type lineCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *lineCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *lineCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[string]int{}
	}
	l.n[r.Message]++
	return nil
}
func (l *lineCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *lineCounter) WithGroup(string) slog.Handler      { return l }
func (l *lineCounter) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[msg]
}

// W13 end to end: a forged postback to a real order's own URL (so it gets
// past the door) claiming the VOIE report is ready changes nothing. The
// portal asks AccountChek, which says 601, so the order stays in progress,
// and no report is fetched by the forged id. Only the status call moves it:
// when the applicant really finishes, the order completes with the report
// the API names.
func TestAccountChek_ForgedPostbackChangesNothing(t *testing.T) {
	e := newACEnv(t, acOptions{allowedSources: []string{"127.0.0.0/8", "::1"}})
	ctx := context.Background()
	o := e.send(t, "income")
	if o.Status != store.StatusSent || o.Link == "" || !strings.HasPrefix(o.Link, e.url+"/sandbox/accountchek/borrower/") {
		t.Fatalf("order after send: status %s link %q", o.Status, o.Link)
	}
	hookURL := e.ac.webhookURL(o.ProviderOrderID)
	secret, ok := strings.CutPrefix(hookURL, e.url+"/webhooks/accountchek/")
	if !ok || len(secret) < 40 {
		t.Fatalf("notificationUrl %q is not a per-order secret URL", hookURL)
	}
	if err := e.em.Borrower(o.ProviderOrderID, accountchek.Arrive()); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, o.ID, store.StatusInProgress)
	if _, voe, _, _ := e.em.ServiceStatus(o.ProviderOrderID); voe != "601" {
		t.Fatalf("VOIE at the emulator = %s, want 601", voe)
	}

	// Unknown secret: 404, nothing stored.
	before := e.inboxTotal(t)
	forged := randomGUID()
	body := "orderId=" + o.ProviderOrderID + "&orderStatus=607&voeReportId=" + forged
	if st := e.post(t, e.url+"/webhooks/accountchek/"+strings.Repeat("0", len(secret)), body); st != http.StatusNotFound {
		t.Fatalf("unknown secret: %d, want 404", st)
	}
	if st := e.post(t, e.url+"/webhooks/accountchek", body); st != http.StatusNotFound {
		t.Fatalf("no secret: %d, want 404", st)
	}
	if got := e.inboxTotal(t); got != before {
		t.Fatalf("a postback to an unknown URL was stored (%d → %d)", before, got)
	}

	// The forged 607 at the order's real URL: accepted as a hint...
	fetchesBefore, _, _ := e.ac.counts()
	if st := e.post(t, hookURL, body); st != http.StatusOK {
		t.Fatalf("forged postback at the real URL: %d, want 200 (a hint is stored)", st)
	}
	// ...and the hint is checked with AccountChek's status API.
	e.processUntil(t, "the hint's status call", func() bool {
		f, _, _ := e.ac.counts()
		return f[o.ProviderOrderID] > fetchesBefore[o.ProviderOrderID]
	})
	e.drainInbox(t)
	if got := e.order(t, o.ID); got.Status != store.StatusInProgress {
		t.Fatalf("after the forged 607 the order is %s, want in_progress", got.Status)
	}
	if _, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a report was stored after a forged postback (err %v)", err)
	}
	reqs, hosts := e.rec.snapshot()
	for _, p := range reqs {
		if strings.Contains(p, forged) || strings.Contains(p, "/voe/reports") {
			t.Errorf("the portal called %s after a forged postback", p)
		}
	}
	emHost := strings.TrimPrefix(e.url, "http://")
	for h := range hosts {
		if h != emHost {
			t.Errorf("the adapter called host %s; only AccountChek (%s) is allowed", h, emHost)
		}
	}
	var sawHint bool
	for _, ev := range e.events(t, o.ID) {
		if ev.Source == "webhook" && ev.RawStatus == "607" {
			sawHint = true
			if ev.Status != "" {
				t.Errorf("the forged hint changed the status to %s", ev.Status)
			}
		}
		if ev.Status == store.StatusCompleted {
			t.Error("the timeline shows the order completed")
		}
	}
	if !sawHint {
		t.Error("the forged postback is not on the timeline as a webhook hint")
	}

	// An unknown code keeps the status too.
	if st := e.post(t, hookURL, "orderId="+o.ProviderOrderID+"&orderStatus=6999"); st != http.StatusOK {
		t.Fatalf("unknown code: %d", st)
	}
	e.processUntil(t, "the unknown code on the timeline", func() bool {
		for _, ev := range e.events(t, o.ID) {
			if ev.RawStatus == "6999" {
				return true
			}
		}
		return false
	})
	if got := e.order(t, o.ID); got.Status != store.StatusInProgress {
		t.Fatalf("after an unknown code the order is %s", got.Status)
	}

	// The applicant really finishes: the status call says 607 and names
	// the report, which is the one fetched.
	if err := e.em.Borrower(o.ProviderOrderID, accountchek.PayrollLogin("payroll_good", "any")); err != nil {
		t.Fatal(err)
	}
	done := e.waitStatus(t, o.ID, store.StatusCompleted)
	var rep *store.Report
	e.processUntil(t, "the report", func() bool {
		r, err := e.st.LatestReport(ctx, e.user.AgencyID, done.ID)
		rep = r
		return err == nil
	})
	if !strings.HasPrefix(rep.ProviderReportID, "voe:") || strings.Contains(rep.ProviderReportID, forged) || rep.Kind != "income" {
		t.Fatalf("report %q kind %s", rep.ProviderReportID, rep.Kind)
	}
	if !bytes.Contains(rep.Data, []byte("Employments")) {
		t.Fatalf("report data: %.200s", rep.Data)
	}
}

// With a source-address allowlist that does not include the sender, a
// postback is refused at the door (401) even at a real order's URL, and
// nothing is stored.
func TestAccountChek_SourceAllowlist(t *testing.T) {
	e := newACEnv(t, acOptions{allowedSources: []string{"203.0.113.0/24"}})
	o := e.send(t, "assets")
	hookURL := e.ac.webhookURL(o.ProviderOrderID)
	if st := e.post(t, hookURL, "orderId="+o.ProviderOrderID+"&orderStatus=507&reportId="+randomGUID()); st != http.StatusUnauthorized {
		t.Fatalf("postback from outside the allowlist: %d, want 401", st)
	}
	if got := e.inboxTotal(t); got != 0 {
		t.Fatalf("%d postbacks stored", got)
	}
	if got := e.order(t, o.ID); got.Status != store.StatusSent {
		t.Fatalf("order %s", got.Status)
	}
}

// Action-required codes reach the caseworker in words they understand, and
// the order moves on when the applicant fixes it: 509 (bank needs an
// update), 634 (payroll login error), 5010 (link expired).
func TestAccountChek_ActionRequiredWords(t *testing.T) {
	emNow := &acClock{}
	e := newACEnv(t, acOptions{emulatorNow: emNow.Now})

	voa := e.send(t, "assets")
	if err := e.em.Borrower(voa.ProviderOrderID, accountchek.Arrive(), accountchek.ChooseInstitution("Sandbox Bank"),
		accountchek.BankLogin("user_update", "x")); err != nil {
		t.Fatal(err)
	}
	got := e.waitStatus(t, voa.ID, store.StatusActionRequired)
	if got.Detail != "The applicant must sign in to their bank again" {
		t.Fatalf("509 detail %q", got.Detail)
	}
	if err := e.em.Borrower(voa.ProviderOrderID, accountchek.BankLogin("user_good", "pass_good")); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, voa.ID, store.StatusCompleted)

	voie := e.send(t, "income")
	if err := e.em.Borrower(voie.ProviderOrderID, accountchek.Arrive(), accountchek.PayrollLogin("payroll_bad", "x")); err != nil {
		t.Fatal(err)
	}
	got = e.waitStatus(t, voie.ID, store.StatusActionRequired)
	if got.Detail != "The applicant's payroll sign-in failed; they can try again" {
		t.Fatalf("634 detail %q", got.Detail)
	}
	if err := e.em.Borrower(voie.ProviderOrderID, accountchek.PayrollLogin("payroll_good", "x")); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, voie.ID, store.StatusCompleted)

	late := e.send(t, "assets")
	emNow.Advance(73 * time.Hour)
	if err := e.em.Borrower(late.ProviderOrderID, accountchek.Arrive()); err == nil {
		t.Fatal("an expired link still worked")
	}
	got = e.waitStatus(t, late.ID, store.StatusActionRequired)
	if got.Detail != "The applicant's link expired; send a new link" {
		t.Fatalf("5010 detail %q", got.Detail)
	}
}

// An order with both VOA and VOIE gets both reports, each fetched once,
// although every poll while VOIE is under way says the VOA report is ready.
func TestAccountChek_BothReportsFetchedOnce(t *testing.T) {
	e := newACEnv(t, acOptions{})
	o := e.send(t, "assets", "income")
	if err := e.em.Borrower(o.ProviderOrderID, accountchek.Arrive(), accountchek.ChooseInstitution("Sandbox Bank"),
		accountchek.BankLogin("user_good", "pass_good")); err != nil {
		t.Fatal(err)
	}
	e.processUntil(t, "the VOA report", func() bool { return e.reportsReceived(t, o.ID) == 1 })
	if got := e.order(t, o.ID); got.Status != store.StatusInProgress {
		t.Fatalf("VOA done, VOIE not: order %s, want in_progress", got.Status)
	}
	// Polls while VOIE is under way name the same VOA report again.
	for range 3 {
		if err := e.svc.Refetch(context.Background(), e.order(t, o.ID)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.reportsReceived(t, o.ID); n != 1 {
		t.Fatalf("the VOA report was stored %d times", n)
	}
	if err := e.em.Borrower(o.ProviderOrderID, accountchek.PayrollLogin("payroll_good", "x")); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, o.ID, store.StatusCompleted)
	e.processUntil(t, "the VOIE report", func() bool { return e.reportsReceived(t, o.ID) == 2 })
	rep, err := e.st.LatestReport(context.Background(), e.user.AgencyID, o.ID)
	if err != nil || !strings.HasPrefix(rep.ProviderReportID, "voe:") {
		t.Fatalf("latest report %v %v", rep, err)
	}
	// The PDF of the stored report comes from AccountChek on demand.
	pdf, err := e.svc.ReportPDF(context.Background(), e.order(t, o.ID), rep.ProviderReportID)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("PDF: %v %.8q", err, pdf)
	}
}

// Issue 14: AccountChek requires the email and the last 4 of the SSN on
// every order. A member without them is stopped before AccountChek is
// called (it answered 422 naming last4SSN), and the problem is said in the
// portal's words on the provider choice, naming what to add.
func TestAccountChek_SendNeedsEmailAndSSNLast4(t *testing.T) {
	e := newACEnv(t, acOptions{})
	ctx := context.Background()
	m, err := e.st.AddMember(ctx, e.user.AgencyID, e.caseID, store.MemberInput{FirstName: "Leo", LastName: "Diaz",
		Relationship: "child", Phone: "555-201-0457"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: m.ID, Provider: accountchek.Name,
		Products: []string{"assets"}, Channel: verify.ChannelCopy})
	var problems verify.Problems
	if !errors.As(err, &problems) {
		t.Fatalf("got %v, want problems", err)
	}
	msg := problems["provider"]
	for _, want := range []string{"Leo", "email address", "last 4 digits of the Social Security number"} {
		if !strings.Contains(msg, want) {
			t.Errorf("provider problem %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "last4SSN") {
		t.Errorf("the vendor's field name reached the caseworker: %q", msg)
	}
	if orders := e.allOrders(t); len(orders) != 0 {
		t.Errorf("%d orders left behind", len(orders))
	}
}

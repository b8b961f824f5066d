package truework

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"caseverify/providers"
)

const testToken = "whk_test_token_current"

// newTestClient returns a Client for baseURL with test defaults.
func newTestClient(t testing.TB, baseURL string, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL:           baseURL,
		APIKey:            DefaultSandboxAPIKey,
		PublishableKey:    DefaultSandboxPublishableKey,
		WebhookTokens:     []string{testToken, "whk_test_token_previous"},
		RequestsPerSecond: 200,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// fakeClock is a settable clock for the client's limiter and the emulator.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// Sleep records d and advances the clock instead of waiting.
func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	f.t = f.t.Add(d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// delivery is one webhook the test receiver got.
type delivery struct {
	Event   string
	OrderID string
	State   string
	Key     string
	Header  http.Header
	Body    []byte
	Updates []providers.Update
}

// receiver is the portal's webhook endpoint in miniature: it authenticates
// with the adapter's Authenticate, answers 403 on failure, and records what
// Parse made of each delivery.
type receiver struct {
	srv      *httptest.Server
	client   *Client
	mu       sync.Mutex
	got      []delivery
	rejected int
	failNext int // answer 500 to this many deliveries first
}

func newReceiver(t *testing.T, c *Client) *receiver {
	t.Helper()
	rc := &receiver{client: c}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	d := providers.Delivery{Header: r.Header, Body: body, Path: r.URL.Path, RemoteAddr: r.RemoteAddr}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.failNext > 0 {
		rc.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if err := rc.client.Authenticate(d); err != nil {
		rc.rejected++
		w.WriteHeader(http.StatusForbidden)
		return
	}
	ups, err := rc.client.Parse(d)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var env webhookEnvelope
	_ = json.Unmarshal(body, &env)
	rc.got = append(rc.got, delivery{
		Event: env.Hook.Event, OrderID: env.Data.OrderID, State: env.Data.State,
		Key: rc.client.DedupeKey(d), Header: r.Header.Clone(), Body: body, Updates: ups,
	})
	w.WriteHeader(http.StatusOK)
}

// forOrder returns the deliveries for one order, in arrival order.
func (rc *receiver) forOrder(orderID string) []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []delivery
	for _, d := range rc.got {
		if d.OrderID == orderID {
			out = append(out, d)
		}
	}
	return out
}

// events lists "event/state" of an order's deliveries.
func (rc *receiver) events(orderID string) []string {
	var out []string
	for _, d := range rc.forOrder(orderID) {
		s := d.Event
		if d.State != "" {
			s += "/" + d.State
		}
		out = append(out, s)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// readFixture reads testdata/name.
func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sandbox is an emulator served over HTTP with a client and a receiver.
type sandbox struct {
	em     *Emulator
	srv    *httptest.Server
	client *Client
	recv   *receiver
	clock  *fakeClock
}

// newSandbox starts the emulator with a fake clock at a fixed date. mod may
// change the emulator config before start.
func newSandbox(t *testing.T, mod func(*EmulatorConfig)) *sandbox {
	t.Helper()
	sb := &sandbox{clock: newFakeClock(time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC))}
	mux := http.NewServeMux()
	sb.srv = httptest.NewServer(mux)
	t.Cleanup(sb.srv.Close)
	cc := SandboxConfig(sb.srv.URL + "/sandbox/truework/")
	cc.RequestsPerSecond = 200
	client, err := New(cc)
	if err != nil {
		t.Fatal(err)
	}
	sb.client = client
	sb.recv = newReceiver(t, sb.client)
	cfg := EmulatorConfig{
		PublicURL:  sb.srv.URL + "/sandbox/truework",
		WebhookURL: sb.recv.srv.URL + "/webhooks/truework",
		Now:        sb.clock.Now,
		RateLimit:  -1,
	}
	if mod != nil {
		mod(&cfg)
	}
	sb.em = NewEmulator(cfg)
	t.Cleanup(sb.em.Close)
	mux.Handle("/sandbox/truework/", http.StripPrefix("/sandbox/truework", sb.em))
	return sb
}

// applicant is a sandbox applicant with the given digits-only SSN.
func applicant(ssn string) providers.Applicant {
	return providers.Applicant{
		Ref: "member-1", FirstName: "Pat", LastName: "Doe", Email: "pat@example.test",
		Phone: "+15555550123", DateOfBirth: "1990-04-01", SSN: ssn, Language: "en",
	}
}

// incomeRequest is an income order for one applicant.
func incomeRequest(ref, ssn string) providers.OrderRequest {
	return providers.OrderRequest{
		Reference: ref, CaseNumber: "CASE-1", Products: []providers.Product{providers.ProductIncome},
		Applicants: []providers.Applicant{applicant(ssn)}, Employers: []string{"Northwind Software Inc."},
	}
}

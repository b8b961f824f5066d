package truv

import (
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

// testClock is an injected clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 3, 15, 4, 5, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is a webhook receiver that keeps every delivery it accepts. It
// answers 500 to the first failFirst requests.
type recorder struct {
	srv       *httptest.Server
	mu        sync.Mutex
	got       []providers.Delivery
	attempts  int
	failFirst int
	// onDelivery, when set before the first webhook, sees each accepted
	// delivery before the emulator is answered, so the emulator's next step
	// waits for it (a portal fetching a report from the webhook).
	onDelivery func(providers.Delivery)
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts++
		if r.attempts <= r.failFirst {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		d := providers.Delivery{Header: req.Header.Clone(), Body: body, RemoteAddr: req.RemoteAddr}
		r.got = append(r.got, d)
		if r.onDelivery != nil {
			r.mu.Unlock()
			r.onDelivery(d)
			r.mu.Lock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) deliveries() []providers.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]providers.Delivery(nil), r.got...)
}

// events decodes the recorded deliveries (event_type, status, order_id).
func (r *recorder) events(t *testing.T) []wireEvent {
	t.Helper()
	var out []wireEvent
	for _, d := range r.deliveries() {
		var ev wireEvent
		if err := json.Unmarshal(d.Body, &ev); err != nil {
			t.Fatalf("recorded webhook is not JSON: %v", err)
		}
		out = append(out, ev)
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
		time.Sleep(2 * time.Millisecond)
	}
}

// stack is an emulator served over real HTTP under /sandbox/truv, a webhook
// recorder, and an adapter pointed at the emulator.
type stack struct {
	em     *Emulator
	srv    *httptest.Server
	rec    *recorder
	client *Client
	clock  *testClock
	base   string // emulator public URL
}

// newStack starts a stack; tweak adjusts the emulator config before start.
func newStack(t *testing.T, tweak func(*EmulatorConfig)) *stack {
	t.Helper()
	s := &stack{rec: newRecorder(t), clock: newTestClock()}
	s.srv = httptest.NewUnstartedServer(nil)
	s.base = "http://" + s.srv.Listener.Addr().String() + "/sandbox/truv"
	cfg := EmulatorConfig{
		PublicURL:  s.base,
		WebhookURL: s.rec.srv.URL + "/webhooks/truv",
		Now:        s.clock.Now,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s.em = NewEmulator(cfg)
	s.srv.Config.Handler = http.StripPrefix("/sandbox/truv", s.em)
	s.srv.Start()
	t.Cleanup(func() {
		s.em.Close()
		s.srv.Close()
	})
	c, err := New(Config{
		BaseURL:           s.base,
		ClientID:          SandboxClientID,
		AccessSecret:      SandboxAccessSecret,
		ReportRetryDelays: []time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.client = c
	return s
}

// orderRequest is a typical one-member request.
func orderRequest(ref string, products ...providers.Product) providers.OrderRequest {
	if len(products) == 0 {
		products = []providers.Product{providers.ProductIncome}
	}
	return providers.OrderRequest{
		Reference:  ref,
		CaseNumber: "CASE-1001",
		Products:   products,
		Applicants: []providers.Applicant{{
			Ref: "m1", FirstName: "Zqxwv", LastName: "Canarytest",
			Email: "canary+pii@example.test", Phone: "+15555550123", Language: "en",
		}},
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

package accountchek

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/providers"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 12, 15, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestClient builds a Client with test credentials.
func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.Username == "" {
		cfg.Username, cfg.Password = SandboxUsername, SandboxPassword
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://127.0.0.1:1"
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// receiver is the portal's webhook endpoint stand-in: it authenticates each
// postback with the adapter's Authenticate and records the accepted ones.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	auth     *Client
	got      []providers.Delivery
	rejected int
	failNext int // answer this many requests with 500 first
	attempts int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	d := providers.Delivery{
		Header:     r.Header.Clone(),
		Body:       body,
		Path:       strings.TrimPrefix(r.URL.RequestURI(), "/webhooks/accountchek"),
		RemoteAddr: r.RemoteAddr,
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if rc.failNext > 0 {
		rc.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if rc.auth != nil {
		if err := rc.auth.Authenticate(d); err != nil {
			rc.rejected++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	rc.got = append(rc.got, d)
	w.WriteHeader(http.StatusOK)
}

// wait polls until at least n deliveries arrived or the deadline passes.
func (rc *receiver) wait(t *testing.T, n int) []providers.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rc.mu.Lock()
		got := append([]providers.Delivery(nil), rc.got...)
		rc.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d postbacks, want %d: %v", len(got), n, statusesOf(t, got))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// deliveries returns what arrived so far.
func (rc *receiver) deliveries() []providers.Delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]providers.Delivery(nil), rc.got...)
}

// statusesOf parses postbacks into their status codes.
func statusesOf(t *testing.T, ds []providers.Delivery) []string {
	t.Helper()
	var out []string
	for _, d := range ds {
		p, err := ParsePostback(d.Body)
		if err != nil {
			t.Fatalf("postback does not parse: %v", err)
		}
		out = append(out, p.OrderStatus)
	}
	return out
}

// recorder records every request path the emulator serves and every host
// the adapter calls.
type recorder struct {
	mu    sync.Mutex
	paths []string
	hosts []string
}

func (r *recorder) add(list *[]string, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*list = append(*list, s)
}

func (r *recorder) snapshot() (paths, hosts []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...), append([]string(nil), r.hosts...)
}

// recordingTransport records hosts before delegating.
type recordingTransport struct {
	rec  *recorder
	next http.RoundTripper
}

func (rt recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.rec.add(&rt.rec.hosts, r.URL.Host)
	return rt.next.RoundTrip(r)
}

// env is an emulator mounted like the portal mounts it, a webhook
// receiver, and an adapter pointed at the emulator.
type env struct {
	clock     *fakeClock
	em        *Emulator
	publicURL string
	rcv       *receiver
	client    *Client
	rec       *recorder
	ctx       context.Context
}

// newEnv starts everything. emu and cli may adjust the configs; wrap may
// wrap the emulator handler (to inject faults).
func newEnv(t *testing.T, emu func(*EmulatorConfig), cli func(*Config), wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	e := &env{clock: newFakeClock(), rcv: newReceiver(t), rec: &recorder{}, ctx: context.Background()}
	srv := httptest.NewUnstartedServer(nil)
	e.publicURL = "http://" + srv.Listener.Addr().String() + "/sandbox/accountchek"
	ecfg := EmulatorConfig{
		PublicURL:    e.publicURL,
		WebhookURL:   e.rcv.srv.URL + "/webhooks/accountchek",
		Now:          e.clock.Now,
		RetryBackoff: time.Millisecond,
	}
	if emu != nil {
		emu(&ecfg)
	}
	e.em = NewEmulator(ecfg)
	var h http.Handler = e.em
	if wrap != nil {
		h = wrap(h)
	}
	mux := http.NewServeMux()
	mux.Handle("/sandbox/accountchek/", http.StripPrefix("/sandbox/accountchek", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.rec.add(&e.rec.paths, r.URL.Path)
		h.ServeHTTP(w, r)
	})))
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(func() {
		e.em.Close()
		srv.Close()
	})
	ccfg := Config{
		BaseURL:    e.publicURL,
		Username:   SandboxUsername,
		Password:   SandboxPassword,
		HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: recordingTransport{e.rec, http.DefaultTransport}},
		Now:        e.clock.Now,
	}
	if cli != nil {
		cli(&ccfg)
	}
	c, err := New(ccfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.client = c
	e.rcv.mu.Lock()
	e.rcv.auth = c
	e.rcv.mu.Unlock()
	return e
}

// orderReq is a typical request for one member.
func (e *env) orderReq(ref string, products ...providers.Product) providers.OrderRequest {
	return providers.OrderRequest{
		Reference:  ref,
		CaseNumber: "C-100",
		Products:   products,
		WebhookURL: e.rcv.srv.URL + "/webhooks/accountchek/tok-" + url.PathEscape(ref),
		Applicants: []providers.Applicant{{
			Ref: "m1", FirstName: "Ana", LastName: "Lopez", Email: "ana@example.org",
			Phone: "+15555550123", DateOfBirth: "1990-02-03", SSNLast4: "6789",
		}},
	}
}

// create creates an order and fails the test on error.
func (e *env) create(t *testing.T, req providers.OrderRequest) *providers.Order {
	t.Helper()
	o, err := e.client.CreateOrder(e.ctx, req)
	if err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	return o
}

// status fetches the status and indexes it by SubID ("" = order).
func (e *env) status(t *testing.T, orderID string) map[string]providers.Update {
	t.Helper()
	ups, err := e.client.FetchStatus(e.ctx, providers.OrderRef{OrderID: orderID})
	if err != nil {
		t.Fatalf("FetchStatus: %v", err)
	}
	out := map[string]providers.Update{}
	for _, u := range ups {
		if _, dup := out[u.SubID]; dup {
			t.Fatalf("two updates for sub-item %q", u.SubID)
		}
		if u.OrderID != orderID {
			t.Fatalf("update for order %q, want %q", u.OrderID, orderID)
		}
		out[u.SubID] = u
	}
	return out
}

// get fetches a page without following redirects.
func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

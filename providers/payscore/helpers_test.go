package payscore

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"caseverify/providers"
)

// testClock is an injected clock shared by the client and the emulator.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
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

// received is one webhook delivery as the test receiver saw it.
type received struct {
	header  http.Header
	body    []byte
	authErr error
	code    string
}

// receiver is a webhook endpoint that authenticates every delivery with the
// adapter's own Authenticate and records it. It can fail the first
// deliveries on purpose.
type receiver struct {
	t      *testing.T
	client *Client
	srv    *httptest.Server

	mu       sync.Mutex
	got      []received
	failNext int
	attempts int
}

func newReceiver(t *testing.T, c *Client) *receiver {
	r := &receiver{t: t, client: c}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		r.mu.Lock()
		defer r.mu.Unlock()
		r.attempts++
		if r.failNext > 0 {
			r.failNext--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		d := providers.Delivery{Header: req.Header.Clone(), Body: body}
		var peek struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(body, &peek)
		r.got = append(r.got, received{header: d.Header, body: body, authErr: r.client.Authenticate(d), code: peek.Code})
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/webhooks/payscore" }

// wait polls until at least n deliveries arrived, or fails after a deadline.
func (r *receiver) wait(n int) []received {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]received(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waited for %d webhooks, got %d: %v", n, len(got), codes(got))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitCode polls until a delivery with code has arrived count times.
func (r *receiver) waitCode(code string, count int) []received {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]received(nil), r.got...)
		r.mu.Unlock()
		n := 0
		for _, g := range got {
			if g.code == code {
				n++
			}
		}
		if n >= count {
			return got
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waited for %d× %s, got %v", count, code, codes(got))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func codes(rs []received) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.code
	}
	return out
}

// sandbox is an emulator mounted as the portal mounts it, plus a client
// wired to it and a webhook receiver.
type sandbox struct {
	clock  *testClock
	emu    *Emulator
	srv    *httptest.Server
	base   string
	client *Client
	hooks  *receiver
}

func newSandbox(t *testing.T, ecfg EmulatorConfig) *sandbox {
	t.Helper()
	sb := &sandbox{clock: newClock()}
	mux := http.NewServeMux()
	sb.srv = httptest.NewServer(mux)
	t.Cleanup(sb.srv.Close)
	sb.base = sb.srv.URL + "/sandbox/payscore"
	ecfg.PublicURL = sb.base
	ecfg.Now = sb.clock.Now
	if ecfg.RetryBackoff == 0 {
		ecfg.RetryBackoff = time.Millisecond
	}
	// As the portal's sandbox does: the emulator's screenings carry their
	// hosted link, so tests can open the applicant pages. A test of the
	// documented shape sets ecfg.Contract itself.
	if ecfg.Contract == (Contract{}) {
		ecfg.Contract = SandboxContract()
	}
	sb.emu = NewEmulator(ecfg)
	t.Cleanup(sb.emu.Close)
	mux.Handle("/sandbox/payscore/", http.StripPrefix("/sandbox/payscore", sb.emu))
	c, err := New(Config{
		BaseURL: sb.base, ClientID: SandboxClientID, SecretKey: SandboxSecretKey,
		Now: sb.clock.Now, WebhookSecret: ecfg.WebhookSecret, Contract: ecfg.Contract,
	})
	if err != nil {
		t.Fatal(err)
	}
	sb.client = c
	sb.hooks = newReceiver(t, c)
	return sb
}

func household(n int) []providers.Applicant {
	all := []providers.Applicant{
		{Ref: "m1", FirstName: "Jane", LastName: "Doe", Email: "jane@example.com", Phone: "+15555550100"},
		{Ref: "m2", FirstName: "Sam", LastName: "Doe", Email: "sam@example.com"},
		{Ref: "m3", FirstName: "Kim", LastName: "Doe", Phone: "+15555550102"},
	}
	return all[:n]
}

// create makes a group of n applicants whose webhooks go to the receiver.
func (sb *sandbox) create(t *testing.T, n int) *providers.Order {
	t.Helper()
	o, err := sb.client.CreateOrder(context.Background(), providers.OrderRequest{
		Reference: "ref-1", AgencyName: "County Human Services", Program: "SNAP",
		Products: []providers.Product{providers.ProductIncome}, Applicants: household(n),
		WebhookURL: sb.hooks.URL(),
	})
	if err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	return o
}

// act runs applicant actions in order, failing the test on the first error.
func (sb *sandbox) act(t *testing.T, screeningID string, steps ...[]string) {
	t.Helper()
	for _, s := range steps {
		if err := sb.emu.Act(screeningID, s[0], s[1:]...); err != nil {
			t.Fatalf("Act %v: %v", s, err)
		}
	}
}

// connectAndFinish is the happy path through the given demo banks.
func connectAndFinish(banks ...string) [][]string {
	steps := [][]string{{ActionConsent}}
	for i, b := range banks {
		if i > 0 {
			steps = append(steps, []string{ActionAddBank})
		}
		steps = append(steps, []string{ActionSelectBank, b}, []string{ActionLogin, DemoUsernameGood, DemoPasswordGood}, []string{ActionConfirmConnection})
	}
	steps = append(steps, []string{ActionContinue})
	if len(banks) > 1 {
		steps = append(steps, []string{ActionConfirmCombined})
	}
	return append(steps, []string{ActionFinalConsent})
}

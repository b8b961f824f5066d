package truuth

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/providers"
)

// testClock is an injectable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
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

// hookSink is the portal's webhook endpoint in tests: it records every
// delivery and answers with respond (200 by default).
type hookSink struct {
	mu      sync.Mutex
	got     []providers.Delivery
	ctypes  []string
	respond func(n int) int // n is the 1-based request number
}

func (s *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	n := len(s.got) + 1
	// As the portal's handler: the part of the path after /webhooks/truuth.
	path := strings.TrimPrefix(r.URL.Path, "/webhooks/truuth")
	s.got = append(s.got, providers.Delivery{Header: r.Header.Clone(), Body: body, RemoteAddr: r.RemoteAddr, Path: path})
	s.ctypes = append(s.ctypes, r.Header.Get("Content-Type"))
	respond := s.respond
	s.mu.Unlock()
	status := http.StatusOK
	if respond != nil {
		status = respond(n)
	}
	w.WriteHeader(status)
}

func (s *hookSink) deliveries() []providers.Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]providers.Delivery(nil), s.got...)
}

// waitFor polls until at least n deliveries arrived, with a deadline.
func (s *hookSink) waitFor(t *testing.T, n int) []providers.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if d := s.deliveries(); len(d) >= n {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %d webhooks, got %d", n, len(s.deliveries()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// harness is the emulator mounted like the portal mounts it, a webhook
// sink, and an adapter pointed at the emulator.
type harness struct {
	em     *Emulator
	base   string // the emulator's PublicURL
	sink   *hookSink
	client *Client
	clock  *testClock
	logs   *bytes.Buffer
	logMu  *sync.Mutex
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newHarness(t *testing.T, opts ...func(*EmulatorConfig, *Config)) *harness {
	t.Helper()
	h := &harness{sink: &hookSink{}, clock: &testClock{t: time.Date(2025, 11, 20, 9, 0, 0, 0, time.UTC)},
		logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	hooks := httptest.NewServer(h.sink)
	t.Cleanup(hooks.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.base = "http://" + ln.Addr().String() + "/sandbox/truuth"
	ecfg := EmulatorConfig{
		PublicURL:    h.base,
		WebhookURL:   hooks.URL + "/webhooks/truuth",
		WebhookAuth:  SandboxWebhookAuth,
		Now:          h.clock.Now,
		Logger:       slog.New(slog.NewJSONHandler(lockedWriter{h.logMu, h.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryBackoff: time.Millisecond,
	}
	ccfg := Config{
		BaseURL: h.base, Tenant: SandboxTenant, APIKey: SandboxAPIKey, APISecret: SandboxAPISecret,
		WebhookAuth: SandboxWebhookAuth,
	}
	for _, o := range opts {
		o(&ecfg, &ccfg)
	}
	h.em = NewEmulator(ecfg)
	srv := httptest.NewUnstartedServer(http.StripPrefix("/sandbox/truuth", h.em))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		h.em.Close()
		srv.Close()
	})
	h.client, err = New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) logText() string {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return h.logs.String()
}

// canaryRequest is an order whose applicant carries the L1 canaries.
func canaryRequest(ref string) providers.OrderRequest {
	return providers.OrderRequest{
		Reference: ref, Products: []providers.Product{providers.ProductIdentity},
		Applicants: []providers.Applicant{{Ref: "member-1", FirstName: "Zqxwv", LastName: "Canarytest",
			Email: "canary+pii@example.test", Phone: "+15555550123", DateOfBirth: "1911-11-11"}},
	}
}

// authParse authenticates and parses each delivery like the portal does.
func (h *harness) authParse(t *testing.T, ds []providers.Delivery) []providers.Update {
	t.Helper()
	var all []providers.Update
	for i, d := range ds {
		if err := h.client.Authenticate(d); err != nil {
			t.Fatalf("delivery %d not authenticated: %v", i, err)
		}
		us, err := h.client.Parse(d)
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		all = append(all, us...)
	}
	return all
}

func (h *harness) verificationCount() int {
	h.em.mu.Lock()
	defer h.em.mu.Unlock()
	return len(h.em.byID)
}

// TestEndToEndPass: invite → Complete(pass) → authenticated callbacks in
// order → status, report and PDF through the adapter.
func TestEndToEndPass(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	order, err := h.client.CreateOrder(ctx, canaryRequest("ord-pass"))
	if err != nil {
		t.Fatal(err)
	}
	if order.Status != providers.StatusCreated || len(order.Links) != 1 || order.Links[0].ApplicantRef != "member-1" ||
		!strings.HasPrefix(order.Links[0].URL, h.base+"/verify/") || !order.ExpiresAt.Equal(h.clock.Now().Add(7*24*time.Hour)) {
		t.Fatalf("order = %+v", order)
	}
	again, err := h.client.CreateOrder(ctx, canaryRequest("ord-pass"))
	if err != nil || again.OrderID != order.OrderID || h.verificationCount() != 1 {
		t.Fatalf("second create: %+v, %v, %d verifications", again, err, h.verificationCount())
	}
	ref := providers.OrderRef{OrderID: order.OrderID}
	if err := h.client.SendInvite(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if err := h.client.ResendInvite(ctx, ref); err != nil {
		t.Fatal(err)
	}

	us, err := h.client.FetchStatus(ctx, ref)
	if err != nil || len(us) != 1 || us[0].Status != "" || us[0].RawStatus != "PENDING" {
		t.Fatalf("status before start: %+v, %v", us, err)
	}
	if _, err := h.client.FetchReport(ctx, ref, ""); !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("report before done: %v", err)
	}

	if err := h.em.Complete(order.OrderID, ScenarioPass); err != nil {
		t.Fatal(err)
	}
	ds := h.sink.waitFor(t, 3)
	for i, ct := range h.sink.ctypes {
		if ct != "application/json" {
			t.Fatalf("delivery %d Content-Type %q", i, ct)
		}
	}
	got := h.authParse(t, ds)
	want := []providers.Update{
		{OrderID: order.OrderID, RawEvent: EventCallback, RawStatus: "IN_PROGRESS", Status: providers.StatusInProgress, Detail: "Applicant started identity verification"},
		{OrderID: order.OrderID, RawEvent: EventCallback, RawStatus: "DONE", Status: providers.StatusCompleted, Outcome: providers.OutcomePass, Detail: "Identity approved", ReportReady: true},
		{OrderID: order.OrderID, RawEvent: EventBiopass, Detail: "Biopass user provisioned"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("webhook updates\n got %+v\nwant %+v", got, want)
	}
	// The callback carries identityOwner like Truuth's (R03).
	if !bytes.Contains(ds[1].Body, []byte(`"identityOwner"`)) {
		t.Fatalf("callback body lacks identityOwner")
	}

	us, err = h.client.FetchStatus(ctx, ref)
	if err != nil || len(us) != 1 || us[0].Status != providers.StatusCompleted || us[0].Outcome != providers.OutcomePass {
		t.Fatalf("status: %+v, %v", us, err)
	}
	rep, err := h.client.FetchReport(ctx, ref, "")
	if err != nil {
		t.Fatal(err)
	}
	wantChecks := []providers.IdentityCheck{{Name: "Document", Result: "Pass"}, {Name: "Face match", Result: "Pass"}, {Name: "Liveness", Result: "Pass"}, {Name: "Address", Result: "Pass"}}
	if rep.Kind != providers.ReportIdentity || rep.ReportID != order.OrderID || rep.Identity == nil ||
		rep.Identity.Outcome != providers.OutcomePass || !reflect.DeepEqual(rep.Identity.Checks, wantChecks) || len(rep.Raw) == 0 {
		t.Fatalf("report = %+v %+v", rep, rep.Identity)
	}
	pdf, err := h.client.FetchReportPDF(ctx, ref, "")
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("PDF: %q..., %v", pdf[:min(len(pdf), 16)], err)
	}
	if err := h.em.Complete(order.OrderID, ScenarioFail); err == nil {
		t.Fatal("Complete on a finished verification: want an error")
	}
	if err := h.client.SendInvite(ctx, ref); err == nil {
		t.Fatal("SendInvite on a finished verification: want an error")
	}

	h.em.WaitIdle() // every log line written
	assertNoCanary(t, "emulator log", h.logText())
	if !strings.Contains(h.logText(), "webhook delivered") {
		t.Fatalf("log lacks deliveries: %s", h.logText())
	}
}

// TestEndToEndOutcomes: warning, fail and error through webhooks, status
// and report.
func TestEndToEndOutcomes(t *testing.T) {
	tests := []struct {
		scenario string
		final    providers.Update
		checks   []providers.IdentityCheck
	}{
		{ScenarioWarning,
			providers.Update{RawEvent: EventCallback, RawStatus: "DONE", Status: providers.StatusCompleted, Outcome: providers.OutcomeReview, Detail: "Needs review: address check warned", ReportReady: true},
			[]providers.IdentityCheck{{Name: "Document", Result: "Pass"}, {Name: "Face match", Result: "Pass"}, {Name: "Liveness", Result: "Pass"}, {Name: "Address", Result: "Warning"}}},
		{ScenarioFail,
			providers.Update{RawEvent: EventCallback, RawStatus: "DONE", Status: providers.StatusCompleted, Outcome: providers.OutcomeFail, Detail: "Rejected: document check failed", ReportReady: true},
			[]providers.IdentityCheck{{Name: "Document", Result: "Fail"}, {Name: "Face match", Result: "Pass"}, {Name: "Liveness", Result: "Pass"}, {Name: "Address", Result: "Pass"}}},
		{ScenarioError,
			providers.Update{RawEvent: EventCallback, RawStatus: "ERROR", Status: providers.StatusFailed, Detail: "Truuth could not complete the verification"},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			h := newHarness(t)
			ctx := context.Background()
			order, err := h.client.CreateOrder(ctx, canaryRequest("ord-"+tt.scenario))
			if err != nil {
				t.Fatal(err)
			}
			if err := h.em.Complete(order.OrderID, tt.scenario); err != nil {
				t.Fatal(err)
			}
			h.em.WaitIdle() // all webhooks sent: no Biopass may follow
			got := h.authParse(t, h.sink.deliveries())
			tt.final.OrderID = order.OrderID
			if len(got) != 2 || got[0].Status != providers.StatusInProgress || !reflect.DeepEqual(got[1], tt.final) {
				t.Fatalf("updates %+v", got)
			}
			us, err := h.client.FetchStatus(ctx, providers.OrderRef{OrderID: order.OrderID})
			if err != nil || us[0].Status != tt.final.Status || us[0].Outcome != tt.final.Outcome {
				t.Fatalf("status %+v, %v", us, err)
			}
			rep, err := h.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
			if tt.checks == nil {
				if !errors.Is(err, providers.ErrNotFound) {
					t.Fatalf("report of an errored verification: %v", err)
				}
				_, err = h.client.FetchReportPDF(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
				if pe := asProviderError(t, err); pe.HTTPStatus != http.StatusConflict {
					t.Fatalf("PDF of an errored verification: %+v", pe)
				}
				return
			}
			if err != nil || rep.Identity.Outcome != tt.final.Outcome || !reflect.DeepEqual(rep.Identity.Checks, tt.checks) {
				t.Fatalf("report %+v, %v", rep, err)
			}
		})
	}
}

func TestEmulatorAPIErrors(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	t.Run("wrong API secret", func(t *testing.T) {
		bad, err := New(Config{BaseURL: h.base, Tenant: SandboxTenant, APIKey: SandboxAPIKey, APISecret: "wrong"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.CreateOrder(ctx, canaryRequest("ord-x"))
		if pe := asProviderError(t, err); pe.HTTPStatus != http.StatusUnauthorized || pe.Retryable {
			t.Fatalf("got %+v", pe)
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		bad, err := New(Config{BaseURL: h.base, Tenant: "other", APIKey: SandboxAPIKey, APISecret: SandboxAPISecret})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.FetchStatus(ctx, providers.OrderRef{OrderID: "x"})
		if pe := asProviderError(t, err); pe.HTTPStatus != http.StatusNotFound || pe.Code != "TENANT_NOT_FOUND" {
			t.Fatalf("got %+v", pe)
		}
	})
	t.Run("validation", func(t *testing.T) {
		req := canaryRequest("ord-bad")
		req.Applicants[0].Email = "canary+pii@example"
		req.Applicants[0].Email = "not an email canary+pii@example.test"
		req.Applicants[0].Phone = "5555550123"
		req.Applicants[0].DateOfBirth = "11/11/1911"
		_, err := h.client.CreateOrder(ctx, req)
		pe := asProviderError(t, err)
		if pe.HTTPStatus != http.StatusBadRequest || pe.Code != "VALIDATION_ERROR" ||
			pe.Message != "Truuth rejected the request: validation failed (check dateOfBirth, email, mobileNumber)." {
			t.Fatalf("got %+v", pe)
		}
		if len(pe.Fields) != 3 || pe.Fields["email"] == "" || pe.Fields["mobileNumber"] == "" || pe.Fields["dateOfBirth"] == "" {
			t.Fatalf("Fields = %v", pe.Fields)
		}
		assertNoCanary(t, "error", err.Error()+fmtFields(pe.Fields))
		if h.verificationCount() != 0 {
			t.Fatal("an invalid invite was stored")
		}
	})
	t.Run("unknown verification", func(t *testing.T) {
		_, err := h.client.FetchStatus(ctx, providers.OrderRef{OrderID: "00000000-0000-4000-8000-000000000000"})
		if !errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("resend before send, send without email", func(t *testing.T) {
		req := canaryRequest("ord-noemail")
		req.Applicants[0].Email = ""
		order, err := h.client.CreateOrder(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		ref := providers.OrderRef{OrderID: order.OrderID}
		if pe := asProviderError(t, h.client.ResendInvite(ctx, ref)); pe.HTTPStatus != http.StatusBadRequest {
			t.Fatalf("resend without email: %+v", pe)
		}
		if pe := asProviderError(t, h.client.SendInvite(ctx, ref)); pe.HTTPStatus != http.StatusBadRequest || pe.Fields["email"] == "" {
			t.Fatalf("send without email: %+v", pe)
		}
		order2, err := h.client.CreateOrder(ctx, canaryRequest("ord-resend"))
		if err != nil {
			t.Fatal(err)
		}
		pe := asProviderError(t, h.client.ResendInvite(ctx, providers.OrderRef{OrderID: order2.OrderID}))
		if pe.HTTPStatus != http.StatusConflict || pe.Code != "INVITE_NOT_SENT" {
			t.Fatalf("resend before send: %+v", pe)
		}
	})
	t.Run("provider notifies", func(t *testing.T) {
		order, err := h.client.CreateOrder(ctx, withNotify(canaryRequest("ord-notify")))
		if err != nil || order.Status != providers.StatusSent {
			t.Fatalf("order %+v, %v", order, err)
		}
		req := withNotify(canaryRequest("ord-notify-noemail"))
		req.Applicants[0].Email = ""
		order, err = h.client.CreateOrder(ctx, req)
		if err == nil || order == nil || order.OrderID == "" || order.Status != providers.StatusCreated {
			t.Fatalf("send failure: order %+v, err %v", order, err)
		}
	})
}

func withNotify(r providers.OrderRequest) providers.OrderRequest {
	r.ProviderNotifies = true
	return r
}

// TestCreateIdempotentAfterTimeout is reliability.md P5: the provider commits
// the invite and never answers; the adapter finds it instead of creating a
// second one.
func TestCreateIdempotentAfterTimeout(t *testing.T) {
	h := newHarness(t, func(e *EmulatorConfig, c *Config) {
		e.StallCreates = 1
		c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
	})
	order, err := h.client.CreateOrder(context.Background(), canaryRequest("ord-stall"))
	if err != nil {
		t.Fatal(err)
	}
	if h.verificationCount() != 1 || order.OrderID == "" || order.Links[0].URL == "" {
		t.Fatalf("order %+v with %d verifications", order, h.verificationCount())
	}

	// Without the look-up, the timeout surfaces as a retryable error.
	h2 := newHarness(t, func(e *EmulatorConfig, c *Config) {
		e.StallCreates = 1
		c.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
		c.DisableLookup = true
	})
	_, err = h2.client.CreateOrder(context.Background(), canaryRequest("ord-stall"))
	if pe := asProviderError(t, err); !pe.Retryable || pe.HTTPStatus != 0 {
		t.Fatalf("got %+v", pe)
	}
}

// page is a fetched applicant page.
type page struct {
	status int
	body   string
}

func getPage(t *testing.T, u string) page {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b)}
}

func postForm(t *testing.T, u string, v url.Values) page {
	t.Helper()
	resp, err := http.PostForm(u, v) // follows the 303 with a GET
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b)}
}

func postMultipart(t *testing.T, u string, fields map[string]string, file []byte) page {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("image", "photo.png")
	_, _ = fw.Write(file)
	_ = mw.Close()
	resp, err := http.Post(u, mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b)}
}

var (
	reInput   = regexp.MustCompile(`<input[^>]*>`)
	reID      = regexp.MustCompile(`\bid="([^"]+)"`)
	reTestID  = regexp.MustCompile(`data-testid="([^"]+)"`)
	reH1      = regexp.MustCompile(`<h1[\s>]`)
	reTitle   = regexp.MustCompile(`<title>[^<]+</title>`)
	reButtons = regexp.MustCompile(`<input[^>]*type="(submit|button)"`)
)

// assertPage checks the page rules: language, title, one h1, viewport, no
// script or inline style, labelled inputs, the sandbox banner and hint.
func assertPage(t *testing.T, p page, wantTestIDs ...string) {
	t.Helper()
	b := p.body
	for _, must := range []string{`<html lang="en">`, `<meta name="viewport"`, `href="../assets/emulator.css"`} {
		if !strings.Contains(b, must) {
			t.Fatalf("page lacks %s:\n%s", must, b)
		}
	}
	if !reTitle.MatchString(b) || len(reH1.FindAllString(b, -1)) != 1 {
		t.Fatalf("page needs a title and exactly one h1:\n%s", b)
	}
	for _, banned := range []string{"<script", "style=", "<style"} {
		if strings.Contains(b, banned) {
			t.Fatalf("page contains %s", banned)
		}
	}
	if reButtons.MatchString(b) {
		t.Fatal("buttons must be <button>")
	}
	for _, in := range reInput.FindAllString(b, -1) {
		if strings.Contains(in, `type="hidden"`) {
			continue
		}
		m := reID.FindStringSubmatch(in)
		if m == nil || !strings.Contains(b, `<label for="`+m[1]+`"`) {
			t.Fatalf("input without a label: %s", in)
		}
	}
	ids := map[string]bool{}
	for _, m := range reTestID.FindAllStringSubmatch(b, -1) {
		ids[m[1]] = true
	}
	for _, id := range append([]string{"sandbox-banner", "scenario-hint", "page-heading"}, wantTestIDs...) {
		if !ids[id] {
			t.Fatalf("page lacks data-testid=%q:\n%s", id, b)
		}
	}
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestApplicantPages walks the hosted flow with plain form posts (no
// cookies, no JavaScript) and checks the webhooks it fires.
func TestApplicantPages(t *testing.T) {
	h := newHarness(t)
	order, err := h.client.CreateOrder(context.Background(), canaryRequest("ord-pages"))
	if err != nil {
		t.Fatal(err)
	}
	link := order.Links[0].URL

	p := getPage(t, link)
	if p.status != 200 {
		t.Fatalf("GET link: %d", p.status)
	}
	assertPage(t, p, "consent-form", "consent-checkbox", "start-button", "tenant")
	if !strings.Contains(p.body, "Sandbox: Truuth emulator") || !strings.Contains(p.body, SandboxTenant) {
		t.Fatal("banner or tenant missing")
	}
	assertNoCanary(t, "applicant page", p.body)

	p = postForm(t, link, url.Values{"step": {"consent"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, `data-testid="form-error"`) {
		t.Fatalf("consent without the box: %d", p.status)
	}
	assertPage(t, p, "consent-form", "form-error")
	if len(h.sink.deliveries()) != 0 {
		t.Fatal("a webhook fired before consent")
	}

	p = postForm(t, link, url.Values{"step": {"consent"}, "consent": {"yes"}})
	if p.status != 200 || !strings.Contains(p.body, "Step 2 of 4") {
		t.Fatalf("after consent: %d\n%s", p.status, p.body)
	}
	assertPage(t, p, "document-form", "document-file", "document-upload", "document-sample", "progress")
	if !strings.Contains(p.body, `accept="image/*"`) || !strings.Contains(p.body, `enctype="multipart/form-data"`) {
		t.Fatal("document step needs an image file input in a multipart form")
	}
	got := h.authParse(t, h.sink.waitFor(t, 1))
	if got[0].Status != providers.StatusInProgress || got[0].OrderID != order.OrderID {
		t.Fatalf("first webhook: %+v", got)
	}

	p = postMultipart(t, link, map[string]string{"step": "document", "action": "upload"}, pngBytes(t))
	if p.status != 200 || !strings.Contains(p.body, "Step 3 of 4") {
		t.Fatalf("after document upload: %d", p.status)
	}
	assertPage(t, p, "selfie-form", "selfie-file", "selfie-sample")

	p = postMultipart(t, link, map[string]string{"step": "selfie", "action": "upload"}, []byte("plain text, not an image"))
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.body, "not a photo") {
		t.Fatalf("non-image upload: %d", p.status)
	}
	p = postForm(t, link, url.Values{"step": {"selfie"}, "action": {"upload"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("upload without a file: %d", p.status)
	}
	p = postMultipart(t, link, map[string]string{"step": "selfie", "action": "sample"}, nil)
	if p.status != 200 || !strings.Contains(p.body, "Step 4 of 4") {
		t.Fatalf("after sample selfie: %d", p.status)
	}
	assertPage(t, p, "outcome-form", "scenario-pass", "scenario-warning", "scenario-fail", "scenario-error", "finish-button")

	// A stale form (back button) changes nothing and shows the current step.
	p = postForm(t, link, url.Values{"step": {"consent"}, "consent": {"yes"}})
	if p.status != 200 || !strings.Contains(p.body, "Step 4 of 4") {
		t.Fatalf("stale post: %d", p.status)
	}
	p = postForm(t, link, url.Values{"step": {"outcome"}, "scenario": {"bogus"}})
	if p.status != http.StatusUnprocessableEntity {
		t.Fatalf("bad scenario: %d", p.status)
	}

	p = postForm(t, link, url.Values{"step": {"outcome"}, "scenario": {ScenarioWarning}})
	if p.status != 200 || !strings.Contains(p.body, "Done, you can close this page") {
		t.Fatalf("after finish: %d\n%s", p.status, p.body)
	}
	assertPage(t, p, "done-message", "sandbox-result")
	got = h.authParse(t, h.sink.waitFor(t, 2))
	if len(got) != 2 || got[1].Outcome != providers.OutcomeReview || got[1].Detail != "Needs review: address check warned" {
		t.Fatalf("webhooks: %+v", got)
	}
	if p := getPage(t, link); !strings.Contains(p.body, "Done, you can close this page") {
		t.Fatal("reopening a finished link should show the done page")
	}

	resp, err := http.Get(h.base + "/assets/emulator.css")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	p = getPage(t, h.base+"/verify/0123456789abcdef")
	if p.status != http.StatusNotFound {
		t.Fatalf("unknown token: %d", p.status)
	}
	assertPage(t, p, "gone-message")
}

// TestInviteExpiry uses the injected clock: an unused invite expires.
func TestInviteExpiry(t *testing.T) {
	h := newHarness(t, func(e *EmulatorConfig, _ *Config) { e.InviteTTL = time.Hour })
	order, err := h.client.CreateOrder(context.Background(), canaryRequest("ord-exp"))
	if err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(59 * time.Minute)
	if p := getPage(t, order.Links[0].URL); p.status != 200 {
		t.Fatalf("before expiry: %d", p.status)
	}
	h.clock.Advance(2 * time.Minute)
	p := getPage(t, order.Links[0].URL)
	if p.status != http.StatusGone || !strings.Contains(p.body, "expired") {
		t.Fatalf("after expiry: %d", p.status)
	}
	us, err := h.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: order.OrderID})
	if err != nil || us[0].Status != providers.StatusExpired {
		t.Fatalf("status %+v, %v", us, err)
	}
}

// TestReportLink: the pre-signed link expires and cannot be forged; RawPDF
// mode serves a PDF the adapter also accepts.
func TestReportLink(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	order, err := h.client.CreateOrder(ctx, canaryRequest("ord-link"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.em.Complete(order.OrderID, ScenarioPass); err != nil {
		t.Fatal(err)
	}
	m, _, err := h.client.call(ctx, http.MethodGet, h.client.contract.path(h.client.contract.ReportPath, SandboxTenant, order.OrderID), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	link := getString(m, "url")
	if !strings.HasPrefix(link, h.base+"/files/") || !strings.Contains(link, "X-Amz-Signature=") {
		t.Fatalf("link %q", link)
	}
	if p := getPage(t, link); p.status != 200 || strings.HasPrefix(p.body, "%PDF") {
		t.Fatalf("fresh link: %d (want base64, not raw PDF)", p.status)
	}
	forged := regexp.MustCompile(`X-Amz-Signature=[0-9a-f]+`).ReplaceAllString(link, "X-Amz-Signature=00")
	if p := getPage(t, forged); p.status != http.StatusForbidden {
		t.Fatalf("forged link: %d", p.status)
	}
	h.clock.Advance(16 * time.Minute)
	if p := getPage(t, link); p.status != http.StatusForbidden || !strings.Contains(p.body, "expired") {
		t.Fatalf("expired link: %d %s", p.status, p.body)
	}

	raw := newHarness(t, func(e *EmulatorConfig, _ *Config) { e.RawPDF = true })
	order, err = raw.client.CreateOrder(ctx, canaryRequest("ord-raw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.em.Complete(order.OrderID, ScenarioFail); err != nil {
		t.Fatal(err)
	}
	pdf, err := raw.client.FetchReportPDF(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("raw PDF: %v", err)
	}
}

// TestWebhookRetryAndDuplicate: non-2xx answers are retried; duplicates
// are byte-identical and share a dedupe key.
func TestWebhookRetryAndDuplicate(t *testing.T) {
	h := newHarness(t)
	h.sink.respond = func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	order, err := h.client.CreateOrder(context.Background(), canaryRequest("ord-retry"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.em.Complete(order.OrderID, ScenarioFail); err != nil {
		t.Fatal(err)
	}
	h.em.WaitIdle()
	ds := h.sink.deliveries()
	// IN_PROGRESS fails twice then lands, DONE lands first time: 4 requests.
	if len(ds) != 4 || !bytes.Equal(ds[0].Body, ds[2].Body) || bytes.Equal(ds[2].Body, ds[3].Body) {
		t.Fatalf("%d deliveries", len(ds))
	}

	d := newHarness(t, func(e *EmulatorConfig, _ *Config) { e.DuplicateWebhooks = true })
	order, err = d.client.CreateOrder(context.Background(), canaryRequest("ord-dup"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.em.Complete(order.OrderID, ScenarioWarning); err != nil {
		t.Fatal(err)
	}
	d.em.WaitIdle()
	ds = d.sink.deliveries()
	if len(ds) != 4 {
		t.Fatalf("%d deliveries, want 4", len(ds))
	}
	for i := 0; i < 4; i += 2 {
		if !bytes.Equal(ds[i].Body, ds[i+1].Body) || d.client.DedupeKey(ds[i]) != d.client.DedupeKey(ds[i+1]) {
			t.Fatalf("duplicate %d differs", i)
		}
	}
	if d.client.DedupeKey(ds[0]) == d.client.DedupeKey(ds[2]) {
		t.Fatal("IN_PROGRESS and DONE share a dedupe key")
	}
}

func TestDropWebhooks(t *testing.T) {
	h := newHarness(t, func(e *EmulatorConfig, _ *Config) { e.DropWebhooks = true })
	order, err := h.client.CreateOrder(context.Background(), canaryRequest("ord-drop"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.em.Complete(order.OrderID, ScenarioPass); err != nil {
		t.Fatal(err)
	}
	h.em.WaitIdle()
	if n := len(h.sink.deliveries()); n != 0 {
		t.Fatalf("%d webhooks sent, want none", n)
	}
	// Polling still finds the result.
	us, err := h.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: order.OrderID})
	if err != nil || us[0].Outcome != providers.OutcomePass {
		t.Fatalf("status %+v, %v", us, err)
	}
}

// TestCloseStopsRetries: Close does not wait out a long retry backoff.
func TestCloseStopsRetries(t *testing.T) {
	h := newHarness(t, func(e *EmulatorConfig, _ *Config) { e.RetryBackoff = time.Hour })
	h.sink.respond = func(int) int { return http.StatusInternalServerError }
	order, err := h.client.CreateOrder(context.Background(), canaryRequest("ord-close"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.em.Complete(order.OrderID, ScenarioPass); err != nil {
		t.Fatal(err)
	}
	h.sink.waitFor(t, 1)
	done := make(chan struct{})
	go func() { h.em.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := h.em.Complete(order.OrderID, ScenarioPass); err == nil {
		t.Fatal("Complete twice: want an error")
	}
}

func TestCompleteErrors(t *testing.T) {
	h := newHarness(t)
	if err := h.em.Complete("nope", ScenarioPass); err == nil {
		t.Fatal("unknown verification: want an error")
	}
	order, err := h.client.CreateOrder(context.Background(), canaryRequest("ord-c"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.em.Complete(order.OrderID, "maybe"); err == nil {
		t.Fatal("unknown outcome: want an error")
	}
}

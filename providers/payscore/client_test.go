package payscore

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"caseverify/providers"
)

func TestNew_Validation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no client id", Config{SecretKey: "s"}, "Config.ClientID"},
		{"no secret", Config{ClientID: "c"}, "Config.SecretKey"},
		{"relative base", Config{ClientID: "c", SecretKey: "s", BaseURL: "api.payscore.com"}, "Config.BaseURL"},
		{"ftp base", Config{ClientID: "c", SecretKey: "s", BaseURL: "ftp://x"}, "Config.BaseURL"},
		{"cancel path without id", Config{ClientID: "c", SecretKey: "s", Contract: Contract{CancelPath: "/api/v1/delete"}}, "CancelPath"},
		{"report amounts", Config{ClientID: "c", SecretKey: "s", Contract: Contract{ReportAmounts: "euros"}}, "ReportAmounts"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want it to name %s", tt.name, err, tt.want)
		}
	}
	c, err := New(Config{ClientID: "c", SecretKey: "s", BaseURL: "https://staging.api.payscore.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != "https://staging.api.payscore.com" || c.http.Timeout != 15*time.Second || c.GivesLinks() ||
		c.contract.CancelMethod != http.MethodDelete || c.contract.ReportAmounts != "cents" || c.contract.RentAmounts != "dollars" || string(c.webhookSecret) != "s" {
		t.Errorf("defaults: %+v", c)
	}
	if d, _ := New(Config{ClientID: "c", SecretKey: "s"}); d.baseURL != DefaultBaseURL {
		t.Errorf("default base %q", d.baseURL)
	}
	if c.Name() != "payscore" || len(c.Products()) != 2 {
		t.Errorf("Name %q Products %v", c.Name(), c.Products())
	}
}

func TestDollars(t *testing.T) {
	for cents, want := range map[int64]string{0: "0", -5: "0", 100: "1", 150000: "1500", 123456: "1234.56", 5: "0.05", 1010: "10.10"} {
		if got := dollars(cents); string(got) != want {
			t.Errorf("dollars(%d) = %s, want %s", cents, got, want)
		}
	}
}

// TestToken_CachedAndRenewed counts auth calls: one for many requests, a
// renewal once less than 2 minutes remain (after 29 minutes by the injected
// clock), and exactly one renewal and retry on a 401.
func TestToken_CachedAndRenewed(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	ctx := context.Background()
	order := sb.create(t, 1)
	ref := providers.OrderRef{OrderID: order.OrderID}
	for range 5 {
		if _, err := sb.client.FetchStatus(ctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	if n := sb.emu.AuthCalls(); n != 1 {
		t.Fatalf("auth calls after 6 requests: %d, want 1", n)
	}

	sb.clock.Advance(27*time.Minute + 59*time.Second) // 2 min 1 s left: keep
	if _, err := sb.client.FetchStatus(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if n := sb.emu.AuthCalls(); n != 1 {
		t.Fatalf("auth calls at 27m59s: %d, want 1", n)
	}
	sb.clock.Advance(61 * time.Second) // 29 minutes: renew
	if _, err := sb.client.FetchStatus(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if n := sb.emu.AuthCalls(); n != 2 {
		t.Fatalf("auth calls at 29m: %d, want 2", n)
	}

	sb.emu.RevokeTokens() // the cached token now gets 401
	if _, err := sb.client.FetchStatus(ctx, ref); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := sb.emu.AuthCalls(); n != 3 {
		t.Fatalf("auth calls after a 401: %d, want 3", n)
	}
}

// TestToken_ExpiredByEmulatorClock: a token the client still trusts but the
// emulator's clock says is expired gets a 401, then one renewal.
func TestToken_ExpiredByEmulatorClock(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{TokenLifetime: 5 * time.Minute})
	ctx := context.Background()
	order := sb.create(t, 1)
	sb.clock.Advance(6 * time.Minute)
	if _, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: order.OrderID}); err != nil {
		t.Fatal(err)
	}
	if n := sb.emu.AuthCalls(); n != 2 {
		t.Errorf("auth calls %d, want 2", n)
	}
}

func TestToken_ConcurrentCallersShareOneRenewal(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	order := sb.create(t, 1)
	sb.clock.Advance(29 * time.Minute) // every caller below needs a new token
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := sb.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: order.OrderID})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := sb.emu.AuthCalls(); n != 2 {
		t.Errorf("auth calls %d, want 2 (create + one shared renewal)", n)
	}
}

// TestToken_AuthAnswers: 200 and 204 are both success; bad credentials are a
// clear, non-retryable 401.
func TestToken_AuthAnswers(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusNoContent} {
		sb := newSandbox(t, EmulatorConfig{AuthStatus: status})
		sb.create(t, 1)
	}
	sb := newSandbox(t, EmulatorConfig{})
	bad, _ := New(Config{BaseURL: sb.base, ClientID: SandboxClientID, SecretKey: "wrong"})
	_, err := bad.FetchStatus(context.Background(), providers.OrderRef{OrderID: "x"})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != 401 || pe.Retryable || !strings.Contains(pe.Message, "credentials") {
		t.Fatalf("bad credentials: %#v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error shows the secret: %v", err)
	}
}

// stub is a fake Payscore whose auth always works and whose API answer is
// set per test.
type stub struct {
	srv       *httptest.Server
	authCalls atomic.Int32
	apiCalls  atomic.Int32

	mu      sync.Mutex
	handler http.HandlerFunc
	lastReq *http.Request
	lastBod []byte
}

func newStub(t *testing.T, h http.HandlerFunc) *stub {
	s := &stub{handler: h}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/tenants/auth" {
			s.authCalls.Add(1)
			w.Header().Set("Authorization", "Bearer stub.jwt.token")
			w.WriteHeader(http.StatusOK)
			return
		}
		s.apiCalls.Add(1)
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.lastReq, s.lastBod = r, body
		h := s.handler
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// req and body return the last API request the stub saw.
func (s *stub) req() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastReq
}

func (s *stub) body() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastBod
}

func (s *stub) setHandler(h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

func (s *stub) client(t *testing.T, cfg Config) *Client {
	cfg.BaseURL = s.srv.URL
	return mustClient(t, cfg)
}

func answer(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// TestErrors_Shapes maps each documented (and likely) error status to a
// ProviderError with a plain message, fields, code and retry advice.
func TestErrors_Shapes(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	type want struct {
		status    int
		code      string
		msg       string // substring
		fields    map[string]string
		retryable bool
		after     time.Duration
		is        error
	}
	tests := []struct {
		name string
		call string // status, report, create
		h    http.HandlerFunc
		want want
	}{
		{"400 with fields", "create", answer(400, `{"errors":[{"field":"applicants[0].email","message":"is not a valid email address"},{"field":"monthly_rent","message":"is required"}]}`),
			want{400, "validation_failed", "applicants[0].email, monthly_rent", map[string]string{"applicants[0].email": "is not a valid email address", "monthly_rent": "is required"}, false, 0, nil}},
		{"400 echoing PII", "create", answer(400, `{"errors":[{"field":"applicants[0].email","message":"jane.doe@mail.example does not exist"},{"field":"applicants[0].phone_number","message":"+1 5555550100 invalid, try 5555550100"}]}`),
			want{400, "validation_failed", "Check them", map[string]string{"applicants[0].email": "[redacted] does not exist", "applicants[0].phone_number": "[redacted] invalid, try [redacted]"}, false, 0, nil}},
		// Issue 16: the old rule (7+ digits) let an SSN's last 4 and a
		// short phone number through; the shared providers.Redact does not.
		{"400 echoing the SSN's last 4", "create", answer(400, `{"errors":[{"field":"applicants[0].ssn_last4","message":"6789 does not match"},{"field":"applicants[0].phone_number","message":"555-0100 is a test number"}]}`),
			want{400, "validation_failed", "Check them", map[string]string{"applicants[0].ssn_last4": "[redacted] does not match", "applicants[0].phone_number": "[redacted] is a test number"}, false, 0, nil}},
		{"400 without body", "create", answer(400, ``),
			want{400, "validation_failed", "Payscore rejected the request", nil, false, 0, nil}},
		{"400 message shape", "create", answer(400, `{"message":"bad","code":"E_BAD"}`),
			want{400, "E_BAD", "Payscore rejected the request", nil, false, 0, nil}},
		{"401 twice", "status", answer(401, `{"errors":[{"message":"Invalid token"}]}`),
			want{401, "unauthorized", "credentials", nil, false, 0, nil}},
		{"403", "status", answer(403, `{}`),
			want{403, "forbidden", "refused access", nil, false, 0, nil}},
		{"404 group", "status", answer(404, `{"errors":[{"message":"Screening group not found"}]}`),
			want{404, "not_found", "no screening group", nil, false, 0, providers.ErrNotFound}},
		{"404 create", "create", answer(404, `{}`),
			want{404, "endpoint_not_found", "base URL", nil, false, 0, nil}},
		{"404 report", "report", answer(404, `{"errors":[{"message":"Report not ready"}]}`),
			want{404, "report_not_ready", "not ready yet", nil, false, 0, providers.ErrNotFound}},
		{"410 report", "report", answer(410, `{"errors":[{"message":"Report expired"}]}`),
			want{410, "report_expired", "The Payscore report has expired (reports are kept 14 days).", nil, false, 0, ErrReportExpired}},
		{"429 seconds", "status", answer(429, ``, "Retry-After", "7"),
			want{429, "rate_limited", "too many requests", nil, true, 7 * time.Second, nil}},
		{"429 date", "status", answer(429, ``, "Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)),
			want{429, "rate_limited", "too many requests", nil, true, 90 * time.Second, nil}},
		{"500", "status", answer(500, `<html>oops</html>`),
			want{500, "provider_unavailable", "having trouble", nil, true, 0, nil}},
		{"503 retry-after", "status", answer(503, ``, "Retry-After", "30"),
			want{503, "provider_unavailable", "having trouble", nil, true, 30 * time.Second, nil}},
		{"200 unreadable", "status", answer(200, `{"id":`),
			want{200, "bad_response", "could not read", nil, true, 0, nil}},
		{"418 other", "status", answer(418, ``),
			want{418, "", "unexpected status (418)", nil, false, 0, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, tt.h)
			c := s.client(t, Config{Now: func() time.Time { return now }})
			ctx := context.Background()
			var err error
			switch tt.call {
			case "create":
				_, err = c.CreateOrder(ctx, providers.OrderRequest{AgencyName: "County", Applicants: household(1)})
			case "report":
				_, err = c.FetchReport(ctx, providers.OrderRef{OrderID: "g1"}, "")
			default:
				_, err = c.FetchStatus(ctx, providers.OrderRef{OrderID: "g1"})
			}
			var pe *providers.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err %v is not a ProviderError", err)
			}
			w := tt.want
			if pe.Provider != "payscore" || pe.HTTPStatus != w.status || pe.Code != w.code || pe.Retryable != w.retryable || pe.RetryAfter != w.after {
				t.Errorf("got %+v", pe)
			}
			if !strings.Contains(pe.Message, w.msg) {
				t.Errorf("message %q, want it to contain %q", pe.Message, w.msg)
			}
			if len(w.fields) > 0 || len(pe.Fields) > 0 {
				if len(pe.Fields) != len(w.fields) {
					t.Errorf("fields %v, want %v", pe.Fields, w.fields)
				}
				for k, v := range w.fields {
					if pe.Fields[k] != v {
						t.Errorf("field %s = %q, want %q", k, pe.Fields[k], v)
					}
				}
			}
			if w.is != nil && !errors.Is(err, w.is) {
				t.Errorf("errors.Is(%v) false", w.is)
			}
			for _, leak := range []string{"oops", "jane.doe", "5555550100", "Invalid token"} {
				if strings.Contains(err.Error(), leak) || strings.Contains(pe.Message, leak) {
					t.Errorf("error shows provider body text %q: %v", leak, err)
				}
			}
		})
	}
}

// TestErrors_RenewOnlyOnceOn401: a second 401 after renewal is returned, not
// retried forever.
func TestErrors_RenewOnlyOnceOn401(t *testing.T) {
	s := newStub(t, answer(401, ``))
	c := s.client(t, Config{})
	_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "g1"})
	if err == nil {
		t.Fatal("no error")
	}
	if a, b := s.authCalls.Load(), s.apiCalls.Load(); a != 2 || b != 2 {
		t.Errorf("auth calls %d, API calls %d; want 2 and 2", a, b)
	}
}

func TestErrors_Transport(t *testing.T) {
	// Timeout: the server answers after the client's timeout.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer slow.Close()
	defer close(release)
	c := mustClient(t, Config{BaseURL: slow.URL, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "g1"})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || !pe.Retryable || pe.Code != "timeout" || pe.HTTPStatus != 0 {
		t.Fatalf("timeout: %#v", err)
	}

	// Connection refused.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	c = mustClient(t, Config{BaseURL: dead.URL})
	_, err = c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "g1"})
	if !errors.As(err, &pe) || !pe.Retryable || pe.Code != "unreachable" {
		t.Fatalf("refused: %#v", err)
	}

	// Canceled by the caller: not retryable.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.FetchStatus(ctx, providers.OrderRef{OrderID: "g1"})
	if !errors.As(err, &pe) || pe.Retryable || !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %#v", err)
	}
}

func TestErrors_OversizedAnswer(t *testing.T) {
	s := newStub(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"id":"` + strings.Repeat("x", maxBodyBytes) + `"}`))
	})
	_, err := s.client(t, Config{}).FetchStatus(context.Background(), providers.OrderRef{OrderID: "g1"})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.Code != "response_too_large" {
		t.Fatalf("got %v", err)
	}
}

// TestCreateOrder_Request checks the body sent to POST /api/v1/screening_groups
// and the matching of screenings to applicants (by order, then email) with a
// configured applicant-link field.
func TestCreateOrder_Request(t *testing.T) {
	resp := `{"id":"g-1","status":"pending","created_at_timestamp":1772463600000.5,"screenings":[
		{"id":"s-sam","applicant_email":"SAM@example.com","invite_url":"https://payscore.example/i/sam"},
		{"id":"s-jane","applicant_email":"jane@example.com","invite_url":"https://payscore.example/i/jane"}]}`
	s := newStub(t, answer(200, resp))
	c := s.client(t, Config{Contract: Contract{ApplicantURLField: "invite_url"}, Property: Property{City: "Springfield", State: "IL"}})
	o, err := c.CreateOrder(context.Background(), providers.OrderRequest{Reference: "ord-1",
		AgencyName: "County Housing Authority", Program: "housing", Applicants: household(2),
		MonthlyRentCents: 123456, WebhookURL: "https://portal.example/webhooks/payscore", ProviderNotifies: true,
		Options: map[string]string{"property_street_address": "1 Main St", "property_zip_code": "62701"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.req().Method != http.MethodPost || s.req().URL.Path != "/api/v1/screening_groups" ||
		s.req().Header.Get("Authorization") != "Bearer stub.jwt.token" || s.req().Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %v", s.req().Method, s.req().URL.Path, s.req().Header)
	}
	var sent map[string]any
	if err := json.Unmarshal(s.body(), &sent); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s.body()), `"monthly_rent":1234.56`) {
		t.Errorf("monthly_rent not 1234.56 dollars: %s", s.body())
	}
	checks := map[string]any{
		"is_decision_maker_paying": true, "decision_maker_display_name": "County Housing Authority",
		"webhook_url": "https://portal.example/webhooks/payscore?reference=ord-1", "is_invitation_disabled": false,
	}
	for k, v := range checks {
		if sent[k] != v {
			t.Errorf("%s = %v, want %v", k, sent[k], v)
		}
	}
	prop := sent["property"].(map[string]any)
	if prop["name"] != "County Housing Authority" || prop["street_address"] != "1 Main St" || prop["city"] != "Springfield" || prop["zip_code"] != "62701" {
		t.Errorf("property %v", prop)
	}
	apps := sent["applicants"].([]any)
	a0 := apps[0].(map[string]any)
	if len(apps) != 2 || a0["first_name"] != "Jane" || a0["last_name"] != "Doe" || a0["email"] != "jane@example.com" || a0["phone_number"] != "+15555550100" {
		t.Errorf("applicants %v", apps)
	}
	if o.OrderID != "g-1" || o.Status != providers.StatusSent {
		t.Errorf("order %+v", o)
	}
	// Payscore listed Sam first: matching by email puts each link right.
	if o.Links[0].SubID != "s-jane" || o.Links[0].URL != "https://payscore.example/i/jane" || o.Links[0].ApplicantRef != "m1" ||
		o.Links[1].SubID != "s-sam" || o.Links[1].URL != "https://payscore.example/i/sam" {
		t.Errorf("links %+v", o.Links)
	}
	if want := time.UnixMilli(1772463600000).UTC().Add(14 * 24 * time.Hour); !o.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt %v, want %v", o.ExpiresAt, want)
	}

	// Rent of zero and the portal delivering the link.
	if _, err := c.CreateOrder(context.Background(), providers.OrderRequest{AgencyName: "County", Applicants: household(2)}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s.body()), `"monthly_rent":0`) || !strings.Contains(string(s.body()), `"is_invitation_disabled":true`) ||
		strings.Contains(string(s.body()), "webhook_url") {
		t.Errorf("second body %s", s.body())
	}
}

func TestCreateOrder_MissingLinkIsAnError(t *testing.T) {
	s := newStub(t, answer(200, `{"id":"g-1","screenings":[{"id":"s-1","applicant_url":"https://x.example/a"}]}`))
	_, err := s.client(t, Config{Contract: Contract{ApplicantURLField: "applicant_url"}}).CreateOrder(context.Background(),
		providers.OrderRequest{AgencyName: "County", Applicants: household(2)})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.Code != "screenings_mismatch" || !strings.Contains(pe.Message, "g-1") {
		t.Fatalf("got %v", err)
	}
}

func TestCreateOrder_LocalValidation(t *testing.T) {
	s := newStub(t, answer(500, ``))
	c := s.client(t, Config{})
	_, err := c.CreateOrder(context.Background(), providers.OrderRequest{Applicants: []providers.Applicant{{FirstName: "Jo"}}, MonthlyRentCents: -1})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.Fields["decision_maker_display_name"] == "" || pe.Fields["applicants[0].name"] == "" || pe.Fields["monthly_rent"] == "" {
		t.Fatalf("got %#v", err)
	}
	if s.authCalls.Load()+s.apiCalls.Load() != 0 {
		t.Error("a request was sent")
	}
}

// TestFetchStatus_VendorExample reads the documented group example [P07].
func TestFetchStatus_VendorExample(t *testing.T) {
	s := newStub(t, answer(200, string(fixture(t, "api/screening_group.json"))))
	ups, err := s.client(t, Config{}).FetchStatus(context.Background(), providers.OrderRef{OrderID: exGroup})
	if err != nil {
		t.Fatal(err)
	}
	if s.req().URL.Path != "/api/v1/screening_groups/"+exGroup {
		t.Errorf("path %s", s.req().URL.Path)
	}
	want := []providers.Update{
		{OrderID: exGroup, SubID: exScreening, RawEvent: "screening_status", RawStatus: "not_started/not_completed"},
		{OrderID: exGroup, SubID: "13cc2254-7a1d-4c1e-9e2b-3f1c0d5b6a7e", RawEvent: "screening_status", RawStatus: "completed/finished", Status: providers.StatusCompleted, Outcome: providers.OutcomeVerified},
		{OrderID: exGroup, RawEvent: "screening_group_status", RawStatus: "in_progress", Status: providers.StatusInProgress},
	}
	if len(ups) != len(want) {
		t.Fatalf("got %+v", ups)
	}
	for i := range want {
		if ups[i] != want[i] {
			t.Errorf("update %d\n got  %+v\n want %+v", i, ups[i], want[i])
		}
	}
}

// TestFetchReport_SingleForm normalizes a single-applicant report: floats
// rounded, nulls as zero, dates to ISO, a stream without account_id on the
// first account, a stream without is_recurring counted as recurring.
func TestFetchReport_SingleForm(t *testing.T) {
	s := newStub(t, answer(200, string(fixture(t, "api/report_data_single.json"))))
	rep, err := s.client(t, Config{}).FetchReport(context.Background(), providers.OrderRef{OrderID: exGroup}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.req().URL.Path != "/api/v1/screening_groups/"+exGroup+"/report/data" {
		t.Errorf("path %s", s.req().URL.Path)
	}
	done := time.Unix(1693327958, 0).UTC()
	if !rep.CreatedAt.Equal(done) || !rep.ExpiresAt.Equal(done.Add(14*24*time.Hour)) {
		t.Errorf("times %v %v", rep.CreatedAt, rep.ExpiresAt)
	}
	want := providers.BankIncome{TotalNet: 700000, AvgMonthlyNet2: 350000, AvgMonthlyNet3: 233333, AvgMonthlyNet6: 116667, Recurring: 665000, NonRecurring: 35000, TimespanDays: 180}
	if *rep.BankIncome != want {
		t.Errorf("income %+v", *rep.BankIncome)
	}
	if len(rep.Accounts) != 2 {
		t.Fatalf("accounts %+v", rep.Accounts)
	}
	chk, visa := rep.Accounts[0], rep.Accounts[1]
	if chk.Institution != "Small Alaskan Credit Union" || chk.Type != "checking" || chk.Balance != 125050 || len(chk.IncomeStreams) != 2 {
		t.Errorf("checking %+v", chk)
	}
	if visa.Type != "credit" || visa.Balance != -4500 || len(visa.IncomeStreams) != 0 {
		t.Errorf("visa %+v", visa)
	}
	pay, zelle := chk.IncomeStreams[0], chk.IncomeStreams[1]
	if !pay.Recurring || zelle.Recurring || pay.Transactions[0].Date != "2023-08-15" || pay.Transactions[0].Amount != 332500 {
		t.Errorf("streams %+v %+v", pay, zelle)
	}
	if chk.MonthlyIncome != 118368 { // 700,000 × 30.4375 / 180
		t.Errorf("monthly income %d", chk.MonthlyIncome)
	}
}

// TestFetchReportPDF_URLNeverLeaks: the pre-signed URL appears in no error,
// and our bearer token is not sent to the file host.
func TestFetchReportPDF_URLNeverLeaks(t *testing.T) {
	const secretTok = "SIGNATURE-abcdef0123456789"
	var fileAuth atomic.Value
	fileAuth.Store("")
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fileAuth.Store(r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/ok.pdf":
			_, _ = io.WriteString(w, "%PDF-1.4 fake")
		case "/html.pdf":
			_, _ = io.WriteString(w, "<html>")
		case "/gone.pdf":
			w.WriteHeader(http.StatusForbidden)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer files.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	tests := []struct {
		path, base string
		code       string
	}{
		{"/ok.pdf", files.URL, ""},
		{"/html.pdf", files.URL, "not_a_pdf"},
		{"/gone.pdf", files.URL, "pdf_link_expired"},
		{"/boom.pdf", files.URL, "pdf_download_failed"},
		{"/x.pdf", dead.URL, "unreachable"},
	}
	for _, tt := range tests {
		u := tt.base + tt.path + "?X-Amz-Signature=" + secretTok
		s := newStub(t, answer(200, `{"url":"`+u+`"}`))
		pdf, err := s.client(t, Config{}).FetchReportPDF(context.Background(), providers.OrderRef{OrderID: "g1"}, "")
		if s.req().URL.Path != "/api/v1/screening_groups/g1/report" {
			t.Errorf("path %s", s.req().URL.Path)
		}
		if tt.code == "" {
			if err != nil || string(pdf) != "%PDF-1.4 fake" {
				t.Errorf("%s: %q %v", tt.path, pdf, err)
			}
			if fileAuth.Load() != "" {
				t.Errorf("bearer token sent to the file host")
			}
			continue
		}
		var pe *providers.ProviderError
		if !errors.As(err, &pe) || pe.Code != tt.code {
			t.Errorf("%s: %v", tt.path, err)
			continue
		}
		msg := err.Error()
		if pe.Err != nil {
			msg += pe.Err.Error()
		}
		if strings.Contains(msg, secretTok) || strings.Contains(msg, tt.base) {
			t.Errorf("%s: error shows the URL: %s", tt.path, msg)
		}
	}
}

func TestRefresh_NotSupported(t *testing.T) {
	c := mustClient(t, Config{})
	_, err := c.Refresh(context.Background(), providers.OrderRef{OrderID: "g"}, providers.RefreshRequest{})
	if !errors.Is(err, providers.ErrNotSupported) {
		t.Fatalf("got %v", err)
	}
}

// TestCancel_ConfigurableEndpoint: the default is DELETE
// /api/v1/screening_groups/{id}; another method and path can be set.
func TestCancel_ConfigurableEndpoint(t *testing.T) {
	s := newStub(t, answer(204, ``))
	if err := s.client(t, Config{}).Cancel(context.Background(), providers.OrderRef{OrderID: "g/1"}); err != nil {
		t.Fatal(err)
	}
	if s.req().Method != http.MethodDelete || s.req().URL.EscapedPath() != "/api/v1/screening_groups/g%2F1" {
		t.Errorf("default: %s %s", s.req().Method, s.req().URL.EscapedPath())
	}
	c := s.client(t, Config{Contract: Contract{CancelMethod: "post", CancelPath: "/api/v1/screening_groups/{id}/cancel"}})
	if err := c.Cancel(context.Background(), providers.OrderRef{OrderID: "g1"}); err != nil {
		t.Fatal(err)
	}
	if s.req().Method != http.MethodPost || s.req().URL.Path != "/api/v1/screening_groups/g1/cancel" {
		t.Errorf("custom: %s %s", s.req().Method, s.req().URL.Path)
	}
	s.setHandler(answer(404, `{}`))
	if err := c.Cancel(context.Background(), providers.OrderRef{OrderID: "g1"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	if err := c.Cancel(context.Background(), providers.OrderRef{}); err == nil {
		t.Error("empty order id accepted")
	}
}

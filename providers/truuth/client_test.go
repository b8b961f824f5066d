package truuth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/providers"
)

func TestNewValidation(t *testing.T) {
	ok := Config{Region: "au", Tenant: "acme", APIKey: "k", APISecret: "s"}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // substring; "" means success
	}{
		{"valid", func(*Config) {}, ""},
		{"region upper case", func(c *Config) { c.Region = "EU" }, ""},
		{"base URL without region", func(c *Config) { c.Region = ""; c.BaseURL = "http://127.0.0.1:9/sandbox/truuth" }, ""},
		{"no region, no base URL", func(c *Config) { c.Region = "" }, "Config.Region"},
		{"unknown region", func(c *Config) { c.Region = "us" }, "Config.Region"},
		{"no tenant", func(c *Config) { c.Tenant = " " }, "Config.Tenant"},
		{"no API key", func(c *Config) { c.APIKey = "" }, "Config.APIKey"},
		{"no API secret", func(c *Config) { c.APISecret = "" }, "Config.APISecret"},
		{"bad base URL", func(c *Config) { c.BaseURL = "ftp://example.test" }, "Config.BaseURL"},
		{"relative base URL", func(c *Config) { c.BaseURL = "/kyc" }, "Config.BaseURL"},
		{"weak webhook auth", func(c *Config) { c.WebhookAuth = "Bearer tiny-secret" }, "Config.WebhookAuth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			c, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one naming %s", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "tiny-secret") {
				t.Fatalf("error repeats a secret: %v", err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Config{Region: "eu", Tenant: "acme", APIKey: "k", APISecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != "https://portal.api.eu.truuth.id/kyc" {
		t.Errorf("baseURL = %q", c.baseURL)
	}
	if c.hc == nil || c.hc.Timeout != 15*time.Second {
		t.Errorf("default HTTP client timeout = %v", c.hc)
	}
	if c.Name() != "truuth" || !reflect.DeepEqual(c.Products(), []providers.Product{providers.ProductIdentity}) {
		t.Errorf("Name/Products = %q %v", c.Name(), c.Products())
	}
	if _, err := c.Refresh(context.Background(), providers.OrderRef{OrderID: "v"}, providers.RefreshRequest{}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Refresh = %v", err)
	}
	if err := c.Cancel(context.Background(), providers.OrderRef{OrderID: "v"}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("Cancel = %v", err)
	}
}

// stubClient returns a Client talking to an httptest server run by h.
func stubClient(t *testing.T, h http.HandlerFunc, mutate ...func(*Config)) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := Config{BaseURL: srv.URL + "/kyc/", Tenant: "acme", APIKey: "key", APISecret: "secret"}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func asProviderError(t *testing.T, err error) *providers.ProviderError {
	t.Helper()
	var pe *providers.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("want *providers.ProviderError, got %T %v", err, err)
	}
	if pe.Provider != "truuth" {
		t.Fatalf("Provider = %q", pe.Provider)
	}
	return pe
}

// TestErrorShapes: each error answer becomes a ProviderError with a plain
// message, the provider's code and fields, and the right Retryable; the body
// (here full of PII canaries) is never echoed.
func TestErrorShapes(t *testing.T) {
	future := time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		message    string
		code       string
		fields     map[string]string
		retryable  bool
		retryAfter func(time.Duration) bool
		notFound   bool
	}{
		{name: "400 with field list", status: 400,
			body:    `{"code":"VALIDATION_ERROR","message":"Validation failed","errors":[{"field":"email","message":"canary+pii@example.test is not valid"},{"field":"mobileNumber","message":"+15555550123 is not valid"}]}`,
			message: "Truuth rejected the request: validation failed (check email, mobileNumber).", code: "VALIDATION_ERROR",
			fields: map[string]string{"email": "[redacted] is not valid", "mobileNumber": "[redacted] is not valid"}},
		{name: "422 with error field", status: 422,
			body:    `{"error":"Date of birth 1911-11-11 is not accepted for Zqxwv"}`,
			message: "Truuth rejected the request: date of birth [redacted] is not accepted for Zqxwv."},
		{name: "400 with field object only", status: 400,
			body:    `{"errors":{"dateOfBirth":"must be YYYY-MM-DD"}}`,
			message: "Truuth rejected the request (check dateOfBirth).", fields: map[string]string{"dateOfBirth": "must be YYYY-MM-DD"}},
		{name: "400 not JSON", status: 400, body: `<html>canary+pii@example.test</html>`,
			message: "Truuth rejected the request."},
		{name: "401", status: 401, body: `{"message":"Unauthorized"}`,
			message: "Truuth refused the portal's API credentials. An administrator should check the Truuth API key, secret and tenant."},
		{name: "403", status: 403, body: ``,
			message: "Truuth refused the portal's API credentials. An administrator should check the Truuth API key, secret and tenant."},
		{name: "404", status: 404, body: `{"code":"NOT_FOUND","message":"Verification not found"}`,
			message: "Truuth has no record of this verification.", code: "NOT_FOUND", notFound: true},
		{name: "409 with message", status: 409, body: `{"code":"REPORT_NOT_READY","message":"The report is not ready"}`,
			message: "Truuth refused the request: the report is not ready.", code: "REPORT_NOT_READY"},
		{name: "409 bare", status: 409, body: ``,
			message: "Truuth refused the request because of the verification's current state."},
		{name: "429 seconds", status: 429, header: map[string]string{"Retry-After": "7"},
			message: "Truuth is receiving too many requests. Try again in a minute.", retryable: true,
			retryAfter: func(d time.Duration) bool { return d == 7*time.Second }},
		{name: "429 HTTP date", status: 429, header: map[string]string{"Retry-After": future},
			message: "Truuth is receiving too many requests. Try again in a minute.", retryable: true,
			retryAfter: func(d time.Duration) bool { return d > 100*time.Second && d <= 121*time.Second }},
		{name: "500 echoing the request", status: 500, body: `{"message":"boom for canary+pii@example.test"}`,
			message: "Truuth is having problems right now. Try again in a few minutes.", retryable: true},
		{name: "503 retry after", status: 503, header: map[string]string{"Retry-After": "30"}, body: `upstream down`,
			message: "Truuth is having problems right now. Try again in a few minutes.", retryable: true,
			retryAfter: func(d time.Duration) bool { return d == 30*time.Second }},
		{name: "418 other", status: 418, body: `{}`, message: "Truuth refused the request (HTTP 418)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := stubClient(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "v1"})
			pe := asProviderError(t, err)
			if pe.HTTPStatus != tt.status || pe.Message != tt.message || pe.Code != tt.code || pe.Retryable != tt.retryable {
				t.Fatalf("got %d %q code=%q retryable=%v", pe.HTTPStatus, pe.Message, pe.Code, pe.Retryable)
			}
			if !reflect.DeepEqual(pe.Fields, tt.fields) {
				t.Fatalf("Fields = %v, want %v", pe.Fields, tt.fields)
			}
			if tt.retryAfter != nil && !tt.retryAfter(pe.RetryAfter) {
				t.Fatalf("RetryAfter = %v", pe.RetryAfter)
			}
			if tt.retryAfter == nil && pe.RetryAfter != 0 {
				t.Fatalf("RetryAfter = %v, want 0", pe.RetryAfter)
			}
			if errors.Is(err, providers.ErrNotFound) != tt.notFound {
				t.Fatalf("errors.Is(ErrNotFound) = %v", !tt.notFound)
			}
			// Names are not scrubbed (they may be a check name); everything
			// else in the canary set must be gone.
			for _, c := range []string{"canary+pii@example.test", "+15555550123", "1911-11-11", "<html>", "boom"} {
				if strings.Contains(err.Error(), c) || strings.Contains(pe.Message, c) || strings.Contains(fmtFields(pe.Fields), c) {
					t.Fatalf("error leaks %q: %v %v", c, err, pe.Fields)
				}
			}
		})
	}
}

func fmtFields(m map[string]string) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func TestTransportErrors(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		release := make(chan struct{})
		c := stubClient(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}, func(cfg *Config) { cfg.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
		defer close(release)
		_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "v"})
		pe := asProviderError(t, err)
		if pe.HTTPStatus != 0 || !pe.Retryable || pe.Message != "Truuth did not answer in time. Try again in a few minutes." {
			t.Fatalf("got %+v", pe)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL
		srv.Close()
		c, err := New(Config{BaseURL: base, Tenant: "acme", APIKey: "k", APISecret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "v"})
		pe := asProviderError(t, err)
		if pe.HTTPStatus != 0 || !pe.Retryable || pe.Message != "The portal could not reach Truuth. Try again in a few minutes." {
			t.Fatalf("got %+v", pe)
		}
	})
	t.Run("caller canceled", func(t *testing.T) {
		c := stubClient(t, func(w http.ResponseWriter, r *http.Request) {})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.FetchStatus(ctx, providers.OrderRef{OrderID: "v"})
		pe := asProviderError(t, err)
		if pe.Retryable || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %+v", pe)
		}
	})
	t.Run("unreadable success", func(t *testing.T) {
		c := stubClient(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "{not json") })
		_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "v"})
		if pe := asProviderError(t, err); pe.Message != "Truuth sent an answer the portal could not read." {
			t.Fatalf("got %+v", pe)
		}
	})
	t.Run("oversized success", func(t *testing.T) {
		c := stubClient(t, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, `{"status":"DONE","pad":"`+strings.Repeat("x", maxJSONBody)+`"}`)
		})
		_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "v"})
		if pe := asProviderError(t, err); !pe.Retryable || !strings.Contains(pe.Message, "too large") {
			t.Fatalf("got %+v", pe)
		}
	})
}

// recorded is one request a stub saw.
type recorded struct {
	method, path, query, auth string
	body                      map[string]any
}

type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (rc *recorder) add(r *http.Request) {
	var body map[string]any
	if b, _ := io.ReadAll(r.Body); len(b) > 0 {
		_ = json.Unmarshal(b, &body)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.reqs = append(rc.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), body})
}

func (rc *recorder) all() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.reqs...)
}

func oneApplicant() providers.OrderRequest {
	return providers.OrderRequest{
		Reference: "ord-7", Products: []providers.Product{providers.ProductIdentity},
		Applicants: []providers.Applicant{{Ref: "m1", FirstName: "Ana", LastName: "Ruiz", Email: "ana@example.test"}},
	}
}

// TestCreateOrderWire pins the request: look-up first, then the create with
// the Contract's field names, Basic auth, optional fields left out.
func TestCreateOrderWire(t *testing.T) {
	var rec recorder
	c := stubClient(t, func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"verificationId":"v-1","externalRefId":"ord-7","inviteUrl":"https://acme.au.truuth.id/verify/abc","expiresAt":"2030-01-02T03:04:05Z"}`)
	})
	order, err := c.CreateOrder(context.Background(), oneApplicant())
	if err != nil {
		t.Fatal(err)
	}
	want := &providers.Order{OrderID: "v-1", Status: providers.StatusCreated,
		Links:     []providers.ApplicantLink{{ApplicantRef: "m1", URL: "https://acme.au.truuth.id/verify/abc"}},
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("order = %+v", order)
	}
	reqs := rec.all()
	if len(reqs) != 2 {
		t.Fatalf("requests: %+v", reqs)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("key:secret"))
	if r := reqs[0]; r.method != "GET" || r.path != "/kyc/v1/tenants/acme/verifications" || r.query != "externalRefId=ord-7" || r.auth != basic {
		t.Fatalf("look-up = %+v", r)
	}
	r := reqs[1]
	if r.method != "POST" || r.path != "/kyc/v1/tenants/acme/verifications/invites" || r.auth != basic {
		t.Fatalf("create = %+v", r)
	}
	wantBody := map[string]any{"givenName": "Ana", "familyName": "Ruiz", "email": "ana@example.test", "externalRefId": "ord-7"}
	if !reflect.DeepEqual(r.body, wantBody) {
		t.Fatalf("create body = %v", r.body)
	}
}

// TestCreateOrderLookupTrust: a look-up answer for another reference is not
// taken as ours.
func TestCreateOrderLookupTrust(t *testing.T) {
	var rec recorder
	c := stubClient(t, func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, `[{"verificationId":"other","externalRefId":"ord-1","inviteUrl":"https://x.test/a"}]`)
			return
		}
		_, _ = io.WriteString(w, `{"verificationId":"mine","inviteUrl":"https://x.test/b"}`)
	})
	order, err := c.CreateOrder(context.Background(), oneApplicant())
	if err != nil {
		t.Fatal(err)
	}
	if order.OrderID != "mine" || len(rec.all()) != 2 {
		t.Fatalf("order %+v after %d requests", order, len(rec.all()))
	}
}

func TestCreateOrderRequestChecks(t *testing.T) {
	c := stubClient(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected call %s", r.URL) })
	two := oneApplicant()
	two.Applicants = append(two.Applicants, two.Applicants[0])
	income := oneApplicant()
	income.Products = []providers.Product{providers.ProductIncome}
	noRef := oneApplicant()
	noRef.Reference = ""
	noName := oneApplicant()
	noName.Applicants = []providers.Applicant{{Ref: "m1", Email: "x@example.test"}}
	for name, req := range map[string]providers.OrderRequest{"two applicants": two, "income": income, "no reference": noRef, "no name": noName} {
		if _, err := c.CreateOrder(context.Background(), req); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestDecodePDF(t *testing.T) {
	pdf := []byte("%PDF-1.7\nhello\n%%EOF")
	b64 := base64.StdEncoding.EncodeToString(pdf)
	wrapped := b64[:8] + "\r\n" + b64[8:]
	tests := map[string]struct {
		body string
		ok   bool
	}{
		"raw PDF":        {string(pdf), true},
		"raw PDF in BOM": {"\xef\xbb\xbf" + string(pdf), true},
		"base64":         {b64, true},
		"base64 + NL":    {b64 + "\n", true},
		"wrapped base64": {wrapped, true},
		"unpadded":       {strings.TrimRight(b64, "="), true},
		"JSON string":    {`"` + b64 + `"`, true},
		"data URI":       {"data:application/pdf;base64," + b64, true},
		"not a PDF":      {base64.StdEncoding.EncodeToString([]byte("<html>")), false},
		"garbage":        {"%%% not base64 %%%", false},
		"empty":          {"", false},
	}
	for name, tt := range tests {
		got, err := decodePDF([]byte(tt.body))
		if tt.ok && (err != nil || string(got) != string(pdf)) {
			t.Errorf("%s: got %q, %v", name, got, err)
		}
		if !tt.ok && err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// TestFetchReportPDFLink: the pre-signed URL gets no credentials, and an
// expired link is a retryable "expired" error, not a credentials error.
func TestFetchReportPDFLink(t *testing.T) {
	var fileAuth []string
	var mu sync.Mutex
	expired := false
	var srvURL string
	c := stubClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/report"):
			_, _ = io.WriteString(w, `{"url":"`+srvURL+`/files/abc?X-Amz-Signature=1"}`)
		case strings.HasPrefix(r.URL.Path, "/files/"):
			mu.Lock()
			fileAuth = append(fileAuth, r.Header.Get("Authorization"))
			exp := expired
			mu.Unlock()
			if exp {
				w.WriteHeader(http.StatusForbidden)
				_, _ = io.WriteString(w, "<Error><Code>AccessDenied</Code></Error>")
				return
			}
			_, _ = io.WriteString(w, base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 x")))
		}
	}, func(cfg *Config) { srvURL = strings.TrimSuffix(cfg.BaseURL, "/kyc/") })
	got, err := c.FetchReportPDF(context.Background(), providers.OrderRef{OrderID: "v"}, "")
	if err != nil || string(got) != "%PDF-1.4 x" {
		t.Fatalf("FetchReportPDF = %q, %v", got, err)
	}
	mu.Lock()
	expired = true
	mu.Unlock()
	_, err = c.FetchReportPDF(context.Background(), providers.OrderRef{OrderID: "v"}, "")
	pe := asProviderError(t, err)
	if pe.HTTPStatus != 403 || !pe.Retryable || !strings.Contains(pe.Message, "expired") {
		t.Fatalf("got %+v", pe)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, a := range fileAuth {
		if a != "" {
			t.Fatalf("credentials sent to the pre-signed URL: %q", a)
		}
	}
}

func TestFetchReportPDFBadLink(t *testing.T) {
	for _, body := range []string{`{}`, `{"url":"file:///etc/passwd"}`, `{"url":"not a url"}`} {
		c := stubClient(t, func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, body) })
		_, err := c.FetchReportPDF(context.Background(), providers.OrderRef{OrderID: "v"}, "")
		if pe := asProviderError(t, err); pe.Message != "Truuth's answer had no usable report link." {
			t.Errorf("%s: got %+v", body, pe)
		}
	}
}

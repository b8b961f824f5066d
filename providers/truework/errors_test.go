package truework

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

// TestErrorShapes: each documented error status becomes a ProviderError a
// caseworker can read, with the right code, fields and retryability.
func TestErrorShapes(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		code       string
		msg        string // substring of Message
		fields     map[string]string
		retryable  bool
		retryWait  time.Duration
		notFound   bool
	}{
		{name: "400 default", status: 400, body: `{"error":{"message":"Invalid field values provided"}}`,
			code: CodeInvalidRequest, msg: "Truework did not accept the request: Invalid field values provided."},
		{name: "400 naming a field", status: 400, body: `{"error":{"message":"Invalid field values provided: social_security_number is not a sandbox test SSN"}}`,
			code: CodeInvalidRequest, msg: "the SSN is not a sandbox test SSN", fields: map[string]string{"ssn": "Truework did not accept this value."}},
		{name: "400 echoing values is not shown", status: 400, body: `{"error":{"message":"contact_email canary+pii@example.test and 123-45-6789 invalid"}}`,
			code: CodeInvalidRequest, msg: "Check the applicant's name, SSN, date of birth and email", fields: map[string]string{"email": "Truework did not accept this value."}},
		{name: "401", status: 401, body: `{"error":{"message":"Invalid credentials"}}`, code: CodeUnauthorized, msg: "API key"},
		{name: "403", status: 403, body: `{"error":{"message":"Forbidden"}}`, code: CodeForbidden, msg: "not allowed"},
		{name: "404", status: 404, body: `{"error":{"message":"Order not found"}}`, code: CodeNotFound, msg: "no record", notFound: true},
		{name: "406", status: 406, body: `{"error":{"message":"Invalid API version"}}`, code: CodeInvalidVersion, msg: "API version"},
		{name: "429 with seconds", status: 429, body: `{"error":{"message":"Too many requests"}}`, retryAfter: "30",
			code: CodeRateLimited, msg: "too many requests", retryable: true, retryWait: 30 * time.Second},
		{name: "451 frozen SSN", status: 451, body: `{"error":{"message":"Frozen SSN"}}`, code: CodeFrozenSSN, msg: MsgFrozenSSN},
		{name: "500", status: 500, body: `{"error":{"message":"Internal error"}}`, code: CodeServerError, msg: "having a problem", retryable: true},
		{name: "502 without a body", status: 502, body: ``, code: CodeServerError, msg: "having a problem", retryable: true},
		{name: "503 with Retry-After", status: 503, body: `{"error":{"message":"Unavailable"}}`, retryAfter: "120",
			code: CodeServerError, msg: "having a problem", retryable: true, retryWait: 2 * time.Minute},
		{name: "501", status: 501, body: `{"error":{"message":"Not implemented"}}`, code: CodeNotImplemented, msg: "does not support"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.MaxRetries = -1 })
			_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "o1"})
			var pe *providers.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v; want *ProviderError", err)
			}
			if pe.Provider != ProviderName || pe.HTTPStatus != tt.status || pe.Code != tt.code {
				t.Errorf("got provider %q status %d code %q; want truework %d %q", pe.Provider, pe.HTTPStatus, pe.Code, tt.status, tt.code)
			}
			if !strings.Contains(strings.ToLower(pe.Message), strings.ToLower(tt.msg)) {
				t.Errorf("Message = %q; want it to contain %q", pe.Message, tt.msg)
			}
			if pe.Retryable != tt.retryable || pe.RetryAfter != tt.retryWait {
				t.Errorf("Retryable, RetryAfter = %v, %v; want %v, %v", pe.Retryable, pe.RetryAfter, tt.retryable, tt.retryWait)
			}
			if len(tt.fields) != len(pe.Fields) {
				t.Errorf("Fields = %v; want %v", pe.Fields, tt.fields)
			}
			for k, v := range tt.fields {
				if pe.Fields[k] != v {
					t.Errorf("Fields[%q] = %q; want %q", k, pe.Fields[k], v)
				}
			}
			if got := errors.Is(err, providers.ErrNotFound); got != tt.notFound {
				t.Errorf("errors.Is(ErrNotFound) = %v; want %v", got, tt.notFound)
			}
			for _, pii := range []string{"canary", "123-45-6789", "@"} {
				if strings.Contains(err.Error(), pii) {
					t.Errorf("error %q leaks %q", err.Error(), pii)
				}
			}
		})
	}
}

func TestError_NoAnswerIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	url := srv.URL
	srv.Close() // nothing listens any more
	c := newTestClient(t, url, nil)
	_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "o1"})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || !pe.Retryable || pe.HTTPStatus != 0 || pe.Code != CodeUnreachable {
		t.Fatalf("err = %#v; want a retryable unreachable ProviderError", err)
	}
}

func TestError_TimeoutIsRetryable(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, srv.URL, func(cfg *Config) { cfg.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond} })
	_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "o1"})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || !pe.Retryable || pe.Code != CodeUnreachable {
		t.Fatalf("err = %v; want a retryable unreachable ProviderError", err)
	}
}

func TestError_UnreadableAndOversizedAnswers(t *testing.T) {
	tests := map[string]string{
		"not JSON":  "<html>gateway</html>",
		"too large": `{"id":"` + strings.Repeat("a", maxJSONBody) + `"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			c := newTestClient(t, srv.URL, nil)
			_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: "o1"})
			var pe *providers.ProviderError
			if !errors.As(err, &pe) || pe.Code != CodeBadResponse || strings.Contains(pe.Error(), "gateway") {
				t.Fatalf("err = %v; want a bad_response ProviderError without the body", err)
			}
		})
	}
}

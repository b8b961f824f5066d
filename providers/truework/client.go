// Package truework is the Truework adapter of caseverify: an API client for
// Truework Direct orders (income and employment verification through the
// Truework.js widget), webhook authentication and parsing with the status
// mapping of spec.md §7.1, and a local emulator of Truework's API, widget
// and webhooks for sandbox mode and tests.
//
// Everything here is built from /work/shared/providers/spec.md §1 (API
// version 2023-10-30) and the vendor's POS integration guide; facts that no
// source confirms are configurable and marked UNCONFIRMED where they are
// used.
package truework

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"caseverify/providers"
)

// ProviderName is the provider slug the portal uses for Truework.
const ProviderName = "truework"

// Defaults for Config.
const (
	DefaultBaseURL            = "https://api.truework.com"
	DefaultSandboxBaseURL     = "https://api.truework-sandbox.com"
	DefaultScriptURL          = "https://js.truework.com/v1"
	DefaultPermissiblePurpose = "employee-eligibility"
	DefaultUseCase            = "government"
	DefaultRequestsPerSecond  = 10
	DefaultMaxRetries         = 3
	DefaultMaxRetryWait       = 10 * time.Second
	DefaultHTTPTimeout        = 15 * time.Second
)

// Response body limits: JSON answers are small; a PDF report can be a few
// megabytes.
const (
	maxJSONBody = 4 << 20
	maxPDFBody  = 20 << 20
)

// permissiblePurposes and useCases are the enums of the Direct target
// [T01]; New rejects anything else so a typo in configuration fails at start
// instead of on the first order. The emulator validates with the same lists.
func permissiblePurposes() []string {
	return []string{
		"child-support", "credit-application", "employee-eligibility", "employee-request",
		"employee-review-or-collection", "employment", "insurance-underwriting-application",
		"legitimate-reason-initiated", "legitimate-reason-review", "risk-assessment", "subpoena",
	}
}

func useCases() []string {
	return []string{
		"mortgage", "home-equity", "background", "tenant", "government", "auto", "lending",
		"credit", "identity", "insurance", "health", "offers", "account-management", "preapproval",
	}
}

// Config configures a Client.
type Config struct {
	// BaseURL is the API base URL; DefaultBaseURL when empty. Truework's
	// sandbox is DefaultSandboxBaseURL; in the portal's sandbox mode it is the
	// emulator's public URL.
	BaseURL string
	// HTTPClient makes every call; nil means a client with a 15 s timeout.
	HTTPClient *http.Client
	// APIKey is the secret key (tw_sk_… or tw_sk_test_…), sent as a Bearer
	// token. Required.
	APIKey string
	// PublishableKey is the Truework.js key (tw_pk_…); the adapter does not
	// use it, it hands it to the portal's widget page (see Widget).
	PublishableKey string
	// ScriptURL is where the portal's widget page loads Truework.js from;
	// DefaultScriptURL when empty. In sandbox mode: {emulator}/js/v1.
	ScriptURL string
	// WebhookTokens are the accepted X-Truework-Token values: the current
	// token and, during a rotation, the previous one. At least one is
	// required, so that no deployment accepts unauthenticated deliveries.
	WebhookTokens []string
	// PermissiblePurpose is sent on every target; DefaultPermissiblePurpose
	// when empty.
	PermissiblePurpose string
	// UseCase is sent on every target; DefaultUseCase when empty.
	UseCase string
	// RequestsPerSecond caps this Client's call rate (Truework: 10/s per
	// account [T11]); DefaultRequestsPerSecond when 0.
	RequestsPerSecond float64
	// MaxRetries is how many times a call answered 429 is retried;
	// DefaultMaxRetries when 0, no retry when negative.
	MaxRetries int
	// MaxRetryWait is the longest pause the client waits for a 429 before
	// giving the error back (with RetryAfter) to the caller's job queue
	// instead; DefaultMaxRetryWait when 0.
	MaxRetryWait time.Duration
	// Contract overrides what is UNCONFIRMED (see Contract); zero fields
	// keep DefaultContract's values.
	Contract Contract
}

// Client is the Truework adapter. It is safe for concurrent use; all calls
// share one rate limiter.
type Client struct {
	baseURL        string
	http           *http.Client
	apiKey         string
	publishableKey string
	scriptURL      string
	webhookTokens  [][]byte
	purpose        string
	useCase        string
	maxRetries     int
	maxRetryWait   time.Duration
	limit          *limiter
	contract       Contract
	lifetime       time.Duration

	// now and sleep are the clock; tests in this package replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

var (
	_ providers.Verifier        = (*Client)(nil)
	_ providers.WebhookReceiver = (*Client)(nil)
)

// New validates cfg and returns a Client. The error names the Config field
// that is missing or wrong.
func New(cfg Config) (*Client, error) {
	c := &Client{
		baseURL:        strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultBaseURL), "/"),
		http:           cfg.HTTPClient,
		apiKey:         cfg.APIKey,
		publishableKey: cfg.PublishableKey,
		scriptURL:      cmp.Or(cfg.ScriptURL, DefaultScriptURL),
		purpose:        cmp.Or(cfg.PermissiblePurpose, DefaultPermissiblePurpose),
		useCase:        cmp.Or(cfg.UseCase, DefaultUseCase),
		maxRetries:     cfg.MaxRetries,
		maxRetryWait:   cfg.MaxRetryWait,
		now:            time.Now,
		sleep:          providers.Sleep,
	}
	if u, err := url.Parse(c.baseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("truework: Config.BaseURL must be an absolute http(s) URL")
	}
	var err error
	if c.contract, c.lifetime, err = cfg.Contract.validate(); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.APIKey) == "" {
		return nil, errors.New("truework: Config.APIKey (the secret key, TRUEWORK_API_KEY) is required")
	}
	if len(cfg.WebhookTokens) == 0 {
		return nil, errors.New("truework: Config.WebhookTokens needs at least one token (TRUEWORK_WEBHOOK_TOKEN)")
	}
	for i, t := range cfg.WebhookTokens {
		if t == "" {
			return nil, fmt.Errorf("truework: Config.WebhookTokens[%d] is empty", i)
		}
		c.webhookTokens = append(c.webhookTokens, []byte(t))
	}
	if !slices.Contains(permissiblePurposes(), c.purpose) {
		return nil, errors.New("truework: Config.PermissiblePurpose is not a Truework permissible purpose")
	}
	if !slices.Contains(useCases(), c.useCase) {
		return nil, errors.New("truework: Config.UseCase is not a Truework use case")
	}
	rps := cfg.RequestsPerSecond
	switch {
	case rps == 0:
		rps = DefaultRequestsPerSecond
	case rps < 0:
		return nil, errors.New("truework: Config.RequestsPerSecond must be positive")
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	if c.maxRetryWait <= 0 {
		c.maxRetryWait = DefaultMaxRetryWait
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	// The closures read c.now/c.sleep at call time so that a test can swap
	// the clock after New.
	c.limit = newLimiter(rps,
		func() time.Time { return c.now() },
		func(ctx context.Context, d time.Duration) error { return c.sleep(ctx, d) })
	return c, nil
}

// Name returns "truework".
func (c *Client) Name() string { return ProviderName }

// Products returns income and employment: Truework verifies employment with
// or without income (target type "employment-income" or "employment").
func (c *Client) Products() []providers.Product {
	return []providers.Product{providers.ProductIncome, providers.ProductEmployment}
}

// Widget returns the settings for the portal's widget page (spec.md §1.8):
// Env is "sandbox" or "production" (the page passes
// Truework.direct.Env.Sandbox or .Production), derived from the key prefix
// tw_pk_test_ (and tw_sk_test_ for the secret key). The real Truework.js
// (https://js.truework.com) frames Truework's own pages, so
// https://*.truework.com may be framed too (which subdomain is UNCONFIRMED);
// the sandbox's stand-in is the portal's own origin and needs nothing more.
func (c *Client) Widget() providers.WidgetSettings {
	env := "production"
	if strings.HasPrefix(c.publishableKey, "tw_pk_test_") || strings.HasPrefix(c.apiKey, "tw_sk_test_") {
		env = "sandbox"
	}
	ws := providers.WidgetSettings{ScriptURL: c.scriptURL, PublishableKey: c.publishableKey, Env: env}
	if u, err := url.Parse(c.scriptURL); err == nil && u.Scheme == "https" {
		if host := strings.ToLower(u.Hostname()); host == "truework.com" || strings.HasSuffix(host, ".truework.com") {
			ws.FrameSources = []string{"https://*.truework.com"}
		}
	}
	return ws
}

// call is one API request.
type call struct {
	method string
	path   string // already escaped
	query  url.Values
	body   any    // JSON-encoded when non-nil
	accept string // acceptJSON when empty
	limit  int64  // maxJSONBody when 0
}

// result is a 2xx answer.
type result struct {
	status int
	header http.Header
	body   []byte
}

// do sends one call through the rate limiter and retries it on 429 (and
// only then: a 429 means Truework did not process the request, so even a
// POST is safe to resend). Every other non-2xx answer becomes a
// *providers.ProviderError.
func (c *Client) do(ctx context.Context, cl call) (*result, error) {
	var payload []byte
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return nil, fmt.Errorf("truework: encode request: %w", err)
		}
		payload = b
	}
	u := c.baseURL + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	accept := cmp.Or(cl.accept, acceptJSON)
	limit := cl.limit
	if limit == 0 {
		limit = maxJSONBody
	}
	for attempt := 0; ; attempt++ {
		if err := c.limit.wait(ctx); err != nil {
			return nil, transportError(err)
		}
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, cl.method, u, body)
		if err != nil {
			return nil, fmt.Errorf("truework: build request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
		req.Header.Set("Accept", accept)
		req.Header.Set("User-Agent", "caseverify-truework/1")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, transportError(err)
		}
		data, err := readLimited(resp.Body, limit)
		resp.Body.Close()
		if errors.Is(err, errTooLarge) {
			return nil, decodeError(resp.StatusCode, "response", err)
		}
		if err != nil {
			return nil, transportError(err)
		}
		if resp.StatusCode == http.StatusTooManyRequests && attempt < c.maxRetries {
			wait := providers.RetryAfter(resp.Header.Get("Retry-After"), c.now())
			if wait <= 0 {
				wait = time.Second << attempt // 1 s, 2 s, 4 s…: Truework asks for exponential backoff [T11]
			}
			if wait > c.maxRetryWait {
				return nil, apiError(resp.StatusCode, resp.Header, data, c.now())
			}
			c.limit.pauseUntil(c.now().Add(wait))
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, apiError(resp.StatusCode, resp.Header, data, c.now())
		}
		return &result{status: resp.StatusCode, header: resp.Header, body: data}, nil
	}
}

// getJSON sends a call and decodes the JSON answer into v.
func (c *Client) getJSON(ctx context.Context, cl call, what string, v any) ([]byte, error) {
	res, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(res.body, v); err != nil {
		return nil, decodeError(res.status, what, err)
	}
	return res.body, nil
}

// errTooLarge reports an answer larger than the call's limit.
var errTooLarge = errors.New("truework: response body too large")

// readLimited reads at most limit bytes and fails when there are more.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}

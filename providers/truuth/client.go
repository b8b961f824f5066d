// Package truuth is the Truuth (KYC / identity) provider: an API adapter that
// creates verification invites and reads their results and PDF reports, the
// webhook receiver for Truuth's Callback and Biopass User Provisioning events,
// and a local emulator of the API and the applicant's hosted flow.
//
// Truuth's REST contract is largely UNCONFIRMED in public material
// (spec.md §5): every path and field name lives in Contract, with defaults
// that Config.Contract can override.
package truuth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"caseverify/providers"
)

// Name is the provider slug.
const Name = "truuth"

// Response size caps: JSON answers are small; a base64 PDF is 4/3 of a PDF
// we accept up to 20 MiB of.
const (
	maxJSONBody = 4 << 20
	maxPDF      = 20 << 20
	maxPDFBody  = maxPDF*4/3 + 4096
)

// Config configures a Client.
type Config struct {
	// BaseURL is the KYC API base URL. Empty means the production URL of
	// Region, https://portal.api.{region}.truuth.id/kyc (the KYC Web SDK's
	// apiUrl seen in public code, R04; UNCONFIRMED for the REST API). In
	// sandbox mode the portal passes its emulator's URL.
	BaseURL string
	// Region is where the tenant was onboarded: "au" or "eu" (S04). Required
	// when BaseURL is empty.
	Region string
	// Tenant is the tenant alias chosen at onboarding (S04).
	Tenant string
	// APIKey and APISecret are sent as HTTP Basic credentials on every call
	// (R04; UNCONFIRMED for the KYC invite APIs).
	APIKey    string
	APISecret string
	// WebhookAuth is the full Authorization header value Truuth's webhook
	// sends, "Basic <base64>" or "Bearer <token>", as configured in the
	// Truuth portal. Empty makes Authenticate refuse every delivery; the
	// portal should refuse to start outside sandbox mode then
	// (ValidateWebhookAuth).
	WebhookAuth string
	// WebhookAuthByEvent is a token per event-type subscription: Truuth
	// sends one event type per webhook, each with its own Auth Token (S04).
	// Keys are the URL event names, EventPathCallback and EventPathBiopass;
	// an event without its own token uses WebhookAuth.
	WebhookAuthByEvent map[string]string
	// Contract overrides paths and field names; zero fields keep the
	// defaults (DefaultContract).
	Contract Contract
	// DisableLookup turns off the look-up by externalRefId that keeps
	// CreateOrder idempotent, for when Truuth turns out to have no such call
	// (UNCONFIRMED). Creates are then never retried after a timeout.
	DisableLookup bool
	// HTTPClient makes every call; nil means a client with a 15 s timeout.
	HTTPClient *http.Client
}

// Client is the Truuth adapter: a providers.Verifier and a
// providers.WebhookReceiver. It is safe for concurrent use.
type Client struct {
	baseURL       string
	tenant        string
	apiKey        string
	apiSecret     string
	webhookDigest []byte // nil when WebhookAuth is unset
	eventDigests  map[string][]byte
	contract      Contract
	lookup        bool
	hc            *http.Client
}

var (
	_ providers.Verifier        = (*Client)(nil)
	_ providers.WebhookReceiver = (*Client)(nil)
)

// New validates cfg and returns a Client. The error names the field at fault
// and never repeats a secret.
func New(cfg Config) (*Client, error) {
	region := strings.ToLower(strings.TrimSpace(cfg.Region))
	switch region {
	case "au", "eu":
	case "":
		if cfg.BaseURL == "" {
			return nil, errors.New("truuth: Config.Region is required (au or eu) when Config.BaseURL is empty")
		}
	default:
		return nil, errors.New("truuth: Config.Region must be au or eu")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = "https://portal.api." + region + ".truuth.id/kyc"
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("truuth: Config.BaseURL must be an absolute http(s) URL")
	}
	if strings.TrimSpace(cfg.Tenant) == "" {
		return nil, errors.New("truuth: Config.Tenant (the tenant alias) is required")
	}
	if cfg.APIKey == "" {
		return nil, errors.New("truuth: Config.APIKey is required")
	}
	if cfg.APISecret == "" {
		return nil, errors.New("truuth: Config.APISecret is required")
	}
	c := &Client{
		baseURL:   base,
		tenant:    strings.TrimSpace(cfg.Tenant),
		apiKey:    cfg.APIKey,
		apiSecret: cfg.APISecret,
		contract:  providers.FillDefaults(cfg.Contract, DefaultContract()),
		lookup:    !cfg.DisableLookup,
		hc:        cfg.HTTPClient,
	}
	if cfg.WebhookAuth != "" {
		if err := ValidateWebhookAuth(cfg.WebhookAuth); err != nil {
			return nil, fmt.Errorf("truuth: Config.WebhookAuth: %w", err)
		}
		scheme, token, _ := canonicalAuth(cfg.WebhookAuth)
		c.webhookDigest = authDigest(scheme, token)
	}
	c.eventDigests = map[string][]byte{}
	for ev, auth := range cfg.WebhookAuthByEvent {
		if _, ok := webhookEvents[ev]; !ok {
			return nil, fmt.Errorf("truuth: Config.WebhookAuthByEvent: unknown event %q (want %s or %s)", ev, EventPathCallback, EventPathBiopass)
		}
		if auth == "" {
			continue
		}
		if err := ValidateWebhookAuth(auth); err != nil {
			return nil, fmt.Errorf("truuth: Config.WebhookAuthByEvent[%s]: %w", ev, err)
		}
		scheme, token, _ := canonicalAuth(auth)
		c.eventDigests[ev] = authDigest(scheme, token)
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 15 * time.Second}
	}
	return c, nil
}

// Name implements providers.Verifier.
func (c *Client) Name() string { return Name }

// Products implements providers.Verifier: Truuth is identity-only (§5.4).
func (c *Client) Products() []providers.Product {
	return []providers.Product{providers.ProductIdentity}
}

// CreateOrder creates a verification invite for the request's one applicant
// and returns its verificationId and invite URL.
//
// It is idempotent on req.Reference (sent as externalRefId): it first looks
// the reference up, and when the create itself gets no answer, a 5xx or a
// 409 it looks up again instead of creating blindly (reliability.md P5).
//
// With req.ProviderNotifies it also calls Send Verification Invite so that
// Truuth emails the link; the Order then has status sent. If that send
// fails, CreateOrder returns the created Order (status created) together with
// the error, so the caller knows the invite exists; calling CreateOrder again
// finds it and retries the send.
func (c *Client) CreateOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	app, err := checkRequest(req)
	if err != nil {
		return nil, err
	}
	// Looked up by externalRefId first; after an answer that may have been
	// lost (no answer, a 5xx, or a 409 that says the reference exists) the
	// create may have been committed, so it is looked up again.
	order, err := providers.Create[providers.Order]{
		Reference:   req.Reference,
		LookupFirst: true,
		Lookup: func(ctx context.Context) (*providers.Order, error) {
			return c.findByReference(ctx, req.Reference, app.Ref)
		},
		Post: func(ctx context.Context) (*providers.Order, error) { return c.createInvite(ctx, req.Reference, app) },
		Lost: func(err error) bool {
			var pe *providers.ProviderError
			return errors.As(err, &pe) && (pe.HTTPStatus == 0 || pe.HTTPStatus >= 500 || pe.HTTPStatus == http.StatusConflict)
		},
	}.Do(ctx)
	if err != nil {
		return nil, err
	}
	if req.ProviderNotifies {
		if err := c.SendInvite(ctx, providers.OrderRef{OrderID: order.OrderID}); err != nil {
			return order, err
		}
		order.Status = providers.StatusSent
	}
	return order, nil
}

// FindOrder looks the verification up by externalRefId and creates nothing
// (providers.OrderFinder). The look-up is UNCONFIRMED in Truuth's public
// material: with Config.DisableLookup it is ErrNotSupported.
func (c *Client) FindOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	if !c.lookup {
		return nil, fmt.Errorf("truuth: look-up turned off: %w", providers.ErrNotSupported)
	}
	ref := ""
	if len(req.Applicants) > 0 {
		ref = req.Applicants[0].Ref
	}
	o, err := c.findByReference(ctx, req.Reference, ref)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("truuth: no verification %s: %w", req.Reference, providers.ErrNotFound)
	}
	return o, nil
}

// checkRequest enforces what a Truuth invite needs: one applicant with a
// name, the identity product only, and a reference.
func checkRequest(req providers.OrderRequest) (providers.Applicant, error) {
	if strings.TrimSpace(req.Reference) == "" {
		return providers.Applicant{}, errors.New("truuth: OrderRequest.Reference is required (it is the externalRefId)")
	}
	if len(req.Applicants) != 1 {
		return providers.Applicant{}, fmt.Errorf("truuth: an invite is for exactly one applicant, got %d", len(req.Applicants))
	}
	for _, p := range req.Products {
		if p != providers.ProductIdentity {
			return providers.Applicant{}, fmt.Errorf("truuth: verifies identity only, not %s", p)
		}
	}
	app := req.Applicants[0]
	if strings.TrimSpace(app.FirstName) == "" || strings.TrimSpace(app.LastName) == "" {
		return providers.Applicant{}, errors.New("truuth: the applicant's first and last name are required")
	}
	return app, nil
}

// createInvite calls Create Verification Invite.
func (c *Client) createInvite(ctx context.Context, reference string, app providers.Applicant) (*providers.Order, error) {
	ct := c.contract
	body := map[string]any{
		ct.GivenNameField:   app.FirstName,
		ct.FamilyNameField:  app.LastName,
		ct.ExternalRefField: reference,
	}
	// Optional fields are left out rather than sent empty.
	for field, v := range map[string]string{
		ct.EmailField:       app.Email,
		ct.MobileField:      app.Phone,
		ct.DateOfBirthField: app.DateOfBirth,
	} {
		if v != "" {
			body[field] = v
		}
	}
	m, _, err := c.call(ctx, http.MethodPost, c.contract.path(ct.CreateInvitePath, c.tenant, ""), nil, body)
	if err != nil {
		return nil, err
	}
	return c.orderFrom(m, app.Ref)
}

// findByReference looks a verification up by externalRefId. It returns nil
// without error when there is none (404 or no matching entry), or when the
// look-up is disabled.
func (c *Client) findByReference(ctx context.Context, reference, applicantRef string) (*providers.Order, error) {
	if !c.lookup {
		return nil, nil
	}
	ct := c.contract
	q := url.Values{ct.LookupQueryParam: {reference}}
	_, raw, err := c.call(ctx, http.MethodGet, ct.path(ct.LookupPath, c.tenant, ""), q, nil)
	if err != nil {
		// 404: no such verification. 405: no such call at this path (the
		// look-up is UNCONFIRMED); creating is then the only way forward.
		var pe *providers.ProviderError
		if errors.Is(err, providers.ErrNotFound) || (errors.As(err, &pe) && pe.HTTPStatus == http.StatusMethodNotAllowed) {
			return nil, nil
		}
		return nil, err
	}
	// The answer may be one verification or a list of them. Only an entry
	// that echoes our reference is trusted, so a look-up that ignored the
	// query can never hand us someone else's verification.
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, unreadable(http.StatusOK)
	}
	var candidates []any
	switch t := v.(type) {
	case []any:
		candidates = t
	case map[string]any:
		candidates = []any{t}
	}
	for _, cand := range candidates {
		obj, ok := cand.(map[string]any)
		if ok && getString(obj, ct.ExternalRefField) == reference && getString(obj, ct.VerificationIDField) != "" {
			return c.orderFrom(obj, applicantRef)
		}
	}
	return nil, nil
}

// orderFrom reads a verification object into an Order.
func (c *Client) orderFrom(m map[string]any, applicantRef string) (*providers.Order, error) {
	ct := c.contract
	id := getString(m, ct.VerificationIDField)
	link := getString(m, ct.InviteURLField)
	if id == "" || link == "" {
		return nil, &providers.ProviderError{
			Provider:   Name,
			HTTPStatus: http.StatusOK,
			Message:    "Truuth's answer had no verification id or invite link.",
		}
	}
	o := &providers.Order{
		OrderID: id,
		Status:  providers.StatusCreated,
		Links:   []providers.ApplicantLink{{ApplicantRef: applicantRef, URL: link}},
	}
	if s := getString(m, ct.ExpiresAtField); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			o.ExpiresAt = t
		}
	}
	return o, nil
}

// SendInvite asks Truuth to email the verification invite to the applicant
// (Send Verification Invite, R01).
func (c *Client) SendInvite(ctx context.Context, ref providers.OrderRef) error {
	return c.invite(ctx, c.contract.SendInvitePath, ref)
}

// ResendInvite asks Truuth to email the invite again, for an applicant who
// cannot find the first email (Resend Verification Invite, R01).
func (c *Client) ResendInvite(ctx context.Context, ref providers.OrderRef) error {
	return c.invite(ctx, c.contract.ResendInvitePath, ref)
}

func (c *Client) invite(ctx context.Context, path string, ref providers.OrderRef) error {
	if ref.OrderID == "" {
		return errors.New("truuth: OrderRef.OrderID is required")
	}
	_, _, err := c.call(ctx, http.MethodPost, c.contract.path(path, c.tenant, ref.OrderID), nil, map[string]any{})
	return err
}

// FetchStatus reads the verification result and returns it as one Update,
// mapped by the same rules as the Callback webhook.
func (c *Client) FetchStatus(ctx context.Context, ref providers.OrderRef) ([]providers.Update, error) {
	m, _, err := c.result(ctx, ref)
	if err != nil {
		return nil, err
	}
	raw := getString(m, c.contract.StatusField)
	if raw == "" {
		return nil, &providers.ProviderError{Provider: Name, HTTPStatus: http.StatusOK,
			Message: "Truuth's answer had no verification status."}
	}
	u := resultUpdate(ref.OrderID, raw, parseChecks(m, c.contract), c.contract)
	u.RawEvent = "result"
	return []providers.Update{u}, nil
}

// FetchReport reads the verification result as an identity Report. reportID
// is ignored: a verification has one result. Before the verification is done
// it returns a ProviderError wrapping providers.ErrNotFound.
func (c *Client) FetchReport(ctx context.Context, ref providers.OrderRef, _ string) (*providers.Report, error) {
	m, raw, err := c.result(ctx, ref)
	if err != nil {
		return nil, err
	}
	u := resultUpdate(ref.OrderID, getString(m, c.contract.StatusField), nil, c.contract)
	if u.Status != providers.StatusCompleted {
		return nil, &providers.ProviderError{Provider: Name, HTTPStatus: http.StatusOK,
			Message: "Truuth has no result for this verification yet.", Err: providers.ErrNotFound}
	}
	checks := parseChecks(m, c.contract)
	outcome, _ := judge(checks)
	return &providers.Report{
		ReportID: ref.OrderID,
		Kind:     providers.ReportIdentity,
		Identity: &providers.IdentityResult{Outcome: outcome, Checks: checks},
		Raw:      json.RawMessage(raw),
	}, nil
}

func (c *Client) result(ctx context.Context, ref providers.OrderRef) (map[string]any, []byte, error) {
	if ref.OrderID == "" {
		return nil, nil, errors.New("truuth: OrderRef.OrderID is required")
	}
	return c.call(ctx, http.MethodGet, c.contract.path(c.contract.ResultPath, c.tenant, ref.OrderID), nil, nil)
}

// FetchReportPDF calls Get Verification Report, which answers with a
// pre-signed URL to the PDF in base64 (R01), downloads it and returns the
// PDF bytes. A raw PDF body is accepted too.
func (c *Client) FetchReportPDF(ctx context.Context, ref providers.OrderRef, _ string) ([]byte, error) {
	if ref.OrderID == "" {
		return nil, errors.New("truuth: OrderRef.OrderID is required")
	}
	ct := c.contract
	m, _, err := c.call(ctx, http.MethodGet, ct.path(ct.ReportPath, c.tenant, ref.OrderID), nil, nil)
	if err != nil {
		return nil, err
	}
	link := getString(m, ct.ReportURLField)
	u, perr := url.Parse(link)
	if link == "" || perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, &providers.ProviderError{Provider: Name, HTTPStatus: http.StatusOK,
			Message: "Truuth's answer had no usable report link."}
	}
	// No credentials go to the pre-signed URL: it authorizes itself and may
	// be on another host (object storage).
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("truuth: report request: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := readLimited(resp.Body, maxPDFBody)
	if err != nil {
		return nil, &providers.ProviderError{Provider: Name, HTTPStatus: resp.StatusCode,
			Message: "The report file from Truuth was too large or cut off.", Retryable: true, Err: err}
	}
	if resp.StatusCode/100 != 2 {
		return nil, reportLinkError(resp)
	}
	pdf, err := decodePDF(body)
	if err != nil {
		return nil, &providers.ProviderError{Provider: Name, HTTPStatus: resp.StatusCode,
			Message: "The report file from Truuth is not a readable PDF.", Err: err}
	}
	return pdf, nil
}

// decodePDF accepts a raw PDF, or base64 of one: plain, wrapped in lines,
// as a JSON string or as a data: URI.
func decodePDF(b []byte) ([]byte, error) {
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	if bytes.HasPrefix(b, []byte("%PDF-")) {
		return b, nil
	}
	s := string(b)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, errors.New("report body is a broken JSON string")
		}
	}
	if strings.HasPrefix(s, "data:") {
		_, s, _ = strings.Cut(s, ",")
	}
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []interface {
		DecodeString(string) ([]byte, error)
	}{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		pdf, err := enc.DecodeString(s)
		if err == nil {
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				return nil, errors.New("decoded report is not a PDF")
			}
			if len(pdf) > maxPDF {
				return nil, errors.New("decoded report is too large")
			}
			return pdf, nil
		}
	}
	return nil, errors.New("report body is neither a PDF nor base64")
}

// Refresh implements providers.Verifier: Truuth has no refresh; a new
// identity check is a new invite.
func (c *Client) Refresh(context.Context, providers.OrderRef, providers.RefreshRequest) (*providers.Order, error) {
	return nil, fmt.Errorf("truuth: refresh: %w", providers.ErrNotSupported)
}

// Cancel implements providers.Verifier: no public source documents a call
// that cancels a Truuth verification (spec.md §7.5).
func (c *Client) Cancel(context.Context, providers.OrderRef) error {
	return fmt.Errorf("truuth: cancel: %w", providers.ErrNotSupported)
}

// call makes one API call with Basic credentials and returns the decoded
// JSON object (empty for an empty body) and the raw bytes.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body map[string]any) (map[string]any, []byte, error) {
	target := c.baseURL + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, nil, fmt.Errorf("truuth: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("truuth: build request: %w", err)
	}
	req.SetBasicAuth(c.apiKey, c.apiSecret)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := readLimited(resp.Body, maxJSONBody)
	if err != nil {
		if resp.StatusCode/100 == 2 {
			return nil, nil, &providers.ProviderError{Provider: Name, HTTPStatus: resp.StatusCode,
				Message: "Truuth's answer was too large or cut off.", Retryable: true, Err: err}
		}
		raw = nil // an error body we could not read whole: map the status alone
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, apiError(resp.StatusCode, resp.Header, raw, c.contract)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, raw, nil
	}
	m, err := decodeObject(raw)
	if err != nil && !errors.Is(err, errNotObject) {
		return nil, nil, unreadable(resp.StatusCode)
	}
	return m, raw, nil
}

// readLimited reads at most limit bytes and fails beyond, so a runaway body
// can neither exhaust memory nor be silently truncated.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errors.New("response body over the size limit")
	}
	return b, nil
}

package truv

import (
	"bytes"
	"context"
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

// Defaults for Config. The paths marked UNCONFIRMED come from spec.md §2.2,
// §2.7 and §8 ("Biggest unknowns"); change them in Config if production
// Truv answers elsewhere.
const (
	// DefaultBaseURL serves both sandbox and production: the secret's
	// prefix picks the environment (spec §2.1).
	DefaultBaseURL = "https://prod.truv.com"
	// DefaultOrderLookupPath is where the adapter looks an order up by
	// order_number before (re-)creating it. UNCONFIRMED: Truv documents an
	// order list endpoint but not this filter; the emulator supports it.
	DefaultOrderLookupPath = "/v1/orders/"
	// DefaultRefreshPath is the documented order refresh path (spec §2.7).
	// "{id}" is replaced by the original order id.
	DefaultRefreshPath = "/v1/orders/{id}/"
	// DemoRefreshPath is the path Truv's demo app calls instead. UNCONFIRMED
	// which one production accepts; the emulator accepts both.
	DemoRefreshPath = "/v1/orders/{id}/refresh/"
	// DefaultSSNField is the create-order field for the SSN in Truv's help
	// and LOS guides; the demo code sends "social_security_number".
	// UNCONFIRMED which is canonical (spec §2.2).
	DefaultSSNField = "ssn"
	// DefaultRefreshLimitCode is the error code of the emulator's 429 when
	// a connection has had 3 refreshes in 24 hours. UNCONFIRMED: Truv
	// documents the limit, not its error code.
	DefaultRefreshLimitCode = "refresh_limit_exceeded"
	// DefaultCreateAttempts is how many times a create is POSTed at most,
	// each retry only after a lookup proved the previous one did not land.
	DefaultCreateAttempts = 2

	maxJSONBody = 4 << 20  // bound for API answers
	maxPDFBody  = 20 << 20 // bound for report PDFs
)

// Config configures a Client. ClientID and AccessSecret are required.
type Config struct {
	// BaseURL is the API base URL without /v1; in sandbox mode the portal
	// passes its emulator's URL. Empty means DefaultBaseURL.
	BaseURL string
	// ClientID and AccessSecret are sent as X-Access-Client-Id and
	// X-Access-Secret (TRUV_CLIENT_ID, TRUV_ACCESS_SECRET). The access
	// secret also signs Truv's webhooks.
	ClientID     string
	AccessSecret string
	// PreviousSecrets are earlier access secrets still accepted on webhooks
	// while a rotation is under way (reliability.md W4).
	PreviousSecrets []string
	// TemplateID is the agency's Truv branding template; an order's
	// Options["template_id"] overrides it.
	TemplateID string
	// FirstNotificationDelayHours is sent with Truv-managed notifications
	// (default 0, spec §2.2).
	FirstNotificationDelayHours int
	// HTTPClient makes every call; nil means a client with a 15 s timeout.
	HTTPClient *http.Client
	// ReportRetryDelays are the waits before each GET of a new report,
	// which can briefly answer 404 (spec §2.6). nil means 0, 2 s, 4 s.
	ReportRetryDelays []time.Duration

	// OrderLookupPath is the order list used to find an order by
	// order_number (P5 idempotency). UNCONFIRMED; default
	// DefaultOrderLookupPath.
	OrderLookupPath string
	// RefreshPath is the refresh endpoint with "{id}" for the order id.
	// UNCONFIRMED; default DefaultRefreshPath (DemoRefreshPath is the
	// alternative).
	RefreshPath string
	// SSNField names the SSN field on order creation. UNCONFIRMED; default
	// DefaultSSNField.
	SSNField string
	// RefreshLimitCode is the error code that means the 3-per-24-hours
	// refresh limit was hit. UNCONFIRMED; default DefaultRefreshLimitCode.
	RefreshLimitCode string
	// Contract overrides the UNCONFIRMED paths and field names (TRUV_CONTRACT);
	// the four fields above, when set, win over it.
	Contract Contract
	// CreateAttempts bounds order-create POSTs (default
	// DefaultCreateAttempts). A retry happens only after a POST got no
	// answer and the lookup by order_number found nothing.
	CreateAttempts int
}

// Client is the Truv adapter: a providers.Verifier for API calls and a
// providers.WebhookReceiver for Truv's signed webhooks. It is safe for
// concurrent use.
type Client struct {
	base             string
	clientID         string
	accessSecret     string
	secrets          [][]byte // current first, then previous ones
	templateID       string
	notifyDelayHours int
	http             *http.Client
	reportDelays     []time.Duration
	lookupPath       string
	refreshPath      string
	ssnField         string
	refreshLimitCode string
	createAttempts   int
	now              func() time.Time
}

var (
	_ providers.Verifier        = (*Client)(nil)
	_ providers.WebhookReceiver = (*Client)(nil)
)

// New validates cfg and returns a Client. The error names the missing or
// invalid Config field.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("truv: Config.ClientID is required (TRUV_CLIENT_ID)")
	}
	if strings.TrimSpace(cfg.AccessSecret) == "" {
		return nil, errors.New("truv: Config.AccessSecret is required (TRUV_ACCESS_SECRET)")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("truv: Config.BaseURL %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	if cfg.FirstNotificationDelayHours < 0 {
		return nil, errors.New("truv: Config.FirstNotificationDelayHours must not be negative")
	}
	c := &Client{
		base:             base,
		clientID:         cfg.ClientID,
		accessSecret:     cfg.AccessSecret,
		templateID:       cfg.TemplateID,
		notifyDelayHours: cfg.FirstNotificationDelayHours,
		http:             cfg.HTTPClient,
		reportDelays:     cfg.ReportRetryDelays,
		lookupPath:       cfg.OrderLookupPath,
		refreshPath:      cfg.RefreshPath,
		ssnField:         cfg.SSNField,
		refreshLimitCode: cfg.RefreshLimitCode,
		createAttempts:   cfg.CreateAttempts,
		now:              time.Now,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 15 * time.Second}
	}
	if c.reportDelays == nil {
		c.reportDelays = []time.Duration{0, 2 * time.Second, 4 * time.Second}
	}
	if len(c.reportDelays) == 0 {
		return nil, errors.New("truv: Config.ReportRetryDelays must be nil or hold at least one delay")
	}
	ct, err := cfg.merged()
	if err != nil {
		return nil, err
	}
	c.lookupPath, c.refreshPath, c.ssnField, c.refreshLimitCode = ct.OrderLookupPath, ct.RefreshPath, ct.SSNField, ct.RefreshLimitCode
	if c.createAttempts <= 0 {
		c.createAttempts = DefaultCreateAttempts
	}
	c.secrets = append(c.secrets, []byte(cfg.AccessSecret))
	for _, s := range cfg.PreviousSecrets {
		if s != "" {
			c.secrets = append(c.secrets, []byte(s))
		}
	}
	return c, nil
}

// Name returns "truv".
func (c *Client) Name() string { return "truv" }

// Products returns income, employment and assets.
func (c *Client) Products() []providers.Product {
	return []providers.Product{providers.ProductIncome, providers.ProductEmployment, providers.ProductAssets}
}

// wireProduct maps a portal product onto Truv's product name.
func wireProduct(p providers.Product) (string, error) {
	switch p {
	case providers.ProductIncome, providers.ProductEmployment, providers.ProductAssets:
		return string(p), nil
	}
	return "", &providers.ProviderError{
		Provider: "truv",
		Message:  fmt.Sprintf("Truv cannot verify %q; choose another provider for it.", string(p)),
		Err:      providers.ErrNotSupported,
	}
}

// CreateOrder creates one hosted order for the one applicant in req
// (Truv takes one person per order; a household is one order per member
// grouped by external_user_id = CaseNumber).
//
// It is idempotent on req.Reference (sent as order_number): it first looks
// the order up, and when a POST gets no answer (timeout, reset) it looks it
// up again before any new POST, so a create the provider committed is never
// repeated (reliability.md P5).
func (c *Client) CreateOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	if len(req.Applicants) != 1 {
		return nil, invalidRequest("Truv takes exactly one applicant per order.", "applicants")
	}
	a := req.Applicants[0]
	if strings.TrimSpace(a.FirstName) == "" || strings.TrimSpace(a.LastName) == "" {
		return nil, invalidRequest("Truv needs the applicant's first and last name.", "first_name", "last_name")
	}
	if len(req.Products) == 0 {
		return nil, invalidRequest("Choose at least one product to verify.", "products")
	}
	products := make([]string, 0, len(req.Products))
	for _, p := range req.Products {
		w, err := wireProduct(p)
		if err != nil {
			return nil, err
		}
		products = append(products, w)
	}
	body := map[string]any{
		"products":   products,
		"first_name": a.FirstName,
		"last_name":  a.LastName,
		// Truv emails/texts the link itself unless told not to; the agency
		// may deliver share_url on its own (S01 "Agency-managed").
		"suppress_user_notifications": !req.ProviderNotifies,
	}
	if req.ProviderNotifies {
		body["first_notification_delay_hours"] = c.notifyDelayHours
	}
	setIf(body, "email", a.Email)
	setIf(body, "phone", a.Phone)
	setIf(body, "external_user_id", req.CaseNumber)
	setIf(body, "order_number", req.Reference)
	setIf(body, "locale", a.Language)
	setIf(body, c.ssnField, a.SSN)
	tpl := c.templateID
	if v := req.Options["template_id"]; v != "" {
		tpl = v
	}
	setIf(body, "template_id", tpl)

	o, err := c.postIdempotent(ctx, "/v1/orders/", body, req.Reference)
	if err != nil {
		return nil, err
	}
	return toOrder(o, a.Ref, ""), nil
}

// FindOrder looks the order up by its order_number (the portal's
// reference) and creates nothing (providers.OrderFinder). The lookup path is
// UNCONFIRMED (Contract.OrderLookupPath): a lookup Truv refuses as such is
// ErrNotSupported.
func (c *Client) FindOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	o, err := c.lookupOrder(ctx, req.Reference)
	switch {
	case err != nil && lookupUnsupported(err):
		return nil, fmt.Errorf("truv: order lookup refused: %w", providers.ErrNotSupported)
	case err != nil:
		return nil, err
	case o == nil:
		return nil, fmt.Errorf("truv: no order %s: %w", req.Reference, providers.ErrNotFound)
	}
	ref := ""
	if len(req.Applicants) > 0 {
		ref = req.Applicants[0].Ref
	}
	return toOrder(o, ref, ""), nil
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

// toOrder converts Truv's order into the portal's Order.
func toOrder(o *wireOrder, applicantRef, fallbackRefreshOf string) *providers.Order {
	st := mapOrderStatus(o.Status).status
	if st == "" {
		st = providers.StatusCreated
	}
	out := &providers.Order{
		OrderID:   o.ID,
		UserID:    string(o.UserID),
		Status:    st,
		ExpiresAt: parseTime(string(o.ExpiredAt)),
		RefreshOf: string(o.InitialOrder),
	}
	if out.RefreshOf == "" {
		out.RefreshOf = fallbackRefreshOf
	}
	if o.ShareURL != "" || o.ShortShareURL != "" {
		out.Links = []providers.ApplicantLink{{ApplicantRef: applicantRef, URL: o.ShareURL, ShortURL: o.ShortShareURL}}
	}
	return out
}

// postIdempotent POSTs an order-creating request (create or refresh) so that
// it lands at most once per reference. Without a reference it POSTs once.
func (c *Client) postIdempotent(ctx context.Context, path string, body any, reference string) (*wireOrder, error) {
	return providers.Create[wireOrder]{
		Reference:         reference,
		LookupFirst:       true,
		Lookup:            func(ctx context.Context) (*wireOrder, error) { return c.lookupOrder(ctx, reference) },
		LookupUnsupported: lookupUnsupported,
		Post: func(ctx context.Context) (*wireOrder, error) {
			var o wireOrder
			return &o, c.doJSON(ctx, http.MethodPost, path, nil, body, &o)
		},
		// The order id is "id" (Truv's demo reads it; spec.md corrections).
		// An answer without one cannot be followed up: say so rather than
		// store an order nobody can find.
		Check: func(o *wireOrder) error {
			if strings.TrimSpace(o.ID) == "" {
				return &providers.ProviderError{Provider: "truv", HTTPStatus: http.StatusOK, Code: "no_order_id",
					Message: "Truv accepted the order but its answer has no order id. Check the order in the Truv dashboard before sending again."}
			}
			return nil
		},
		Lost:     noAnswer,
		Attempts: c.createAttempts,
	}.Do(ctx)
}

// lookupOrder finds the order whose order_number is reference; nil, nil when
// there is none.
func (c *Client) lookupOrder(ctx context.Context, reference string) (*wireOrder, error) {
	var list wireOrderList
	q := url.Values{"order_number": {reference}}
	if err := c.doJSON(ctx, http.MethodGet, c.lookupPath, q, nil, &list); err != nil {
		return nil, err
	}
	// Compare ourselves: a server that ignores the filter returns other
	// orders too.
	for i := range list.Results {
		if string(list.Results[i].OrderNumber) == reference {
			return &list.Results[i], nil
		}
	}
	return nil, nil
}

// lookupUnsupported says the lookup endpoint itself was refused (it is
// UNCONFIRMED), so a first create may go ahead without it.
func lookupUnsupported(err error) bool {
	var pe *providers.ProviderError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.HTTPStatus {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	}
	return false
}

// FetchStatus reads GET /v1/orders/{id}/ and returns one update per
// employer or financial-account suborder (SubID = its id) followed by one
// for the order itself. RawEvent is RawEventPoll.
func (c *Client) FetchStatus(ctx context.Context, ref providers.OrderRef) ([]providers.Update, error) {
	o, err := c.order(ctx, ref.OrderID)
	if err != nil {
		return nil, err
	}
	orderAt := parseTime(o.UpdatedAt)
	var ups []providers.Update
	subs := append(append([]wireSuborder(nil), o.Employers...), o.FinancialAccounts...)
	for _, s := range subs {
		m := mapOrderStatus(s.Status)
		at := parseTime(s.UpdatedAt)
		if at.IsZero() {
			at = orderAt
		}
		detail := m.detail
		if s.CompanyName != "" && detail != "" {
			detail = s.CompanyName + ": " + detail
		}
		ups = append(ups, providers.Update{
			OrderID: o.ID, SubID: s.ID, RawEvent: RawEventPoll, RawStatus: s.Status,
			Status: m.status, Outcome: m.outcome, Detail: detail, At: at, ReportReady: m.reportReady, Unknown: m.status == "" && s.Status != "",
		})
	}
	m := mapOrderStatus(o.Status)
	ups = append(ups, providers.Update{
		OrderID: o.ID, RawEvent: RawEventPoll, RawStatus: o.Status,
		Status: m.status, Outcome: m.outcome, Detail: m.detail, At: orderAt, ReportReady: m.reportReady, Unknown: m.status == "" && o.Status != "",
	})
	return ups, nil
}

// order reads one order.
func (c *Client) order(ctx context.Context, orderID string) (*wireOrder, error) {
	if orderID == "" {
		return nil, invalidRequest("The order has no Truv order id.", "order_id")
	}
	var o wireOrder
	if err := c.doJSON(ctx, http.MethodGet, "/v1/orders/"+url.PathEscape(orderID)+"/", nil, nil, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// Refresh asks Truv for fresh data on a completed order without a new link
// (spec §2.7): one product, optionally some employer suborder ids. Truv
// answers with a new order whose initial_order is the original; the result
// arrives by webhook (order-status-updated, or order-refresh-failed).
//
// When Truv refuses because the connection had 3 refreshes in 24 hours, the
// error is a *providers.ProviderError wrapping providers.ErrLimitReached.
// With req.Reference set (sent as order_number, UNCONFIRMED on refresh) the
// call is idempotent like CreateOrder.
func (c *Client) Refresh(ctx context.Context, ref providers.OrderRef, req providers.RefreshRequest) (*providers.Order, error) {
	if ref.OrderID == "" {
		return nil, invalidRequest("The order has no Truv order id.", "order_id")
	}
	if req.Product == "" {
		return nil, invalidRequest("Choose the product to refresh.", "products")
	}
	p, err := wireProduct(req.Product)
	if err != nil {
		return nil, err
	}
	body := map[string]any{"products": []string{p}}
	if len(req.Employers) > 0 {
		emps := make([]map[string]string, 0, len(req.Employers))
		for _, id := range req.Employers {
			emps = append(emps, map[string]string{"id": id})
		}
		body["employers"] = emps
	}
	setIf(body, "order_number", req.Reference)
	path := strings.ReplaceAll(c.refreshPath, "{id}", url.PathEscape(ref.OrderID))
	o, err := c.postIdempotent(ctx, path, body, req.Reference)
	if err != nil {
		return nil, err
	}
	out := toOrder(o, "", ref.OrderID)
	if out.UserID == "" {
		out.UserID = ref.UserID
	}
	return out, nil
}

// Cancel cancels the order (POST /v1/orders/{id}/cancel/). An unknown order
// is a *providers.ProviderError wrapping providers.ErrNotFound.
func (c *Client) Cancel(ctx context.Context, ref providers.OrderRef) error {
	if ref.OrderID == "" {
		return invalidRequest("The order has no Truv order id.", "order_id")
	}
	return c.doJSON(ctx, http.MethodPost, "/v1/orders/"+url.PathEscape(ref.OrderID)+"/cancel/", nil, nil, nil)
}

// answer is an HTTP response read in full (bounded).
type answer struct {
	status int
	header http.Header
	body   []byte
}

// send makes one API call. Any HTTP answer is returned as is; no answer
// (network error, timeout, a body cut short) is a retryable ProviderError
// with HTTPStatus 0 that noAnswer recognises.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any, limit int64) (*answer, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("truv: encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("truv: build request: %w", err)
	}
	req.Header.Set("X-Access-Client-Id", c.clientID)
	req.Header.Set("X-Access-Secret", c.accessSecret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, unreachable(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, unreachable(err)
	}
	if int64(len(body)) > limit {
		return nil, &providers.ProviderError{
			Provider: "truv", HTTPStatus: resp.StatusCode,
			Message: "Truv sent an answer larger than the portal accepts.",
		}
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// doJSON sends a JSON call and decodes a 2xx answer into out (if non-nil).
func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	a, err := c.send(ctx, method, path, query, in, maxJSONBody)
	if err != nil {
		return err
	}
	if a.status < 200 || a.status > 299 {
		return c.apiError(a)
	}
	if out == nil || len(bytes.TrimSpace(a.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return &providers.ProviderError{
			Provider: "truv", HTTPStatus: a.status,
			Message: "Truv sent an answer the portal could not read.", Err: err,
		}
	}
	return nil
}

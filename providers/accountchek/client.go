// Package accountchek is the AccountChek (Informative Research / FormFree)
// provider: an adapter for the Verifier REST API v1 (VOA assets and VOIE
// income/employment), the postback (webhook) parser, the status mapping, and
// a local emulator of the API and of the borrower site for sandbox mode.
//
// Everything here is built from /work/shared/providers/spec.md §4 and §7.4
// and the vendor's postback document. Items the spec marks UNCONFIRMED are
// Config fields with the spec's best guess as the default.
package accountchek

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"caseverify/providers"
)

// Name is the provider slug.
const Name = "accountchek"

// DefaultBaseURL is the production Verifier API. The client-testing (CTE)
// environment is https://verifierapi.accountchek.net.
const DefaultBaseURL = "https://verifierapi.accountchek.com"

// Default paths of calls the spec marks UNCONFIRMED. "{orderId}" and
// "{reportId}" are replaced by the escaped ids.
const (
	// DefaultVOAStatusPath is the VOA "Check Status" call, inferred from the
	// documented VOIE one (spec §4.2.6).
	DefaultVOAStatusPath = "/v1/accountchekorders/{orderId}/voa"
	// DefaultVOIEReportsPath lists VOIE reports, newest first (INFERENCE,
	// spec §4.2.7, by analogy with …/voa/reports).
	DefaultVOIEReportsPath = "/v1/accountchekorders/{orderId}/voe/reports"
	// DefaultVOIEReportPath is one VOIE report, JSON or PDF by Accept.
	DefaultVOIEReportPath = "/v1/accountchekorders/{orderId}/voe/reports/{reportId}"
	// DefaultVOARefreshPath is VOA "Generate Report" (POST).
	DefaultVOARefreshPath = "/v1/accountchekorders/{orderId}/voa/reports"
	// DefaultVOIERefreshPath is VOIE "Generate Report" (POST).
	DefaultVOIERefreshPath = "/v1/accountchekorders/{orderId}/voe/reports"
	// DefaultVOIEReportIDField is the JSON field of the VOIE status answer
	// that holds the report id once the status is 607. It is named like the
	// postback field; the spec has no source for the status answer.
	DefaultVOIEReportIDField = "voeReportId"
	// DefaultReferenceLookupParam is the list filter used to find an order
	// by referenceNumber before re-creating it (UNCONFIRMED filter name).
	DefaultReferenceLookupParam = "referenceNumber"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the Verifier API base URL without "/v1"; in sandbox mode the
	// portal passes its emulator's URL. Default DefaultBaseURL.
	BaseURL string
	// HTTPClient makes every call; nil means a client with a 15 s timeout.
	HTTPClient *http.Client
	// Username and Password are the verifier user's HTTP Basic credentials
	// (ACCOUNTCHEK_USERNAME, ACCOUNTCHEK_PASSWORD). The user's role decides
	// which orders it can see.
	Username string
	Password string
	// AllowedSourceCIDRs optionally restricts where postbacks may come from
	// (AccountChek gives its IP list on request). Bare IPs are allowed.
	// Empty means any source; the per-order URL token still applies.
	AllowedSourceCIDRs []string

	// VOARequestType is "full" (JSON and PDF reports, the default) or
	// "lite" (top-level account JSON only). OrderRequest.Options
	// "voa_request_type" overrides it per order.
	VOARequestType string
	// DaysBack is the VOA transaction history in days (default 90; option
	// "days_back").
	DaysBack int
	// AccountMonitoring is the VOA refresh period in days: 30 (default), 60
	// or 90 (option "account_monitoring"). Report refreshes are possible
	// only while it lasts.
	AccountMonitoring int

	// ReferenceLookupParam is the query parameter of GET
	// /v1/accountchekorders used to find an order by referenceNumber before a
	// create is retried (UNCONFIRMED; default "referenceNumber"). Matches are
	// re-checked on the client side in case the API ignores the filter.
	ReferenceLookupParam string
	// DisableReferenceLookup turns that lookup off, for accounts where the
	// list call is not available. Creates are then not idempotent.
	DisableReferenceLookup bool
	// VOAStatusPath is the VOA "Check Status" call (UNCONFIRMED; default
	// DefaultVOAStatusPath).
	VOAStatusPath string
	// VOIEReportIDField names the VOIE status answer's report id field
	// (UNCONFIRMED; default DefaultVOIEReportIDField). When the field is
	// absent the adapter lists VOIEReportsPath and takes the newest.
	VOIEReportIDField string
	// VOIEReportsPath lists VOIE reports, newest first (UNCONFIRMED).
	VOIEReportsPath string
	// VOIEReportPath fetches one VOIE report as JSON or PDF (UNCONFIRMED).
	VOIEReportPath string
	// VOARefreshPath is the VOA "Generate Report" call (UNCONFIRMED).
	VOARefreshPath string
	// VOIERefreshPath is the VOIE "Generate Report" call (UNCONFIRMED).
	VOIERefreshPath string

	// Contract overrides the UNCONFIRMED paths and field names
	// (ACCOUNTCHEK_CONTRACT); the Config fields above, when set, win.
	Contract Contract

	// Now is the clock used for ExpiresAt; nil means time.Now.
	Now func() time.Time
}

// Client is the AccountChek adapter. It is safe for concurrent use.
type Client struct {
	cfg            Config
	baseURL        string
	allowedSources []netip.Prefix
}

// Compile-time checks that Client satisfies the portal's contract.
var (
	_ providers.Verifier        = (*Client)(nil)
	_ providers.WebhookReceiver = (*Client)(nil)
)

// New validates cfg, fills in defaults and returns a Client. Errors name the
// missing or invalid field.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, errors.New("accountchek: Config.BaseURL must be an absolute http(s) URL")
	}
	if cfg.Username == "" {
		return nil, errors.New("accountchek: Config.Username (ACCOUNTCHEK_USERNAME) is required")
	}
	if cfg.Password == "" {
		return nil, errors.New("accountchek: Config.Password (ACCOUNTCHEK_PASSWORD) is required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.VOARequestType == "" {
		cfg.VOARequestType = "full"
	}
	if cfg.DaysBack == 0 {
		cfg.DaysBack = 90
	}
	if cfg.AccountMonitoring == 0 {
		cfg.AccountMonitoring = 30
	}
	if err := checkVOAOptions(cfg.VOARequestType, cfg.DaysBack, cfg.AccountMonitoring); err != nil {
		return nil, fmt.Errorf("accountchek: Config.%w", err)
	}
	cfg.Contract.apply(&cfg)
	defaults := []struct {
		field, def string
		dst        *string
		needReport bool
	}{
		{"VOAStatusPath", DefaultVOAStatusPath, &cfg.VOAStatusPath, false},
		{"VOIEReportsPath", DefaultVOIEReportsPath, &cfg.VOIEReportsPath, false},
		{"VOIEReportPath", DefaultVOIEReportPath, &cfg.VOIEReportPath, true},
		{"VOARefreshPath", DefaultVOARefreshPath, &cfg.VOARefreshPath, false},
		{"VOIERefreshPath", DefaultVOIERefreshPath, &cfg.VOIERefreshPath, false},
	}
	for _, d := range defaults {
		if *d.dst == "" {
			*d.dst = d.def
		}
		p := *d.dst
		if !strings.HasPrefix(p, "/") || !strings.Contains(p, "{orderId}") {
			return nil, fmt.Errorf("accountchek: Config.%s must start with / and contain {orderId}", d.field)
		}
		if d.needReport && !strings.Contains(p, "{reportId}") {
			return nil, fmt.Errorf("accountchek: Config.%s must contain {reportId}", d.field)
		}
	}
	if cfg.VOIEReportIDField == "" {
		cfg.VOIEReportIDField = DefaultVOIEReportIDField
	}
	if cfg.ReferenceLookupParam == "" {
		cfg.ReferenceLookupParam = DefaultReferenceLookupParam
	}
	// Paths carry "/v1"; a base URL given with it is accepted too.
	c := &Client{cfg: cfg, baseURL: strings.TrimSuffix(strings.TrimRight(cfg.BaseURL, "/"), "/v1")}
	for _, s := range cfg.AllowedSourceCIDRs {
		prefix, err := parsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("accountchek: Config.AllowedSourceCIDRs: %q is not a CIDR or IP address", s)
		}
		c.allowedSources = append(c.allowedSources, prefix)
	}
	return c, nil
}

// parsePrefix parses "10.0.0.0/8" or a bare IP (as a single-address prefix).
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// checkVOAOptions validates the VOA attach options. The error starts with
// the field name so callers can prefix "Config." or "option ".
func checkVOAOptions(requestType string, daysBack, monitoring int) error {
	switch {
	case requestType != "full" && requestType != "lite":
		return errors.New(`VOARequestType must be "full" or "lite"`)
	case daysBack < 1 || daysBack > 730:
		return errors.New("DaysBack must be between 1 and 730")
	case monitoring != 30 && monitoring != 60 && monitoring != 90:
		return errors.New("AccountMonitoring must be 30, 60 or 90")
	}
	return nil
}

// Name returns "accountchek".
func (c *Client) Name() string { return Name }

// Products lists what AccountChek verifies: assets (VOA) and income and
// employment (VOIE).
func (c *Client) Products() []providers.Product {
	return []providers.Product{providers.ProductAssets, providers.ProductIncome, providers.ProductEmployment}
}

// wireOrder is the AccountChek order as the API returns it (S03).
type wireOrder struct {
	ID              string  `json:"id"`
	Created         string  `json:"created"`
	Status          string  `json:"status"`
	LoginURL        string  `json:"loginUrl"`
	DaysRemaining   float64 `json:"daysRemaining"`
	ReferenceNumber string  `json:"referenceNumber"`
}

// createBody is the create-order request (S03). The full SSN is never
// sent: VOA and VOIE need only the last 4.
type createBody struct {
	Email           string `json:"email"`
	Last4SSN        string `json:"last4SSN"`
	ReferenceNumber string `json:"referenceNumber"`
	FirstName       string `json:"firstName"`
	LastName        string `json:"lastName"`
	NotificationURL string `json:"notificationUrl,omitempty"`
	PhoneNumber     string `json:"phoneNumber,omitempty"`
	DateOfBirth     string `json:"dateOfBirth,omitempty"`
	EmployerName    string `json:"employerName,omitempty"`
}

// voaBody attaches the VOA service (spec §4.2.2).
type voaBody struct {
	RequestType       string `json:"requestType"`
	DaysBack          int    `json:"daysBack"`
	AccountMonitoring int    `json:"accountMonitoring"`
	ReportType        string `json:"reportType"`
}

// statusBody changes an order's status (open, cancel, close).
type statusBody struct {
	Status string `json:"status"`
}

// checkRef validates the order id the portal passes back: it must be an
// AccountChek GUID, so nothing else ever ends up in a request path.
func checkRef(ref providers.OrderRef) error {
	if !isGUID(ref.OrderID) {
		return errors.New("accountchek: OrderRef.OrderID is not an AccountChek order id")
	}
	return nil
}

// orderPath returns /v1/accountchekorders/{id}[suffix] with the id escaped.
func orderPath(orderID, suffix string) string {
	return "/v1/accountchekorders/" + url.PathEscape(orderID) + suffix
}

// expand fills a configured path template.
func expand(tmpl, orderID, reportID string) string {
	return strings.NewReplacer("{orderId}", url.PathEscape(orderID), "{reportId}", url.PathEscape(reportID)).Replace(tmpl)
}

// ReferenceNumber is the referenceNumber the adapter sends for req:
// "<CaseNumber>/<Reference>". AccountChek has one free-text reference
// ("typically a loan number"); the case number keeps orders findable by case
// in AccountChek's dashboard, and the portal's unique Reference makes the
// value unique per order so that a create retried after a timeout can find
// the first attempt (OrderRequest.Reference is the idempotency key).
func ReferenceNumber(req providers.OrderRequest) string {
	switch {
	case req.CaseNumber == "":
		return req.Reference
	case req.Reference == "":
		return req.CaseNumber
	}
	return req.CaseNumber + "/" + req.Reference
}

// CreateOrder creates an AccountChek order for one applicant, attaches VOA
// (assets) and/or VOIE (income, employment), and opens it, which makes
// AccountChek send the invite. The link is the order's loginUrl.
//
// Idempotency: unless DisableReferenceLookup is set, it first looks for an
// order with the same ReferenceNumber. An opened (or later) one is returned
// as is; one left "building" by an interrupted attempt is canceled and a new
// one created. If any step after the create fails, the new order is canceled
// so nothing is left half-created, and the step's error is returned.
func (c *Client) CreateOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	if len(req.Applicants) != 1 {
		return nil, errors.New("accountchek: an AccountChek order is for exactly one household member")
	}
	var wantVOA, wantVOIE bool
	for _, p := range req.Products {
		switch p {
		case providers.ProductAssets:
			wantVOA = true
		case providers.ProductIncome, providers.ProductEmployment:
			wantVOIE = true
		default:
			return nil, fmt.Errorf("%w: AccountChek cannot verify %q", providers.ErrNotSupported, p)
		}
	}
	if !wantVOA && !wantVOIE {
		return nil, errors.New("accountchek: choose assets, income or employment")
	}
	voa, err := c.voaOptions(req.Options)
	if err != nil {
		return nil, err
	}
	ref := ReferenceNumber(req)
	if ref == "" {
		return nil, errors.New("accountchek: OrderRequest.Reference or CaseNumber is required")
	}
	if !c.cfg.DisableReferenceLookup {
		existing, err := c.findByReference(ctx, ref)
		if err != nil {
			return nil, err
		}
		if existing != nil {
			switch strings.ToLower(existing.Status) {
			case "building":
				// A previous attempt died before opening it: start clean.
				c.cleanup(ctx, existing.ID)
			default:
				return c.orderFrom(*existing, req.Applicants[0].Ref), nil
			}
		}
	}

	a := req.Applicants[0]
	body := createBody{
		Email:           a.Email,
		Last4SSN:        a.SSNLast4,
		ReferenceNumber: ref,
		FirstName:       a.FirstName,
		LastName:        a.LastName,
		// AccountChek requires https:// here. In sandbox mode the portal's
		// own URL is plain http on loopback, which the emulator accepts.
		NotificationURL: req.WebhookURL,
		PhoneNumber:     nationalPhone(a.Phone),
		DateOfBirth:     a.DateOfBirth,
	}
	if body.Last4SSN == "" && len(a.SSN) >= 4 {
		body.Last4SSN = a.SSN[len(a.SSN)-4:]
	}
	if len(req.Employers) > 0 {
		body.EmployerName = req.Employers[0]
	}
	var created wireOrder
	if err := c.callJSON(ctx, apiRequest{method: http.MethodPost, path: "/v1/accountchekorders", body: body}, &created); err != nil {
		return nil, err
	}
	id := strings.ToLower(created.ID)
	if !isGUID(id) {
		return nil, &providers.ProviderError{Provider: Name, HTTPStatus: http.StatusCreated,
			Message: "AccountChek created the order but sent no usable order ID."}
	}
	opened, err := c.attachAndOpen(ctx, id, wantVOA, wantVOIE, voa)
	if err != nil {
		c.cleanup(ctx, id)
		return nil, err
	}
	if opened.LoginURL == "" {
		opened.LoginURL = created.LoginURL
	}
	return c.orderFrom(opened, a.Ref), nil
}

// FindOrder looks the order up by referenceNumber and creates nothing
// (providers.OrderFinder). An order still "building" (a create that died
// before opening it: the applicant got no invite) counts as none. The
// lookup filter is UNCONFIRMED (Config.ReferenceLookupParam); with
// DisableReferenceLookup it is ErrNotSupported.
func (c *Client) FindOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	if c.cfg.DisableReferenceLookup {
		return nil, fmt.Errorf("accountchek: reference lookup turned off: %w", providers.ErrNotSupported)
	}
	ref := ReferenceNumber(req)
	o, err := c.findByReference(ctx, ref)
	if err != nil {
		return nil, err
	}
	if o == nil || strings.EqualFold(o.Status, "building") {
		return nil, fmt.Errorf("accountchek: no order %s: %w", ref, providers.ErrNotFound)
	}
	app := ""
	if len(req.Applicants) > 0 {
		app = req.Applicants[0].Ref
	}
	return c.orderFrom(*o, app), nil
}

// attachAndOpen attaches the requested services and opens the order.
func (c *Client) attachAndOpen(ctx context.Context, id string, wantVOA, wantVOIE bool, voa voaBody) (wireOrder, error) {
	if wantVOA {
		if err := c.callJSON(ctx, apiRequest{method: http.MethodPost, path: orderPath(id, "/voa"), body: voa}, nil); err != nil {
			return wireOrder{}, err
		}
	}
	if wantVOIE {
		// The VOE attach takes a body that is required but empty (spec §4.2.3).
		if err := c.callJSON(ctx, apiRequest{method: http.MethodPost, path: orderPath(id, "/voe"), body: struct{}{}}, nil); err != nil {
			return wireOrder{}, err
		}
	}
	var opened wireOrder
	err := c.callJSON(ctx, apiRequest{method: http.MethodPatch, path: orderPath(id, ""), body: statusBody{"opened"}}, &opened)
	opened.ID = id
	return opened, err
}

// cleanup cancels an order left half-created. It runs even when ctx has
// expired (the usual reason a step failed), with its own short deadline.
// A failure is not reported: the next create with the same Reference finds
// the order still "building" and cancels it then.
func (c *Client) cleanup(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = c.callJSON(ctx, apiRequest{method: http.MethodPatch, path: orderPath(id, ""), body: statusBody{"canceled"}}, nil)
}

// findByReference returns the newest not-canceled order whose
// referenceNumber is exactly ref, or nil.
func (c *Client) findByReference(ctx context.Context, ref string) (*wireOrder, error) {
	var list []wireOrder
	q := url.Values{c.cfg.ReferenceLookupParam: {ref}}
	if err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: "/v1/accountchekorders", query: q}, &list); err != nil {
		return nil, err
	}
	var best *wireOrder
	for i := range list {
		o := &list[i]
		st := strings.ToLower(o.Status)
		if o.ReferenceNumber != ref || st == "canceled" || !isGUID(o.ID) {
			continue
		}
		if best == nil || o.Created > best.Created { // RFC 3339 UTC strings sort by time
			best = o
		}
	}
	if best == nil {
		return nil, nil
	}
	id := strings.ToLower(best.ID)
	if best.LoginURL == "" { // list entries may be abbreviated
		var full wireOrder
		if err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: orderPath(id, "")}, &full); err != nil {
			return nil, err
		}
		best = &full
	}
	best.ID = id
	return best, nil
}

// orderFrom converts an API order into the portal's Order.
func (c *Client) orderFrom(o wireOrder, applicantRef string) *providers.Order {
	out := &providers.Order{
		OrderID: strings.ToLower(o.ID),
		Status:  mapOrderStatus(o.Status, false),
		Links:   []providers.ApplicantLink{{ApplicantRef: applicantRef, URL: o.LoginURL}},
	}
	if o.DaysRemaining > 0 {
		out.ExpiresAt = c.cfg.Now().Add(time.Duration(o.DaysRemaining * float64(24*time.Hour))).Truncate(time.Second)
	}
	return out
}

// voaOptions builds the VOA attach body from the config and the per-order
// options "voa_request_type", "days_back" and "account_monitoring".
func (c *Client) voaOptions(opts map[string]string) (voaBody, error) {
	v := voaBody{RequestType: c.cfg.VOARequestType, DaysBack: c.cfg.DaysBack, AccountMonitoring: c.cfg.AccountMonitoring, ReportType: "voa"}
	if s := opts["voa_request_type"]; s != "" {
		v.RequestType = s
	}
	for key, dst := range map[string]*int{"days_back": &v.DaysBack, "account_monitoring": &v.AccountMonitoring} {
		if s := opts[key]; s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return v, fmt.Errorf("accountchek: option %s must be a number", key)
			}
			*dst = n
		}
	}
	if err := checkVOAOptions(v.RequestType, v.DaysBack, v.AccountMonitoring); err != nil {
		return v, fmt.Errorf("accountchek: option %w", err)
	}
	return v, nil
}

// nationalPhone turns a US E.164 number into the 10 digits a US service
// expects; other numbers pass unchanged. (AccountChek's phone format is
// UNCONFIRMED; it is used for IdChek texts, which this portal does not order.)
func nationalPhone(e164 string) string {
	if len(e164) == 12 && strings.HasPrefix(e164, "+1") {
		return e164[2:]
	}
	return e164
}

// NewSSOURL asks AccountChek for a fresh borrower sign-in URL for the order,
// for when the first link expired (service status 5010). The portal sends
// it to the applicant as a new link.
func (c *Client) NewSSOURL(ctx context.Context, ref providers.OrderRef) (string, error) {
	if err := checkRef(ref); err != nil {
		return "", err
	}
	var out struct {
		URL string `json:"url"`
	}
	if err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: orderPath(ref.OrderID, "/ssoUrl")}, &out); err != nil {
		return "", err
	}
	u, err := url.Parse(out.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", &providers.ProviderError{Provider: Name, HTTPStatus: http.StatusOK,
			Message: "AccountChek did not send a usable sign-in link."}
	}
	return out.URL, nil
}

// Refresh asks AccountChek to generate a new report from the connection it
// keeps while account monitoring lasts ("Generate Report"; VOA for assets,
// VOIE for income/employment). AccountChek refreshes in place: the returned
// Order has the SAME OrderID, RefreshOf set to that same id, no new links,
// and status in_progress; the new report arrives by postback and FetchStatus
// like the first one. When monitoring has ended AccountChek refuses (422),
// and Refresh returns an error wrapping providers.ErrLimitReached: the
// applicant needs a new link.
func (c *Client) Refresh(ctx context.Context, ref providers.OrderRef, req providers.RefreshRequest) (*providers.Order, error) {
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	tmpl := c.cfg.VOARefreshPath
	switch req.Product {
	case "", providers.ProductAssets:
	case providers.ProductIncome, providers.ProductEmployment:
		tmpl = c.cfg.VOIERefreshPath
	default:
		return nil, fmt.Errorf("%w: AccountChek cannot refresh %q", providers.ErrNotSupported, req.Product)
	}
	err := c.callJSON(ctx, apiRequest{method: http.MethodPost, path: expand(tmpl, ref.OrderID, ""), body: struct{}{}}, nil)
	var pe *providers.ProviderError
	if errors.As(err, &pe) && pe.HTTPStatus == http.StatusUnprocessableEntity {
		reason := "account monitoring for this order has ended."
		if general, ok := strings.CutPrefix(pe.Message, rejectedPrefix); ok {
			reason = general // AccountChek's own reason, already scrubbed
		}
		pe.Message = "AccountChek will not refresh this report: " + reason + " Send the applicant a new link instead."
		pe.Err = providers.ErrLimitReached
		return nil, pe
	}
	if err != nil {
		return nil, err
	}
	return &providers.Order{OrderID: ref.OrderID, RefreshOf: ref.OrderID, Status: providers.StatusInProgress}, nil
}

// Cancel ends the order at AccountChek: "canceled" while it is building or
// opened (the borrower has not started), "closed" once it is in progress
// (AccountChek allows canceling only before, spec §4.2.8). Both are
// irreversible. An order already closed or canceled is left alone.
func (c *Client) Cancel(ctx context.Context, ref providers.OrderRef) error {
	if err := checkRef(ref); err != nil {
		return err
	}
	var o wireOrder
	if err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: orderPath(ref.OrderID, "")}, &o); err != nil {
		return err
	}
	target := "closed"
	switch strings.ToLower(o.Status) {
	case "closed", "canceled":
		return nil
	case "building", "opened":
		target = "canceled"
	}
	return c.callJSON(ctx, apiRequest{method: http.MethodPatch, path: orderPath(ref.OrderID, ""), body: statusBody{target}}, nil)
}

package payscore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"caseverify/providers"
)

// Name is the provider slug the portal uses for Payscore.
const Name = "payscore"

// DefaultBaseURL is Payscore's production API host [P01]. The staging host is
// https://staging.api.payscore.com.
const DefaultBaseURL = "https://api.payscore.com"

// TokenLifetime is how long a Payscore JWT lasts [P01].
const TokenLifetime = 30 * time.Minute

// tokenRenewMargin renews a cached token this long before it expires, so a
// call that starts just before expiry does not arrive with a dead token.
const tokenRenewMargin = 2 * time.Minute

// ReportLifetime is how long Payscore keeps a report after the group
// completes (FCRA, payscore-webhooks.txt REPORT_EXPIRED).
const ReportLifetime = 14 * 24 * time.Hour

// InviteLifetime is how long an unfinished invite stays open
// (payscore-webhooks.txt INVITE_EXPIRED).
const InviteLifetime = 14 * 24 * time.Hour

// Response size limits: API answers are small JSON; a PDF can be larger.
const (
	maxBodyBytes = 4 << 20
	maxPDFBytes  = 20 << 20
)

// ErrReportExpired says Payscore answered 410 Gone for a report: it is past
// its 14-day life and cannot be fetched again. It wraps providers.ErrNotFound
// so callers that only know the shared sentinels still treat it as gone.
var ErrReportExpired = fmt.Errorf("payscore report expired: %w", providers.ErrNotFound)

// Property is the placeholder property sent with a screening group. Payscore
// is built for rentals and requires a property; agencies verifying income for
// other programs have none, so the agency's own name stands in for it.
// UNCONFIRMED: the legacy field names; these are the applicant-group API's
// names (name, street_address, city, state, zip_code, unit) [P02].
type Property struct {
	Name          string `json:"name"`
	StreetAddress string `json:"street_address"`
	City          string `json:"city"`
	State         string `json:"state"`
	ZipCode       string `json:"zip_code"`
	Unit          string `json:"unit,omitempty"`
}

// Config configures a Client.
type Config struct {
	// BaseURL is the API base URL; in sandbox mode the portal passes its
	// emulator's URL. Empty means DefaultBaseURL.
	BaseURL string
	// ClientID and SecretKey are the tenant credentials for
	// POST /api/v1/tenants/auth. Both are required.
	ClientID  string
	SecretKey string
	// WebhookSecret is the HMAC key of the Verification-Signature header.
	// UNCONFIRMED: the docs only say "your secret key", which may be the API
	// secret key or a separate one; empty means SecretKey.
	WebhookSecret string
	// HTTPClient makes every outbound call; nil means a client with a 15 s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock used for token expiry and Retry-After dates; nil
	// means time.Now.
	Now func() time.Time
	// Contract overrides the UNCONFIRMED paths and field names (see
	// Contract); zero fields keep DefaultContract's values.
	Contract Contract
	// Logger gets what the adapter must report (a lookup after a lost
	// create answer that failed), never bodies or PII; nil discards.
	Logger *slog.Logger
	// Property is the placeholder property for every group; empty fields may
	// be overridden per order with OrderRequest.Options "property_name",
	// "property_street_address", "property_city", "property_state",
	// "property_zip_code" and "property_unit". An empty name falls back to
	// the agency name.
	Property Property
}

// Client talks to Payscore's legacy screening-group API and receives its
// webhooks. It is safe for concurrent use.
type Client struct {
	baseURL       string
	clientID      string
	secretKey     string
	webhookSecret []byte
	http          *http.Client
	now           func() time.Time
	contract      Contract
	property      Property
	log           *slog.Logger

	tok tokenCache
}

var (
	_ providers.Verifier        = (*Client)(nil)
	_ providers.WebhookReceiver = (*Client)(nil)
)

// New validates cfg and returns a Client. It returns an error naming the
// first missing or invalid field.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("payscore: Config.ClientID is required")
	}
	if cfg.SecretKey == "" {
		return nil, errors.New("payscore: Config.SecretKey is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("payscore: Config.BaseURL must be an absolute http(s) URL")
	}
	c := &Client{
		baseURL:       base,
		clientID:      cfg.ClientID,
		secretKey:     cfg.SecretKey,
		webhookSecret: []byte(cfg.WebhookSecret),
		http:          cfg.HTTPClient,
		now:           cfg.Now,
		property:      cfg.Property,
		log:           cfg.Logger,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if len(c.webhookSecret) == 0 {
		c.webhookSecret = []byte(cfg.SecretKey)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 15 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.contract, err = cfg.Contract.Validate(); err != nil {
		return nil, err
	}
	c.contract.CancelMethod = strings.ToUpper(c.contract.CancelMethod)
	return c, nil
}

// Name returns "payscore".
func (c *Client) Name() string { return Name }

// Products returns income and assets: Payscore reads income and balances from
// bank transactions.
func (c *Client) Products() []providers.Product {
	return []providers.Product{providers.ProductIncome, providers.ProductAssets}
}

// wire types of the legacy screening-group API.

type screeningOut struct {
	ID              string `json:"id"`
	FirstName       string `json:"applicant_first_name"`
	LastName        string `json:"applicant_last_name"`
	Email           string `json:"applicant_email"`
	ReasonCompleted string `json:"reason_completed"`
	ScreeningStatus string `json:"screening_status"`
}

type groupOut struct {
	ID                 string            `json:"id"`
	Screenings         []json.RawMessage `json:"screenings"`
	Status             string            `json:"status"`
	IsReportExpired    *bool             `json:"is_report_expired"`
	CreatedAtTimestamp float64           `json:"created_at_timestamp"`
}

// GivesLinks says whether the portal gets each applicant's hosted link from
// Payscore (Contract.ApplicantURLField is set). Without one, Payscore sends
// the invitations itself and no other channel can carry them.
func (c *Client) GivesLinks() bool { return c.contract.ApplicantURLField != "" }

// CreateOrder creates a screening group with one screening per applicant,
// built only from the fields Payscore documents [P06]; the applicant and
// property field names are the contract's (UNCONFIRMED). It returns one
// ApplicantLink per applicant in request order: the screening id, and the
// hosted link only when the contract names a field for it.
//
// Without a link field, Payscore invites every applicant itself
// (is_invitation_disabled false, whatever the caller asked), and the order
// is sent at once. With one, invitations are disabled when the portal
// delivers the links.
//
// A create whose answer is lost (timeout, connection reset, 502/503/504) may
// have landed: before posting again the adapter lists the screening groups
// and takes the one whose webhook_url carries this order's reference
// (Contract.ReferenceParam), so a retry never makes a second, billable group.
func (c *Client) CreateOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	if problems := validateOrder(req); len(problems) > 0 {
		return nil, &providers.ProviderError{
			Provider: Name,
			Code:     "invalid_request",
			Message:  "The Payscore request is missing details: " + strings.Join(sortedKeys(problems), ", ") + ".",
			Fields:   problems,
		}
	}
	raw, err := json.Marshal(c.createBody(req))
	if err != nil {
		return nil, fmt.Errorf("payscore: encode screening group: %w", err)
	}
	g, status, err := c.postGroup(ctx, raw, req.Reference)
	if err != nil {
		return nil, err
	}
	return c.orderFromGroup(req, g, status)
}

// FindOrder looks the screening group up by the reference its webhook URL
// carries ("Get All Screening Groups", path UNCONFIRMED: Contract.ListPath)
// and creates nothing (providers.OrderFinder).
func (c *Client) FindOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	g, err := c.findGroup(ctx, req.Reference)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, fmt.Errorf("payscore: no screening group %s: %w", req.Reference, providers.ErrNotFound)
	}
	return c.orderFromGroup(req, g, http.StatusOK)
}

// orderFromGroup is the portal's Order for a created (or found) group: one
// link per applicant, matched to its screening.
func (c *Client) orderFromGroup(req providers.OrderRequest, g *groupOut, status int) (*providers.Order, error) {
	screenings, urls, err := c.decodeScreenings(g.Screenings)
	if err != nil {
		return nil, badAnswer(status, err)
	}
	links, ok := matchScreenings(req.Applicants, screenings, urls, c.GivesLinks())
	if !ok {
		return nil, &providers.ProviderError{
			Provider: Name, HTTPStatus: status, Code: "screenings_mismatch",
			Message: "Payscore created the screening group (" + g.ID + ") but did not return a screening for every household member. Delete it in Payscore and try again.",
		}
	}
	created := unixFlexible(g.CreatedAtTimestamp)
	if created.IsZero() {
		created = c.now()
	}
	st := providers.StatusCreated
	if c.invites(req) {
		// Payscore emails/texts the invite itself at creation; no event
		// says so, hence "sent" right away (§7.3, INFERENCE).
		st = providers.StatusSent
	}
	return &providers.Order{
		OrderID:   g.ID,
		Status:    st,
		Links:     links,
		ExpiresAt: created.Add(InviteLifetime),
	}, nil
}

// invites says whether Payscore sends the invitations for req: always when
// it gives the portal no link to send.
func (c *Client) invites(req providers.OrderRequest) bool {
	return req.ProviderNotifies || !c.GivesLinks()
}

// createBody is the legacy create request: only documented fields [P06],
// with the contract's applicant and property names.
func (c *Client) createBody(req providers.OrderRequest) map[string]any {
	ct := c.contract
	applicants := make([]map[string]string, 0, len(req.Applicants))
	for _, a := range req.Applicants {
		m := map[string]string{ct.ApplicantFirstNameField: a.FirstName, ct.ApplicantLastNameField: a.LastName}
		if a.Email != "" {
			m[ct.ApplicantEmailField] = a.Email
		}
		if a.Phone != "" {
			m[ct.ApplicantPhoneField] = a.Phone
		}
		applicants = append(applicants, m)
	}
	p := c.propertyFor(req)
	property := map[string]string{ct.PropertyNameField: p.Name, ct.PropertyStreetField: p.StreetAddress,
		ct.PropertyCityField: p.City, ct.PropertyStateField: p.State, ct.PropertyZipField: p.ZipCode}
	if p.Unit != "" && ct.PropertyUnitField != "" {
		property[ct.PropertyUnitField] = p.Unit
	}
	rent := dollars(req.MonthlyRentCents)
	if ct.RentAmounts == "cents" {
		rent = json.Number(fmt.Sprint(max(req.MonthlyRentCents, 0)))
	}
	body := map[string]any{
		"applicants":                  applicants,
		"property":                    property,
		"is_decision_maker_paying":    true,
		"decision_maker_display_name": req.AgencyName,
		"monthly_rent":                rent,
		"is_invitation_disabled":      !c.invites(req),
	}
	if req.WebhookURL != "" {
		body["webhook_url"] = withReference(req.WebhookURL, ct.ReferenceParam, req.Reference)
	}
	return body
}

// withReference adds the portal's order reference to the webhook URL as a
// query parameter: the one documented create field that is ours to fill,
// and what the lookup after a lost answer matches on.
func withReference(webhookURL, param, reference string) string {
	if reference == "" {
		return webhookURL
	}
	u, err := url.Parse(webhookURL)
	if err != nil {
		return webhookURL
	}
	q := u.Query()
	q.Set(param, reference)
	u.RawQuery = q.Encode()
	return u.String()
}

// postGroup POSTs the create request at most once per reference that can be
// proven not to have landed (providers.Create): after an answer is lost it
// looks the group up and posts again only when the lookup found nothing. A
// lookup that cannot be made returns the original error rather than risk a
// second group. There is no lookup before the first POST: the list is
// read only when an answer was lost.
func (c *Client) postGroup(ctx context.Context, raw []byte, reference string) (*groupOut, int, error) {
	type posted struct {
		g      *groupOut
		status int
	}
	p, err := providers.Create[posted]{
		Reference: reference,
		Lookup: func(ctx context.Context) (*posted, error) {
			g, err := c.findGroup(ctx, reference)
			if g == nil || err != nil {
				return nil, err
			}
			return &posted{g, http.StatusOK}, nil
		},
		Post: func(ctx context.Context) (*posted, error) {
			resp, err := c.call(ctx, http.MethodPost, "/api/v1/screening_groups", raw)
			if err == nil && resp.status != http.StatusOK && resp.status != http.StatusCreated {
				err = c.apiError(opCreate, resp)
			}
			if err != nil {
				return nil, err
			}
			var g groupOut
			if err := json.Unmarshal(resp.body, &g); err != nil || g.ID == "" {
				return nil, badAnswer(resp.status, err)
			}
			return &posted{&g, resp.status}, nil
		},
		Lost:     answerLost,
		Attempts: createAttempts,
		LookupFailed: func(lerr error) {
			c.log.Warn("payscore: lookup after a lost create answer failed", "error", lerr)
		},
	}.Do(ctx)
	if err != nil {
		return nil, 0, err
	}
	return p.g, p.status, nil
}

// createAttempts bounds the POSTs of one create (each after the first only
// when a lookup proved the previous one did not land).
const createAttempts = 2

// answerLost says a create may have landed without the portal hearing so:
// no answer at all, or a gateway's 502/503/504.
func answerLost(err error) bool {
	var pe *providers.ProviderError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.HTTPStatus {
	case 0, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return pe.Code != "invalid_request"
	}
	return false
}

// findGroup lists the screening groups (Contract.ListPath) and returns the
// full group whose webhook URL carries reference; nil, nil when none does.
func (c *Client) findGroup(ctx context.Context, reference string) (*groupOut, error) {
	ct := c.contract
	resp, err := c.call(ctx, http.MethodGet, ct.ListPath, nil)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(opGroup, resp)
	}
	var items []map[string]json.RawMessage
	if json.Unmarshal(resp.body, &items) != nil {
		var wrapped map[string]json.RawMessage
		if err := json.Unmarshal(resp.body, &wrapped); err != nil {
			return nil, badAnswer(resp.status, err)
		}
		if err := json.Unmarshal(wrapped[ct.ListField], &items); err != nil {
			return nil, badAnswer(resp.status, err)
		}
	}
	for _, it := range items {
		var hook, id string
		_ = json.Unmarshal(it[ct.ListWebhookURLField], &hook) // absent: no match
		_ = json.Unmarshal(it["id"], &id)
		u, err := url.Parse(hook)
		if err != nil || id == "" || u.Query().Get(ct.ReferenceParam) != reference {
			continue
		}
		// The list may abbreviate groups: read the whole one [P07].
		g, err := c.group(ctx, id)
		if err != nil {
			return nil, err
		}
		return g, nil
	}
	return nil, nil
}

// group reads GET /api/v1/screening_groups/{id} [P07].
func (c *Client) group(ctx context.Context, id string) (*groupOut, error) {
	resp, err := c.call(ctx, http.MethodGet, "/api/v1/screening_groups/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(opGroup, resp)
	}
	var g groupOut
	if err := json.Unmarshal(resp.body, &g); err != nil {
		return nil, badAnswer(resp.status, err)
	}
	return &g, nil
}

// validateOrder checks what Payscore would reject anyway, so the caseworker
// gets the answer without a round trip.
func validateOrder(req providers.OrderRequest) map[string]string {
	problems := map[string]string{}
	if len(req.Applicants) == 0 {
		problems["applicants"] = "add at least one household member"
	}
	if strings.TrimSpace(req.AgencyName) == "" {
		problems["decision_maker_display_name"] = "the agency name is shown to the applicant and is required"
	}
	for i, a := range req.Applicants {
		if strings.TrimSpace(a.FirstName) == "" || strings.TrimSpace(a.LastName) == "" {
			problems[fmt.Sprintf("applicants[%d].name", i)] = "first and last name are required"
		}
	}
	if req.MonthlyRentCents < 0 {
		problems["monthly_rent"] = "must not be negative"
	}
	return problems
}

func (c *Client) propertyFor(req providers.OrderRequest) Property {
	p := c.property
	set := func(dst *string, key string) {
		if v := strings.TrimSpace(req.Options[key]); v != "" {
			*dst = v
		}
	}
	set(&p.Name, "property_name")
	set(&p.StreetAddress, "property_street_address")
	set(&p.City, "property_city")
	set(&p.State, "property_state")
	set(&p.ZipCode, "property_zip_code")
	set(&p.Unit, "property_unit")
	if p.Name == "" {
		p.Name = req.AgencyName
	}
	return p
}

// dollars renders cents as a JSON number of dollars, exact to the cent
// (no float rounding): 150000 → 1500, 123456 → 1234.56.
func dollars(cents int64) json.Number {
	if cents <= 0 {
		return "0"
	}
	if cents%100 == 0 {
		return json.Number(fmt.Sprintf("%d", cents/100))
	}
	return json.Number(fmt.Sprintf("%d.%02d", cents/100, cents%100))
}

// decodeScreenings reads each screening and, by the configured field name,
// its applicant link.
func (c *Client) decodeScreenings(raw []json.RawMessage) ([]screeningOut, []string, error) {
	out := make([]screeningOut, 0, len(raw))
	urls := make([]string, 0, len(raw))
	for _, r := range raw {
		var s screeningOut
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, nil, err
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(r, &fields); err != nil {
			return nil, nil, err
		}
		var link string
		if f, ok := fields[c.contract.ApplicantURLField]; ok && c.GivesLinks() {
			_ = json.Unmarshal(f, &link) // a non-string link counts as missing
		}
		out = append(out, s)
		urls = append(urls, link)
	}
	return out, urls, nil
}

// matchScreenings pairs applicants with screenings: by position first (the
// order Payscore was given), and by email where the screening at that
// position belongs to someone else. ok is false when an applicant has no
// screening, or (wantURL) no link.
func matchScreenings(apps []providers.Applicant, ss []screeningOut, urls []string, wantURL bool) ([]providers.ApplicantLink, bool) {
	used := make([]bool, len(ss))
	links := make([]providers.ApplicantLink, len(apps))
	fits := func(a providers.Applicant, s screeningOut) bool {
		return s.Email == "" || a.Email == "" || strings.EqualFold(strings.TrimSpace(s.Email), strings.TrimSpace(a.Email))
	}
	pick := func(i, j int) {
		used[j] = true
		links[i] = providers.ApplicantLink{ApplicantRef: apps[i].Ref, SubID: ss[j].ID, URL: urls[j]}
	}
	pending := []int{}
	for i, a := range apps {
		if i < len(ss) && fits(a, ss[i]) {
			pick(i, i)
			continue
		}
		pending = append(pending, i)
	}
	for _, i := range pending {
		found := false
		for j, s := range ss {
			if !used[j] && apps[i].Email != "" && strings.EqualFold(strings.TrimSpace(s.Email), strings.TrimSpace(apps[i].Email)) {
				pick(i, j)
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	for _, l := range links {
		if l.SubID == "" || (wantURL && l.URL == "") {
			return nil, false
		}
	}
	return links, true
}

// FetchStatus reads the screening group and returns one update per
// screening, then one for the group (completed → ReportReady; an expired
// report → ReportExpired).
func (c *Client) FetchStatus(ctx context.Context, ref providers.OrderRef) ([]providers.Update, error) {
	if ref.OrderID == "" {
		return nil, missingOrderID()
	}
	g, err := c.group(ctx, ref.OrderID)
	if err != nil {
		return nil, err
	}
	ss, _, err := c.decodeScreenings(g.Screenings)
	if err != nil {
		return nil, badAnswer(http.StatusOK, err)
	}
	updates := make([]providers.Update, 0, len(ss)+1)
	for _, s := range ss {
		u := mapScreening(s.ScreeningStatus, s.ReasonCompleted)
		u.OrderID = ref.OrderID
		u.SubID = s.ID
		updates = append(updates, u)
	}
	gu := mapGroup(g.Status, g.IsReportExpired != nil && *g.IsReportExpired)
	gu.OrderID = ref.OrderID
	updates = append(updates, gu)
	return updates, nil
}

// Refresh returns ErrNotSupported: Payscore has no refresh call; the
// applicant re-opens the screening from their link instead.
func (c *Client) Refresh(ctx context.Context, ref providers.OrderRef, req providers.RefreshRequest) (*providers.Order, error) {
	return nil, &providers.ProviderError{
		Provider: Name,
		Code:     "not_supported",
		Message:  "Payscore cannot refresh a report. The household member can re-open their screening from the same link, or send a new request.",
		Err:      providers.ErrNotSupported,
	}
}

// Cancel deletes the screening group ("Delete a Screening Group"; method and
// path UNCONFIRMED, see Config.CancelMethod). A group that is already gone
// returns an error wrapping providers.ErrNotFound.
func (c *Client) Cancel(ctx context.Context, ref providers.OrderRef) error {
	if ref.OrderID == "" {
		return missingOrderID()
	}
	path := strings.ReplaceAll(c.contract.CancelPath, "{id}", url.PathEscape(ref.OrderID))
	resp, err := c.call(ctx, c.contract.CancelMethod, path, nil)
	if err != nil {
		return err
	}
	if resp.status < 200 || resp.status > 299 {
		return c.apiError(opGroup, resp)
	}
	return nil
}

func missingOrderID() error {
	return &providers.ProviderError{Provider: Name, Code: "invalid_request", Message: "The Payscore screening group ID is missing."}
}

// response is a read API answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call makes an authenticated API call. On a 401 it renews the token once
// and retries once, because a token can be revoked before its 30 minutes.
func (c *Client) call(ctx context.Context, method, path string, body []byte) (*response, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(ctx, method, c.baseURL+path, body, tok, "application/json", maxBodyBytes)
		if err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && attempt == 0 {
			c.invalidate(tok)
			continue
		}
		return resp, nil
	}
}

// send makes one HTTP request through the injected client and reads at most
// limit bytes of the answer. token is sent as a bearer token when non-empty.
func (c *Client) send(ctx context.Context, method, target string, body []byte, token, accept string, limit int64) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("payscore: build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "caseverify-payscore/1")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, transportError(err)
	}
	if int64(len(data)) > limit {
		return nil, &providers.ProviderError{
			Provider: Name, HTTPStatus: res.StatusCode, Code: "response_too_large",
			Message: "Payscore sent an answer that was too large to read.",
		}
	}
	return &response{status: res.StatusCode, header: res.Header, body: data}, nil
}

// tokenCache holds the current JWT. Its mutex is held across a renewal so
// that concurrent callers wait for one auth call instead of each making one.
type tokenCache struct {
	mu      sync.Mutex
	token   string
	expires time.Time
}

// bearer returns a token valid for at least tokenRenewMargin more, renewing
// it if needed.
func (c *Client) bearer(ctx context.Context) (string, error) {
	c.tok.mu.Lock()
	defer c.tok.mu.Unlock()
	if c.tok.token != "" && c.now().Before(c.tok.expires.Add(-tokenRenewMargin)) {
		return c.tok.token, nil
	}
	c.tok.token = ""
	issued := c.now()
	tok, err := c.authenticate(ctx)
	if err != nil {
		return "", err
	}
	c.tok.token, c.tok.expires = tok, issued.Add(TokenLifetime)
	return tok, nil
}

// invalidate drops the cached token if it is still the one that was refused,
// so that several callers refused at once cause a single renewal.
func (c *Client) invalidate(refused string) {
	c.tok.mu.Lock()
	defer c.tok.mu.Unlock()
	if c.tok.token == refused {
		c.tok.token = ""
	}
}

// authenticate exchanges the client credentials for a JWT, which Payscore
// returns in the Authorization response header with no body (200 or 204).
func (c *Client) authenticate(ctx context.Context) (string, error) {
	body, err := json.Marshal(map[string]string{"client_id": c.clientID, "secret_key": c.secretKey})
	if err != nil {
		return "", fmt.Errorf("payscore: encode credentials: %w", err)
	}
	resp, err := c.send(ctx, http.MethodPost, c.baseURL+"/api/v1/tenants/auth", body, "", "application/json", maxBodyBytes)
	if err != nil {
		return "", err
	}
	if resp.status != http.StatusOK && resp.status != http.StatusNoContent {
		return "", c.apiError(opAuth, resp)
	}
	h := strings.TrimSpace(resp.header.Get("Authorization"))
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "bearer ")
	}
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return "", &providers.ProviderError{
			Provider: Name, HTTPStatus: resp.status, Code: "no_token",
			Message: "Payscore accepted the credentials but sent no access token.", Retryable: true,
		}
	}
	return tok, nil
}

// unixFlexible reads a Unix timestamp that may be in seconds or, as in the
// legacy group example (1574244834717.303), in milliseconds.
func unixFlexible(v float64) time.Time {
	if v <= 0 {
		return time.Time{}
	}
	if v > 1e11 { // later than year 5138 in seconds: must be milliseconds
		return time.UnixMilli(int64(v)).UTC()
	}
	sec := int64(v)
	return time.Unix(sec, int64((v-float64(sec))*1e9)).UTC()
}

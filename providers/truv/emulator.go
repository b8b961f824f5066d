package truv

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sandbox credentials the emulator accepts when EmulatorConfig leaves them
// empty. The portal passes the same values to New in sandbox mode.
const (
	SandboxClientID     = "sandbox-client-id"
	SandboxAccessSecret = "sandbox-access-secret"
)

// EmulatorConfig configures an Emulator. Only PublicURL is required.
type EmulatorConfig struct {
	// PublicURL is the absolute URL where the emulator is mounted, e.g.
	// "http://localhost:8080/sandbox/truv" (no trailing slash). Share links
	// are built from it; pages use its path.
	PublicURL string
	// WebhookURL receives every webhook (Truv has one global webhook per
	// environment, spec §2.4). Empty sends none.
	WebhookURL string
	// HTTPClient sends webhooks; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the emulator's clock (order expiry, refresh limits, connection
	// age, timestamps); nil means time.Now.
	Now func() time.Time
	// Logger gets delivery failures and the like; nil discards. Nothing
	// logged holds PII or bodies.
	Logger *slog.Logger
	// WebhookDelay is the pause before each step of a flow (and so before
	// each webhook), to look real. 0 in tests.
	WebhookDelay time.Duration

	// ClientID and AccessSecret are the API credentials accepted; the
	// access secret also signs webhooks. Empty means SandboxClientID and
	// SandboxAccessSecret.
	ClientID     string
	AccessSecret string

	// DuplicateEvery sends every Nth webhook twice, byte for byte (1 = every
	// webhook). 0 disables.
	DuplicateEvery int
	// DropRate is the share (0..1) of webhooks never sent; the state change
	// still happens, so only polling finds it. Decided by a RNG seeded with
	// Seed, so runs repeat.
	DropRate float64
	// Seed seeds the DropRate RNG.
	Seed uint64

	// OrderTTL is how long a link stays open (default 72 h, spec §2.5;
	// weekends are counted here, unlike Truv).
	OrderTTL time.Duration
	// ConnectionTTL is how old a payroll connection may be for a refresh to
	// succeed (default 180 days, S01); older ones fail with login_error.
	ConnectionTTL time.Duration
	// LongCheckDelay is the extra wait of the goodlogin/longcheck scenario
	// before its data arrives (default 5 s).
	LongCheckDelay time.Duration
	// RefreshLimit and RefreshWindow bound refreshes per connection
	// (default 3 per 24 h, S01).
	RefreshLimit  int
	RefreshWindow time.Duration
	// ReportNotFoundGets makes the first N GETs of each new report answer
	// 404, as Truv briefly does (spec §2.6). 0 disables.
	ReportNotFoundGets int
}

// Emulator is an in-memory stand-in for Truv: the /v1 API endpoints the
// adapter uses (same auth check, validation and error shapes), the hosted
// Bridge pages that share_url points to, and signed webhooks to WebhookURL.
// State lives in memory behind one mutex: it is a sandbox, lost on restart.
// It implements http.Handler; mount it with http.StripPrefix.
type Emulator struct {
	cfg      EmulatorConfig
	basePath string // PublicURL's path, for links inside pages
	mux      *http.ServeMux
	pages    *template.Template
	log      *slog.Logger
	now      func() time.Time
	client   *http.Client

	ctx    context.Context // canceled by Close: stops flows and deliveries
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	orders      map[string]*emuOrder
	byToken     map[string]*emuOrder
	shortLinks  map[string]string // code → share_url
	conns       map[string]*emuConn
	reports     map[string]*emuReport
	refreshFail map[string]string   // original order id → forced refresh failure status
	mfaPending  map[string]mfaState // bridge token → sign-in waiting for a code
	queues      map[string]*flowQueue
	rng         *mrand.Rand
	webhooks    int // webhooks sent so far, for DuplicateEvery
}

// emuOrder is one order. Personal data stays in memory and is never logged.
type emuOrder struct {
	id, userID, bridgeToken, groupID, shortCode string
	products                                    []string
	firstName, lastName, email, phone           string
	orderNumber, externalUserID, templateID     string
	locale                                      string
	suppress                                    bool
	notifyDelay                                 int
	status                                      string
	createdAt, updatedAt, expiresAt             time.Time
	completedAt, canceledAt                     time.Time
	initialOrder, refreshOrder                  string
	subs                                        []*emuSub
	// bridgeResult is what the Bridge pages show once the applicant is
	// through ("completed" or "no_data"); set at once, while the state
	// change itself follows the webhook timeline.
	bridgeResult string
}

// emuSub is one employer (or bank) suborder.
type emuSub struct {
	id, status, number, linkID string
	companyID, company         string
	bank                       bool
	createdAt, updatedAt       time.Time
}

// emuConn is one payroll or bank connection (a Truv link).
type emuConn struct {
	linkID, userID      string
	companyID           string
	company             string
	bank                bool
	profile             string // pay profile name, see payProfileFor
	mfa                 bool   // the sign-in needed a code: refreshes fail with mfa_error
	connectedAt         time.Time
	syncedAt            time.Time
	refreshes           []time.Time
	firstName, lastName string
}

// NewEmulator builds an Emulator. Call Close when done.
func NewEmulator(cfg EmulatorConfig) *Emulator {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.ClientID == "" {
		cfg.ClientID = SandboxClientID
	}
	if cfg.AccessSecret == "" {
		cfg.AccessSecret = SandboxAccessSecret
	}
	if cfg.OrderTTL <= 0 {
		cfg.OrderTTL = 72 * time.Hour
	}
	if cfg.ConnectionTTL <= 0 {
		cfg.ConnectionTTL = 180 * 24 * time.Hour
	}
	if cfg.LongCheckDelay <= 0 {
		cfg.LongCheckDelay = 5 * time.Second
	}
	if cfg.RefreshLimit <= 0 {
		cfg.RefreshLimit = 3
	}
	if cfg.RefreshWindow <= 0 {
		cfg.RefreshWindow = 24 * time.Hour
	}
	e := &Emulator{
		cfg:         cfg,
		log:         cfg.Logger,
		now:         cfg.Now,
		client:      cfg.HTTPClient,
		orders:      map[string]*emuOrder{},
		byToken:     map[string]*emuOrder{},
		shortLinks:  map[string]string{},
		conns:       map[string]*emuConn{},
		reports:     map[string]*emuReport{},
		refreshFail: map[string]string{},
		mfaPending:  map[string]mfaState{},
		queues:      map[string]*flowQueue{},
		rng:         mrand.New(mrand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.client == nil {
		e.client = &http.Client{Timeout: 10 * time.Second}
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		e.basePath = strings.TrimRight(u.Path, "/")
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.pages = parsePages()
	e.routes()
	return e
}

// Close stops the flows and webhook deliveries in progress and waits for
// their goroutines. Steps not yet run are dropped.
func (e *Emulator) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// ServeHTTP serves the API, the Bridge pages and their assets.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

func (e *Emulator) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/orders/{$}", e.api(e.apiCreateOrder))
	m.HandleFunc("GET /v1/orders/{$}", e.api(e.apiListOrders))
	m.HandleFunc("GET /v1/orders/{id}/{$}", e.api(e.apiGetOrder))
	// Both refresh paths: the documented one and the demo's (spec §2.7).
	m.HandleFunc("POST /v1/orders/{id}/{$}", e.api(e.apiRefreshOrder))
	m.HandleFunc("POST /v1/orders/{id}/refresh/{$}", e.api(e.apiRefreshOrder))
	m.HandleFunc("POST /v1/orders/{id}/cancel/{$}", e.api(e.apiCancelOrder))
	m.HandleFunc("POST /v1/users/{uid}/reports/{$}", e.api(e.apiCreateReport(kindVOIE)))
	m.HandleFunc("GET /v1/users/{uid}/reports/{rid}/{$}", e.api(e.apiGetReport(kindVOIE)))
	m.HandleFunc("POST /v1/users/{uid}/assets/reports/{$}", e.api(e.apiCreateReport(kindAssets)))
	m.HandleFunc("GET /v1/users/{uid}/assets/reports/{rid}/{$}", e.api(e.apiGetReport(kindAssets)))
	m.HandleFunc("GET /bridge", e.pageBridge)
	m.HandleFunc("GET /bridge/login", e.pageLoginForm)
	m.HandleFunc("POST /bridge/login", e.pageLogin)
	m.HandleFunc("POST /bridge/mfa", e.pageMFA)
	m.HandleFunc("GET /bridge/done", e.pageDone)
	m.HandleFunc("GET /s/{code}", e.shortLink)
	m.HandleFunc("GET /assets/emulator.css", serveCSS)
	m.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeNotFound(w) })
	e.mux = m
}

// api checks Truv's credential headers in constant time and answers
// 401 authentication_failed otherwise (spec §2.3).
func (e *Emulator) api(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Access-Client-Id")), []byte(e.cfg.ClientID))
		secret := subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Access-Secret")), []byte(e.cfg.AccessSecret))
		if id&secret != 1 {
			writeAPIError(w, http.StatusUnauthorized, "authentication_failed", "Authentication failed", nil)
			return
		}
		h(w, r)
	}
}

// invalidParam is one item of extra["invalid-params"]. Truv's example shows
// an empty list; the item shape here is RFC 7807's {name, reason}
// (UNCONFIRMED for Truv).
type invalidParam struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// writeAPIError writes {"error": {code, message[, extra]}}; extra appears on
// 400 only (spec §2.3).
func writeAPIError(w http.ResponseWriter, status int, code, message string, params []invalidParam) {
	body := map[string]any{"code": code, "message": message}
	if status == http.StatusBadRequest {
		if params == nil {
			params = []invalidParam{}
		}
		body["extra"] = map[string]any{"invalid-params": params}
	}
	writeJSON(w, status, map[string]any{"error": body})
}

// writeNotFound writes Truv's 404 shape.
func writeNotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not Found."})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decodeBody reads a JSON request body (at most 1 MiB). An empty body
// decodes as {}.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil
	}
	return json.Unmarshal(b, v)
}

// createOrderBody is the part of POST /v1/orders/ the emulator reads.
type createOrderBody struct {
	Products             []string   `json:"products"`
	FirstName            string     `json:"first_name"`
	LastName             string     `json:"last_name"`
	Email                string     `json:"email"`
	Phone                string     `json:"phone"`
	OrderNumber          flexString `json:"order_number"`
	ExternalUserID       flexString `json:"external_user_id"`
	TemplateID           flexString `json:"template_id"`
	Locale               string     `json:"locale"`
	Suppress             bool       `json:"suppress_user_notifications"`
	FirstDelayHours      *int       `json:"first_notification_delay_hours"`
	SSN                  string     `json:"ssn"`
	SocialSecurityNumber string     `json:"social_security_number"`
}

// validProduct says whether the emulator's Bridge can verify product p.
func validProduct(p string) bool { return p == "income" || p == "employment" || p == "assets" }

func (e *Emulator) apiCreateOrder(w http.ResponseWriter, r *http.Request) {
	var b createOrderBody
	if err := decodeBody(r, &b); err != nil {
		writeAPIError(w, http.StatusBadRequest, "incorrect_parameters", "Incorrect request parameters",
			[]invalidParam{{Name: "body", Reason: "Request body is not valid JSON."}})
		return
	}
	var bad []invalidParam
	if len(b.Products) == 0 {
		bad = append(bad, invalidParam{"products", "This field is required."})
	}
	for _, p := range b.Products {
		if !validProduct(p) {
			bad = append(bad, invalidParam{"products", "Unsupported product."})
			break
		}
	}
	if strings.TrimSpace(b.FirstName) == "" {
		bad = append(bad, invalidParam{"first_name", "This field is required."})
	}
	if strings.TrimSpace(b.LastName) == "" {
		bad = append(bad, invalidParam{"last_name", "This field is required."})
	}
	// Neither email nor phone is fine: the agency may deliver the link
	// itself (spec §2.2, S01).
	if b.Email != "" && (!strings.Contains(b.Email, "@") || strings.ContainsAny(b.Email, " \t")) {
		bad = append(bad, invalidParam{"email", "Enter a valid email address."})
	}
	if b.Phone != "" && countDigits(b.Phone) < 10 {
		bad = append(bad, invalidParam{"phone", "Enter a valid phone number."})
	}
	for _, name := range []string{"ssn", "social_security_number"} {
		v := b.SSN
		if name == "social_security_number" {
			v = b.SocialSecurityNumber
		}
		if v != "" && (!allDigits(strings.ReplaceAll(v, "-", "")) || (countDigits(v) != 4 && countDigits(v) != 9)) {
			bad = append(bad, invalidParam{name, "Must be 4 or 9 digits."})
		}
	}
	if b.FirstDelayHours != nil && *b.FirstDelayHours < 0 {
		bad = append(bad, invalidParam{"first_notification_delay_hours", "Must not be negative."})
	}
	if len(bad) > 0 {
		writeAPIError(w, http.StatusBadRequest, "incorrect_parameters", "Incorrect request parameters", bad)
		return
	}
	now := e.now()
	e.mu.Lock()
	o := &emuOrder{
		id: newHex(16), userID: newHex(16), bridgeToken: newHex(16), groupID: newHex(16), shortCode: newShortCode(),
		products:  slices.Clone(b.Products),
		firstName: b.FirstName, lastName: b.LastName, email: b.Email, phone: b.Phone,
		orderNumber: string(b.OrderNumber), externalUserID: string(b.ExternalUserID), templateID: string(b.TemplateID),
		locale: b.Locale, suppress: b.Suppress,
		status:    "pending",
		createdAt: now, updatedAt: now, expiresAt: now.Add(e.cfg.OrderTTL),
	}
	if b.FirstDelayHours != nil {
		o.notifyDelay = *b.FirstDelayHours
	}
	e.addOrderLocked(o)
	e.enqueueLocked(o.id, step{run: func(now time.Time) *wireEvent {
		return e.eventLocked(o, nil, EventOrderCreated, "pending", now)
	}})
	// Truv emails/texts the link at once when it may (dashboard "Sent").
	if !o.suppress && (o.email != "" || o.phone != "") {
		o.status = "sent"
	}
	out := e.orderJSONLocked(o)
	e.mu.Unlock()
	// 201: the create status code is UNCONFIRMED (spec §2.2); clients treat
	// any 2xx as success.
	writeJSON(w, http.StatusCreated, out)
}

func countDigits(s string) int {
	n := 0
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n++
		}
	}
	return n
}

// addOrderLocked registers an order and its short link.
func (e *Emulator) addOrderLocked(o *emuOrder) {
	e.orders[o.id] = o
	e.byToken[o.bridgeToken] = o
	e.shortLinks[o.shortCode] = e.shareURL(o)
}

func (e *Emulator) shareURL(o *emuOrder) string {
	q := url.Values{"bridge_token": {o.bridgeToken}, "order_group_id": {o.groupID}}
	return e.cfg.PublicURL + "/bridge?" + q.Encode()
}

func (e *Emulator) apiListOrders(w http.ResponseWriter, r *http.Request) {
	// The emulator serves every agency of a portal: it lists only the order
	// whose order_number (the portal's per-order reference) is asked for,
	// never everyone's.
	want := r.URL.Query().Get("order_number")
	if want == "" {
		writeAPIError(w, http.StatusBadRequest, "incorrect_parameters", "Incorrect request parameters",
			[]invalidParam{{Name: "order_number", Reason: "The sandbox lists orders only by order_number."}})
		return
	}
	e.mu.Lock()
	var list []*emuOrder
	for _, o := range e.orders {
		if o.orderNumber == want {
			list = append(list, o)
		}
	}
	slices.SortFunc(list, func(a, b *emuOrder) int { return b.createdAt.Compare(a.createdAt) })
	out := wireOrderList{Count: len(list), Results: []wireOrder{}}
	for _, o := range list {
		e.expireLocked(o)
		out.Results = append(out.Results, e.orderJSONLocked(o))
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) apiGetOrder(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	o, ok := e.orders[r.PathValue("id")]
	var out wireOrder
	if ok {
		e.expireLocked(o)
		out = e.orderJSONLocked(o)
	}
	e.mu.Unlock()
	if !ok {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// refreshBody is the part of a refresh request the emulator reads (spec §2.7).
type refreshBody struct {
	Products  []string `json:"products"`
	Employers []struct {
		ID             string `json:"id"`
		SuborderNumber string `json:"suborder_number"`
	} `json:"employers"`
	OrderNumber flexString `json:"order_number"`
}

func (e *Emulator) apiRefreshOrder(w http.ResponseWriter, r *http.Request) {
	var b refreshBody
	if err := decodeBody(r, &b); err != nil {
		writeAPIError(w, http.StatusBadRequest, "incorrect_parameters", "Incorrect request parameters",
			[]invalidParam{{Name: "body", Reason: "Request body is not valid JSON."}})
		return
	}
	e.mu.Lock()
	o, ok := e.orders[r.PathValue("id")]
	if !ok {
		e.mu.Unlock()
		writeNotFound(w)
		return
	}
	var ids []string
	for _, emp := range b.Employers {
		id := emp.ID
		if id == "" {
			id = emp.SuborderNumber
		}
		ids = append(ids, id)
	}
	n, rerr := e.refreshLocked(o, b.Products, ids, string(b.OrderNumber))
	var out wireOrder
	if rerr == nil {
		out = e.orderJSONLocked(n)
	}
	e.mu.Unlock()
	if rerr != nil {
		if rerr.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(rerr.retryAfter.Seconds()+0.999)))
		}
		writeAPIError(w, rerr.status, rerr.code, rerr.message, rerr.params)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) apiCancelOrder(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	o, ok := e.orders[r.PathValue("id")]
	if !ok {
		e.mu.Unlock()
		writeNotFound(w)
		return
	}
	e.expireLocked(o)
	var out wireOrder
	switch o.status {
	case "completed", "no_data", "expired":
		st := o.status
		e.mu.Unlock()
		writeAPIError(w, http.StatusBadRequest, "incorrect_parameters", "An order in status "+st+" cannot be canceled",
			[]invalidParam{{Name: "status", Reason: "The order is already " + st + "."}})
		return
	case "canceled":
		// Canceling twice is harmless.
	default:
		e.cancelLocked(o)
	}
	out = e.orderJSONLocked(o)
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// apiError is a refusal from the emulator's domain logic.
type apiError struct {
	status     int
	code       string
	message    string
	params     []invalidParam
	retryAfter time.Duration
}

func badParam(name, reason string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "incorrect_parameters", message: "Incorrect request parameters",
		params: []invalidParam{{Name: name, Reason: reason}}}
}

// expireLocked moves an open order past its expiry to expired. It is done
// lazily on read; no webhook is sent for it.
func (e *Emulator) expireLocked(o *emuOrder) {
	if (o.status == "pending" || o.status == "sent") && o.bridgeResult == "" && !e.now().Before(o.expiresAt) {
		o.status = "expired"
		o.updatedAt = o.expiresAt
		for _, s := range o.subs {
			if s.status == "pending" {
				s.status, s.updatedAt = "expired", o.expiresAt
			}
		}
	}
}

// orderJSONLocked renders an order as Truv's API does.
func (e *Emulator) orderJSONLocked(o *emuOrder) wireOrder {
	out := wireOrder{
		ID: o.id, UserID: flexString(o.userID), BridgeToken: o.bridgeToken,
		ShareURL: e.shareURL(o), ShortShareURL: e.cfg.PublicURL + "/s/" + o.shortCode,
		Status: o.status, Products: slices.Clone(o.products), Source: "api",
		OrderNumber: flexString(o.orderNumber), ExternalUserID: flexString(o.externalUserID),
		ClientName: "Caseverify Sandbox", FirstName: o.firstName, LastName: o.lastName,
		TemplateID: flexString(o.templateID), Locale: o.locale,
		SuppressUserNotifications: o.suppress, FirstNotificationDelayHours: o.notifyDelay,
		CreatedAt: formatTime(o.createdAt), UpdatedAt: formatTime(o.updatedAt),
		ExpiredAt: flexString(formatTime(o.expiresAt)), IsExpired: o.status == "expired",
		InitialOrder: flexID(o.initialOrder), RefreshOrder: flexID(o.refreshOrder),
		Employers: []wireSuborder{}, FinancialAccounts: []wireSuborder{},
	}
	if !o.completedAt.IsZero() {
		out.CompletedAt = flexString(formatTime(o.completedAt))
		out.UserConsentAt = out.CompletedAt
	}
	if !o.canceledAt.IsZero() {
		out.CanceledAt = flexString(formatTime(o.canceledAt))
	}
	for _, s := range o.subs {
		ws := wireSuborder{
			ID: s.id, ProductType: o.products[0], Status: s.status, SuborderNumber: s.number,
			CreatedAt: formatTime(s.createdAt), UpdatedAt: formatTime(s.updatedAt),
			LinkID: flexString(s.linkID), CompanyName: s.company,
			Provider: &wireProvider{ID: "truv_payroll", Name: "Truv Payroll Provider"},
		}
		if s.linkID != "" {
			ws.DataSource = "payroll"
		}
		if s.bank {
			ws.Provider = &wireProvider{ID: "truv_bank", Name: s.company}
			if s.linkID != "" {
				ws.DataSource = "financial_accounts"
			}
			out.FinancialAccounts = append(out.FinancialAccounts, ws)
			continue
		}
		out.Employers = append(out.Employers, ws)
	}
	return out
}

// newHex returns n random bytes as hex, like Truv's 32-digit ids.
func newHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// newShortCode returns a 7-character code for short_share_url.
func newShortCode() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 7)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (e *Emulator) shortLink(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	target, ok := e.shortLinks[r.PathValue("code")]
	e.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

// ErrOrderClosed is returned by the emulator's test hooks (Complete,
// SubmitMFA) for an order that no longer takes sign-ins: canceled, expired,
// a refresh order, or already through Bridge.
var ErrOrderClosed = errors.New("truv emulator: the order is not open")

package truework

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the emulator. The keys and token are sandbox values for a
// local stand-in, not secrets of any real account.
const (
	DefaultSandboxAPIKey         = "tw_sk_test_caseverify_emulator_0123456789abcdef"
	DefaultSandboxPublishableKey = "tw_pk_test_caseverify_emulator_0123456789abcdef"
	DefaultSandboxWebhookToken   = "caseverify-truework-emulator-webhook-token"
	DefaultEmulatorRateLimit     = 10
	DefaultSessionTTL            = 24 * time.Hour
)

// maxAPIBody bounds request bodies the emulator reads.
const maxAPIBody = 1 << 20

// EmulatorConfig configures an Emulator.
type EmulatorConfig struct {
	// PublicURL is the absolute URL the emulator is mounted at, without a
	// trailing slash (e.g. http://localhost:8080/sandbox/truework). Pages,
	// forms and the Truework.js stand-in build their URLs from it.
	PublicURL string
	// WebhookURL receives every webhook (Truework has account-level
	// webhooks); empty sends none.
	WebhookURL string
	// HTTPClient sends webhooks; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the emulator's clock (session expiry, report dates, the 90-day
	// reverification window, triggered_at); nil means time.Now. The rate
	// limit always uses the wall clock: it is about real bursts.
	Now func() time.Time
	// Logger gets one line per webhook attempt (event, order id, HTTP
	// status); nil discards. Bodies and personal data are never logged.
	Logger *slog.Logger
	// WebhookDelay is the pause before each webhook, so that the portal
	// shows the states one by one as in real life; 0 in tests.
	WebhookDelay time.Duration

	// APIKey is the secret key the API accepts as Bearer token;
	// DefaultSandboxAPIKey when empty.
	APIKey string
	// WebhookToken goes into X-Truework-Token; DefaultSandboxWebhookToken
	// when empty.
	WebhookToken string
	// RateLimit is the number of API requests per second the key may make
	// before 429 (Truework: 10 [T11]); DefaultEmulatorRateLimit when 0,
	// unlimited when negative. Tests lower it to see the 429.
	RateLimit int
	// SessionTTL is how long a widget session token stays valid;
	// DefaultSessionTTL (24 h) when 0.
	SessionTTL time.Duration

	// DuplicateWebhooks sends every webhook twice (same hook.id), as
	// Truework's retries may [T03].
	DuplicateWebhooks bool
	// DropWebhookEvents lists events never sent (e.g. "order.completed"),
	// to exercise the portal's reconciliation poller.
	DropWebhookEvents []string
	// SilentSeamlessReverification sends no webhook at all for a
	// reverification that completes by itself (000-23-0000), the literal
	// reading of S00's "No webhook needed". UNCONFIRMED which reading is
	// right; by default the state changes and order.completed are sent as
	// for any order, and with this set the portal must poll to see it.
	SilentSeamlessReverification bool
}

// Emulator is a local stand-in for Truework: the API of spec.md §1
// (orders, reports with JSON and PDF, reverification, cancel), the
// Truework.js script and its widget pages, and webhooks. It implements
// http.Handler; mount it with http.StripPrefix.
//
// State lives in memory behind one mutex: it is a sandbox, restarted with
// the process, and one replica is enough.
type Emulator struct {
	cfg    EmulatorConfig
	now    func() time.Time
	log    *slog.Logger
	client *http.Client
	mux    *http.ServeMux
	pages  map[string]*template.Template

	mu       sync.Mutex
	orders   map[string]*emOrder
	orderIDs []string // creation order, for GET /orders
	reports  map[string]*emReport
	sessions map[string]*emSession
	issued   int // session tokens issued, to prune expired ones now and then
	bucket   tokenBucket
	jobs     []func(context.Context) // webhook and transition jobs, run in order
	closed   bool

	hookID atomic.Int64
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// emOrder is one order in the emulator.
type emOrder struct {
	id            string
	searchKey     string
	created       time.Time
	targets       []*emTarget
	parentOrderID string // set on reverification orders
	events        []emEventOut
}

// emTarget is one target with its verification request.
type emTarget struct {
	in     targetInput
	person sandboxPerson
	token  string // the latest session token
	vr     emVR
}

// emVR is a verification request.
type emVR struct {
	id        string
	created   time.Time
	state     string
	reason    string // cancellation reason
	completed time.Time
	reports   []string
}

// emReport is a completed report: one per employer of the person.
type emReport struct {
	id        string
	orderID   string
	vrID      string
	vrCreated time.Time
	typ       string
	created   time.Time
	person    sandboxPerson
	job       sandboxJob
}

// emSession is a widget session token.
type emSession struct {
	orderID string
	target  int
	expires time.Time
}

// tokenBucket is the emulator's per-key rate limit.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// SandboxConfig returns the adapter Config for an emulator mounted at
// publicURL with its default keys and token: the portal's sandbox wiring
// (set HTTPClient and the rate as for production).
func SandboxConfig(publicURL string) Config {
	publicURL = strings.TrimRight(publicURL, "/")
	return Config{
		BaseURL:        publicURL,
		APIKey:         DefaultSandboxAPIKey,
		PublishableKey: DefaultSandboxPublishableKey,
		ScriptURL:      publicURL + "/js/v1",
		WebhookTokens:  []string{DefaultSandboxWebhookToken},
	}
}

// NewEmulator returns a running emulator; call Close to stop its webhook
// sender.
func NewEmulator(cfg EmulatorConfig) *Emulator {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	cfg.APIKey = cmpStr(cfg.APIKey, DefaultSandboxAPIKey)
	cfg.WebhookToken = cmpStr(cfg.WebhookToken, DefaultSandboxWebhookToken)
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultEmulatorRateLimit
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	e := &Emulator{
		cfg:      cfg,
		now:      cfg.Now,
		log:      cfg.Logger,
		client:   cfg.HTTPClient,
		orders:   map[string]*emOrder{},
		reports:  map[string]*emReport{},
		sessions: map[string]*emSession{},
		wake:     make(chan struct{}, 1),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.client == nil {
		e.client = &http.Client{Timeout: 10 * time.Second}
	}
	e.pages = parsePages()
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.routes()
	e.wg.Add(1)
	go e.runJobs()
	return e
}

// Close stops the webhook sender, drops jobs not started yet and waits for
// the running one to end.
func (e *Emulator) Close() {
	e.mu.Lock()
	e.closed = true
	e.jobs = nil
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	e.mux.ServeHTTP(w, r)
}

// routes registers the API, the script, the widget and the assets.
func (e *Emulator) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /orders/truework-direct", e.api(e.createOrder))
	m.HandleFunc("POST /orders/reverification", e.api(e.reverify))
	m.HandleFunc("GET /orders", e.api(e.listOrders))
	m.HandleFunc("GET /orders/{id}", e.api(e.getOrder))
	m.HandleFunc("GET /orders/{id}/events", e.api(e.orderEvents))
	m.HandleFunc("PUT /orders/{id}/cancel", e.api(e.cancelOrder))
	m.HandleFunc("GET /reports/{id}", e.api(e.getReport))
	m.HandleFunc("GET /js/v1", e.script)
	m.HandleFunc("GET /widget", e.widget)
	m.HandleFunc("POST /widget/signin", e.widgetSignin)
	m.HandleFunc("POST /widget/employer", e.widgetEmployer)
	m.HandleFunc("POST /widget/finish", e.widgetFinish)
	m.HandleFunc("GET /assets/{file}", e.asset)
	m.HandleFunc("GET /{$}", e.index)
	e.mux = m
}

// apiHandler is an API endpoint; pdf says the caller accepts a PDF.
type apiHandler func(w http.ResponseWriter, r *http.Request, pdf bool)

// api wraps an endpoint with Truework's checks, in the order a real API
// gateway would apply them: authentication (401), rate limit (429), API
// version (406).
func (e *Emulator) api(h apiHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !e.authorized(r.Header.Get("Authorization")) {
			writeAPIError(w, http.StatusUnauthorized, "Invalid credentials")
			return
		}
		if wait, ok := e.allow(); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeAPIError(w, http.StatusTooManyRequests, "Too many requests")
			return
		}
		pdf, ok := acceptable(r.Header.Get("Accept"), strings.HasPrefix(r.URL.Path, "/reports/"))
		if !ok {
			writeAPIError(w, http.StatusNotAcceptable, "Invalid API version requested")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
		h(w, r, pdf)
	}
}

// authorized checks the Bearer key in constant time.
func (e *Emulator) authorized(h string) bool {
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return false
	}
	got, want := sha256.Sum256([]byte(key)), sha256.Sum256([]byte(e.cfg.APIKey))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// allow takes one token from the key's bucket (capacity and refill =
// RateLimit per second, wall clock). When empty it says how long until the
// next token.
func (e *Emulator) allow() (time.Duration, bool) {
	if e.cfg.RateLimit < 0 {
		return 0, true
	}
	rate := float64(e.cfg.RateLimit)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	b := &e.bucket
	if b.last.IsZero() {
		b.tokens = rate
	} else {
		b.tokens = math.Min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

// acceptable reads the Accept header: JSON in version 2023-10-30 (or no
// version, or a wildcard), or a PDF where PDFs exist. Any other version is
// 406 [T01].
func acceptable(h string, pdfAllowed bool) (pdf bool, ok bool) {
	if strings.TrimSpace(h) == "" {
		return false, true
	}
	for _, part := range strings.Split(h, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/pdf":
			if pdfAllowed {
				return true, true
			}
		case "application/json":
			if v, has := params["version"]; !has || v == apiVersion {
				return false, true
			}
		case "*/*", "application/*":
			return false, true
		}
	}
	return false, false
}

// writeAPIError writes Truework's error shape.
func writeAPIError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiErrorBody(msg))
}

// apiErrorBody is Truework's error shape, {"error":{"message":…}} [T01].
func apiErrorBody(msg string) errorBody {
	var body errorBody
	body.Error.Message = msg
	return body
}

// writeJSON writes v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away: nothing to do
}

// invalid is the 400 answer; Truework's default message is "Invalid field
// values provided" [T01] and the emulator adds which field, never a value.
func invalid(w http.ResponseWriter, detail string) {
	writeAPIError(w, http.StatusBadRequest, "Invalid field values provided: "+detail)
}

// validDate reports whether s is a YYYY-MM-DD date.
func validDate(s string) bool {
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// dashedSSN reports whether s has the dashed form 000-00-0000.
func dashedSSN(s string) bool {
	f, ok := formatSSN(s)
	return ok && f == s
}

// newID returns n random bytes as unpadded base64url, the alphabet of
// Truework's ids (e.g. AAAAAAAAQnIAAYd5YHFVOm8PNX2ecFbEjqV__upOKUE8YE_IK2GwSQTP).
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrInvalidSession is returned by CompleteWidget for a session token that
// is unknown, expired, or whose verification is not waiting for the
// applicant.
var ErrInvalidSession = errors.New("truework emulator: invalid or expired session token")

package accountchek

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Sandbox credentials the emulator accepts when EmulatorConfig leaves them
// empty. They guard nothing real: the emulator is a local stand-in.
const (
	SandboxUsername = "sandbox"
	SandboxPassword = "sandbox-password"
)

//go:embed templates/*.html assets/*
var emulatorFS embed.FS

// EmulatorConfig configures an Emulator.
type EmulatorConfig struct {
	// PublicURL is the absolute URL where the emulator is mounted, without
	// a trailing slash, e.g. "http://localhost:8080/sandbox/accountchek".
	// It is used to build loginUrl and SSO links.
	PublicURL string
	// WebhookURL is the portal's AccountChek webhook base, e.g.
	// "http://localhost:8080/webhooks/accountchek". AccountChek posts to each
	// order's own notificationUrl, so this is not a destination; when set,
	// the emulator accepts only notificationUrls under it, so the sandbox
	// cannot be used to make the server post anywhere else.
	WebhookURL string
	// HTTPClient sends postbacks; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the emulator clock (SSO expiry, monitoring, report dates);
	// nil means time.Now. Tests inject a fake clock.
	Now func() time.Time
	// Logger receives one line per postback (order id and status only);
	// nil discards.
	Logger *slog.Logger
	// WebhookDelay is a pause before each postback, to look real (0 in tests).
	WebhookDelay time.Duration

	// Username and Password are the Basic credentials the API accepts;
	// empty means SandboxUsername / SandboxPassword.
	Username string
	Password string

	// SSOLinkTTL is how long a borrower link works before the borrower sees
	// "link expired" and VOA goes to 5010 (default 72 h; the real value is
	// UNCONFIRMED).
	SSOLinkTTL time.Duration
	// OrderLifetime is how long an order stays open before AccountChek
	// closes it (daysRemaining; default 60 days, UNCONFIRMED).
	OrderLifetime time.Duration
	// AllowInsecureNotificationURL accepts any http:// notificationUrl.
	// Without it only https://, http:// to a loopback host and http:// under
	// WebhookURL are accepted: AccountChek requires https://, and the
	// exceptions let a portal without TLS receive sandbox postbacks.
	AllowInsecureNotificationURL bool
	// NoVOIEPostbacks simulates an account that has not opted in to VOIE
	// postbacks (they are opt-in at AccountChek): no 6xx postbacks are sent.
	NoVOIEPostbacks bool

	// DropRate (0..1) is the share of postbacks silently not sent, so the
	// portal's reconciler has work to do.
	DropRate float64
	// DuplicateRate (0..1) is the share of postbacks sent twice.
	DuplicateRate float64
	// Seed seeds the random choices of DropRate and DuplicateRate.
	Seed uint64
	// RetryBackoff is the first pause between postback attempts; it
	// doubles for each of the up to 3 retries (default 200 ms).
	RetryBackoff time.Duration
}

// Emulator is a local stand-in for the AccountChek Verifier API, the
// borrower site behind loginUrl, and the postbacks. It implements
// http.Handler; mount it with http.StripPrefix. All state is in memory
// behind one mutex: it is a sandbox, not a store.
type Emulator struct {
	cfg    EmulatorConfig
	mux    *http.ServeMux
	pages  *template.Template
	ctx    context.Context // canceled by Close; stops postback senders
	cancel context.CancelFunc
	wg     sync.WaitGroup // postback senders

	mu     sync.Mutex // guards everything below
	closed bool
	orders map[string]*emuOrder // by order id
	tokens map[string]string    // borrower link token → order id
	rng    *mrand.Rand
}

// NewEmulator returns an emulator with cfg's defaults filled in.
func NewEmulator(cfg EmulatorConfig) *Emulator {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	cfg.WebhookURL = strings.TrimRight(cfg.WebhookURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Username == "" && cfg.Password == "" {
		cfg.Username, cfg.Password = SandboxUsername, SandboxPassword
	}
	if cfg.SSOLinkTTL <= 0 {
		cfg.SSOLinkTTL = 72 * time.Hour
	}
	if cfg.OrderLifetime <= 0 {
		cfg.OrderLifetime = 60 * 24 * time.Hour
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 200 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Emulator{
		cfg:    cfg,
		ctx:    ctx,
		cancel: cancel,
		orders: make(map[string]*emuOrder),
		tokens: make(map[string]string),
		rng:    mrand.New(mrand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		pages:  template.Must(template.New("").ParseFS(emulatorFS, "templates/*.html")),
	}
	e.routes()
	return e
}

// routes registers the API, the borrower site and the stylesheet.
func (e *Emulator) routes() {
	m := http.NewServeMux()
	api := func(pattern string, h func(http.ResponseWriter, *http.Request, *emuOrder)) {
		m.Handle(pattern, e.apiOrder(h))
	}
	m.Handle("POST /v1/accountchekorders", e.apiAuth(e.handleCreate))
	m.Handle("GET /v1/accountchekorders", e.apiAuth(e.handleList))
	api("GET /v1/accountchekorders/{id}", e.handleGetOrder)
	api("PATCH /v1/accountchekorders/{id}", e.handlePatchOrder)
	api("POST /v1/accountchekorders/{id}/voa", e.handleAttachVOA)
	api("GET /v1/accountchekorders/{id}/voa", e.handleGetVOA)
	api("GET /v1/accountchekorders/{id}/voa/lite", e.handleVOALite)
	api("GET /v1/accountchekorders/{id}/voa/reports", e.handleListVOAReports)
	api("POST /v1/accountchekorders/{id}/voa/reports", e.handleGenerateVOAReport)
	api("GET /v1/accountchekorders/{id}/voa/reports/{reportId}/summary", e.handleVOASummary)
	api("POST /v1/accountchekorders/{id}/voe", e.handleAttachVOE)
	api("GET /v1/accountchekorders/{id}/voe", e.handleGetVOE)
	api("GET /v1/accountchekorders/{id}/voe/reports", e.handleListVOEReports)
	api("POST /v1/accountchekorders/{id}/voe/reports", e.handleGenerateVOEReport)
	api("GET /v1/accountchekorders/{id}/voe/reports/{reportId}", e.handleVOEReport)
	api("GET /v1/accountchekorders/{id}/ssoUrl", e.handleSSOURL)
	m.HandleFunc("GET /borrower/{token}", e.handleBorrowerPage)
	m.HandleFunc("POST /borrower/{token}", e.handleBorrowerPost)
	m.HandleFunc("GET /assets/emulator.css", e.handleCSS)
	e.mux = m
}

// ServeHTTP serves the emulator.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.mux.ServeHTTP(w, r) }

// Close stops the postback senders and waits for them. Postbacks still
// queued are abandoned, as a real outage would.
func (e *Emulator) Close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
}

// now is the emulator clock in UTC.
func (e *Emulator) now() time.Time { return e.cfg.Now().UTC() }

// authorized checks HTTP Basic credentials in constant time.
func (e *Emulator) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(e.cfg.Username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(e.cfg.Password))
	return u&p == 1
}

// notificationURLProblem says what is wrong with a notificationUrl, or "".
// AccountChek requires https:// (S03). The sandbox also accepts plain http
// to a loopback host, to the portal's own configured WebhookURL, or to any
// host with AllowInsecureNotificationURL: a portal on a developer machine
// or in a local container has no TLS. When WebhookURL is set, nothing
// outside it is accepted at all.
func (e *Emulator) notificationURLProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "The notificationUrl must be an absolute URL."
	}
	w := e.cfg.WebhookURL
	underPortal := w != "" && (s == w || strings.HasPrefix(s, w+"/"))
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (e.cfg.AllowInsecureNotificationURL || isLoopbackHost(u.Hostname()) || underPortal):
	default:
		return "The notificationUrl must include https://."
	}
	if w != "" && !underPortal {
		return "The notificationUrl must be the portal's AccountChek webhook URL (sandbox)."
	}
	return ""
}

// isLoopbackHost reports whether host is localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// newGUID returns a random (version 4) GUID in AccountChek's lowercase form.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newToken returns an unguessable borrower link token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

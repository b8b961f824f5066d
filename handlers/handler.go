// Package handlers is the portal's HTTP layer: routes, middleware (security
// headers, sessions, CSRF, sign-in), page handlers, webhook receivers and the
// live-status stream. Handlers parse input, call the store or a workflow,
// and render views; the rules live in store and the workflows.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/sessions"

	"caseverify/handlers/verify"
	"caseverify/metrics"
	"caseverify/store"
	"caseverify/views"
)

// Config is what the handlers need to know about the deployment.
type Config struct {
	// Sandbox shows the sandbox banner, the outbox and the demo accounts.
	Sandbox bool
	// Secure is true when BASE_URL is https: cookies get Secure and the
	// __Host- prefix, and HSTS is sent.
	Secure bool
	// CSRFKey signs the per-session CSRF tokens (derived from SESSION_KEY).
	CSRFKey []byte
	// Zone is the agency's time zone for displayed times.
	Zone *time.Location
	// DemoAccounts are listed on the sign-in page in sandbox mode.
	DemoAccounts []views.DemoAccount
	// Sandboxes are the provider emulators, mounted at /sandbox/{name}/.
	Sandboxes map[string]http.Handler
	// BaseURL is the portal's public URL (Twilio signs the URL it called).
	BaseURL string
	// TwilioAuthToken verifies Twilio's callbacks; empty refuses them all.
	TwilioAuthToken string
	// Metrics counts webhook deliveries and live streams (nil: nothing).
	Metrics *metrics.Metrics
}

// Handler serves the portal.
type Handler struct {
	// store is every store method the handlers use: the union of the small
	// interfaces each handler file declares for itself, beside its code
	// (accountStore in account.go, casesStore in cases.go, ...). A method a
	// file needs is added to its own interface; web/ wires the *store.Store.
	store   storeAPI
	feed    *store.Feed // the change feed live pages subscribe to
	log     *slog.Logger
	cookies sessions.Store
	verify  *verify.Service
	cfg     Config
	access  map[string]Access // each route's access decision (routes.go)
	// stopping is closed when the server shuts down (Shutdown): live
	// streams end and /readyz answers 503.
	stopping chan struct{}
	// live shares the renderings of a case's changes between its streams
	// (live_render.go).
	live liveRenders
	// sessions checks the sessions of live streams, many in one read
	// (live_sessions.go).
	sessions *liveSessions
	stopOnce sync.Once
	// imports holds the progress of the CSV imports this process runs, by
	// file id (*importProgress): an import in one transaction shows no
	// progress in the database until it commits.
	imports sync.Map
}

// Shutdown tells the handlers the server is stopping: every live stream
// ends (so a shutdown does not wait for open case pages) and /readyz
// answers 503. web/ registers it with http.Server.RegisterOnShutdown.
func (h *Handler) Shutdown() { h.stopOnce.Do(func() { close(h.stopping) }) }

// New returns a Handler. cookies is the gorilla session store built in web/
// from SESSION_KEY; it holds only an opaque session token and a CSRF seed.
// svc runs the verification workflows (send, deliver, webhooks, reports).
func New(s *store.Store, log *slog.Logger, cookies sessions.Store, svc *verify.Service, cfg Config) *Handler {
	if cfg.Zone == nil {
		cfg.Zone = time.Local
	}
	h := &Handler{store: s, feed: s.Feed, log: log, cookies: cookies, verify: svc, cfg: cfg, stopping: make(chan struct{})}
	h.sessions = &liveSessions{read: func(ctx context.Context, tokens []string) (map[string]bool, error) {
		cfg.Metrics.LiveSessionRead()
		return h.store.SessionsLive(ctx, tokens)
	}}
	return h
}

// CookieName is the session cookie's name: with the __Host- prefix when
// served over https (the browser then insists on Secure, Path=/ and no Domain).
func CookieName(secure bool) string {
	if secure {
		return "__Host-caseverify"
	}
	return "caseverify"
}

// storeAPI is what the handlers use of the store, file by file.
type storeAPI interface {
	accountStore
	adminStore
	auditStore
	authStore
	bulkStore
	casesStore
	contactStore
	dashboardStore
	engagementStore
	eventsStore
	formPostsStore
	householdStore
	intakeStore
	membersStore
	messagingStore
	middlewareStore
	orderActionsStore
	ordersStore
	renderStore
	renewalsStore
	settingsStore
	webhooksStore
}

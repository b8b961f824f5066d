package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"caseverify/static"
	"caseverify/store"
)

// Access is a route's decision about who may use it. Every route has one,
// recorded as it is registered (RouteAccess), so a test can walk all routes
// and a new route without a decision fails it.
type Access struct {
	// Public routes need no sign-in: the sign-in page, applicant links,
	// provider webhooks (authenticated by their own scheme), emulators.
	Public bool
	// Perm is the permission a signed-in user's role needs (store/roles.go);
	// empty on a non-public route: any signed-in user.
	Perm store.Permission
}

var (
	public   = Access{Public: true}
	signedIn = Access{}
)

func need(p store.Permission) Access { return Access{Perm: p} }

// RouteAccess returns the decision recorded for a route (method and path
// template as in e.Routes()).
func (h *Handler) RouteAccess(method, path string) (Access, bool) {
	a, ok := h.access[method+" "+path]
	return a, ok
}

// adder is an *echo.Echo or an *echo.Group.
type adder interface {
	Add(method, path string, handler echo.HandlerFunc, middleware ...echo.MiddlewareFunc) *echo.Route
}

// route registers one route with its access decision; a permission adds
// the role check (allow) in front of the handler.
func (h *Handler) route(g adder, method, path string, a Access, fn echo.HandlerFunc) {
	var mw []echo.MiddlewareFunc
	if a.Perm != "" {
		mw = append(mw, h.allow(a.Perm))
	}
	r := g.Add(method, path, fn, mw...)
	h.access[r.Method+" "+r.Path] = a
}

// Register mounts every route and the middleware on e.
//
// Order matters: recover and request ids first, then security headers (on
// every answer, errors included), the body limit, cross-origin protection,
// then the session (which sets the CSRF token), the CSRF check, the sign-in
// requirement on the staff group, and each staff route's role check.
func (h *Handler) Register(e *echo.Echo) {
	h.access = map[string]Access{}
	e.HTTPErrorHandler = h.handleError
	e.Use(middleware.Recover())
	e.Use(middleware.RequestID())
	e.Use(h.securityHeaders)
	e.Use(h.requestLog)
	// 1 MB a request, except a CSV intake file (store.IntakeMaxBytes and
	// room for the form around it).
	isUpload := func(c echo.Context) bool {
		return c.Request().Method == http.MethodPost && c.Request().URL.Path == "/imports"
	}
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "1M", Skipper: isUpload}))
	e.Use(middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{Limit: "6M", Skipper: func(c echo.Context) bool { return !isUpload(c) }}))
	e.Use(h.crossOrigin(http.NewCrossOriginProtection()))

	r := e.StaticFS("/static", static.FS)
	h.access[r.Method+" "+r.Path] = public
	h.route(e, http.MethodGet, "/healthz", public, h.health)
	h.route(e, http.MethodGet, "/readyz", public, h.ready)

	// Provider webhooks: no session and no CSRF token; each delivery is
	// authenticated on its raw bytes by the provider's own scheme.
	h.route(e, http.MethodPost, "/webhooks/twilio/status", public, h.countWebhooks(h.twilioStatus))
	h.route(e, http.MethodPost, "/webhooks/twilio/inbound", public, h.countWebhooks(h.twilioInbound))
	h.route(e, http.MethodPost, "/webhooks/:provider", public, h.countWebhooks(h.webhook))
	h.route(e, http.MethodPost, "/webhooks/:provider/*", public, h.countWebhooks(h.webhook))

	// The applicant's tracked link: public, the code is the secret.
	h.route(e, http.MethodGet, "/l/:code", public, h.linkOpen)
	h.route(e, http.MethodHead, "/l/:code", public, h.linkOpen)
	// The applicant's page for widget providers (Truework): public, the
	// token is the secret.
	h.route(e, http.MethodGet, "/v/:token", public, h.applicantPage)

	// Provider emulators (sandbox mode): stand-ins for outside sites.
	for name, em := range h.cfg.Sandboxes {
		prefix := "/sandbox/" + name
		for _, r := range e.Any(prefix+"/*", echo.WrapHandler(http.StripPrefix(prefix, em))) {
			h.access[r.Method+" "+r.Path] = public
		}
	}

	// Pages: a session on every one, CSRF on every state change.
	pages := e.Group("", h.session, h.csrf)
	h.route(pages, http.MethodGet, "/login", public, h.loginForm)
	h.route(pages, http.MethodPost, "/login", public, h.login)
	// A sign-in under way (password right, a step left): each page checks
	// that the session is at its stage; no staff page opens before it is full.
	h.route(pages, http.MethodGet, "/login/code", public, h.codeForm)
	h.route(pages, http.MethodPost, "/login/code", public, h.codeCheck)
	h.route(pages, http.MethodGet, "/login/password", public, h.newPasswordForm)
	h.route(pages, http.MethodPost, "/login/password", public, h.newPasswordSave)
	h.route(pages, http.MethodGet, "/login/enroll", public, h.enrollForm)
	h.route(pages, http.MethodGet, "/login/enroll/qr.png", public, h.enrollQR)
	h.route(pages, http.MethodPost, "/login/enroll", public, h.enrollConfirm)
	h.route(pages, http.MethodPost, "/logout", public, h.logout) // also ends a sign-in under way

	staff := pages.Group("", h.requireUser)
	get := func(path string, a Access, fn echo.HandlerFunc) { h.route(staff, http.MethodGet, path, a, fn) }
	post := func(path string, a Access, fn echo.HandlerFunc) { h.route(staff, http.MethodPost, path, a, fn) }
	// postOnce is post for a form that creates or sends: it acts once per
	// form token (oncePerForm).
	postOnce := func(path string, a Access, fn echo.HandlerFunc) { post(path, a, h.oncePerForm(fn)) }
	get("/account", signedIn, h.account)
	post("/account/password", signedIn, h.accountPassword)
	post("/account/mfa/start", signedIn, h.accountMFAStart)
	get("/account/mfa", signedIn, h.accountMFAForm)
	get("/account/mfa/qr.png", signedIn, h.accountMFAQR)
	post("/account/mfa", signedIn, h.accountMFAConfirm)
	post("/account/mfa/off", signedIn, h.accountMFAOff)
	post("/account/recovery-codes", signedIn, h.accountRecoveryCodes)
	get("/", signedIn, func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, currentUser(c).Role.Home()) })
	get("/cases", need(store.PermCaseList), h.caseList)
	post("/cases/search", need(store.PermCaseList), h.caseSearch)
	post("/cases/find", need(store.PermCaseOpen), h.caseFind)
	get("/cases/new", need(store.PermCaseOpen), h.caseNew)
	postOnce("/cases", need(store.PermCaseOpen), h.caseCreate)
	get("/cases/:id", need(store.PermCaseOpen), h.caseShow)
	get("/cases/:id/edit", need(store.PermCaseEdit), h.caseEdit)
	post("/cases/:id", need(store.PermCaseEdit), h.caseUpdate)
	postOnce("/cases/:id/notes", need(store.PermCaseEdit), h.noteCreate)
	get("/cases/:id/members/new", need(store.PermCaseOpen), h.memberNew)
	postOnce("/cases/:id/members", need(store.PermCaseOpen), h.memberCreate)
	get("/cases/:id/members/:mid/edit", need(store.PermCaseEdit), h.memberEdit)
	post("/cases/:id/members/:mid/edit", need(store.PermCaseEdit), h.memberEditReveal)
	post("/cases/:id/members/:mid", need(store.PermCaseEdit), h.memberUpdate)
	post("/cases/:id/members/:mid/remove", need(store.PermCaseEdit), h.memberRemove)
	post("/cases/:id/members/:mid/reveal", need(store.PermReveal), h.memberReveal)
	get("/cases/:id/members/:mid/verify", need(store.PermSend), h.sendForm)
	postOnce("/cases/:id/members/:mid/orders", need(store.PermSend), h.orderCreate)
	get("/cases/:id/events", need(store.PermCaseOpen), h.caseEvents)
	get("/cases/:id/household-verify", need(store.PermSend), h.householdForm)
	postOnce("/cases/:id/household-orders", need(store.PermSend), h.householdCreate)
	get("/cases/:id/orders/:oid", need(store.PermCaseOpen), h.orderShow)
	get("/cases/:id/orders/:oid/qr", need(store.PermSend), h.orderQR)
	post("/cases/:id/orders/:oid/qr", need(store.PermSend), h.orderQRCreate)
	get("/cases/:id/orders/:oid/qr.png", need(store.PermSend), h.orderQRImage)
	get("/cases/:id/orders/:oid/handout", need(store.PermSend), h.orderHandout)
	get("/cases/:id/orders/:oid/report", need(store.PermReports), h.reportShow)
	get("/cases/:id/orders/:oid/report.pdf", need(store.PermReports), h.reportPDF)
	get("/cases/:id/orders/:oid/report/print", need(store.PermReports), h.reportPrint)
	get("/cases/:id/orders/:oid/engagement.pdf", need(store.PermReports), h.engagementPDF)
	postOnce("/cases/:id/orders/:oid/resend", need(store.PermSend), h.orderResend)
	post("/cases/:id/orders/:oid/cancel", need(store.PermCancel), h.orderCancel)
	post("/cases/:id/orders/:oid/new-link", need(store.PermSend), h.orderNewLink)
	post("/cases/:id/orders/:oid/session", need(store.PermSend), h.orderFreshSession)
	postOnce("/cases/:id/orders/:oid/reverify", need(store.PermRenew), h.orderReverify)
	get("/outbox", need(store.PermSend), h.outbox)
	get("/renewals", need(store.PermRenew), h.renewals)
	postOnce("/renewals/run", need(store.PermRenew), h.renewAll)
	postOnce("/renewals/cases/:id", need(store.PermRenew), h.renewCase)
	get("/renewals/runs/:rid/progress", need(store.PermRenew), h.renewalProgress)
	post("/renewals/runs/:rid/cancel", need(store.PermRenew), h.renewalCancel)
	get("/imports", need(store.PermBulk), h.intakeForm)
	post("/imports", need(store.PermBulk), h.intakeUpload)
	get("/imports/:iid", need(store.PermBulk), h.intakeShow)
	post("/imports/:iid/import", need(store.PermBulk), h.intakeImport)
	get("/bulk-send", need(store.PermBulk), h.bulkForm)
	postOnce("/bulk-send", need(store.PermBulk), h.bulkStart)
	get("/bulk-send/runs/:rid", need(store.PermBulk), h.bulkRun)
	post("/bulk-send/runs/:rid/cancel", need(store.PermBulk), h.bulkCancel)
	get("/contact", need(store.PermSend), h.contactForm)
	postOnce("/contact", need(store.PermSend), h.contactSend)
	get("/audit", need(store.PermAuditLog), h.auditLog)
	get("/dashboard", need(store.PermDashboard), h.dashboard)
	get("/dashboard/export", need(store.PermDashboard), h.dashboardExport)

	get("/admin/users", need(store.PermUsers), h.userList)
	post("/admin/users", need(store.PermUsers), h.userCreate)
	post("/admin/users/:uid/disable", need(store.PermUsers), h.userDisable)
	post("/admin/users/:uid/enable", need(store.PermUsers), h.userEnable)
	post("/admin/users/:uid/reset-password", need(store.PermUsers), h.userResetPassword)
	post("/admin/users/:uid/reset-mfa", need(store.PermUsers), h.userResetMFA)
	get("/admin/settings", need(store.PermSettings), h.settingsForm)
	post("/admin/settings", need(store.PermSettings), h.settingsSave)
	post("/admin/settings/mfa", need(store.PermSettings), h.settingsMFA)
}

package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"caseverify/static"
)

// Register mounts every route and the middleware on e.
//
// Order matters: recover and request ids first, then security headers (on
// every answer, errors included), the body limit, cross-origin protection,
// then the session (which sets the CSRF token), the CSRF check, and finally
// the sign-in requirement on the staff group.
func (h *Handler) Register(e *echo.Echo) {
	e.HTTPErrorHandler = h.handleError
	e.Use(middleware.Recover())
	e.Use(middleware.RequestID())
	e.Use(h.securityHeaders)
	e.Use(h.requestLog)
	e.Use(middleware.BodyLimit("1M"))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Cross-origin request refused.", http.StatusForbidden)
	}))
	e.Use(echo.WrapMiddleware(cop.Handler))

	e.StaticFS("/static", static.FS)
	e.GET("/healthz", h.health)

	// Provider webhooks: no session and no CSRF token; each delivery is
	// authenticated on its raw bytes by the provider's own scheme.
	e.POST("/webhooks/twilio/status", h.twilioStatus)
	e.POST("/webhooks/twilio/inbound", h.twilioInbound)
	e.POST("/webhooks/:provider", h.webhook)
	e.POST("/webhooks/:provider/*", h.webhook)

	// The applicant's tracked link: public, the code is the secret.
	e.GET("/l/:code", h.linkOpen)
	e.HEAD("/l/:code", h.linkOpen)
	// The applicant's page for widget providers (Truework): public, the
	// token is the secret.
	e.GET("/v/:token", h.applicantPage)

	// Provider emulators (sandbox mode): stand-ins for outside sites.
	for name, em := range h.cfg.Sandboxes {
		prefix := "/sandbox/" + name
		e.Any(prefix+"/*", echo.WrapHandler(http.StripPrefix(prefix, em)))
	}

	// Pages: a session on every one, CSRF on every state change.
	pages := e.Group("", h.session, h.csrf)
	pages.GET("/login", h.loginForm)
	pages.POST("/login", h.login)

	staff := pages.Group("", h.requireUser)
	staff.POST("/logout", h.logout)
	staff.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/cases") })
	staff.GET("/cases", h.caseList)
	staff.POST("/cases/search", h.caseSearch)
	staff.GET("/cases/new", h.caseNew)
	staff.POST("/cases", h.caseCreate)
	staff.GET("/cases/:id", h.caseShow)
	staff.GET("/cases/:id/edit", h.caseEdit)
	staff.POST("/cases/:id", h.caseUpdate)
	staff.POST("/cases/:id/notes", h.noteCreate)
	staff.GET("/cases/:id/members/new", h.memberNew)
	staff.POST("/cases/:id/members", h.memberCreate)
	staff.GET("/cases/:id/members/:mid/edit", h.memberEdit)
	staff.POST("/cases/:id/members/:mid", h.memberUpdate)
	staff.POST("/cases/:id/members/:mid/remove", h.memberRemove)
	staff.POST("/cases/:id/members/:mid/reveal", h.memberReveal)
	staff.GET("/cases/:id/members/:mid/verify", h.sendForm)
	staff.POST("/cases/:id/members/:mid/orders", h.orderCreate)
	staff.GET("/cases/:id/events", h.caseEvents)
	staff.GET("/cases/:id/household-verify", h.householdForm)
	staff.POST("/cases/:id/household-orders", h.householdCreate)
	staff.GET("/cases/:id/orders/:oid", h.orderShow)
	staff.GET("/cases/:id/orders/:oid/qr", h.orderQR)
	staff.GET("/cases/:id/orders/:oid/qr.png", h.orderQRImage)
	staff.GET("/cases/:id/orders/:oid/report", h.reportShow)
	staff.GET("/cases/:id/orders/:oid/report.pdf", h.reportPDF)
	staff.GET("/cases/:id/orders/:oid/handout", h.orderHandout)
	staff.POST("/cases/:id/orders/:oid/resend", h.orderResend)
	staff.POST("/cases/:id/orders/:oid/cancel", h.orderCancel)
	staff.POST("/cases/:id/orders/:oid/new-link", h.orderNewLink)
	staff.POST("/cases/:id/orders/:oid/session", h.orderFreshSession)
	staff.POST("/cases/:id/orders/:oid/reverify", h.orderReverify)
	staff.GET("/outbox", h.outbox)
	staff.GET("/renewals", h.renewals)
	staff.POST("/renewals/run", h.renewAll)
	staff.POST("/renewals/cases/:id", h.renewCase)
	staff.GET("/renewals/runs/:rid/progress", h.renewalProgress)
	staff.POST("/renewals/runs/:rid/cancel", h.renewalCancel)
	staff.GET("/contact", h.contactForm)
	staff.POST("/contact", h.contactSend)

	admin := staff.Group("/admin", h.requireAdmin)
	admin.GET("/users", h.userList)
	admin.POST("/users", h.userCreate)
	admin.POST("/users/:uid/disable", h.userDisable)
	admin.POST("/users/:uid/enable", h.userEnable)
	admin.GET("/settings", h.settingsForm)
	admin.POST("/settings", h.settingsSave)
}

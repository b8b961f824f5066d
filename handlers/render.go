package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"caseverify/providers"
	"caseverify/store"
	"caseverify/views"
)

// render writes a component with status, buffered so that a rendering error
// becomes a clean error page instead of half a page.
func render(c echo.Context, status int, cmp templ.Component) error {
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := cmp.Render(c.Request().Context(), buf); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// handleError is Echo's error handler: it answers an error with the status
// and words explain gives it (errors.go), on a plain page. It never shows
// err.Error(): no stack trace, SQL or path reaches a page. Only server errors
// are logged, by request id.
func (h *Handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := h.explain(err, "a request")
	if e.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", retryAfter(e.RetryAfter))
	}
	if e.Status >= 500 {
		h.log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("route", c.Path()), slog.String("error", err.Error()),
			slog.String("request_id", requestID(c)))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	if rerr := render(c, e.Status, views.ErrorPage(e.Status, e.Heading, e.Message)); rerr != nil {
		_ = c.String(e.Status, e.Heading)
	}
}

// notFound is the one answer for an unknown id and another agency's id.
var errNotFound = echo.NewHTTPError(http.StatusNotFound)

// paramID parses a numeric path parameter; anything else is "not found".
func paramID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// setFlash stores a one-time message shown on the next page.
func (h *Handler) setFlash(c echo.Context, msg string) error {
	sess, _ := h.cookies.Get(c.Request(), CookieName(h.cfg.Secure))
	sess.Values["flash"] = msg
	return sess.Save(c.Request(), c.Response())
}

// audit records an audit entry for the signed-in user; a failure to audit
// fails the request, since an unaudited PII reveal must not happen.
func (h *Handler) audit(c echo.Context, action string, caseID, memberID int64, subject string) error {
	return h.auditAs(c, currentUser(c), action, caseID, memberID, subject)
}

// auditAs records an audit entry for u (during sign-in, before the session
// holds the user): ids, the route template and the client address only.
func (h *Handler) auditAs(c echo.Context, u *store.User, action string, caseID, memberID int64, subject string) error {
	return h.store.Audit(c.Request().Context(), store.AuditEntry{AgencyID: u.AgencyID, UserID: u.ID, Action: action,
		CaseID: caseID, MemberID: memberID, Subject: subject, Route: c.Path(), IP: c.RealIP()})
}

// providerStatus answers a provider's error and logs it once: a refusal of
// the request (the provider answered 4xx, other than our credentials or its
// rate limit: it read the order and said no, for reasons the caseworker can
// fix, e.g. Truework's wrong SSN or AccountChek's missing last 4) is 422 and
// logged at info, like any form problem; anything else (no answer, 5xx,
// 401/403, 429) is the provider failing: 502, logged at warn. what says
// which action ("an order"); nothing personal is logged.
func (h *Handler) providerStatus(perr *providers.ProviderError, what string) int {
	refused := perr.HTTPStatus >= 400 && perr.HTTPStatus < 500 && !perr.Retryable &&
		perr.HTTPStatus != http.StatusUnauthorized && perr.HTTPStatus != http.StatusForbidden && perr.HTTPStatus != http.StatusTooManyRequests
	if refused {
		h.log.Info("provider refused "+what, "provider", perr.Provider, "status", perr.HTTPStatus, "code", perr.Code)
		return http.StatusUnprocessableEntity
	}
	h.log.Warn("provider failed "+what, "provider", perr.Provider, "status", perr.HTTPStatus, "code", perr.Code)
	return http.StatusBadGateway
}

// renderStore is what render.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type renderStore interface {
	Audit(ctx context.Context, e store.AuditEntry) error
}

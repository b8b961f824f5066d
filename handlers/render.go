package handlers

import (
	"errors"
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

// handleError is Echo's error handler: it maps an error to a status and a
// plain page. It never shows err.Error(): no stack trace, SQL or path reaches
// a page. Only server errors are logged, by request id.
func (h *Handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	heading, msg := "Something went wrong", "The portal could not finish this request. Try again; if it keeps happening, tell your administrator the time and the error number below."
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		switch status {
		case http.StatusNotFound:
			heading, msg = "Page not found", "There is nothing here, or you do not have access to it. Check the address, or go back to your cases."
		case http.StatusForbidden:
			heading = "Not allowed"
			msg = "You cannot do that here."
			if s, ok := he.Message.(string); ok {
				msg = s
			}
		case http.StatusRequestEntityTooLarge:
			heading, msg = "Too much data", "What was sent is larger than the portal accepts."
		case http.StatusMethodNotAllowed:
			heading, msg = "Not allowed", "That action is not available at this address."
		case http.StatusTooManyRequests:
			heading, msg = "Too many requests", "Wait a minute and try again."
		default:
			if status < 500 {
				heading, msg = "Request not understood", "The portal could not read this request."
			}
		}
	case errors.Is(err, store.ErrNotFound):
		status = http.StatusNotFound
		heading, msg = "Page not found", "There is nothing here, or you do not have access to it. Check the address, or go back to your cases."
	}
	if status >= 500 {
		h.log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("route", c.Path()), slog.String("error", err.Error()),
			slog.String("request_id", requestID(c)))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if rerr := render(c, status, views.ErrorPage(status, heading, msg)); rerr != nil {
		_ = c.String(status, heading)
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

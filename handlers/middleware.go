package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// contentSecurityPolicy allows only the portal's own scripts, styles and
// images: no inline script or style anywhere (htmx's indicator style is
// turned off in the layout's htmx-config).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// securityHeaders sets the headers every answer carries (reliability.md X5).
func (h *Handler) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		hd := c.Response().Header()
		if strings.HasPrefix(c.Request().URL.Path, "/sandbox/") {
			// Emulated widgets (Truework.js) frame their own pages.
			hd.Set("Content-Security-Policy", strings.Replace(contentSecurityPolicy, "frame-ancestors 'none'", "frame-ancestors 'self'", 1))
			hd.Set("X-Frame-Options", "SAMEORIGIN")
		} else {
			hd.Set("Content-Security-Policy", contentSecurityPolicy)
			hd.Set("X-Frame-Options", "DENY")
		}
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if h.cfg.Secure {
			hd.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if !strings.HasPrefix(c.Request().URL.Path, "/static/") {
			// Pages show personal data: never keep them in a shared office
			// browser's cache, so the back button after sign-out shows nothing.
			hd.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// requestLog logs one line per request with ids only: the path (never the
// query string, which could carry a token), status and latency.
func (h *Handler) requestLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		route := c.Path() // the route template, e.g. /cases/:id: no ids of people
		if route == "" {
			route = "(unmatched)"
		}
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case strings.HasPrefix(route, "/static") && status < 400:
			// Every page pulls several files: at info they would drown the
			// requests that matter.
			level = slog.LevelDebug
		}
		h.log.LogAttrs(c.Request().Context(), level, "request",
			slog.String("method", c.Request().Method), slog.String("route", route),
			slog.Int("status", status), slog.Duration("latency", time.Since(start)),
			slog.String("request_id", requestID(c)))
		return nil
	}
}

type ctxKey int

const (
	userKey ctxKey = iota + 1
	pendingKey
)

// currentUser returns the signed-in user (a full session), or nil.
func currentUser(c echo.Context) *store.User {
	u, _ := c.Request().Context().Value(userKey).(*store.User)
	return u
}

// pendingSignIn is a sign-in under way: the password was right, and the
// user still has a step to take before the session is full.
type pendingSignIn struct {
	user  *store.User
	stage store.SessionStage
}

// pendingUser returns the sign-in under way, or nil.
func pendingUser(c echo.Context) *pendingSignIn {
	p, _ := c.Request().Context().Value(pendingKey).(*pendingSignIn)
	return p
}

// session loads the cookie session and the signed-in user, and puts the
// page chrome (user, CSRF token, flash) into the request context.
func (h *Handler) session(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		sess, _ := h.cookies.Get(r, CookieName(h.cfg.Secure)) // a bad cookie just starts a new session
		dirty := false
		if _, ok := sess.Values["anon"].(string); !ok {
			sess.Values["anon"] = randomToken()
			dirty = true
		}
		var user *store.User
		var pending *pendingSignIn
		if sid, ok := sess.Values["sid"].(string); ok && sid != "" {
			u, stage, err := h.store.Session(r.Context(), sid)
			switch {
			case err == nil && stage == store.StageFull:
				user = u
			case err == nil:
				pending = &pendingSignIn{user: u, stage: stage}
			case errors.Is(err, store.ErrNotFound):
				delete(sess.Values, "sid") // expired, signed out elsewhere, or disabled
				dirty = true
			default:
				return err
			}
		}
		flash, _ := sess.Values["flash"].(string)
		if flash != "" {
			delete(sess.Values, "flash")
			dirty = true
		}
		if dirty {
			if err := sess.Save(r, c.Response()); err != nil {
				return err
			}
		}
		ch := views.Chrome{CSRFToken: h.csrfToken(sess.Values), Flash: flash, Sandbox: h.cfg.Sandbox,
			Path: r.URL.Path, Zone: h.cfg.Zone, Outbox: h.verify != nil && h.verify.UsesOutbox(), Rendered: h.store.Now()}
		ctx := r.Context()
		if user != nil {
			ch.SignedIn, ch.UserName, ch.UserRole, ch.Role, ch.AgencyName, ch.IsAdmin =
				true, user.Name, string(user.Role), user.Role, user.AgencyName, user.IsAdmin()
			ctx = context.WithValue(ctx, userKey, user)
		}
		if pending != nil {
			ctx = context.WithValue(ctx, pendingKey, pending)
		}
		c.SetRequest(r.WithContext(views.WithChrome(ctx, ch)))
		return next(c)
	}
}

// csrfToken ties the form token to the server-side session (or, before
// sign-in, to a random seed in the cookie): a token from another session
// never matches.
func (h *Handler) csrfToken(values map[any]any) string {
	seed, _ := values["sid"].(string)
	if seed == "" {
		seed, _ = values["anon"].(string)
	}
	m := hmac.New(sha256.New, h.cfg.CSRFKey)
	m.Write([]byte("csrf:" + seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrf refuses a state-changing request without this session's token
// (reliability.md X1). Cross-origin requests were already refused by
// net/http's CrossOriginProtection; this is the second layer.
func (h *Handler) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		want := views.ChromeFrom(c.Request().Context()).CSRFToken
		got := c.Request().Header.Get("X-CSRF-Token")
		if got == "" {
			got = c.FormValue("_csrf")
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			h.refused(c, "csrf")
			return echo.NewHTTPError(http.StatusForbidden, "This form has expired. Go back, reload the page and try again.")
		}
		return next(c)
	}
}

// sessionToken is the signed-in session's token from the cookie, or "".
func (h *Handler) sessionToken(r *http.Request) string {
	sess, _ := h.cookies.Get(r, CookieName(h.cfg.Secure))
	sid, _ := sess.Values["sid"].(string)
	return sid
}

// requireUser sends visitors who are not signed in to the sign-in page, and
// a sign-in under way to its next step: no staff page opens before the
// session is full.
func (h *Handler) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if currentUser(c) != nil {
			return next(c)
		}
		target := "/login"
		if p := pendingUser(c); p != nil {
			target = stagePath(p.stage)
		}
		if c.Request().Header.Get("HX-Request") == "true" {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		if strings.Contains(c.Request().Header.Get("Accept"), "text/event-stream") {
			// A live page's stream reconnecting after its session ended:
			// the same last event as a stream that saw it end (events.go).
			c.Response().Header().Set("Content-Type", "text/event-stream")
			c.Response().Header().Set("Cache-Control", "no-store")
			c.Response().WriteHeader(http.StatusOK)
			return writeEvent(c.Request().Context(), c.Response(), "signed-out",
				views.SignedOutBanner(strings.TrimSuffix(c.Request().URL.Path, "/events")))
		}
		if target == "/login" && c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
			target += "?next=" + url.QueryEscape(c.Request().URL.Path)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}

// allow lets a user whose role includes p through (store/roles.go says what
// each role may do) and refuses everyone else with a 403 page in plain words.
// The refusal is logged (refused).
func (h *Handler) allow(p store.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if currentUser(c).Can(p) {
				return next(c)
			}
			return h.refuseRole(c, p, 0, "")
		}
	}
}

// refuseRole refuses a request the user's role does not allow: logged,
// audited (on caseID when known), and a 403 page in plain words (msg, or
// the general one).
func (h *Handler) refuseRole(c echo.Context, p store.Permission, caseID int64, msg string) error {
	u := currentUser(c)
	h.refused(c, "role", slog.String("permission", string(p)), slog.String("role", string(u.Role)))
	if err := h.audit(c, store.AuditRefused, caseID, 0, string(p)); err != nil {
		return err
	}
	if msg == "" {
		msg = "Your role (" + views.RoleLabel(u.Role) + ") does not include this. If you need it, ask your supervisor or administrator."
	}
	return echo.NewHTTPError(http.StatusForbidden, msg)
}

// refused logs a security-relevant refusal (role, CSRF, cross-origin,
// sign-in throttling, webhook authentication) in one shape: the kind, the
// route template, the request id and the client address. Never a value from
// the request (no email, token or query string).
func (h *Handler) refused(c echo.Context, kind string, attrs ...slog.Attr) {
	attrs = append([]slog.Attr{slog.String("kind", kind), slog.String("method", c.Request().Method),
		slog.String("route", c.Path()), slog.String("request_id", requestID(c)), slog.String("client", c.RealIP())}, attrs...)
	if u := currentUser(c); u != nil {
		attrs = append(attrs, slog.Int64("user_id", u.ID), slog.Int64("agency_id", u.AgencyID))
	}
	h.log.LogAttrs(c.Request().Context(), slog.LevelWarn, "refused", attrs...)
}

// requestID is the request's id (set by the RequestID middleware on the
// response), which the logs and an error page share.
func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// crossOrigin refuses cross-origin state changes with net/http's
// CrossOriginProtection (Sec-Fetch-Site, then Origin against Host), and logs
// each refusal.
func (h *Handler) crossOrigin(cop *http.CrossOriginProtection) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := cop.Check(c.Request()); err != nil {
				h.refused(c, "cross_origin")
				return echo.NewHTTPError(http.StatusForbidden, "Cross-origin request refused.")
			}
			return next(c)
		}
	}
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// middlewareStore is what middleware.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type middlewareStore interface {
	Now() time.Time
	Session(ctx context.Context, token string) (*store.User, store.SessionStage, error)
}

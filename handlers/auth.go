package handlers

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// badSignIn is the one message for an unknown email, a wrong password and a
// disabled account: sign-in never tells which accounts exist (ASVS 6.3.8).
const badSignIn = "That email and password do not match an active account. Check them and try again."

func (h *Handler) loginForm(c echo.Context) error {
	if u := currentUser(c); u != nil {
		return c.Redirect(http.StatusSeeOther, u.Role.Home())
	}
	f := views.LoginForm{Next: safeNext(c.QueryParam("next")), Sandbox: h.cfg.DemoAccounts}
	if c.QueryParam("signed_out") == "1" {
		return render(c, http.StatusOK, views.LoginPageWithNotice(f, "You are signed out."))
	}
	return render(c, http.StatusOK, views.LoginPage(f))
}

func (h *Handler) login(c echo.Context) error {
	ctx := c.Request().Context()
	f := views.LoginForm{Email: strings.TrimSpace(c.FormValue("email")), Next: safeNext(c.FormValue("next")),
		Sandbox: h.cfg.DemoAccounts}
	u, err := h.store.SignIn(ctx, f.Email, c.FormValue("password"), c.RealIP())
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &throttled):
		mins := int(math.Ceil(throttled.RetryAfter.Minutes()))
		f.Error = fmt.Sprintf("Too many sign-in attempts. Wait %s and try again.", views.Plural(mins, "minute", "minutes"))
		c.Response().Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(throttled.RetryAfter.Seconds()))))
		h.refused(c, "sign_in_throttled")
		return render(c, http.StatusTooManyRequests, views.LoginPage(f))
	case errors.Is(err, store.ErrBadCredentials):
		f.Error = badSignIn
		if err := h.auditSignInFailure(c, f.Email); err != nil {
			return err
		}
		return render(c, http.StatusUnauthorized, views.LoginPage(f))
	case err != nil:
		return err
	}

	// A new server-side session on every sign-in (no fixation), and the old
	// one, if any, is ended.
	sess, _ := h.cookies.Get(c.Request(), CookieName(h.cfg.Secure))
	if old, ok := sess.Values["sid"].(string); ok && old != "" {
		if err := h.store.DeleteSession(ctx, old); err != nil {
			return err
		}
	}
	token, err := h.store.CreateSession(ctx, u)
	if err != nil {
		return err
	}
	sess.Values = map[any]any{"sid": token, "anon": randomToken()}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	if err := h.auditAs(c, u, store.AuditSignIn, 0, 0, ""); err != nil {
		return err
	}
	h.log.Info("signed in", "user_id", u.ID, "agency_id", u.AgencyID)
	next := f.Next
	if next == "" {
		next = u.Role.Home()
	}
	return c.Redirect(http.StatusSeeOther, next)
}

func (h *Handler) logout(c echo.Context) error {
	ctx := c.Request().Context()
	sess, _ := h.cookies.Get(c.Request(), CookieName(h.cfg.Secure))
	if sid, ok := sess.Values["sid"].(string); ok && sid != "" {
		if err := h.store.DeleteSession(ctx, sid); err != nil {
			return err
		}
	}
	if err := h.audit(c, store.AuditSignOut, 0, 0, ""); err != nil {
		return err
	}
	sess.Values = map[any]any{}
	sess.Options.MaxAge = -1
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	c.Response().Header().Set("Clear-Site-Data", `"cache"`)
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

// safeNext keeps a post-sign-in redirect on this site: a path, not a URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n") {
		return ""
	}
	return next
}

func (h *Handler) health(c echo.Context) error {
	if err := h.store.Ping(c.Request().Context()); err != nil {
		h.log.Error("health check failed", "error", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

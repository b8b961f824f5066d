package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"caseverify/store"
	"caseverify/views"
)

// badSignIn is the one message for an unknown email, a wrong password and a
// disabled account: sign-in never tells which accounts exist (ASVS 6.3.8).
const badSignIn = "That email and password do not match an active account. Check them and try again."

// totpIssuer names the portal in the user's authenticator app.
const totpIssuer = "caseverify"

func (h *Handler) loginForm(c echo.Context) error {
	if u := currentUser(c); u != nil {
		return c.Redirect(http.StatusSeeOther, u.Role.Home())
	}
	if p := pendingUser(c); p != nil {
		return c.Redirect(http.StatusSeeOther, stagePath(p.stage))
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
		f.Error = throttledMessage(c, throttled)
		h.refused(c, "sign_in_throttled")
		return render(c, http.StatusTooManyRequests, views.LoginPage(f))
	case errors.Is(err, store.ErrBusy):
		// The hashing queue is full: answer at once rather than hold a
		// real sign-in for seconds behind a burst of guesses.
		f.Error = "The portal is busy signing people in. Try again in a moment."
		c.Response().Header().Set("Retry-After", "1")
		h.refused(c, "sign_in_busy")
		return render(c, http.StatusServiceUnavailable, views.LoginPage(f))
	case errors.Is(err, store.ErrBadCredentials):
		f.Error = badSignIn
		if err := h.auditSignInFailure(c, f.Email); err != nil {
			return err
		}
		return render(c, http.StatusUnauthorized, views.LoginPage(f))
	case err != nil:
		return err
	}
	stage := h.nextStage(u, false)
	if stage == store.StageEnroll {
		if _, err := h.store.BeginTOTP(ctx, u, totpIssuer); err != nil {
			return err
		}
	}
	// A new server-side session on every sign-in (no fixation), and the old
	// one, if any, is ended.
	sess, _ := h.cookies.Get(c.Request(), CookieName(h.cfg.Secure))
	if old, ok := sess.Values["sid"].(string); ok && old != "" {
		if err := h.store.DeleteSession(ctx, old); err != nil {
			return err
		}
	}
	token, err := h.store.StartSession(ctx, u, stage)
	if err != nil {
		return err
	}
	sess.Values = map[any]any{"sid": token, "anon": randomToken(), "next": f.Next}
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	if stage != store.StageFull {
		h.log.Info("password accepted, sign-in continues", "user_id", u.ID, "stage", string(stage))
		return c.Redirect(http.StatusSeeOther, stagePath(stage))
	}
	return h.signedIn(c, u, f.Next)
}

// signedIn records a completed sign-in and goes to next (or the role's
// home page).
func (h *Handler) signedIn(c echo.Context, u *store.User, next string) error {
	if err := h.auditAs(c, u, store.AuditSignIn, 0, 0, ""); err != nil {
		return err
	}
	h.log.Info("signed in", "user_id", u.ID, "agency_id", u.AgencyID)
	return c.Redirect(http.StatusSeeOther, afterSignIn(u, next))
}

// afterSignIn is where a completed sign-in goes: next when it is a plain
// path here, otherwise the role's home page.
func afterSignIn(u *store.User, next string) string {
	if next = safeNext(next); next != "" {
		return next
	}
	return u.Role.Home()
}

// nextStage is the one rule for what a sign-in still needs after the
// password (and, with codeDone, after the second factor): the code of an
// enrolled authenticator, then a new password when the present one is
// temporary, then an authenticator when the agency requires one.
func (h *Handler) nextStage(u *store.User, codeDone bool) store.SessionStage {
	switch {
	case u.MFAEnabled && !codeDone:
		return store.StageCode
	case u.MustChangePassword:
		return store.StagePassword
	case u.MFARequired && !u.MFAEnabled && !h.mfaExempt(u):
		return store.StageEnroll
	}
	return store.StageFull
}

// mfaExempt: the sandbox's demo accounts sign in with their published
// password alone, in sandbox mode only (cfg.DemoAccounts is empty outside it).
func (h *Handler) mfaExempt(u *store.User) bool {
	return h.cfg.Sandbox && slices.ContainsFunc(h.cfg.DemoAccounts, func(a views.DemoAccount) bool {
		return strings.EqualFold(a.Email, u.Email)
	})
}

// stagePath is the page of a sign-in stage.
func stagePath(stage store.SessionStage) string {
	switch stage {
	case store.StageCode:
		return "/login/code"
	case store.StagePassword:
		return "/login/password"
	case store.StageEnroll:
		return "/login/enroll"
	}
	return "/cases"
}

// pendingAt returns the sign-in under way when it is at stage; otherwise it
// has answered with a redirect to where the visitor belongs, and ok is false.
func (h *Handler) pendingAt(c echo.Context, stage store.SessionStage) (*pendingSignIn, bool, error) {
	p := pendingUser(c)
	switch {
	case p != nil && p.stage == stage:
		return p, true, nil
	case p != nil:
		return nil, false, c.Redirect(http.StatusSeeOther, stagePath(p.stage))
	case currentUser(c) != nil:
		return nil, false, c.Redirect(http.StatusSeeOther, currentUser(c).Role.Home())
	}
	return nil, false, c.Redirect(http.StatusSeeOther, "/login")
}

// advance moves a sign-in under way to its next stage with a new session
// token (ASVS 7.2.4), and goes there; at the full stage, to the page the
// user first asked for.
func (h *Handler) advance(c echo.Context, u *store.User, codeDone bool) error {
	stage := h.nextStage(u, codeDone)
	if stage == store.StageEnroll {
		if _, err := h.store.PendingTOTP(c.Request().Context(), u); errors.Is(err, store.ErrNotFound) {
			if _, err := h.store.BeginTOTP(c.Request().Context(), u, totpIssuer); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	next, err := h.promote(c, stage)
	if err != nil {
		return err
	}
	if stage != store.StageFull {
		return c.Redirect(http.StatusSeeOther, stagePath(stage))
	}
	return h.signedIn(c, u, next)
}

// promote replaces the session's token with a new one at stage and returns
// the page the sign-in started for.
func (h *Handler) promote(c echo.Context, stage store.SessionStage) (string, error) {
	sess, _ := h.cookies.Get(c.Request(), CookieName(h.cfg.Secure))
	old, _ := sess.Values["sid"].(string)
	token, err := h.store.PromoteSession(c.Request().Context(), old, stage)
	if errors.Is(err, store.ErrNotFound) {
		return "", echo.NewHTTPError(http.StatusForbidden, "This sign-in has expired. Sign in again.")
	}
	if err != nil {
		return "", err
	}
	next, _ := sess.Values["next"].(string)
	sess.Values["sid"] = token
	if stage == store.StageFull {
		delete(sess.Values, "next")
	}
	return next, sess.Save(c.Request(), c.Response())
}

// The second-factor step.

func (h *Handler) codeForm(c echo.Context) error {
	if _, ok, err := h.pendingAt(c, store.StageCode); !ok {
		return err
	}
	return render(c, http.StatusOK, views.CodePage(views.CodeForm{}))
}

func (h *Handler) codeCheck(c echo.Context) error {
	p, ok, err := h.pendingAt(c, store.StageCode)
	if !ok {
		return err
	}
	ctx := c.Request().Context()
	recovery, err := h.store.CheckSecondFactor(ctx, p.user, c.FormValue("code"))
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &throttled):
		h.refused(c, "mfa_throttled", slog.Int64("account_id", p.user.ID))
		return render(c, http.StatusTooManyRequests, views.CodePage(views.CodeForm{Error: throttledMessage(c, throttled)}))
	case errors.Is(err, store.ErrBadCode):
		if err := h.auditAs(c, p.user, store.AuditMFAFailed, 0, 0, ""); err != nil {
			return err
		}
		return render(c, http.StatusUnauthorized, views.CodePage(views.CodeForm{
			Error: "That code did not work. Enter the current 6-digit code from your authenticator app, or one of your recovery codes."}))
	case err != nil:
		return err
	}
	action := store.AuditMFASignIn
	if recovery {
		action = store.AuditMFARecoveryUsed
	}
	if err := h.auditAs(c, p.user, action, 0, 0, ""); err != nil {
		return err
	}
	return h.advance(c, p.user, true)
}

// The "choose your own password" step (a temporary password was used).

func (h *Handler) newPasswordForm(c echo.Context) error {
	p, ok, err := h.pendingAt(c, store.StagePassword)
	if !ok {
		return err
	}
	return render(c, http.StatusOK, views.NewPasswordPage(views.PasswordForm{MFA: p.user.MFAEnabled}))
}

func (h *Handler) newPasswordSave(c echo.Context) error {
	p, ok, err := h.pendingAt(c, store.StagePassword)
	if !ok {
		return err
	}
	f, err := h.changePassword(c, p.user, false)
	if err != nil || f.Problems != nil {
		if f.Problems != nil {
			return render(c, http.StatusUnprocessableEntity, views.NewPasswordPage(f))
		}
		return err
	}
	u, err := h.store.User(c.Request().Context(), p.user.AgencyID, p.user.ID)
	if err != nil {
		return err
	}
	return h.advance(c, u, true)
}

// changePassword applies a password change form (current password asked
// for unless the user is replacing a temporary one) and audits it. A
// refused form comes back with Problems set.
func (h *Handler) changePassword(c echo.Context, u *store.User, needCurrent bool) (views.PasswordForm, error) {
	f := views.PasswordForm{NeedCurrent: needCurrent, MFA: u.MFAEnabled}
	pw, confirm := c.FormValue("new_password"), c.FormValue("confirm_password")
	if pw != confirm {
		f.Problems = map[string]string{"confirm_password": "The two new passwords are not the same."}
		return f, nil
	}
	keep := h.sessionToken(c.Request())
	err := h.store.ChangePassword(c.Request().Context(), u, c.FormValue("current_password"), pw, c.RealIP(), keep)
	if msg := h.reauthProblem(c, err); msg != "" {
		f.Problems = map[string]string{"current_password": msg}
		return f, nil
	}
	switch {
	case errors.Is(err, store.ErrWeakPassword):
		f.Problems = map[string]string{"new_password": store.PasswordProblem(err)}
		return f, nil
	case err != nil:
		return f, err
	}
	return f, h.auditAs(c, u, store.AuditPasswordChanged, 0, 0, "")
}

// reauthProblem is the sentence for a current password that was not
// accepted (wrong, throttled, or the hashing queue full), or "".
func (h *Handler) reauthProblem(c echo.Context, err error) string {
	var throttled *store.ThrottledError
	switch {
	case errors.Is(err, store.ErrBadCredentials):
		return "That is not your current password."
	case errors.As(err, &throttled):
		return throttledMessage(c, throttled)
	case errors.Is(err, store.ErrBusy):
		return "The portal is busy. Try again in a moment."
	}
	return ""
}

// The "set up two-step sign-in" step (the agency requires it).

func (h *Handler) enrollForm(c echo.Context) error {
	p, ok, err := h.pendingAt(c, store.StageEnroll)
	if !ok {
		return err
	}
	return h.renderEnroll(c, http.StatusOK, p.user, enrollAtSignIn, "", "")
}

func (h *Handler) enrollQR(c echo.Context) error {
	p, ok, err := h.pendingAt(c, store.StageEnroll)
	if !ok {
		return err
	}
	return h.pendingQR(c, p.user)
}

func (h *Handler) enrollConfirm(c echo.Context) error {
	p, ok, err := h.pendingAt(c, store.StageEnroll)
	if !ok {
		return err
	}
	codes, problem, err := h.confirmTOTP(c, p.user, c.FormValue("code"))
	if err != nil {
		return err
	}
	if problem != "" {
		return h.renderEnroll(c, http.StatusUnprocessableEntity, p.user, enrollAtSignIn, problem, "")
	}
	next, err := h.promote(c, store.StageFull)
	if err != nil {
		return err
	}
	if err := h.auditAs(c, p.user, store.AuditSignIn, 0, 0, ""); err != nil {
		return err
	}
	// Shown once, in answer to this POST; only their hashes are kept.
	return render(c, http.StatusOK, views.RecoveryCodesPage(codes, afterSignIn(p.user, next)))
}

// enroll places: at sign-in, or from the account page.
const (
	enrollAtSignIn  = "/login/enroll"
	enrollAtAccount = "/account/mfa"
)

func (h *Handler) renderEnroll(c echo.Context, status int, u *store.User, action, codeProblem, pwProblem string) error {
	// The secret was made by the POST that led here (the password step, or
	// "Set up" on the Account page): a GET only shows it.
	enr, err := h.store.PendingTOTP(c.Request().Context(), u)
	if errors.Is(err, store.ErrNotFound) {
		if action == enrollAtAccount {
			return c.Redirect(http.StatusSeeOther, "/account")
		}
		return echo.NewHTTPError(http.StatusForbidden, "This sign-in has expired. Sign out and sign in again.")
	}
	if err != nil {
		return err
	}
	return render(c, status, views.EnrollPage(views.EnrollView{Action: action, QRPath: action + "/qr.png",
		Secret: groupSecret(enr.Secret), Email: u.Email, NeedPassword: action == enrollAtAccount,
		CodeError: codeProblem, PasswordError: pwProblem}))
}

// pendingQR serves the QR code of the authenticator being set up, from a
// staff-only route of the same origin (the CSP's img-src 'self'): the secret
// is in no URL and no page markup other than the one text copy.
func (h *Handler) pendingQR(c echo.Context, u *store.User) error {
	enr, err := h.store.PendingTOTP(c.Request().Context(), u)
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(enr.URL, qrcode.Medium, 320)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "image/png", png)
}

// confirmTOTP checks a code from the authenticator being set up; problem is
// the sentence for the form when it is refused.
func (h *Handler) confirmTOTP(c echo.Context, u *store.User, code string) (codes []string, problem string, err error) {
	codes, err = h.store.ConfirmTOTP(c.Request().Context(), u, code)
	var throttled *store.ThrottledError
	switch {
	case errors.As(err, &throttled):
		return nil, throttledMessage(c, throttled), nil
	case errors.Is(err, store.ErrBadCode):
		return nil, "That code did not match. Enter the 6-digit code your app shows now for caseverify.", nil
	case err != nil:
		return nil, "", err
	}
	return codes, "", h.auditAs(c, u, store.AuditMFAEnrolled, 0, 0, "")
}

// groupSecret spaces a base32 secret in fours, for typing it by hand.
func groupSecret(s string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), " ")
}

// throttledMessage sets Retry-After and says how long to wait.
func throttledMessage(c echo.Context, t *store.ThrottledError) string {
	secs := int(math.Ceil(t.RetryAfter.Seconds()))
	c.Response().Header().Set("Retry-After", fmt.Sprint(secs))
	if secs < 90 {
		return fmt.Sprintf("Too many attempts. Wait %s and try again.", views.Plural(secs, "second", "seconds"))
	}
	mins := int(math.Ceil(t.RetryAfter.Minutes()))
	return fmt.Sprintf("Too many attempts. Wait %s and try again.", views.Plural(mins, "minute", "minutes"))
}

func (h *Handler) logout(c echo.Context) error {
	ctx := c.Request().Context()
	sess, _ := h.cookies.Get(c.Request(), CookieName(h.cfg.Secure))
	if sid, ok := sess.Values["sid"].(string); ok && sid != "" {
		if err := h.store.DeleteSession(ctx, sid); err != nil {
			return err
		}
	}
	if currentUser(c) != nil {
		if err := h.audit(c, store.AuditSignOut, 0, 0, ""); err != nil {
			return err
		}
	}
	sess.Values = map[any]any{}
	sess.Options.MaxAge = -1
	if err := sess.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	c.Response().Header().Set("Clear-Site-Data", `"cache"`)
	return c.Redirect(http.StatusSeeOther, "/login?signed_out=1")
}

// safeNext returns next when it is a plain path on this site, else "". It is
// the one check for every post-sign-in redirect. Browsers are lenient with
// a Location: they drop tabs and newlines ("/\t/evil.example" becomes
// "//evil.example", another site), read "\" as "/", and some decode
// percent-escapes; so next must be printable ASCII without a backslash,
// start with exactly one "/", and stay so once percent-decoded.
func safeNext(next string) string {
	if len(next) > 2048 || !plainPath(next) {
		return ""
	}
	decoded, err := url.PathUnescape(next)
	if err != nil || !plainPath(decoded) {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return ""
	}
	return next
}

// plainPath: "/" then printable ASCII, no backslash, not "//".
func plainPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if b := p[i]; b <= ' ' || b >= 0x7f || b == '\\' {
			return false
		}
	}
	return true
}

func (h *Handler) health(c echo.Context) error {
	if err := h.databaseOK(c.Request().Context()); err != nil {
		h.log.Error("health check failed", "error", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// healthWriteBound is how long a health check waits for the database's
// write lock: a lock held longer means writes (webhooks, forms) would queue.
const healthWriteBound = 2 * time.Second

// databaseOK checks that the database answers and can take a write within
// healthWriteBound.
func (h *Handler) databaseOK(ctx context.Context) error {
	if err := h.store.Ping(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, healthWriteBound)
	defer cancel()
	return h.store.CanWrite(ctx)
}

// ready is /readyz for a load balancer: 503 once the server is shutting
// down or while the database cannot take a write, so traffic goes elsewhere.
func (h *Handler) ready(c echo.Context) error {
	select {
	case <-h.stopping:
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "stopping"})
	default:
	}
	if err := h.databaseOK(c.Request().Context()); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// authStore is what auth.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type authStore interface {
	BeginTOTP(ctx context.Context, u *store.User, issuer string) (*store.TOTPEnrollment, error)
	CanWrite(ctx context.Context) error
	ChangePassword(ctx context.Context, u *store.User, current, password, ip, keepToken string) error
	CheckSecondFactor(ctx context.Context, u *store.User, code string) (recovery bool, err error)
	ConfirmTOTP(ctx context.Context, u *store.User, code string) ([]string, error)
	DeleteSession(ctx context.Context, token string) error
	PendingTOTP(ctx context.Context, u *store.User) (*store.TOTPEnrollment, error)
	Ping(ctx context.Context) error
	PromoteSession(ctx context.Context, oldToken string, stage store.SessionStage) (string, error)
	SignIn(ctx context.Context, email, password, ip string) (*store.User, error)
	StartSession(ctx context.Context, u *store.User, stage store.SessionStage) (string, error)
	User(ctx context.Context, agencyID, userID int64) (*store.User, error)
}

package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// The Account page: every user changes their own password and manages their
// own two-step sign-in. Changes to a factor ask for the current password
// (a borrowed, unlocked browser is not enough).

func (h *Handler) account(c echo.Context) error {
	return h.renderAccount(c, http.StatusOK, views.PasswordForm{NeedCurrent: true, MFA: currentUser(c).MFAEnabled}, "")
}

func (h *Handler) renderAccount(c echo.Context, status int, pf views.PasswordForm, mfaProblem string) error {
	u := currentUser(c)
	left, err := h.store.RecoveryCodesLeft(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	return render(c, status, views.AccountPage(views.MyAccountView{User: u, Password: pf, CodesLeft: left,
		CanTurnOff: !u.MFARequired || h.mfaExempt(u), MFAProblem: mfaProblem}))
}

func (h *Handler) accountPassword(c echo.Context) error {
	u := currentUser(c)
	f, err := h.changePassword(c, u, true)
	if err != nil {
		return err
	}
	if f.Problems != nil {
		return h.renderAccount(c, http.StatusUnprocessableEntity, f, "")
	}
	if err := h.setFlash(c, "Your password is changed. Your other sessions are signed out."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account")
}

// checkCurrent checks the current password a factor change asks for; on a
// wrong one it answers the Account page with the problem and ok is false.
func (h *Handler) checkCurrent(c echo.Context) (ok bool, err error) {
	err = h.store.VerifyPassword(c.Request().Context(), currentUser(c), c.FormValue("current_password"), c.RealIP())
	if msg := h.reauthProblem(c, err); msg != "" {
		return false, h.renderAccount(c, http.StatusUnprocessableEntity, views.PasswordForm{NeedCurrent: true, MFA: currentUser(c).MFAEnabled}, msg)
	}
	return err == nil, err
}

// accountMFAStart makes a new secret to set up (the current authenticator,
// if any, keeps working until the new one is confirmed).
func (h *Handler) accountMFAStart(c echo.Context) error {
	if _, err := h.store.BeginTOTP(c.Request().Context(), currentUser(c), totpIssuer); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, enrollAtAccount)
}

func (h *Handler) accountMFAForm(c echo.Context) error {
	return h.renderEnroll(c, http.StatusOK, currentUser(c), enrollAtAccount, "", "")
}

func (h *Handler) accountMFAQR(c echo.Context) error {
	return h.pendingQR(c, currentUser(c))
}

func (h *Handler) accountMFAConfirm(c echo.Context) error {
	u := currentUser(c)
	err := h.store.VerifyPassword(c.Request().Context(), u, c.FormValue("current_password"), c.RealIP())
	if msg := h.reauthProblem(c, err); msg != "" {
		return h.renderEnroll(c, http.StatusUnprocessableEntity, u, enrollAtAccount, "", msg)
	}
	if err != nil {
		return err
	}
	codes, problem, err := h.confirmTOTP(c, u, c.FormValue("code"))
	if err != nil {
		return err
	}
	if problem != "" {
		return h.renderEnroll(c, http.StatusUnprocessableEntity, u, enrollAtAccount, problem, "")
	}
	return render(c, http.StatusOK, views.RecoveryCodesPage(codes, "/account"))
}

func (h *Handler) accountRecoveryCodes(c echo.Context) error {
	if ok, err := h.checkCurrent(c); !ok {
		return err
	}
	u := currentUser(c)
	codes, err := h.store.NewRecoveryCodes(c.Request().Context(), u)
	if errors.Is(err, store.ErrNotFound) {
		return c.Redirect(http.StatusSeeOther, "/account")
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditRecoveryCodes, 0, 0, ""); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RecoveryCodesPage(codes, "/account"))
}

// accountMFAOff removes the user's own authenticator, where the agency does
// not require one.
func (h *Handler) accountMFAOff(c echo.Context) error {
	u := currentUser(c)
	if u.MFARequired && !h.mfaExempt(u) {
		return echo.NewHTTPError(http.StatusForbidden, "Your agency requires two-step sign-in. Set up a new authenticator instead.")
	}
	if ok, err := h.checkCurrent(c); !ok {
		return err
	}
	if err := h.store.ResetMFA(c.Request().Context(), u.AgencyID, u.ID, h.sessionToken(c.Request())); err != nil {
		return err
	}
	if err := h.audit(c, store.AuditMFAReset, 0, 0, fmt.Sprintf("user %d", u.ID)); err != nil {
		return err
	}
	if err := h.setFlash(c, "Two-step sign-in is off. Your other sessions are signed out."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/account")
}

// accountStore is what account.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type accountStore interface {
	BeginTOTP(ctx context.Context, u *store.User, issuer string) (*store.TOTPEnrollment, error)
	NewRecoveryCodes(ctx context.Context, u *store.User) ([]string, error)
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)
	ResetMFA(ctx context.Context, agencyID, userID int64, keepToken string) error
	VerifyPassword(ctx context.Context, u *store.User, password, ip string) error
}

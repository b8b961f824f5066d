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

func (h *Handler) userList(c echo.Context) error {
	return h.renderUsers(c, http.StatusOK, views.UserForm{Role: string(store.RoleCaseworker)})
}

func (h *Handler) renderUsers(c echo.Context, status int, f views.UserForm) error {
	return h.renderUsersView(c, status, views.UsersView{Form: f})
}

func (h *Handler) renderUsersView(c echo.Context, status int, v views.UsersView) error {
	u := currentUser(c)
	users, err := h.store.Users(c.Request().Context(), u.AgencyID)
	if err != nil {
		return err
	}
	v.Users, v.Me = users, u.ID
	if v.Form.Role == "" {
		v.Form.Role = string(store.RoleCaseworker)
	}
	return render(c, status, views.UsersPage(v))
}

// userCreate adds a user with a temporary password, shown once to the
// administrator in this answer; the user chooses their own at the first
// sign-in (NIST 800-63B: nobody else knows a user's password).
func (h *Handler) userCreate(c echo.Context) error {
	u := currentUser(c)
	f := views.UserForm{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role")}
	temp := store.NewTemporaryPassword()
	nu, err := h.store.CreateUser(c.Request().Context(), u.AgencyID, store.NewUser{Email: f.Email, Name: f.Name,
		Role: store.Role(f.Role), Password: temp, Temporary: true})
	var problems store.ValidationError
	if errors.As(err, &problems) {
		f.Problems = problems
		return h.renderUsers(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditUserCreate, 0, 0, fmt.Sprintf("user %d", nu.ID)); err != nil {
		return err
	}
	return h.renderUsersView(c, http.StatusOK, views.UsersView{Temporary: temp, TemporaryFor: nu.Name})
}

// userResetPassword is an administrator's forced reset: a temporary
// password shown once here, every session of the user ended, and a new
// password of their own at the next sign-in. (A one-time link by email is
// not offered: the temporary password, handed over in person, is the path.)
func (h *Handler) userResetPassword(c echo.Context) error {
	target, err := h.adminTarget(c)
	if err != nil {
		return err
	}
	temp, err := h.store.ResetPassword(c.Request().Context(), target.AgencyID, target.ID)
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditPasswordReset, 0, 0, fmt.Sprintf("user %d", target.ID)); err != nil {
		return err
	}
	return h.renderUsersView(c, http.StatusOK, views.UsersView{Temporary: temp, TemporaryFor: target.Name})
}

// userResetMFA removes a user's authenticator and recovery codes (a lost
// phone), ending their sessions; with the agency's requirement on they set
// up a new one at the next sign-in.
func (h *Handler) userResetMFA(c echo.Context) error {
	target, err := h.adminTarget(c)
	if err != nil {
		return err
	}
	if err := h.store.ResetMFA(c.Request().Context(), target.AgencyID, target.ID, h.keepIfSelf(c, target)); err != nil {
		return err
	}
	if err := h.audit(c, store.AuditMFAReset, 0, 0, fmt.Sprintf("user %d", target.ID)); err != nil {
		return err
	}
	if err := h.setFlash(c, "Two-step sign-in of "+target.Name+" is reset. They set it up again at their next sign-in."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users")
}

// adminTarget is the user of the :uid parameter, in the administrator's
// agency (another agency's id is not found).
func (h *Handler) adminTarget(c echo.Context) (*store.User, error) {
	id, err := paramID(c, "uid")
	if err != nil {
		return nil, err
	}
	return h.store.User(c.Request().Context(), currentUser(c).AgencyID, id)
}

// keepIfSelf keeps the administrator's own session when they reset
// themselves.
func (h *Handler) keepIfSelf(c echo.Context, target *store.User) string {
	if target.ID == currentUser(c).ID {
		return h.sessionToken(c.Request())
	}
	return ""
}

func (h *Handler) userDisable(c echo.Context) error { return h.setDisabled(c, true) }
func (h *Handler) userEnable(c echo.Context) error  { return h.setDisabled(c, false) }

// setDisabled disables (ending every session of that user at once) or
// re-enables a user. An admin cannot disable themselves.
func (h *Handler) setDisabled(c echo.Context, disabled bool) error {
	u := currentUser(c)
	id, err := paramID(c, "uid")
	if err != nil {
		return err
	}
	if id == u.ID {
		return echo.NewHTTPError(http.StatusForbidden, "You cannot disable your own account.")
	}
	target, err := h.store.User(c.Request().Context(), u.AgencyID, id)
	if err != nil {
		return err
	}
	if err := h.store.SetUserDisabled(c.Request().Context(), u.AgencyID, id, disabled); err != nil {
		return err
	}
	action, msg := store.AuditUserEnable, target.Name+" is enabled and can sign in."
	if disabled {
		action, msg = store.AuditUserDisable, target.Name+" is disabled and has been signed out."
	}
	if err := h.audit(c, action, 0, 0, fmt.Sprintf("user %d", id)); err != nil {
		return err
	}
	if err := h.setFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users")
}

// adminStore is what admin.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type adminStore interface {
	CreateUser(ctx context.Context, agencyID int64, in store.NewUser) (*store.User, error)
	ResetMFA(ctx context.Context, agencyID, userID int64, keepToken string) error
	ResetPassword(ctx context.Context, agencyID, userID int64) (string, error)
	SetUserDisabled(ctx context.Context, agencyID, userID int64, disabled bool) error
	User(ctx context.Context, agencyID, userID int64) (*store.User, error)
	Users(ctx context.Context, agencyID int64) ([]*store.User, error)
}

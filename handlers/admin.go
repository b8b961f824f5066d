package handlers

import (
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
	u := currentUser(c)
	users, err := h.store.Users(c.Request().Context(), u.AgencyID)
	if err != nil {
		return err
	}
	return render(c, status, views.UsersPage(views.UsersView{Users: users, Me: u.ID, Form: f}))
}

func (h *Handler) userCreate(c echo.Context) error {
	u := currentUser(c)
	f := views.UserForm{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role")}
	nu, err := h.store.CreateUser(c.Request().Context(), u.AgencyID, store.NewUser{Email: f.Email, Name: f.Name,
		Role: store.Role(f.Role), Password: c.FormValue("password")})
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
	if err := h.setFlash(c, nu.Name+" can now sign in."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/users")
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

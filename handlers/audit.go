package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// auditSignInFailure records a failed sign-in: in the account's agency's
// audit log when the email names an account (account id and client
// address, never the email or the password), and in the log either way.
func (h *Handler) auditSignInFailure(c echo.Context, email string) error {
	u, err := h.store.AccountForAudit(c.Request().Context(), email)
	if errors.Is(err, store.ErrNotFound) {
		h.refused(c, "sign_in_failed", slog.String("account", "unknown"))
		return nil
	}
	if err != nil {
		return err
	}
	h.refused(c, "sign_in_failed", slog.Int64("account_id", u.ID), slog.Int64("account_agency_id", u.AgencyID))
	return h.auditAs(c, u, store.AuditSignInFailed, 0, 0, "")
}

// auditPageSize is how many entries one page of the audit log shows.
const auditPageSize = 50

// auditLog is the agency's audit log (supervisors and administrators),
// filtered by user, case and date in the URL, and paged by id (keyset:
// ?before= the last id shown), so a page never shifts as entries arrive.
func (h *Handler) auditLog(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	v := views.AuditView{From: c.QueryParam("from"), To: c.QueryParam("to")}
	f := store.AuditFilter{Limit: auditPageSize}
	f.UserID, _ = strconv.ParseInt(c.QueryParam("user"), 10, 64)
	f.CaseID, _ = strconv.ParseInt(c.QueryParam("case"), 10, 64)
	f.Before, _ = strconv.ParseInt(c.QueryParam("before"), 10, 64)
	// Dates are days in the agency's zone: "to" includes its whole day.
	if t, err := time.ParseInLocation(time.DateOnly, v.From, h.cfg.Zone); err == nil {
		f.From = t
	} else {
		v.From = ""
	}
	if t, err := time.ParseInLocation(time.DateOnly, v.To, h.cfg.Zone); err == nil {
		f.To = t.AddDate(0, 0, 1)
	} else {
		v.To = ""
	}
	if f.CaseID != 0 {
		// Only this agency's case: another agency's id is "not found".
		cs, err := h.store.Case(ctx, u.AgencyID, f.CaseID)
		if err != nil {
			return err
		}
		v.CaseNumber = cs.Number
	}
	entries, more, err := h.store.AuditPage(ctx, u.AgencyID, f)
	if err != nil {
		return err
	}
	users, err := h.store.Users(ctx, u.AgencyID)
	if err != nil {
		return err
	}
	v.Filter, v.Entries, v.More, v.Users = f, entries, more, users
	return render(c, http.StatusOK, views.AuditPage(v))
}

// caseFind opens the agency's case with exactly this number: how a
// contact-center agent, who has no case list or search, finds a case.
func (h *Handler) caseFind(c echo.Context) error {
	number := strings.TrimSpace(c.FormValue("find_number"))
	cs, err := h.store.CaseByNumber(c.Request().Context(), currentUser(c).AgencyID, number)
	if errors.Is(err, store.ErrNotFound) {
		f, ferr := h.contactDefaults(c)
		if ferr != nil {
			return ferr
		}
		f.FindNumber, f.FindError = number, "No case has the number "+number+". Check it, or leave the case number empty below to open a new case."
		if number == "" {
			f.FindError = "Enter the case number."
		}
		return render(c, http.StatusUnprocessableEntity, views.ContactPage(f))
	}
	if err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/cases/"+strconv.FormatInt(cs.ID, 10))
}

// auditStore is what audit.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type auditStore interface {
	AccountForAudit(ctx context.Context, email string) (*store.User, error)
	AuditPage(ctx context.Context, agencyID int64, f store.AuditFilter) ([]*store.AuditEntry, bool, error)
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	CaseByNumber(ctx context.Context, agencyID int64, number string) (*store.Case, error)
	Users(ctx context.Context, agencyID int64) ([]*store.User, error)
}

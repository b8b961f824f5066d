package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

func renewalWindow(s string) int {
	d, err := strconv.Atoi(s)
	if err != nil || (d != 30 && d != 60 && d != 90) {
		return 30
	}
	return d
}

func (h *Handler) renewals(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	window := renewalWindow(c.QueryParam("window"))
	cases, err := h.store.DueCases(ctx, u.AgencyID, window)
	if err != nil {
		return err
	}
	v := views.RenewalsView{Window: window, Cases: renewalCases(cases), Compare: map[int64]*views.Comparison{}, Providers: map[string]string{},
		Now: h.store.Now()}
	for _, p := range h.verify.Providers() {
		v.Providers[p.Name] = p.Label
	}
	// The newest run, bulk or one case's: "Renew this case" shows its
	// progress too.
	if run, err := h.store.LatestRun(ctx, u.AgencyID); err == nil {
		v.Run = run
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// The button counts whom a run would take now: members already renewed
	// for their current due date, or waiting on a refresh, are not.
	if v.Due, err = h.store.CountRenewable(ctx, u.AgencyID, window); err != nil {
		return err
	}
	for _, dc := range cases {
		for _, m := range dc.Members {
			if m.Item == nil || m.Item.PrevOrderID == 0 || m.Item.OrderID == 0 {
				continue
			}
			if cmp, err := h.compare(c, u.AgencyID, m.Item); err != nil {
				return err
			} else if cmp != nil {
				v.Compare[m.Member.ID] = cmp
			}
		}
	}
	if v.Engagement, err = h.renewalsEngagement(ctx, u.AgencyID, cases); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RenewalsPage(v))
}

// compare words the workflow's comparison of a renewal's income
// (verify.CompareRenewal) for the renewals page. nil when there is nothing to
// compare.
func (h *Handler) compare(c echo.Context, agencyID int64, it *store.RenewalItem) (*views.Comparison, error) {
	ic, err := h.verify.CompareRenewal(c.Request().Context(), agencyID, it)
	if err != nil || ic == nil {
		return nil, err
	}
	basis := "Monthly gross"
	if ic.Deposits {
		// Bank-based reports (AccountChek VOA, Payscore) see deposits, not
		// gross pay: say so.
		basis = "Monthly deposits"
	}
	cmp := &views.Comparison{Basis: basis, PrevMonthly: ic.Prev.String(), NewMonthly: ic.New.String(), Up: ic.New >= ic.Prev,
		PrevEmployers: ic.PrevEmployers, NewEmployers: ic.NewEmployers, NewJobs: ic.NewJobs, EndedJobs: ic.Ended}
	if d := ic.New - ic.Prev; d != 0 {
		sign := "+"
		if d < 0 {
			sign, d = "−", -d
		}
		cmp.Change = sign + d.String()
	}
	return cmp, nil
}

func (h *Handler) renewAll(c echo.Context) error {
	u := currentUser(c)
	window := renewalWindow(c.FormValue("window"))
	run, err := h.store.StartRenewal(c.Request().Context(), u.AgencyID, u.ID, 0, window)
	msg := "Renewal started. It runs in the background; you can leave this page."
	if errors.Is(err, store.ErrRunActive) {
		msg = "A renewal is already running."
	} else if err != nil {
		return err
	} else if run.Counts.Total == 0 {
		// A refresh may be billed: members already renewed are left out.
		msg = "Every member due is being renewed or was already renewed for this recertification."
	}
	h.verify.NotifyRenewals()
	if err := h.setFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/renewals?window=%d", window))
}

func (h *Handler) renewCase(c echo.Context) error {
	u := currentUser(c)
	id, err := paramID(c, "id")
	if err != nil {
		return err
	}
	run, err := h.store.StartRenewal(c.Request().Context(), u.AgencyID, u.ID, id, 0)
	if err != nil {
		return err
	}
	window := renewalWindow(c.FormValue("window")) // back to the list the caseworker chose
	h.verify.NotifyRenewals()
	msg := "Renewal started for " + views.Plural(run.Counts.Total, "member", "members") + "."
	if run.Counts.Total == 0 {
		msg = "Every member of this case is being renewed or was already renewed for this recertification."
	}
	if err := h.setFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/renewals?window=%d", window))
}

func (h *Handler) renewalProgress(c echo.Context) error {
	id, err := paramID(c, "rid")
	if err != nil {
		return err
	}
	run, err := h.store.RenewalRun(c.Request().Context(), currentUser(c).AgencyID, id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RenewalProgress(run, renewalWindow(c.QueryParam("window"))))
}

func (h *Handler) renewalCancel(c echo.Context) error {
	id, err := paramID(c, "rid")
	if err != nil {
		return err
	}
	if err := h.store.CancelRenewal(c.Request().Context(), currentUser(c).AgencyID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := h.setFlash(c, "Renewal canceled; members already handled keep their result."); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/renewals?window=%d", renewalWindow(c.FormValue("window"))))
}

// renewalsStore is what renewals.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type renewalsStore interface {
	CancelRenewal(ctx context.Context, agencyID, runID int64) error
	CountRenewable(ctx context.Context, agencyID int64, days int) (int, error)
	DueCases(ctx context.Context, agencyID int64, days int) ([]*store.DueCase, error)
	LatestRun(ctx context.Context, agencyID int64) (*store.RenewalRun, error)
	Now() time.Time
	RenewalRun(ctx context.Context, agencyID, runID int64) (*store.RenewalRun, error)
	StartRenewal(ctx context.Context, agencyID, userID, caseID int64, windowDays int) (*store.RenewalRun, error)
}

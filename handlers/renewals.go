package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"caseverify/providers"
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
	v := views.RenewalsView{Window: window, Cases: cases, Compare: map[int64]*views.Comparison{}, Providers: map[string]string{},
		Now: h.store.Now()}
	for _, p := range h.verify.Providers() {
		v.Providers[p.Name] = p.Label
	}
	if run, err := h.store.LatestBulkRun(ctx, u.AgencyID); err == nil {
		v.Run = run
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for _, dc := range cases {
		v.Due += len(dc.Members)
		for _, m := range dc.Members {
			if m.Item == nil || m.Item.PrevOrderID == 0 || m.Item.OrderID == 0 {
				continue
			}
			if cmp, err := h.compare(c, u.AgencyID, m.Item.PrevOrderID, m.Item.OrderID); err != nil {
				return err
			} else if cmp != nil {
				v.Compare[m.Member.ID] = cmp
			}
		}
	}
	return render(c, http.StatusOK, views.RenewalsPage(v))
}

// compare puts the income of a renewal's new report beside the previous
// one: monthly gross, and jobs that started or ended. nil when either report
// is missing.
func (h *Handler) compare(c echo.Context, agencyID, prevOrderID, newOrderID int64) (*views.Comparison, error) {
	ctx := c.Request().Context()
	prev, err := h.reportOf(c, agencyID, prevOrderID, true)
	if err != nil || prev == nil {
		return nil, err
	}
	cur, err := h.reportOf(c, agencyID, newOrderID, false)
	if err != nil || cur == nil {
		return nil, err
	}
	_ = ctx
	pm, cm := monthlyGross(prev), monthlyGross(cur)
	cmp := &views.Comparison{PrevMonthly: pm.String(), NewMonthly: cm.String(), Up: cm >= pm}
	if d := cm - pm; d != 0 {
		sign := "+"
		if d < 0 {
			sign, d = "−", -d
		}
		cmp.Change = sign + d.String()
	}
	pe, ce := employers(prev, false), employers(cur, true)
	cmp.PrevEmployers, cmp.NewEmployers = pe, ce
	for _, e := range ce {
		if !slices.Contains(pe, e) {
			cmp.NewJobs = append(cmp.NewJobs, e)
		}
	}
	for _, e := range pe {
		if !slices.Contains(ce, e) {
			cmp.EndedJobs = append(cmp.EndedJobs, e)
		}
	}
	return cmp, nil
}

// reportOf returns an order's newest readable report. For the previous
// order, the first report (the one the renewal started from) is as good as
// any; reports are normalized provider-neutral JSON.
func (h *Handler) reportOf(c echo.Context, agencyID, orderID int64, _ bool) (*providers.Report, error) {
	rec, err := h.store.LatestReport(c.Request().Context(), agencyID, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil || rec.Purged {
		return nil, err
	}
	var r providers.Report
	if err := json.Unmarshal(rec.Data, &r); err != nil {
		return nil, fmt.Errorf("decode report %d: %w", rec.ID, err)
	}
	return &r, nil
}

// periodsPerMonth converts a pay frequency into pay periods per month.
var periodsPerMonth = map[string]float64{"weekly": 52.0 / 12, "biweekly": 26.0 / 12, "semimonthly": 2, "monthly": 1}

// monthlyGross estimates gross income a month from a report: the average
// of the last three paystubs times the pay periods in a month, or the
// newest year's gross over twelve; bank-based reports use their income.
func monthlyGross(r *providers.Report) providers.Cents {
	var total float64
	for _, e := range r.Employments {
		if !e.Active && e.EndDate != "" {
			continue
		}
		if n := min(3, len(e.Paystubs)); n > 0 && periodsPerMonth[e.PayFrequency] > 0 {
			var sum float64
			for _, p := range e.Paystubs[:n] {
				sum += float64(p.Gross)
			}
			total += sum / float64(n) * periodsPerMonth[e.PayFrequency]
		} else if len(e.AnnualIncome) > 0 {
			newest := e.AnnualIncome[0]
			for _, a := range e.AnnualIncome {
				if a.Year > newest.Year {
					newest = a
				}
			}
			total += float64(newest.Gross) / 12
		}
	}
	if r.BankIncome != nil {
		total += float64(r.BankIncome.AvgMonthlyNet3)
	}
	return providers.Cents(total + 0.5)
}

func employers(r *providers.Report, activeOnly bool) []string {
	var out []string
	for _, e := range r.Employments {
		if activeOnly && !e.Active && e.EndDate != "" {
			continue
		}
		if e.Employer != "" && !slices.Contains(out, e.Employer) {
			out = append(out, e.Employer)
		}
	}
	return out
}

func (h *Handler) renewAll(c echo.Context) error {
	u := currentUser(c)
	window := renewalWindow(c.FormValue("window"))
	_, err := h.store.StartRenewal(c.Request().Context(), u.AgencyID, u.ID, 0, window)
	msg := "Renewal started. It runs in the background; you can leave this page."
	if errors.Is(err, store.ErrRunActive) {
		msg = "A renewal is already running."
	} else if err != nil {
		return err
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
	h.verify.NotifyRenewals()
	msg := "Renewal started for " + views.Plural(run.Counts.Total, "member", "members") + "."
	if run.Counts.Total == 0 {
		msg = "Every member of this case is already being renewed."
	}
	if err := h.setFlash(c, msg); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/renewals?window=90")
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
	return render(c, http.StatusOK, views.RenewalProgress(run))
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
	return c.Redirect(http.StatusSeeOther, "/renewals")
}

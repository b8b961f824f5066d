package handlers

import (
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

// compare puts the income of a renewal's new reports beside the previous
// ones: monthly income, and jobs that started or ended. "Before" is what the
// previous order had when the renewal started and "after" what came since
// (store.RenewalReports), so a refresh in place (AccountChek) compares its
// new report with the old one, not with itself. Only report kinds both
// sides have are compared. nil when there is nothing to compare.
func (h *Handler) compare(c echo.Context, agencyID int64, it *store.RenewalItem) (*views.Comparison, error) {
	before, after, err := h.store.RenewalReports(c.Request().Context(), agencyID, it)
	if err != nil {
		return nil, err
	}
	prev, err := decodeReports(before)
	if err != nil {
		return nil, err
	}
	cur, err := decodeReports(after)
	if err != nil {
		return nil, err
	}
	prev, cur = commonKinds(prev, cur)
	if len(prev) == 0 || len(cur) == 0 {
		return nil, nil
	}
	pi, ci := incomeOf(prev), incomeOf(cur)
	var pm, cm providers.Cents
	basis := "Monthly gross"
	switch {
	case pi.hasPay || ci.hasPay:
		pm, cm = pi.pay, ci.pay
	case pi.hasBank || ci.hasBank:
		// Bank-based reports (AccountChek VOA, Payscore) see deposits, not
		// gross pay: say so.
		pm, cm, basis = pi.bank, ci.bank, "Monthly deposits"
	default:
		return nil, nil // no income on either side (identity reports)
	}
	cmp := &views.Comparison{Basis: basis, PrevMonthly: pm.String(), NewMonthly: cm.String(), Up: cm >= pm}
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

// decodeReports reads stored reports (provider-neutral JSON); purged ones
// are left out.
func decodeReports(recs []*store.Report) ([]*providers.Report, error) {
	var out []*providers.Report
	for _, rec := range recs {
		if rec.Purged {
			continue
		}
		r, err := providers.DecodeReport(rec.Data)
		if err != nil {
			return nil, fmt.Errorf("decode report %d: %w", rec.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// commonKinds keeps the reports whose kind both sides have, so that a side
// with one more report (a VOA beside a VOIE) does not look like new income.
func commonKinds(a, b []*providers.Report) ([]*providers.Report, []*providers.Report) {
	has := func(rs []*providers.Report, k providers.ReportKind) bool {
		return slices.ContainsFunc(rs, func(r *providers.Report) bool { return r.Kind == k })
	}
	keep := func(rs, other []*providers.Report) []*providers.Report {
		var out []*providers.Report
		for _, r := range rs {
			if has(other, r.Kind) {
				out = append(out, r)
			}
		}
		return out
	}
	return keep(a, b), keep(b, a)
}

// periodsPerMonth converts a pay frequency into pay periods per month.
var periodsPerMonth = map[string]float64{"weekly": 52.0 / 12, "biweekly": 26.0 / 12, "semimonthly": 2, "monthly": 1}

// income is a side's monthly income, from pay and from bank deposits.
type income struct {
	pay, bank       providers.Cents
	hasPay, hasBank bool
}

// incomeOf estimates monthly income from reports. Pay (gross): for each
// current job, the average of the last three paystubs times the pay
// periods in a month, or the newest year's gross over twelve. Bank: the
// household summary's 3-month average (Payscore), else the income found in
// each account (AccountChek VOA). The two are kept apart: deposits are the
// same pay seen from the bank, and adding them would count it twice.
func incomeOf(reports []*providers.Report) income {
	var in income
	var pay, bank float64
	for _, r := range reports {
		for _, e := range r.Employments {
			in.hasPay = true
			if !e.Active && e.EndDate != "" {
				continue
			}
			if n := min(3, len(e.Paystubs)); n > 0 && periodsPerMonth[e.PayFrequency] > 0 {
				var sum float64
				for _, p := range e.Paystubs[:n] {
					sum += float64(p.Gross)
				}
				pay += sum / float64(n) * periodsPerMonth[e.PayFrequency]
			} else if len(e.AnnualIncome) > 0 {
				newest := e.AnnualIncome[0]
				for _, a := range e.AnnualIncome {
					if a.Year > newest.Year {
						newest = a
					}
				}
				pay += float64(newest.Gross) / 12
			}
		}
		if r.BankIncome != nil {
			in.hasBank = true
			bank += float64(r.BankIncome.AvgMonthlyNet3)
			continue
		}
		for _, a := range r.Accounts {
			if a.MonthlyIncome != 0 {
				in.hasBank = true
				bank += float64(a.MonthlyIncome)
			}
		}
	}
	in.pay, in.bank = providers.Cents(pay+0.5), providers.Cents(bank+0.5)
	return in
}

func employers(reports []*providers.Report, activeOnly bool) []string {
	var out []string
	for _, r := range reports {
		for _, e := range r.Employments {
			if activeOnly && !e.Active && e.EndDate != "" {
				continue
			}
			if e.Employer != "" && !slices.Contains(out, e.Employer) {
				out = append(out, e.Employer)
			}
		}
	}
	return out
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

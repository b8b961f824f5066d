package verify

import (
	"context"
	"fmt"
	"slices"

	"caseverify/providers"
	"caseverify/store"
)

// IncomeComparison puts a renewal's new income beside the previous: monthly
// income on one basis, and the jobs on each side. The handlers word it.
type IncomeComparison struct {
	// Deposits says the amounts are bank deposits a month (AccountChek VOA,
	// Payscore), not gross pay: neither side had an employment.
	Deposits       bool
	Prev, New      providers.Cents // a month
	PrevEmployers  []string        // every job in the previous reports
	NewEmployers   []string        // current jobs in the new reports
	NewJobs, Ended []string        // employers only on the new side, only on the previous
}

// CompareRenewal compares the income of a renewal's new reports with the
// previous ones. "Before" is what the previous order had when the renewal
// started and "after" what came since (store.RenewalReports), so a refresh
// in place (AccountChek) compares its new report with the old one, not with
// itself. nil when there is nothing to compare.
func (s *Service) CompareRenewal(ctx context.Context, agencyID int64, it *store.RenewalItem) (*IncomeComparison, error) {
	before, after, err := s.store.RenewalReports(ctx, agencyID, it)
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
	return CompareIncome(prev, cur), nil
}

// CompareIncome compares two sides' reports. Only report kinds both sides
// have are compared, so a side with one more report (a VOA beside a VOIE)
// does not look like new income. Pay is compared when either side has an
// employment, else deposits; nil when neither side has income (identity
// reports) or a side has no reports.
func CompareIncome(prev, cur []*providers.Report) *IncomeComparison {
	prev, cur = commonKinds(prev, cur)
	if len(prev) == 0 || len(cur) == 0 {
		return nil
	}
	pi, ci := MonthlyIncome(prev), MonthlyIncome(cur)
	c := &IncomeComparison{}
	switch {
	case pi.HasPay || ci.HasPay:
		c.Prev, c.New = pi.Pay, ci.Pay
	case pi.HasDeposits || ci.HasDeposits:
		c.Prev, c.New, c.Deposits = pi.Deposits, ci.Deposits, true
	default:
		return nil
	}
	c.PrevEmployers, c.NewEmployers = employers(prev, false), employers(cur, true)
	for _, e := range c.NewEmployers {
		if !slices.Contains(c.PrevEmployers, e) {
			c.NewJobs = append(c.NewJobs, e)
		}
	}
	for _, e := range c.PrevEmployers {
		if !slices.Contains(c.NewEmployers, e) {
			c.Ended = append(c.Ended, e)
		}
	}
	return c
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

// commonKinds keeps the reports whose kind both sides have.
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

// Income is a side's monthly income, from pay and from bank deposits.
type Income struct {
	Pay, Deposits       providers.Cents
	HasPay, HasDeposits bool
}

// MonthlyIncome estimates monthly income from reports. Pay (gross): for
// each current job, the average of the last three paystubs times the pay
// periods in a month, or the newest year's gross over twelve. Deposits: the
// household summary's 3-month average (Payscore), else the income found in
// each account (AccountChek VOA). The two are kept apart: deposits are the
// same pay seen from the bank, and adding them would count it twice.
func MonthlyIncome(reports []*providers.Report) Income {
	var in Income
	var pay, bank float64
	for _, r := range reports {
		for _, e := range r.Employments {
			in.HasPay = true
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
			in.HasDeposits = true
			bank += float64(r.BankIncome.AvgMonthlyNet3)
			continue
		}
		for _, a := range r.Accounts {
			if a.MonthlyIncome != 0 {
				in.HasDeposits = true
				bank += float64(a.MonthlyIncome)
			}
		}
	}
	in.Pay, in.Deposits = providers.Cents(pay+0.5), providers.Cents(bank+0.5)
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

// incomeStore is what income.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type incomeStore interface {
	RenewalReports(ctx context.Context, agencyID int64, it *store.RenewalItem) (before, after []*store.Report, err error)
}

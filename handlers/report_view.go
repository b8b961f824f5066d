package handlers

import (
	"fmt"
	"strconv"
	"time"

	"caseverify/providers"
	"caseverify/store"
	"caseverify/views"
)

// fillReportView turns a provider-neutral report into what people read:
// money as dollars, dates as words, codes as labels.
func fillReportView(v *views.ReportView, r *providers.Report) {
	for _, e := range r.Employments {
		ev := views.EmploymentView{Employer: e.Employer, Title: e.JobTitle, Start: views.Date(e.StartDate), End: views.Date(e.EndDate),
			PayFrequency: views.FrequencyLabel(e.PayFrequency), Status: "Not employed"}
		if e.Active {
			ev.Status = "Employed"
		}
		if e.PayRate != 0 {
			ev.PayRate = e.PayRate.String()
			if e.PayUnit != "" {
				ev.PayRate += " " + payUnit(e.PayUnit)
			}
		} else {
			ev.PayRate = "Not reported"
		}
		for _, a := range e.AnnualIncome {
			ev.Annual = append(ev.Annual, views.AnnualView{Year: strconv.Itoa(a.Year), Gross: a.Gross.String(), Net: a.Net.String()})
		}
		for _, p := range e.Paystubs {
			pv := views.PaystubView{PayDate: views.Date(p.PayDate), Gross: p.Gross.String(), Net: p.Net.String()}
			if p.PeriodStart != "" || p.PeriodEnd != "" {
				pv.Period = shortDate(p.PeriodStart) + " – " + shortDate(p.PeriodEnd)
			}
			if p.Hours > 0 {
				pv.Hours = strconv.FormatFloat(p.Hours, 'f', -1, 64)
			}
			ev.Paystubs = append(ev.Paystubs, pv)
		}
		v.Employments = append(v.Employments, ev)
	}
	for _, a := range r.Accounts {
		av := views.AccountView{Institution: a.Institution, Name: a.Name, Type: a.Type, Balance: a.Balance.String(),
			Available: a.AvailableBalance.String(), AsOf: views.Date(a.BalanceDate), Holder: a.Holder}
		if a.Mask != "" {
			av.Name += " ····" + a.Mask
		}
		if a.MonthlyIncome != 0 {
			av.MonthlyIncome = a.MonthlyIncome.String()
		}
		for _, s := range a.IncomeStreams {
			var total providers.Cents
			for _, t := range s.Transactions {
				total += t.Amount
			}
			sv := views.StreamView{Name: s.Name, Recurring: s.Recurring, Count: len(s.Transactions), Total: total.String()}
			if s.Monthly != 0 {
				sv.Monthly = s.Monthly.String()
			}
			av.Streams = append(av.Streams, sv)
		}
		v.Accounts = append(v.Accounts, av)
	}
	if b := r.BankIncome; b != nil {
		v.BankIncome = &views.BankIncomeView{TotalNet: b.TotalNet.String(), Avg2: b.AvgMonthlyNet2.String(), Avg3: b.AvgMonthlyNet3.String(),
			Avg6: history(b.AvgMonthlyNet6, b.TimespanDays, 180), Avg12: history(b.AvgMonthlyNet12, b.TimespanDays, 365),
			Recurring: b.Recurring.String(), NonRecurring: b.NonRecurring.String(), Days: b.TimespanDays}
	}
	if id := r.Identity; id != nil {
		iv := &views.IdentityView{Outcome: views.OutcomeLabel(store.Outcome(id.Outcome))}
		for _, c := range id.Checks {
			iv.Checks = append(iv.Checks, views.CheckView{Name: c.Name, Result: c.Result})
		}
		v.Identity = iv
	}
}

func payUnit(u string) string {
	switch u {
	case "hourly":
		return "an hour"
	case "yearly", "annually":
		return "a year"
	case "monthly":
		return "a month"
	case "weekly":
		return "a week"
	case "daily":
		return "a day"
	}
	return fmt.Sprintf("(%s)", u)
}

func shortDate(ymd string) string {
	t, err := time.Parse("2006-01-02", ymd)
	if err != nil {
		return ymd
	}
	return t.Format("Jan 2")
}

// history shows an average, or says the bank history is too short for it
// (Payscore reports such averages as null, which arrive as zero).
func history(avg providers.Cents, days, need int) string {
	if avg == 0 && days > 0 && days < need {
		return "Not enough history"
	}
	return avg.String()
}

package verify_test

import (
	"slices"
	"testing"

	"caseverify/handlers/verify"
	"caseverify/providers"
)

func job(employer, freq string, active bool, stubs ...providers.Cents) providers.Employment {
	e := providers.Employment{Employer: employer, PayFrequency: freq, Active: active}
	if !active {
		e.EndDate = "2026-01-31"
	}
	for _, g := range stubs {
		e.Paystubs = append(e.Paystubs, providers.Paystub{Gross: g})
	}
	return e
}

// Monthly income: the last three paystubs' average times the periods in a
// month, the newest year over twelve without paystubs, ended jobs left out,
// deposits kept apart from pay.
func TestMonthlyIncome(t *testing.T) {
	yearOnly := providers.Employment{Employer: "Annual Co", Active: true,
		AnnualIncome: []providers.AnnualIncome{{Year: 2024, Gross: 12_000_00}, {Year: 2025, Gross: 24_000_00}}}
	for _, tc := range []struct {
		name    string
		reports []*providers.Report
		want    verify.Income
	}{
		{"biweekly, last three stubs", []*providers.Report{{Kind: providers.ReportIncome, Employments: []providers.Employment{
			job("A", "biweekly", true, 1000_00, 1000_00, 1300_00, 9999_00)}}},
			verify.Income{Pay: 2383_33, HasPay: true}}, // 1100 × 26/12
		{"weekly plus an ended job", []*providers.Report{{Kind: providers.ReportIncome, Employments: []providers.Employment{
			job("A", "weekly", true, 300_00), job("B", "monthly", false, 5000_00)}}},
			verify.Income{Pay: 1300_00, HasPay: true}},
		{"newest year over twelve", []*providers.Report{{Kind: providers.ReportIncome, Employments: []providers.Employment{yearOnly}}},
			verify.Income{Pay: 2000_00, HasPay: true}},
		{"Payscore summary beats accounts", []*providers.Report{{Kind: providers.ReportBank, BankIncome: &providers.BankIncome{AvgMonthlyNet3: 3100_00},
			Accounts: []providers.BankAccount{{MonthlyIncome: 50_00}}}},
			verify.Income{Deposits: 3100_00, HasDeposits: true}},
		{"accounts", []*providers.Report{{Kind: providers.ReportAssets, Accounts: []providers.BankAccount{{MonthlyIncome: 1000_00}, {MonthlyIncome: 250_00}, {}}}},
			verify.Income{Deposits: 1250_00, HasDeposits: true}},
		{"identity only", []*providers.Report{{Kind: providers.ReportIdentity}}, verify.Income{}},
	} {
		if got := verify.MonthlyIncome(tc.reports); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// The comparison takes only the report kinds both sides have, compares pay
// before deposits, and names new and ended jobs.
func TestCompareIncome(t *testing.T) {
	prev := []*providers.Report{
		{Kind: providers.ReportIncome, Employments: []providers.Employment{job("Lakeside", "monthly", true, 2000_00), job("Diner", "monthly", true, 500_00)}},
	}
	cur := []*providers.Report{
		{Kind: providers.ReportIncome, Employments: []providers.Employment{job("Lakeside", "monthly", true, 1800_00), job("Depot", "monthly", true, 400_00)}},
		{Kind: providers.ReportAssets, Accounts: []providers.BankAccount{{MonthlyIncome: 9000_00}}}, // no VOA before: left out
	}
	c := verify.CompareIncome(prev, cur)
	if c == nil || c.Deposits || c.Prev != 2500_00 || c.New != 2200_00 {
		t.Fatalf("comparison: %+v", c)
	}
	if !slices.Equal(c.NewJobs, []string{"Depot"}) || !slices.Equal(c.Ended, []string{"Diner"}) {
		t.Errorf("jobs: new %q, ended %q", c.NewJobs, c.Ended)
	}
	voa := func(m providers.Cents) []*providers.Report {
		return []*providers.Report{{Kind: providers.ReportAssets, Accounts: []providers.BankAccount{{MonthlyIncome: m}}}}
	}
	if c := verify.CompareIncome(voa(3000_00), voa(3250_00)); c == nil || !c.Deposits || c.Prev != 3000_00 || c.New != 3250_00 {
		t.Errorf("deposits: %+v", c)
	}
	if c := verify.CompareIncome(prev, voa(1)); c != nil {
		t.Errorf("no kind in common, yet compared: %+v", c)
	}
	id := []*providers.Report{{Kind: providers.ReportIdentity}}
	if c := verify.CompareIncome(id, id); c != nil {
		t.Errorf("identity reports compared: %+v", c)
	}
}

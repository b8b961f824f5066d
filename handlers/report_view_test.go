package handlers

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"caseverify/providers"
	"caseverify/store"
	"caseverify/views"
)

// TestReportView_StreamShowsProviderMonthlyAmount: an AccountChek income
// stream carries its amount a month, not deposits, and the report says it
// beside the stream, matching the account's "Income a month" (issue 15
// item 9: the line was "0 deposits · $0.00", then nothing).
func TestReportView_StreamShowsProviderMonthlyAmount(t *testing.T) {
	r := &providers.Report{Kind: providers.ReportAssets, Accounts: []providers.BankAccount{{
		Institution: "Sandbox Bank", Name: "Everyday Checking", Type: "checking", Mask: "4321", Balance: 215042,
		MonthlyIncome: 325000,
		IncomeStreams: []providers.IncomeStream{{Name: "PAYROLL SANDBOX EMPLOYER", Recurring: true, Monthly: 325000}},
	}}}
	v := views.ReportView{Order: &store.Order{ID: 2, CaseID: 1, MemberName: "Morgan Reyes", Products: []string{"assets"}}, Provider: "AccountChek"}
	fillReportView(&v, r)
	var b bytes.Buffer
	if err := views.ReportPage(v).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	m := regexp.MustCompile(`(?s)data-testid="streams">(.*?)</ul>`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no streams list:\n%s", html)
	}
	text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " ")), " ")
	if !strings.Contains(text, "PAYROLL SANDBOX EMPLOYER (recurring) · $3,250.00 a month") || strings.Contains(text, "deposit") {
		t.Errorf("stream line = %q, want its $3,250.00 a month and no deposit count", text)
	}
	if !strings.Contains(html, "$3,250.00</td>") {
		t.Errorf("the account's Income a month is not $3,250.00")
	}
}

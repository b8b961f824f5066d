package payscore

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"caseverify/providers"
)

// reportTimespanDays is the look-back of the emulator's report: six months,
// so the nine- and twelve-month averages are null as Payscore documents they
// can be.
const reportTimespanDays = 182

// reportOut is the emulator's report data, shaped as spec.md §3.4 with money
// in integer cents. A single-applicant group gets the single form (screening
// fields at the top level), a household the multi form (screenings[]).
type reportOut struct {
	ScreeningGroupID string `json:"screening_group_id"`
	// The two timestamps (Unix seconds) are the emulator's own fields
	// (UNCONFIRMED); the client reads them for Report.CreatedAt/ExpiresAt.
	CompletedAtTimestamp     int64  `json:"completed_at_timestamp,omitempty"`
	ReportExpiresAtTimestamp int64  `json:"report_expires_at_timestamp,omitempty"`
	TotalNetIncome           int64  `json:"total_net_income"`
	TwoMonthAvg              *int64 `json:"two_month_avg_monthly_net_income"`
	ThreeMonthAvg            *int64 `json:"three_month_avg_monthly_net_income"`
	SixMonthAvg              *int64 `json:"six_month_avg_monthly_net_income"`
	NineMonthAvg             *int64 `json:"nine_month_avg_monthly_net_income"`
	TwelveMonthAvg           *int64 `json:"twelve_month_avg_monthly_net_income"`
	TotalNonRecurring        int64  `json:"total_non_recurring_deposits"`
	SummaryTimespanLength    int    `json:"summary_timespan_length"`

	*screeningReport
	Screenings []screeningReport `json:"screenings,omitempty"`

	// For the PDF only.
	decisionMaker string
	names         []string
}

type screeningReport struct {
	ScreeningID string `json:"screening_id"`
	// Recurring and NonRecurring are IncomeData objects in Payscore's
	// documentation [P09]; their fields are not listed, so the emulator
	// sends the amount under Contract.IncomeTotalField only.
	RecurringOut      map[string]int64 `json:"recurring"`
	NonRecurringOut   map[string]int64 `json:"non_recurring"`
	Recurring         int64            `json:"-"`
	NonRecurring      int64            `json:"-"`
	Identity          any              `json:"identity"`
	IncomeExplanation string           `json:"income_explanation"`
	ReasonCompleted   string           `json:"reason_completed"`
	BankConnections   []connectionOut  `json:"bank_connections"`
}

type connectionOut struct {
	ID              string       `json:"id"`
	InstitutionName string       `json:"institution_name"`
	Accounts        []accountOut `json:"accounts"`
	Income          struct {
		Recurring     int64       `json:"recurring"`
		NonRecurring  int64       `json:"non_recurring"`
		IncomeStreams []streamOut `json:"income_streams"`
	} `json:"income"`
}

type accountOut struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type"` // Credit, Savings or Checking [P09]
	Mask             string `json:"mask"`
	AvailableBalance int64  `json:"available_balance"`
	CurrentBalance   int64  `json:"current_balance"`
}

type streamOut struct {
	Name         string  `json:"name"`
	IsRecurring  bool    `json:"is_recurring"`
	AccountID    string  `json:"account_id"`
	Transactions []txOut `json:"transactions"`
}

type txOut struct {
	Amount int64  `json:"amount"`
	Name   string `json:"name"`
	Date   string `json:"date"` // MM/DD/YYYY [P09]
}

// demoDeposit is one sample deposit, daysAgo days before completion.
type demoDeposit struct {
	daysAgo int
	amount  int64
	name    string
}

// demoConnection builds the sample data of one connection:
//   - Demo Bank: checking + savings; a recurring payroll stream of 13
//     biweekly deposits of $1,450.00 (3, 17, ... 171 days before completion);
//   - Demo Credit Union: one checking account; non-recurring deposits of
//     $200.00, $150.00 and $75.50 (10, 40 and 100 days before).
//
// It returns the deposits too, so averages can be computed over windows.
func demoConnection(c *connection, completed time.Time) (connectionOut, []demoDeposit) {
	out := connectionOut{ID: c.id, InstitutionName: c.institution}
	short := c.id[:8]
	var deps []demoDeposit
	add := func(name string, recurring bool, acct string, ds []demoDeposit) {
		st := streamOut{Name: name, IsRecurring: recurring, AccountID: acct}
		for _, d := range ds {
			st.Transactions = append(st.Transactions, txOut{Amount: d.amount, Name: d.name, Date: completed.AddDate(0, 0, -d.daysAgo).Format("01/02/2006")})
			if recurring {
				out.Income.Recurring += d.amount
			} else {
				out.Income.NonRecurring += d.amount
			}
		}
		out.Income.IncomeStreams = append(out.Income.IncomeStreams, st)
		deps = append(deps, ds...)
	}
	switch c.institution {
	case DemoCreditUnion:
		out.Accounts = []accountOut{{ID: short + "-chk", Name: "Share Draft Checking", Type: "Checking", Mask: "0042", AvailableBalance: 61250, CurrentBalance: 61250}}
		add("Non-recurring deposits", false, short+"-chk", []demoDeposit{
			{10, 20000, "VENMO CASHOUT"}, {40, 15000, "MOBILE CHECK DEPOSIT"}, {100, 7550, "CASH DEPOSIT"},
		})
	default:
		out.Accounts = []accountOut{
			{ID: short + "-chk", Name: "Everyday Checking", Type: "Checking", Mask: "4521", AvailableBalance: 152034, CurrentBalance: 158000},
			{ID: short + "-sav", Name: "Savings", Type: "Savings", Mask: "7788", AvailableBalance: 420000, CurrentBalance: 420000},
		}
		var pay []demoDeposit
		for k := range 13 {
			pay = append(pay, demoDeposit{3 + 14*k, 145000, "ACME CORP PAYROLL DIRECT DEP"})
		}
		add("ACME CORP PAYROLL", true, short+"-chk", pay)
	}
	return out, deps
}

// reportFor builds a group's report data under e.mu. Members who finished
// with no income, no bank or a shared bank contribute nothing.
func (e *Emulator) reportFor(g *group) *reportOut {
	done := g.completedAt
	r := &reportOut{
		ScreeningGroupID:         g.id,
		CompletedAtTimestamp:     done.Unix(),
		ReportExpiresAtTimestamp: done.Add(ReportLifetime).Unix(),
		SummaryTimespanLength:    reportTimespanDays,
		decisionMaker:            g.decisionMaker,
	}
	var in2, in3, in6 int64
	for _, s := range g.screenings {
		sr := screeningReport{ScreeningID: s.id, ReasonCompleted: s.reason, BankConnections: []connectionOut{}}
		r.names = append(r.names, s.first+" "+s.last)
		if s.reason == "finished" {
			for _, c := range s.connections {
				co, deps := demoConnection(c, done)
				sr.BankConnections = append(sr.BankConnections, co)
				sr.Recurring += co.Income.Recurring
				sr.NonRecurring += co.Income.NonRecurring
				for _, d := range deps {
					if d.daysAgo <= 60 {
						in2 += d.amount
					}
					if d.daysAgo <= 91 {
						in3 += d.amount
					}
					if d.daysAgo <= reportTimespanDays {
						in6 += d.amount
					}
				}
			}
		}
		sr.RecurringOut = map[string]int64{e.contract.IncomeTotalField: sr.Recurring}
		sr.NonRecurringOut = map[string]int64{e.contract.IncomeTotalField: sr.NonRecurring}
		r.TotalNetIncome += sr.Recurring + sr.NonRecurring
		r.TotalNonRecurring += sr.NonRecurring
		r.Screenings = append(r.Screenings, sr)
	}
	avg := func(total int64, months float64) *int64 {
		v := int64(math.Round(float64(total) / months))
		return &v
	}
	r.TwoMonthAvg, r.ThreeMonthAvg, r.SixMonthAvg = avg(in2, 2), avg(in3, 3), avg(in6, 6)
	if len(r.Screenings) == 1 {
		r.screeningReport = &r.Screenings[0]
		r.Screenings = nil
	}
	return r
}

// renderPDF draws a one-page summary of the report data. The core fonts
// are cp1252 only, so every string goes through ascii.
func renderPDF(r *reportOut) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "Letter", "")
	pdf.SetTitle("Payscore income report (sandbox)", false)
	pdf.SetCreator("caseverify Payscore emulator", false)
	pdf.SetCreationDate(time.Unix(r.CompletedAtTimestamp, 0).UTC())
	pdf.SetMargins(18, 18, 18)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 16)
	pdf.Cell(0, 9, "Payscore income report (SANDBOX - sample data)")
	pdf.Ln(11)
	pdf.SetFont("Helvetica", "", 10)
	line := func(label, value string) {
		pdf.CellFormat(70, 6, ascii(label), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 6, ascii(value), "", 1, "L", false, 0, "")
	}
	line("Screening group", r.ScreeningGroupID)
	line("Requested by", r.decisionMaker)
	line("Completed", time.Unix(r.CompletedAtTimestamp, 0).UTC().Format("2006-01-02"))
	line("Report expires", time.Unix(r.ReportExpiresAtTimestamp, 0).UTC().Format("2006-01-02"))
	line("Period", fmt.Sprintf("%d days", r.SummaryTimespanLength))
	pdf.Ln(3)
	pdf.SetFont("Helvetica", "B", 12)
	pdf.Cell(0, 7, "Household income")
	pdf.Ln(8)
	pdf.SetFont("Helvetica", "", 10)
	money := func(v *int64) string {
		if v == nil {
			return "n/a"
		}
		return providers.Cents(*v).String()
	}
	line("Total net income", providers.Cents(r.TotalNetIncome).String())
	line("2-month average monthly net", money(r.TwoMonthAvg))
	line("3-month average monthly net", money(r.ThreeMonthAvg))
	line("6-month average monthly net", money(r.SixMonthAvg))
	line("12-month average monthly net", money(r.TwelveMonthAvg))
	line("Non-recurring deposits", providers.Cents(r.TotalNonRecurring).String())

	screenings := r.Screenings
	if r.screeningReport != nil {
		screenings = []screeningReport{*r.screeningReport}
	}
	for i, s := range screenings {
		pdf.Ln(3)
		pdf.SetFont("Helvetica", "B", 12)
		name := ""
		if i < len(r.names) {
			name = r.names[i]
		}
		pdf.Cell(0, 7, ascii(fmt.Sprintf("Applicant %d: %s (%s)", i+1, name, s.ReasonCompleted)))
		pdf.Ln(8)
		pdf.SetFont("Helvetica", "", 10)
		line("Recurring income", providers.Cents(s.Recurring).String())
		line("Non-recurring income", providers.Cents(s.NonRecurring).String())
		for _, c := range s.BankConnections {
			for _, a := range c.Accounts {
				line(c.InstitutionName+" "+a.Name+" (..."+a.Mask+")", "balance "+providers.Cents(a.CurrentBalance).String())
			}
			for _, st := range c.Income.IncomeStreams {
				var total int64
				for _, t := range st.Transactions {
					total += t.Amount
				}
				kind := "non-recurring"
				if st.IsRecurring {
					kind = "recurring"
				}
				line("  "+st.Name+" ("+kind+")", fmt.Sprintf("%d deposits, %s", len(st.Transactions), providers.Cents(total)))
			}
		}
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ascii keeps printable ASCII and replaces anything else with '?', since
// the PDF core fonts cannot show it.
func ascii(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= 0x20 && r < 0x7f {
			out = append(out, byte(r))
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}

package views

import (
	"fmt"
	"time"

	"caseverify/store"
)

// ReportView is a report as people read it: every value already formatted.
// Handlers build it from the provider-neutral report.
type ReportView struct {
	Order       *store.Order
	Household   string // "Mara Okafor, Leo Okafor" for a household report
	CaseNumber  string
	Provider    string
	FetchedAt   time.Time
	ExpiresAt   time.Time
	ExpiresSoon bool // within two days
	Gone        bool // expired or purged: nothing is shown
	Employments []EmploymentView
	Accounts    []AccountView
	// Holders groups a household report's accounts by member, in household
	// order (empty on a one-applicant report): whose account and income
	// each row is.
	Holders    []AccountHolder
	BankIncome *BankIncomeView
	Identity   *IdentityView
	// Engagement is the member's community engagement check (Medicaid
	// cases with an income report, when the agency shows it).
	Engagement *EngagementView
	PrintedAt  time.Time // the printable page's time
	// PDFs are the download links, one per report kind (AccountChek VOA and
	// VOIE); a single report has one.
	PDFs []PDFLink
}

// PDFLink is one report's PDF download.
type PDFLink struct {
	Label string
	URL   string
}

// EmploymentView is one job.
type EmploymentView struct {
	Employer     string
	Title        string
	Status       string
	Start        string
	End          string
	PayRate      string
	PayFrequency string
	Annual       []AnnualView
	Paystubs     []PaystubView
}

// AnnualView is one year's income.
type AnnualView struct{ Year, Gross, Net string }

// PaystubView is one pay statement.
type PaystubView struct{ PayDate, Period, Hours, Gross, Net string }

// AccountView is one bank account.
type AccountView struct {
	Institution, Name, Type, Balance, Available, AsOf, MonthlyIncome string
	Streams                                                          []StreamView
	Holder                                                           string // the provider's sub-item id on a household report
}

// AccountHolder is one household member's part of a household report.
type AccountHolder struct {
	Name     string
	Outcome  string // the member's outcome in words ("no income"), "" when none
	Accounts []AccountView
}

// NoAccounts says why a member has no accounts on the report.
func (h AccountHolder) NoAccounts() string {
	if h.Outcome != "" {
		return "No bank accounts connected: " + h.Outcome + "."
	}
	return "No bank accounts connected."
}

// GroupAccounts groups a household report's accounts by member: each
// member's accounts under their name (members without accounts say their
// outcome), and accounts nobody claims under "Not matched to a member".
func GroupAccounts(accounts []AccountView, members []*store.OrderMember) []AccountHolder {
	out := make([]AccountHolder, 0, len(members)+1)
	claimed := make([]bool, len(accounts))
	for _, m := range members {
		h := AccountHolder{Name: m.Name}
		if m.Outcome != "" {
			h.Outcome = OutcomeLabel(m.Outcome)
		}
		for i, a := range accounts {
			if m.SubID != "" && a.Holder == m.SubID {
				h.Accounts, claimed[i] = append(h.Accounts, a), true
			}
		}
		out = append(out, h)
	}
	rest := AccountHolder{Name: "Not matched to a member"}
	for i, a := range accounts {
		if !claimed[i] {
			rest.Accounts = append(rest.Accounts, a)
		}
	}
	if len(rest.Accounts) > 0 {
		out = append(out, rest)
	}
	return out
}

// StreamView is one income stream.
type StreamView struct {
	Name      string
	Recurring bool
	Count     int
	Total     string
	Monthly   string // the provider's amount a month ("$3,250.00"), "" when it gives none
}

// BankIncomeView is a household's bank-based income summary.
type BankIncomeView struct {
	TotalNet, Avg2, Avg3, Avg6, Avg12, Recurring, NonRecurring string
	Days                                                       int
}

// IdentityView is an identity result.
type IdentityView struct {
	Outcome string
	Checks  []CheckView
}

// CheckView is one identity check.
type CheckView struct{ Name, Result string }

// PDFURL is the PDF download of one report of the order.
func (r ReportView) PDFURL(reportID int64) string {
	return fmt.Sprintf("/cases/%d/orders/%d/report.pdf?report=%d", r.Order.CaseID, r.Order.ID, reportID)
}

// FrequencyLabel names a pay frequency.
func FrequencyLabel(f string) string {
	switch f {
	case "weekly":
		return "Weekly"
	case "biweekly":
		return "Every two weeks"
	case "semimonthly":
		return "Twice a month"
	case "monthly":
		return "Monthly"
	case "annually":
		return "Yearly"
	case "":
		return "Not reported"
	}
	return f
}

// PrintURL is the report's printable page.
func (r ReportView) PrintURL() string {
	return fmt.Sprintf("/cases/%d/orders/%d/report/print", r.Order.CaseID, r.Order.ID)
}

// EngagementPDFURL is the portal's own PDF of the community engagement check.
func (r ReportView) EngagementPDFURL() string {
	return fmt.Sprintf("/cases/%d/orders/%d/engagement.pdf", r.Order.CaseID, r.Order.ID)
}

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
	BankIncome  *BankIncomeView
	Identity    *IdentityView
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
}

// StreamView is one income stream.
type StreamView struct {
	Name      string
	Recurring bool
	Count     int
	Total     string
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

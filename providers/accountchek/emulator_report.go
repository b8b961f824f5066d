package accountchek

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// The report documents below are the emulator's; AccountChek's real JSON
// shapes are UNCONFIRMED (spec §4.2.7 gives only the paths). The adapter
// reads exactly these fields.

// voieRefreshWindow is the VOIE refresh window when the order has no
// VOA to take accountMonitoring from (UNCONFIRMED).
const voieRefreshWindow = 30 * 24 * time.Hour

// reportListEntry is one element of a report list (newest first).
type reportListEntry struct {
	ID         string `json:"id"`
	Created    string `json:"created"`
	ReportType string `json:"reportType"`
}

// voaAccountJSON is one account of a VOA summary.
type voaAccountJSON struct {
	FIName             string           `json:"fiName"`
	AccountName        string           `json:"accountName"`
	AccountType        string           `json:"accountType"`
	AccountNumberLast4 string           `json:"accountNumberLast4"`
	Balance            json.Number      `json:"balance"`
	AvailableBalance   json.Number      `json:"availableBalance"`
	BalanceDate        string           `json:"balanceDate"`
	IncomeFound        *incomeFoundJSON `json:"incomeFound,omitempty"`
}

// incomeFoundJSON is the income AccountChek found in an account.
type incomeFoundJSON struct {
	MonthlyAverage json.Number        `json:"monthlyAverage"`
	Streams        []incomeStreamJSON `json:"streams"`
}

// incomeStreamJSON is one recurring deposit source.
type incomeStreamJSON struct {
	Description   string      `json:"description"`
	MonthlyAmount json.Number `json:"monthlyAmount"`
	Recurring     bool        `json:"recurring"`
}

// voaSummaryJSON is the VOA report summary.
type voaSummaryJSON struct {
	ID          string           `json:"id"`
	OrderID     string           `json:"orderId"`
	Created     string           `json:"created"`
	ReportType  string           `json:"reportType"`
	RequestType string           `json:"requestType"`
	DaysBack    int              `json:"daysBack"`
	FirstName   string           `json:"firstName"`
	LastName    string           `json:"lastName"`
	Accounts    []voaAccountJSON `json:"accounts"`
}

// money formats cents as a JSON decimal number of dollars.
func money(cents int64) json.Number {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return json.Number(fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100))
}

// voaAccounts is the sandbox data of one report: a checking account with a
// payroll deposit and a savings account. Balances move a little with each
// refresh so a refreshed report is visibly new.
func voaAccounts(institution string, rep emuReport) []voaAccountJSON {
	date := rep.Created.Format("2006-01-02")
	checking := int64(215042 + 12500*rep.Seq)
	savings := int64(540000 + 1000*rep.Seq)
	return []voaAccountJSON{
		{
			FIName: institution, AccountName: "Everyday Checking", AccountType: "Checking", AccountNumberLast4: "4321",
			Balance: money(checking), AvailableBalance: money(checking - 5000), BalanceDate: date,
			IncomeFound: &incomeFoundJSON{MonthlyAverage: money(325000), Streams: []incomeStreamJSON{
				{Description: "PAYROLL SANDBOX EMPLOYER", MonthlyAmount: money(325000), Recurring: true},
			}},
		},
		{
			FIName: institution, AccountName: "Rainy Day Savings", AccountType: "Savings", AccountNumberLast4: "8765",
			Balance: money(savings), AvailableBalance: money(savings), BalanceDate: date,
		},
	}
}

// dollars formats a JSON amount for people, e.g. "$2,150.42".
func dollars(n json.Number) string { return cents(n).String() }

// findReport returns the report with id, or false.
func findReport(list []emuReport, id string) (emuReport, bool) {
	for _, r := range list {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return emuReport{}, false
}

// listJSON renders a report list.
func listJSON(list []emuReport, kind string) []reportListEntry {
	out := []reportListEntry{}
	for _, r := range list {
		out = append(out, reportListEntry{ID: r.ID, Created: r.Created.Format(time.RFC3339), ReportType: kind})
	}
	return out
}

// wantsPDF reports whether the client asked for a PDF.
func wantsPDF(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/pdf")
}

// handleVOALite is GET …/voa/lite: the top-level account data.
func (e *Emulator) handleVOALite(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	if o.VOA == nil {
		writeMessage(w, http.StatusNotFound, "No VOA has been requested for this order.")
		return
	}
	out := []voaAccountJSON{}
	if len(o.VOA.Reports) > 0 {
		out = voaAccounts(o.VOA.Institution, o.VOA.Reports[0])
	}
	writeJSON(w, http.StatusOK, out)
}

// handleListVOAReports is GET …/voa/reports.
func (e *Emulator) handleListVOAReports(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	if o.VOA == nil {
		writeMessage(w, http.StatusNotFound, "No VOA has been requested for this order.")
		return
	}
	writeJSON(w, http.StatusOK, listJSON(o.VOA.Reports, "voa"))
}

// refreshProblem says why a report cannot be generated now, or "".
func (e *Emulator) refreshProblem(o *emuOrder, done bool, monitoringEnds time.Time) string {
	switch {
	case o.Status == "closed" || o.Status == "canceled":
		return "Account monitoring for this order has ended and the order is closed."
	case !done:
		return "A report can be generated only after the borrower has finished connecting their accounts."
	case !e.now().Before(monitoringEnds):
		return "Account monitoring for this order has ended."
	}
	return ""
}

// handleGenerateVOAReport is "Generate Report" for VOA (path UNCONFIRMED):
// a new report from the monitored connection, announced by a 507 postback.
func (e *Emulator) handleGenerateVOAReport(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	if o.VOA == nil {
		writeMessage(w, http.StatusNotFound, "No VOA has been requested for this order.")
		return
	}
	if msg := e.refreshProblem(o, o.VOA.Status == "507", o.VOA.MonitoringEnds); msg != "" {
		writeGeneral(w, msg)
		return
	}
	rep := e.newVOAReport(o)
	writeJSON(w, http.StatusCreated, reportListEntry{ID: rep.ID, Created: rep.Created.Format(time.RFC3339), ReportType: "voa"})
}

// handleVOASummary is GET …/voa/reports/{reportId}/summary, JSON or PDF by
// the Accept header.
func (e *Emulator) handleVOASummary(w http.ResponseWriter, r *http.Request, o *emuOrder) {
	if o.VOA == nil {
		writeMessage(w, http.StatusNotFound, "No VOA has been requested for this order.")
		return
	}
	rep, ok := findReport(o.VOA.Reports, r.PathValue("reportId"))
	if !ok {
		writeMessage(w, http.StatusNotFound, "The report was not found.")
		return
	}
	sum := voaSummaryJSON{
		ID: rep.ID, OrderID: o.ID, Created: rep.Created.Format(time.RFC3339), ReportType: "voa",
		RequestType: o.VOA.RequestType, DaysBack: o.VOA.DaysBack, FirstName: o.FirstName, LastName: o.LastName,
		Accounts: voaAccounts(o.VOA.Institution, rep),
	}
	if !wantsPDF(r) {
		writeJSON(w, http.StatusOK, sum)
		return
	}
	if o.VOA.RequestType == "lite" {
		writeGeneral(w, "A lite VOA has no PDF report.")
		return
	}
	rows := [][]string{}
	for _, a := range sum.Accounts {
		income := ""
		if a.IncomeFound != nil {
			income = dollars(a.IncomeFound.MonthlyAverage) + "/mo"
		}
		rows = append(rows, []string{a.FIName, a.AccountName + " (" + a.AccountType + " x" + a.AccountNumberLast4 + ")",
			dollars(a.Balance), dollars(a.AvailableBalance), a.BalanceDate, income})
	}
	writePDF(w, pdfDoc{
		Title: "AccountChek Verification of Assets (sandbox)",
		Meta: [][2]string{
			{"Borrower", o.FirstName + " " + o.LastName}, {"Order ID", o.ID}, {"Report ID", rep.ID},
			{"Generated", rep.Created.Format("2006-01-02 15:04 MST")}, {"History", fmt.Sprintf("%d days", o.VOA.DaysBack)},
		},
		Header:  []string{"Institution", "Account", "Balance", "Available", "As of", "Income"},
		Widths:  []float64{34, 62, 24, 24, 22, 26},
		Rows:    rows,
		Created: rep.Created,
	})
}

// voieEmploymentJSON is one employment of the VOIE report.
type voieEmploymentJSON struct {
	EmployerName     string            `json:"employerName"`
	JobTitle         string            `json:"jobTitle"`
	EmploymentStatus string            `json:"employmentStatus"`
	StartDate        string            `json:"startDate"`
	EndDate          *string           `json:"endDate"`
	PayRate          json.Number       `json:"payRate"`
	PayUnit          string            `json:"payUnit"`
	PayFrequency     string            `json:"payFrequency"`
	AnnualIncome     []annualJSON      `json:"annualIncome"`
	Paystubs         []voiePaystubJSON `json:"paystubs"`
}

// annualJSON is one year's totals.
type annualJSON struct {
	Year  int         `json:"year"`
	Gross json.Number `json:"gross"`
	Net   json.Number `json:"net"`
}

// voiePaystubJSON is one pay statement.
type voiePaystubJSON struct {
	PayDate     string      `json:"payDate"`
	PeriodStart string      `json:"periodStart"`
	PeriodEnd   string      `json:"periodEnd"`
	Hours       float64     `json:"hours"`
	Gross       json.Number `json:"gross"`
	Net         json.Number `json:"net"`
}

// voieReportJSON is the VOIE report.
type voieReportJSON struct {
	ID          string               `json:"id"`
	OrderID     string               `json:"orderId"`
	Created     string               `json:"created"`
	ReportType  string               `json:"reportType"`
	Payroll     string               `json:"payrollProvider"`
	Employments []voieEmploymentJSON `json:"employments"`
}

// voieEmployment is the sandbox job: $21.50 an hour, 80 hours every two
// weeks, paid on Fridays; the three latest paystubs and yearly totals.
func voieEmployment(employer string, rep emuReport) voieEmploymentJSON {
	if employer == "" {
		employer = "Sandbox Employer Inc"
	}
	const gross, net = 172000, 135040 // cents per paycheck
	day := rep.Created.Truncate(24 * time.Hour)
	for day.Weekday() != time.Friday {
		day = day.AddDate(0, 0, -1)
	}
	emp := voieEmploymentJSON{
		EmployerName: employer, JobTitle: "Eligibility Clerk", EmploymentStatus: "active", StartDate: "2019-04-01",
		PayRate: money(2150), PayUnit: "hourly", PayFrequency: "biweekly",
	}
	for i := range 3 {
		pay := day.AddDate(0, 0, -14*i)
		end := pay.AddDate(0, 0, -6)
		emp.Paystubs = append(emp.Paystubs, voiePaystubJSON{
			PayDate: pay.Format("2006-01-02"), PeriodStart: end.AddDate(0, 0, -13).Format("2006-01-02"),
			PeriodEnd: end.Format("2006-01-02"), Hours: 80, Gross: money(gross), Net: money(net),
		})
	}
	year := rep.Created.Year()
	checks := int64(rep.Created.YearDay() / 14)
	emp.AnnualIncome = []annualJSON{
		{Year: year, Gross: money(gross * checks), Net: money(net * checks)},
		{Year: year - 1, Gross: money(gross * 26), Net: money(net * 26)},
	}
	return emp
}

// handleListVOEReports is GET …/voe/reports (path UNCONFIRMED).
func (e *Emulator) handleListVOEReports(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	if o.VOE == nil {
		writeMessage(w, http.StatusNotFound, "No VOIE has been requested for this order.")
		return
	}
	writeJSON(w, http.StatusOK, listJSON(o.VOE.Reports, "voie"))
}

// handleGenerateVOEReport is "Generate Report" for VOIE (path UNCONFIRMED).
// The window is the VOA's account monitoring, or 30 days from the first
// VOIE report when there is no VOA (UNCONFIRMED).
func (e *Emulator) handleGenerateVOEReport(w http.ResponseWriter, _ *http.Request, o *emuOrder) {
	if o.VOE == nil {
		writeMessage(w, http.StatusNotFound, "No VOIE has been requested for this order.")
		return
	}
	var ends time.Time
	switch {
	case o.VOA != nil && !o.VOA.MonitoringEnds.IsZero():
		ends = o.VOA.MonitoringEnds
	case len(o.VOE.Reports) > 0:
		ends = o.VOE.Reports[len(o.VOE.Reports)-1].Created.Add(voieRefreshWindow)
	}
	if msg := e.refreshProblem(o, o.VOE.Status == "607", ends); msg != "" {
		writeGeneral(w, msg)
		return
	}
	rep := e.newVOEReport(o)
	writeJSON(w, http.StatusCreated, reportListEntry{ID: rep.ID, Created: rep.Created.Format(time.RFC3339), ReportType: "voie"})
}

// handleVOEReport is GET …/voe/reports/{reportId} (path UNCONFIRMED), JSON
// or PDF by the Accept header.
func (e *Emulator) handleVOEReport(w http.ResponseWriter, r *http.Request, o *emuOrder) {
	if o.VOE == nil {
		writeMessage(w, http.StatusNotFound, "No VOIE has been requested for this order.")
		return
	}
	rep, ok := findReport(o.VOE.Reports, r.PathValue("reportId"))
	if !ok {
		writeMessage(w, http.StatusNotFound, "The report was not found.")
		return
	}
	emp := voieEmployment(o.EmployerName, rep)
	doc := voieReportJSON{ID: rep.ID, OrderID: o.ID, Created: rep.Created.Format(time.RFC3339), ReportType: "voie",
		Payroll: o.VOE.Payroll, Employments: []voieEmploymentJSON{emp}}
	if !wantsPDF(r) {
		writeJSON(w, http.StatusOK, doc)
		return
	}
	rows := [][]string{}
	for _, p := range emp.Paystubs {
		rows = append(rows, []string{p.PayDate, p.PeriodStart + " to " + p.PeriodEnd, fmt.Sprintf("%.0f", p.Hours), dollars(p.Gross), dollars(p.Net)})
	}
	writePDF(w, pdfDoc{
		Title: "AccountChek Verification of Income and Employment (sandbox)",
		Meta: [][2]string{
			{"Borrower", o.FirstName + " " + o.LastName}, {"Order ID", o.ID}, {"Report ID", rep.ID},
			{"Generated", rep.Created.Format("2006-01-02 15:04 MST")}, {"Employer", emp.EmployerName},
			{"Job", emp.JobTitle + ", since " + emp.StartDate}, {"Pay", dollars(emp.PayRate) + " " + emp.PayUnit + ", paid " + emp.PayFrequency},
		},
		Header:  []string{"Pay date", "Period", "Hours", "Gross", "Net"},
		Widths:  []float64{30, 62, 20, 34, 34},
		Rows:    rows,
		Created: rep.Created,
	})
}

// pdfDoc is a one-page sandbox report.
type pdfDoc struct {
	Title   string
	Meta    [][2]string // label, value
	Header  []string
	Widths  []float64 // mm, one per column
	Rows    [][]string
	Created time.Time
}

// writePDF renders doc with fpdf's core fonts (cp1252 only, so every text
// is reduced to ASCII first) and writes it.
func writePDF(w http.ResponseWriter, doc pdfDoc) {
	pdf := fpdf.New("P", "mm", "Letter", "")
	pdf.SetCreationDate(doc.Created)
	pdf.SetModificationDate(doc.Created)
	pdf.SetTitle(asciiOnly(doc.Title), false)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 15)
	pdf.CellFormat(0, 9, asciiOnly(doc.Title), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	pdf.CellFormat(0, 6, "Sandbox data generated by the caseverify AccountChek emulator. Not a real report.", "", 1, "L", false, 0, "")
	pdf.Ln(3)
	for _, m := range doc.Meta {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(30, 6, asciiOnly(m[0]), "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		pdf.CellFormat(0, 6, asciiOnly(m[1]), "", 1, "L", false, 0, "")
	}
	pdf.Ln(4)
	pdf.SetFont("Helvetica", "B", 9)
	pdf.SetFillColor(230, 230, 230)
	for i, h := range doc.Header {
		pdf.CellFormat(doc.Widths[i], 7, asciiOnly(h), "1", 0, "L", true, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 9)
	for _, row := range doc.Rows {
		for i, cell := range row {
			pdf.CellFormat(doc.Widths[i], 7, asciiOnly(cell), "1", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		writeMessage(w, http.StatusInternalServerError, "The PDF could not be generated.")
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// asciiOnly replaces everything outside printable ASCII with '?', since the
// PDF core fonts cannot show it.
func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x20 && r < 0x7f {
			return r
		}
		return '?'
	}, s)
}

package truv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// This file makes the emulator's reports: a VOIE/VOE report shaped as spec
// §2.6 for each payroll connection of the user, an assets report with a
// couple of accounts, and both as a PDF (?fmt=pdf).

// emuReport is one created report.
type emuReport struct {
	id, userID string
	kind       reportKind
	body       []byte
	voie       *wireVOIEReport
	assets     *wireAssetsReport
	gets       int
}

// payProfile is the pay history the sandbox invents for a connection.
type payProfile struct {
	jobTitle, jobType string
	freq              string // W, BW, SM
	income, unit      string // income per income_unit
	startDate         string
	gross             int64 // cents per pay period
	hours             float64
}

// payProfileFor names the profiles the sandbox logins lead to: goodlogin is
// bi-weekly (spec §2.8), fulltime salaried semi-monthly, hourly.part-time
// hourly weekly.
func payProfileFor(name string) payProfile {
	switch name {
	case "salaried":
		return payProfile{"Operations Analyst", "F", "SM", "78000.00", "YEARLY", "2016-09-12", 325000, 86.67}
	case "hourly":
		return payProfile{"Cashier", "P", "W", "18.50", "HOURLY", "2022-02-14", 46250, 25}
	}
	return payProfile{"Care Coordinator", "F", "BW", "52000.00", "YEARLY", "2018-06-04", 200000, 80}
}

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// payDates lists the profile's pay dates in [from, to], oldest first.
func (p payProfile) payDates(from, to time.Time) []time.Time {
	from, to = day(from), day(to)
	var out []time.Time
	if p.freq == "SM" {
		for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(to); m = m.AddDate(0, 1, 0) {
			for _, d := range []time.Time{m.AddDate(0, 0, 14), m.AddDate(0, 1, -1)} {
				if !d.Before(from) && !d.After(to) {
					out = append(out, d)
				}
			}
		}
		return out
	}
	step := 14
	if p.freq == "W" {
		step = 7
	}
	// Paydays are Fridays counted from a fixed one, so every report of a
	// connection agrees with the last.
	for d := time.Date(2015, 1, 2, 0, 0, 0, 0, time.UTC); !d.After(to); d = d.AddDate(0, 0, step) {
		if !d.Before(from) {
			out = append(out, d)
		}
	}
	return out
}

// period returns the pay period a pay date pays for.
func (p payProfile) period(pay time.Time) (start, end time.Time) {
	switch p.freq {
	case "SM":
		if pay.Day() == 15 {
			return pay.AddDate(0, 0, -14), pay
		}
		return time.Date(pay.Year(), pay.Month(), 16, 0, 0, 0, 0, time.UTC), pay
	case "W":
		end = pay.AddDate(0, 0, -2)
		return end.AddDate(0, 0, -6), end
	}
	end = pay.AddDate(0, 0, -6)
	return end.AddDate(0, 0, -13), end
}

func netOf(gross int64) int64 { return (gross*78 + 50) / 100 }

// money formats cents as Truv's decimal strings.
func money(c int64) decimal { return decimal(fmt.Sprintf("%d.%02d", c/100, c%100)) }

func isoDate(t time.Time) flexString { return flexString(t.Format("2006-01-02")) }

// employmentFor invents a connection's employment as of its last sync.
func employmentFor(c *emuConn, voe bool) wireEmployment {
	p := payProfileFor(c.profile)
	active := true
	e := wireEmployment{
		ID: "emp-" + c.linkID[:12], IsActive: &active, JobTitle: flexString(p.jobTitle), JobType: flexString(p.jobType),
		StartDate: flexString(p.startDate), OriginalHireDate: flexString(p.startDate),
		Profile: &wireProfile{FirstName: c.firstName, LastName: c.lastName, FullName: strings.TrimSpace(c.firstName + " " + c.lastName)},
		Company: &wireCompany{Name: flexString(c.company), Address: &wireAddress{Street: "100 Main St", City: "Springfield", State: "IL", Zip: "62701"}},
	}
	if voe {
		return e
	}
	e.Income, e.IncomeUnit = decimal(p.income), flexString(p.unit)
	e.PayRate, e.PayFrequency = money(p.gross), flexString(p.freq)
	synced := day(c.syncedAt)
	yearStart := func(t time.Time) time.Time { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC) }
	basis := flexString("S") // salaried
	if p.unit == "HOURLY" {
		basis = "H"
	}
	dates := p.payDates(synced.AddDate(-1, -2, 0), synced)
	if len(dates) > 8 {
		dates = dates[len(dates)-8:]
	}
	for i := len(dates) - 1; i >= 0; i-- {
		pay := dates[i]
		start, end := p.period(pay)
		n := int64(len(p.payDates(yearStart(pay), pay)))
		e.Statements = append(e.Statements, wireStatement{
			ID: fmt.Sprintf("st-%s-%d", c.linkID[:8], pay.Unix()), PayDate: isoDate(pay),
			PeriodStart: isoDate(start), PeriodEnd: isoDate(end), CheckNumber: flexString(pay.Format("0102")),
			Hours: flexNumber(p.hours), BasisOfPay: basis,
			GrossPay: money(p.gross), GrossPayYTD: money(p.gross * n), NetPay: money(netOf(p.gross)), NetPayYTD: money(netOf(p.gross) * n),
			Regular: money(p.gross), Overtime: money(0),
		})
	}
	cur := int64(len(p.payDates(yearStart(synced), synced)))
	prevStart := time.Date(synced.Year()-1, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := int64(len(p.payDates(prevStart, prevStart.AddDate(1, 0, -1))))
	for _, y := range []struct {
		year int
		n    int64
	}{{synced.Year(), cur}, {synced.Year() - 1, prev}} {
		e.AnnualIncomeSummary = append(e.AnnualIncomeSummary, wireAnnual{
			Year: flexNumber(y.year), GrossPay: money(p.gross * y.n), NetPay: money(netOf(p.gross) * y.n),
			Regular: money(p.gross * y.n), Overtime: money(0), OtherPay: money(0),
		})
	}
	e.W2s = []wireW2{{Year: flexNumber(synced.Year() - 1), Wages: money(p.gross * prev), FederalTax: money(p.gross * prev / 10)}}
	return e
}

// connsOfLocked returns the user's connections, oldest first.
func (e *Emulator) connsOfLocked(userID string) []*emuConn {
	var out []*emuConn
	for _, c := range e.conns {
		if c.userID == userID {
			out = append(out, c)
		}
	}
	// Map order is random; a stable order keeps reports reproducible.
	slices.SortFunc(out, func(a, b *emuConn) int { return a.connectedAt.Compare(b.connectedAt) })
	return out
}

func (e *Emulator) userKnownLocked(userID string) bool {
	for _, o := range e.orders {
		if o.userID == userID {
			return true
		}
	}
	return false
}

// apiCreateReport serves POST /v1/users/{uid}/reports/ (kindVOIE, with
// is_voe choosing VOE) and POST .../assets/reports/ (kindAssets).
func (e *Emulator) apiCreateReport(kind reportKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			IsVOE bool `json:"is_voe"`
		}
		if err := decodeBody(r, &b); err != nil {
			writeAPIError(w, http.StatusBadRequest, "incorrect_parameters", "Incorrect request parameters",
				[]invalidParam{{Name: "body", Reason: "Request body is not valid JSON."}})
			return
		}
		uid := r.PathValue("uid")
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.userKnownLocked(uid) {
			writeNotFound(w)
			return
		}
		var conns []*emuConn
		for _, c := range e.connsOfLocked(uid) {
			if kind == kindAssets || !c.bank {
				conns = append(conns, c)
			}
		}
		if len(conns) == 0 {
			writeAPIError(w, http.StatusBadRequest, "incorrect_parameters", "The user has no completed connections for this report",
				[]invalidParam{{Name: "user_id", Reason: "No completed connections."}})
			return
		}
		now := e.now()
		rep := &emuReport{id: newHex(16), userID: uid, kind: kind}
		if kind == kindAssets {
			rep.assets = assetsReportFor(rep.id, conns, now)
			rep.body, _ = marshalJSON(rep.assets)
		} else {
			if b.IsVOE {
				rep.kind = kindVOE
			}
			rep.voie = voieReportFor(rep.id, conns, now, b.IsVOE)
			rep.body, _ = marshalJSON(rep.voie)
		}
		e.reports[rep.id] = rep
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(rep.body)
	}
}

func voieReportFor(id string, conns []*emuConn, now time.Time, voe bool) *wireVOIEReport {
	rep := &wireVOIEReport{ReportID: id, CreatedAt: formatTime(now), CompletedAt: flexString(formatTime(now)), IsVOE: voe}
	for _, c := range conns {
		rep.LastTaskAt = flexString(formatTime(c.syncedAt))
		rep.Links = append(rep.Links, wireReportLink{
			ID: "lr-" + c.linkID[:12], LinkID: c.linkID, DataSource: "payroll",
			Provider: "truv_payroll", ProviderName: "Truv Payroll Provider",
			Employments: []wireEmployment{employmentFor(c, voe)},
		})
	}
	return rep
}

func assetsReportFor(id string, conns []*emuConn, now time.Time) *wireAssetsReport {
	rep := &wireAssetsReport{ReportID: id, CreatedAt: formatTime(now), CompletedAt: flexString(formatTime(now)), DaysRequested: 60}
	for _, c := range conns {
		bank := c.company
		if !c.bank {
			bank = "Truv Bank" // a payroll connection's deposit account
		}
		ts := formatTime(c.syncedAt)
		rep.Links = append(rep.Links, wireAssetsLink{
			LinkID: c.linkID, Provider: "truv_bank", ProviderName: flexString(bank),
			Accounts: []wireAccount{
				{ID: "acc-" + c.linkID[:10] + "-1", CreatedAt: ts, UpdatedAt: ts, Type: "CHECKING", Subtype: "checking", Mask: "4321",
					Nickname: "Everyday Checking", Balances: wireBalances{CurrencyCode: "USD", Balance: "2345.67", AvailableBalance: "2300.12"}},
				{ID: "acc-" + c.linkID[:10] + "-2", CreatedAt: ts, UpdatedAt: ts, Type: "SAVINGS", Subtype: "savings", Mask: "8765",
					Nickname: "Rainy Day Savings", Balances: wireBalances{CurrencyCode: "USD", Balance: "10250.00", AvailableBalance: "10250.00"}},
			},
		})
	}
	return rep
}

// apiGetReport serves a report as JSON, or as a PDF with ?fmt=pdf.
func (e *Emulator) apiGetReport(kind reportKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		rep, ok := e.reports[r.PathValue("rid")]
		if ok && (rep.userID != r.PathValue("uid") || (kind == kindAssets) != (rep.kind == kindAssets)) {
			ok = false
		}
		if ok && rep.gets < e.cfg.ReportNotFoundGets {
			rep.gets++
			ok = false
		}
		var body []byte
		var voie *wireVOIEReport
		var assets *wireAssetsReport
		if ok {
			body, voie, assets = rep.body, rep.voie, rep.assets
		}
		e.mu.Unlock()
		if !ok {
			writeNotFound(w)
			return
		}
		switch r.URL.Query().Get("fmt") {
		case "pdf":
			var pdf []byte
			var err error
			if assets != nil {
				pdf, err = assetsPDF(assets)
			} else {
				pdf, err = voiePDF(voie)
			}
			if err != nil {
				writeAPIError(w, http.StatusInternalServerError, "error", "Could not render the PDF", nil)
				return
			}
			w.Header().Set("Content-Type", "application/pdf")
			_, _ = w.Write(pdf)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
	}
}

func marshalJSON(v any) ([]byte, error) { return json.Marshal(v) }

// ascii keeps PDF text within the core fonts' cp1252 range.
func ascii(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 32 && r < 127 {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// dollars formats a Truv decimal for the PDF.
func dollars(d decimal) string {
	if d == "" {
		return "-"
	}
	return ascii(d.Cents().String())
}

// newPDF starts a sandbox report PDF with its heading.
func newPDF(title string, created time.Time) *fpdf.Fpdf {
	pdf := fpdf.New("P", "mm", "Letter", "")
	pdf.SetTitle(title, false)
	pdf.SetCreator("caseverify Truv emulator", false)
	if !created.IsZero() {
		pdf.SetCreationDate(created)
		pdf.SetModificationDate(created)
	}
	pdf.SetMargins(18, 18, 18)
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 15)
	pdf.CellFormat(0, 9, title, "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 9)
	pdf.CellFormat(0, 5, "SANDBOX - generated by the caseverify Truv emulator; not real data.", "", 1, "L", false, 0, "")
	pdf.Ln(3)
	return pdf
}

func pdfRow(pdf *fpdf.Fpdf, widths []float64, cells []string, bold bool) {
	style := ""
	if bold {
		style = "B"
	}
	pdf.SetFont("Helvetica", style, 9)
	for i, c := range cells {
		align := "L"
		if i > 0 {
			align = "R"
		}
		pdf.CellFormat(widths[i], 6, ascii(c), "B", 0, align, false, 0, "")
	}
	pdf.Ln(-1)
}

func pdfOut(pdf *fpdf.Fpdf) ([]byte, error) {
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// voiePDF renders the VOIE report with the same content as its JSON.
func voiePDF(r *wireVOIEReport) ([]byte, error) {
	title := "Verification of Income and Employment"
	if r.IsVOE {
		title = "Verification of Employment"
	}
	pdf := newPDF(title, parseTime(r.CreatedAt))
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 6, "Report ID: "+ascii(r.ReportID), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, "Created: "+ascii(r.CreatedAt), "", 1, "L", false, 0, "")
	for _, l := range r.Links {
		for _, em := range l.Employments {
			emp := normalizeEmployment(em)
			pdf.Ln(3)
			pdf.SetFont("Helvetica", "B", 12)
			pdf.CellFormat(0, 7, ascii(emp.Employer), "", 1, "L", false, 0, "")
			pdf.SetFont("Helvetica", "", 10)
			if em.Profile != nil {
				pdf.CellFormat(0, 6, "Employee: "+ascii(em.Profile.FullName), "", 1, "L", false, 0, "")
			}
			status := "Inactive"
			if emp.Active {
				status = "Active"
			}
			pdf.CellFormat(0, 6, fmt.Sprintf("Job title: %s   Status: %s   Start date: %s", ascii(emp.JobTitle), status, emp.StartDate), "", 1, "L", false, 0, "")
			if !r.IsVOE {
				pdf.CellFormat(0, 6, fmt.Sprintf("Pay: %s %s   Pay rate per period: %s   Pay frequency: %s",
					ascii(emp.PayRate.String()), emp.PayUnit, dollars(em.PayRate), emp.PayFrequency), "", 1, "L", false, 0, "")
			}
			if len(em.AnnualIncomeSummary) > 0 {
				pdf.Ln(2)
				w := []float64{40, 50, 50}
				pdfRow(pdf, w, []string{"Year", "Gross pay", "Net pay"}, true)
				for _, a := range em.AnnualIncomeSummary {
					pdfRow(pdf, w, []string{fmt.Sprintf("%d", int(a.Year)), dollars(a.GrossPay), dollars(a.NetPay)}, false)
				}
			}
			if len(em.Statements) > 0 {
				pdf.Ln(2)
				w := []float64{30, 50, 20, 35, 35}
				pdfRow(pdf, w, []string{"Pay date", "Period", "Hours", "Gross", "Net"}, true)
				for _, s := range emp.Paystubs {
					pdfRow(pdf, w, []string{s.PayDate, s.PeriodStart + " to " + s.PeriodEnd, fmt.Sprintf("%.2f", s.Hours),
						ascii(s.Gross.String()), ascii(s.Net.String())}, false)
				}
			}
		}
	}
	return pdfOut(pdf)
}

// assetsPDF renders the assets report.
func assetsPDF(r *wireAssetsReport) ([]byte, error) {
	pdf := newPDF("Verification of Assets", parseTime(r.CreatedAt))
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(0, 6, "Report ID: "+ascii(r.ReportID), "", 1, "L", false, 0, "")
	w := []float64{50, 45, 20, 32, 32}
	pdf.Ln(2)
	pdfRow(pdf, w, []string{"Institution", "Account", "Mask", "Balance", "Available"}, true)
	for _, l := range r.Links {
		for _, a := range l.Accounts {
			pdfRow(pdf, w, []string{string(l.ProviderName), string(a.Nickname), string(a.Mask),
				dollars(a.Balances.Balance), dollars(a.Balances.AvailableBalance)}, false)
		}
	}
	return pdfOut(pdf)
}

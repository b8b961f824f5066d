package truework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"caseverify/providers"
)

// FetchReport reads GET /reports/{id} and normalizes it (§1.6). With an
// empty reportID it reads the order and merges every completed report of it
// (one per employer) into one Report with one Employment each; ReportID is
// then the first report's id and Raw a JSON array of the reports.
func (c *Client) FetchReport(ctx context.Context, ref providers.OrderRef, reportID string) (*providers.Report, error) {
	if reportID != "" {
		return c.fetchOneReport(ctx, reportID)
	}
	o, err := c.getOrder(ctx, ref.OrderID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, u := range c.updatesFromOrder(o) {
		if u.ReportReady {
			ids = append(ids, u.ReportID)
		}
	}
	if len(ids) == 0 {
		return nil, &providers.ProviderError{Provider: ProviderName, Code: CodeNotFound,
			Message: "Truework has no completed report for this order yet.", Err: providers.ErrNotFound}
	}
	var merged *providers.Report
	raws := make([]json.RawMessage, 0, len(ids))
	for _, id := range ids {
		r, err := c.fetchOneReport(ctx, id)
		if err != nil {
			return nil, err
		}
		raws = append(raws, r.Raw)
		if merged == nil {
			merged = r
			continue
		}
		merged.Employments = append(merged.Employments, r.Employments...)
	}
	merged.Raw, _ = json.Marshal(raws) // RawMessages always marshal
	return merged, nil
}

// fetchOneReport reads and normalizes one report.
func (c *Client) fetchOneReport(ctx context.Context, id string) (*providers.Report, error) {
	var rep reportResource
	body, err := c.getJSON(ctx, call{method: http.MethodGet, path: "/reports/" + url.PathEscape(id)}, "report", &rep)
	if err != nil {
		return nil, err
	}
	r := normalizeReport(&rep)
	if r.ReportID == "" {
		r.ReportID = id
	}
	r.Raw = json.RawMessage(body)
	return r, nil
}

// FetchReportPDF reads the same report as a PDF (Accept: application/pdf
// [T01, S00]).
func (c *Client) FetchReportPDF(ctx context.Context, ref providers.OrderRef, reportID string) ([]byte, error) {
	if reportID == "" {
		return nil, validationError("Choose a Truework report to download.", map[string]string{"report_id": "Required."})
	}
	res, err := c.do(ctx, call{method: http.MethodGet, path: "/reports/" + url.PathEscape(reportID), accept: "application/pdf", limit: maxPDFBody})
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(res.body, []byte("%PDF-")) {
		return nil, decodeError(res.status, "report PDF", errors.New("answer is not a PDF"))
	}
	return res.body, nil
}

// normalizeReport maps Truework's report onto the portal's Report: one
// Employment per report (Truework issues one report per employer).
func normalizeReport(rep *reportResource) *providers.Report {
	r := &providers.Report{ReportID: rep.ID, Kind: providers.ReportIncome}
	if t, ok := parseTime(cmpStr(rep.Completed, rep.Created)); ok {
		r.CreatedAt = t
	}
	var e providers.Employment
	if rep.Employer != nil {
		e.Employer = rep.Employer.Name
	}
	if emp := rep.Employee; emp != nil {
		if len(emp.Positions) > 0 {
			e.JobTitle = emp.Positions[0].Title
		}
		e.Active = emp.Status != nil && emp.Status.Canonical == "active"
		e.StartDate = dateOnly(cmpStr(emp.HiredDate, emp.OriginalHired))
		if e.StartDate == "" && len(emp.Positions) > 0 {
			e.StartDate = dateOnly(emp.Positions[0].StartDate)
		}
		e.EndDate = dateOnly(emp.TerminationDate)
		if s := emp.Salary; s != nil {
			if s.PayRate != nil {
				e.PayRate = parseCents(string(s.PayRate.Amount))
				if s.PayRate.Unit != nil {
					e.PayUnit = payUnit(s.PayRate.Unit.Canonical)
				}
			}
			if s.PayFrequency != nil {
				e.PayFrequency = s.PayFrequency.Canonical
			}
		}
		for _, y := range emp.Earnings {
			e.AnnualIncome = append(e.AnnualIncome, providers.AnnualIncome{Year: y.Year.Int(), Gross: parseCents(string(y.Total))})
		}
	}
	for _, p := range rep.Paystubs {
		e.Paystubs = append(e.Paystubs, providers.Paystub{
			PayDate:     dateOnly(p.PayDate),
			PeriodStart: dateOnly(p.PeriodStart),
			PeriodEnd:   dateOnly(p.PeriodEnd),
			Hours:       p.Hours.Float(),
			Gross:       parseCents(string(p.Gross)),
			Net:         parseCents(string(p.Net)),
		})
	}
	r.Employments = []providers.Employment{e}
	return r
}

// payUnit names Truework's pay-rate unit the way the portal does ("yearly"
// for "annually"); other units are kept.
func payUnit(u string) string {
	if u == "annually" {
		return "yearly"
	}
	return u
}

// dateOnly returns the YYYY-MM-DD part of a date or timestamp.
func dateOnly(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		return s[:10]
	}
	return s
}

// parseCents reads a decimal amount string such as "1234.56", "-12.5" or
// "1,234" exactly (no float rounding); a third decimal rounds half up.
// Anything unreadable is 0: one odd amount must not fail a whole report.
func parseCents(s string) providers.Cents {
	s = strings.TrimSpace(strings.ReplaceAll(strings.TrimPrefix(s, "$"), ",", ""))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0
	}
	var c int64
	for _, ch := range whole {
		if ch < '0' || ch > '9' || c > 1e15 {
			return 0
		}
		c = c*10 + int64(ch-'0')
	}
	c *= 100
	for i, ch := range frac {
		if ch < '0' || ch > '9' {
			return 0
		}
		switch i {
		case 0:
			c += int64(ch-'0') * 10
		case 1:
			c += int64(ch - '0')
		case 2:
			if ch >= '5' {
				c++
			}
		}
	}
	if neg {
		c = -c
	}
	return providers.Cents(c)
}

// cmpStr returns the first non-empty string.
func cmpStr(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

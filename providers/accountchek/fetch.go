package accountchek

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"caseverify/providers"
)

// Raw event names of the updates FetchStatus returns.
const (
	RawEventVOAStatus   = "voa-status"   // GET …/voa
	RawEventVOIEStatus  = "voe-status"   // GET …/voe
	RawEventOrderStatus = "order-status" // GET /v1/accountchekorders/{id}
)

// Report ids handed to the portal carry their service, because one
// AccountChek order can have a VOA and a VOIE report and FetchReport gets
// only the id: "voa:<guid>" or "voe:<guid>". A bare GUID is taken as VOA.
const (
	reportPrefixVOA  = SubIDVOA + ":"
	reportPrefixVOIE = SubIDVOIE + ":"
)

// serviceStatus is the part of a service status answer the adapter reads.
// status is a number once the order is opened and the string "created"
// before (spec §4.2.3); both are kept as raw JSON.
type serviceStatus map[string]json.RawMessage

// code returns the status as text: the digits of a number, or the string.
func (s serviceStatus) code() string {
	raw := bytes.TrimSpace(s["status"])
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return strings.TrimSpace(str)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// str returns a string field, or "".
func (s serviceStatus) str(field string) string {
	var v string
	_ = json.Unmarshal(s[field], &v)
	return v
}

// FetchStatus reads the authoritative state: one update per attached
// service (SubID "voa", "voe"; RawStatus the status code) and one for the
// order (SubID ""). A service the order does not have answers 404 and is
// left out. A completed service comes with ReportReady and the report id
// the API gives: for VOA the newest of …/voa/reports, for VOIE the status
// answer's VOIEReportIDField (or the newest of VOIEReportsPath). Report ids
// from postbacks are never used.
func (c *Client) FetchStatus(ctx context.Context, ref providers.OrderRef) ([]providers.Update, error) {
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	var o wireOrder
	if err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: orderPath(ref.OrderID, "")}, &o); err != nil {
		return nil, err
	}
	orderStatus := strings.ToLower(o.Status)
	var updates []providers.Update
	reportProduced := false
	services := []struct {
		sub, event, path string
	}{
		{SubIDVOA, RawEventVOAStatus, expand(c.cfg.VOAStatusPath, ref.OrderID, "")},
		{SubIDVOIE, RawEventVOIEStatus, orderPath(ref.OrderID, "/voe")},
	}
	for _, svc := range services {
		var st serviceStatus
		err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: svc.path}, &st)
		if errors.Is(err, providers.ErrNotFound) {
			continue // the service is not on this order
		}
		if err != nil {
			return nil, err
		}
		u, err := c.serviceUpdate(ctx, ref.OrderID, svc.sub, svc.event, orderStatus, st)
		if err != nil {
			return nil, err
		}
		reportProduced = reportProduced || u.ReportReady
		updates = append(updates, u)
	}
	updates = append(updates, providers.Update{
		OrderID:   ref.OrderID,
		RawEvent:  RawEventOrderStatus,
		RawStatus: o.Status,
		Status:    mapOrderStatus(o.Status, reportProduced),
	})
	return updates, nil
}

// serviceUpdate maps one service status answer.
func (c *Client) serviceUpdate(ctx context.Context, orderID, sub, event, orderStatus string, st serviceStatus) (providers.Update, error) {
	code := st.code()
	u := providers.Update{OrderID: orderID, SubID: sub, RawEvent: event, RawStatus: code}
	if strings.EqualFold(code, "created") {
		// Attached but no code yet. Once the order is opened the invite
		// covers every service, so the service counts as sent (INFERENCE).
		u.Status = providers.StatusCreated
		if orderStatus != "building" {
			u.Status = providers.StatusSent
		}
		return u, nil
	}
	info, known := lookupStatus(code)
	if !isStatusCode(code) || !known {
		u.Unknown = true // keep the previous status; the portal logs the code
		return u, nil
	}
	if info.service != "" && info.service != sub {
		return u, nil // a code of the other service here is not something to act on
	}
	u.Status, u.Detail = info.status, info.detail
	if !info.report {
		return u, nil
	}
	var id string
	var err error
	if sub == SubIDVOA {
		id, err = c.newestReport(ctx, orderPath(orderID, "/voa/reports"))
		id = prefixed(reportPrefixVOA, id)
	} else {
		id = strings.ToLower(st.str(c.cfg.VOIEReportIDField))
		if !isGUID(id) {
			id, err = c.newestReport(ctx, expand(c.cfg.VOIEReportsPath, orderID, ""))
		}
		id = prefixed(reportPrefixVOIE, id)
	}
	if err != nil {
		return u, err
	}
	// Completed without a listed report yet: the next poll will find it.
	u.ReportReady, u.ReportID = id != "", id
	return u, nil
}

// prefixed returns prefix+id, or "" when id is empty.
func prefixed(prefix, id string) string {
	if id == "" {
		return ""
	}
	return prefix + id
}

// newestReport lists reports (newest first, spec §4.2.7: use [0].id) and
// returns the first id, or "" when there is none.
func (c *Client) newestReport(ctx context.Context, path string) (string, error) {
	var list []struct {
		ID string `json:"id"`
	}
	if err := c.callJSON(ctx, apiRequest{method: http.MethodGet, path: path}, &list); err != nil {
		return "", err
	}
	if len(list) == 0 || !isGUID(list[0].ID) {
		return "", nil
	}
	return strings.ToLower(list[0].ID), nil
}

// reportTarget resolves a report id given to FetchReport into the service
// and the path of its JSON/PDF document. An empty id means the newest VOA
// report.
func (c *Client) reportTarget(ctx context.Context, ref providers.OrderRef, reportID string) (sub, id, path string, err error) {
	if err := checkRef(ref); err != nil {
		return "", "", "", err
	}
	sub, id = SubIDVOA, reportID
	if rest, ok := strings.CutPrefix(reportID, reportPrefixVOIE); ok {
		sub, id = SubIDVOIE, rest
	} else if rest, ok := strings.CutPrefix(reportID, reportPrefixVOA); ok {
		id = rest
	}
	if id == "" && sub == SubIDVOA {
		if id, err = c.newestReport(ctx, orderPath(ref.OrderID, "/voa/reports")); err != nil {
			return "", "", "", err
		}
		if id == "" {
			return "", "", "", &providers.ProviderError{Provider: Name, HTTPStatus: http.StatusOK, Err: providers.ErrNotFound,
				Message: "AccountChek has no report for this order yet."}
		}
	}
	if !isGUID(id) {
		return "", "", "", fmt.Errorf("accountchek: report id is not a GUID: %w", providers.ErrNotFound)
	}
	if sub == SubIDVOIE {
		return sub, id, expand(c.cfg.VOIEReportPath, ref.OrderID, id), nil
	}
	return sub, id, orderPath(ref.OrderID, "/voa/reports/"+id+"/summary"), nil
}

// FetchReport fetches and normalizes a report: the VOA summary (Kind
// assets, one BankAccount per account) or the VOIE report (Kind income, one
// Employment per employer). reportID is an id from FetchStatus
// ("voa:<guid>", "voe:<guid>"), a bare VOA GUID, or "" for the newest VOA
// report. The JSON shapes are UNCONFIRMED (spec §4.2.7 names only the
// paths); the fields read here are the emulator's, and unknown fields are
// ignored.
func (c *Client) FetchReport(ctx context.Context, ref providers.OrderRef, reportID string) (*providers.Report, error) {
	sub, id, path, err := c.reportTarget(ctx, ref, reportID)
	if err != nil {
		return nil, err
	}
	data, _, err := c.call(ctx, apiRequest{method: http.MethodGet, path: path, accept: "application/json"})
	if err != nil {
		return nil, err
	}
	var rep *providers.Report
	if sub == SubIDVOIE {
		rep, err = normalizeVOIE(data)
		if rep != nil {
			rep.ReportID = reportPrefixVOIE + id
		}
	} else {
		rep, err = normalizeVOA(data)
		if rep != nil {
			rep.ReportID = reportPrefixVOA + id
		}
	}
	if err != nil {
		return nil, &providers.ProviderError{Provider: Name, HTTPStatus: http.StatusOK, Err: err,
			Message: "AccountChek sent a report the portal could not read."}
	}
	return rep, nil
}

// FetchReportPDF fetches a report as PDF: the VOA summary or the VOIE
// report with Accept: application/pdf. (A "lite" VOA has no PDF.)
func (c *Client) FetchReportPDF(ctx context.Context, ref providers.OrderRef, reportID string) ([]byte, error) {
	_, _, path, err := c.reportTarget(ctx, ref, reportID)
	if err != nil {
		return nil, err
	}
	data, _, err := c.call(ctx, apiRequest{method: http.MethodGet, path: path, accept: "application/pdf", limit: maxPDFBody})
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(data, []byte("%PDF-")) {
		return nil, &providers.ProviderError{Provider: Name, HTTPStatus: http.StatusOK,
			Message: "AccountChek did not send a PDF for this report."}
	}
	return data, nil
}

// voaSummary is the VOA summary JSON (UNCONFIRMED shape; see FetchReport).
type voaSummary struct {
	ID       string `json:"id"`
	Created  string `json:"created"`
	Accounts []struct {
		FIName           string      `json:"fiName"`
		AccountName      string      `json:"accountName"`
		AccountType      string      `json:"accountType"`
		AccountLast4     string      `json:"accountNumberLast4"`
		Balance          json.Number `json:"balance"`
		AvailableBalance json.Number `json:"availableBalance"`
		BalanceDate      string      `json:"balanceDate"`
		IncomeFound      *struct {
			MonthlyAverage json.Number `json:"monthlyAverage"`
			Streams        []struct {
				Description   string      `json:"description"`
				MonthlyAmount json.Number `json:"monthlyAmount"`
				Recurring     bool        `json:"recurring"`
			} `json:"streams"`
		} `json:"incomeFound"`
	} `json:"accounts"`
}

// normalizeVOA turns a VOA summary into a Report of kind assets.
func normalizeVOA(data []byte) (*providers.Report, error) {
	var s voaSummary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	rep := &providers.Report{Kind: providers.ReportAssets, CreatedAt: parseTime(s.Created), Raw: json.RawMessage(data)}
	for _, a := range s.Accounts {
		acct := providers.BankAccount{
			Institution:      a.FIName,
			Name:             a.AccountName,
			Type:             strings.ToLower(a.AccountType),
			Mask:             a.AccountLast4,
			Balance:          cents(a.Balance),
			AvailableBalance: cents(a.AvailableBalance),
			BalanceDate:      datePart(a.BalanceDate),
		}
		if a.IncomeFound != nil {
			acct.MonthlyIncome = cents(a.IncomeFound.MonthlyAverage)
			for _, st := range a.IncomeFound.Streams {
				acct.IncomeStreams = append(acct.IncomeStreams, providers.IncomeStream{Name: st.Description, Recurring: st.Recurring, Monthly: cents(st.MonthlyAmount)})
			}
		}
		rep.Accounts = append(rep.Accounts, acct)
	}
	return rep, nil
}

// voieReport is the VOIE report JSON (UNCONFIRMED shape; see FetchReport).
type voieReport struct {
	ID          string `json:"id"`
	Created     string `json:"created"`
	Employments []struct {
		EmployerName     string      `json:"employerName"`
		JobTitle         string      `json:"jobTitle"`
		EmploymentStatus string      `json:"employmentStatus"`
		StartDate        string      `json:"startDate"`
		EndDate          string      `json:"endDate"`
		PayRate          json.Number `json:"payRate"`
		PayUnit          string      `json:"payUnit"`
		PayFrequency     string      `json:"payFrequency"`
		AnnualIncome     []struct {
			Year  int         `json:"year"`
			Gross json.Number `json:"gross"`
			Net   json.Number `json:"net"`
		} `json:"annualIncome"`
		Paystubs []struct {
			PayDate     string      `json:"payDate"`
			PeriodStart string      `json:"periodStart"`
			PeriodEnd   string      `json:"periodEnd"`
			Hours       float64     `json:"hours"`
			Gross       json.Number `json:"gross"`
			Net         json.Number `json:"net"`
		} `json:"paystubs"`
	} `json:"employments"`
}

// normalizeVOIE turns a VOIE report into a Report of kind income.
func normalizeVOIE(data []byte) (*providers.Report, error) {
	var r voieReport
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, err
	}
	rep := &providers.Report{Kind: providers.ReportIncome, CreatedAt: parseTime(r.Created), Raw: json.RawMessage(data)}
	for _, e := range r.Employments {
		emp := providers.Employment{
			Employer:     e.EmployerName,
			JobTitle:     e.JobTitle,
			Active:       strings.EqualFold(e.EmploymentStatus, "active"),
			StartDate:    datePart(e.StartDate),
			EndDate:      datePart(e.EndDate),
			PayRate:      cents(e.PayRate),
			PayUnit:      strings.ToLower(e.PayUnit),
			PayFrequency: strings.ToLower(e.PayFrequency),
		}
		for _, y := range e.AnnualIncome {
			emp.AnnualIncome = append(emp.AnnualIncome, providers.AnnualIncome{Year: y.Year, Gross: cents(y.Gross), Net: cents(y.Net)})
		}
		for _, p := range e.Paystubs {
			emp.Paystubs = append(emp.Paystubs, providers.Paystub{
				PayDate: datePart(p.PayDate), PeriodStart: datePart(p.PeriodStart), PeriodEnd: datePart(p.PeriodEnd),
				Hours: p.Hours, Gross: cents(p.Gross), Net: cents(p.Net),
			})
		}
		rep.Employments = append(rep.Employments, emp)
	}
	return rep, nil
}

// cents converts a decimal dollar amount ("1234.5", "-12.345") to cents
// exactly, rounding half away from zero at the third decimal. Anything
// unreadable is 0.
func cents(n json.Number) providers.Cents {
	s := strings.TrimSpace(n.String())
	if s == "" {
		return 0
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	whole, frac, _ := strings.Cut(s, ".")
	if strings.ContainsAny(s, "eE") {
		// Exponent notation: fall back to float, then round.
		f, err := strconv.ParseFloat(n.String(), 64)
		if err != nil {
			return 0
		}
		if f < 0 {
			return providers.Cents(f*100 - 0.5)
		}
		return providers.Cents(f*100 + 0.5)
	}
	frac += "000"
	d, err1 := strconv.ParseInt("0"+whole, 10, 64)
	f, err2 := strconv.ParseInt(frac[:2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	v := d*100 + f
	if frac[2] >= '5' {
		v++
	}
	if neg {
		v = -v
	}
	return providers.Cents(v)
}

// datePart returns the YYYY-MM-DD part of a date or date-time.
func datePart(s string) string {
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		return s[:10]
	}
	return s
}

// parseTime reads an RFC 3339 time, or zero.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

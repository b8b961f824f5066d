package truv

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"caseverify/providers"
)

// Report ids. Truv creates reports on demand (spec §2.6): a POST makes one
// and returns its id, a GET reads it. FetchReport's reportID argument says
// what to do:
//
//   - "" creates a report of the order's kind: VOIE when the order has
//     income (VOE when it has employment only), else assets. This costs one
//     GET of the order.
//   - ReportIncome, ReportEmployment or ReportAssets creates that kind.
//   - AssetsReportPrefix + id reads an existing assets report.
//   - any other value reads an existing VOIE/VOE report with that id.
//
// The returned Report.ReportID uses the same convention (assets ids carry
// the prefix), so FetchReport and FetchReportPDF accept it back unchanged.
const (
	ReportIncome       = "income"     // create a VOIE report ({"is_voe": false})
	ReportEmployment   = "employment" // create a VOE report ({"is_voe": true})
	ReportAssets       = "assets"     // create an assets (VOA) report
	AssetsReportPrefix = "assets:"
)

type reportKind int

const (
	kindUnknown reportKind = iota
	kindVOIE
	kindVOE
	kindAssets
)

// parseReportID splits FetchReport's reportID into a kind and an existing id.
func parseReportID(s string) (reportKind, string) {
	switch {
	case s == "":
		return kindUnknown, ""
	case s == ReportIncome:
		return kindVOIE, ""
	case s == ReportEmployment:
		return kindVOE, ""
	case s == ReportAssets:
		return kindAssets, ""
	case strings.HasPrefix(s, AssetsReportPrefix):
		return kindAssets, strings.TrimPrefix(s, AssetsReportPrefix)
	}
	return kindVOIE, s
}

// kindFor picks the report of an order's products: income wins, an
// employment-only order gets a VOE report, an assets-only order an assets one.
func kindFor(products []string) reportKind {
	switch {
	case slices.Contains(products, "income"):
		return kindVOIE
	case slices.Contains(products, "employment"):
		return kindVOE
	case slices.Contains(products, "assets"):
		return kindAssets
	}
	return kindVOIE
}

// FetchReport creates (or reads) the user's report and normalizes it; see
// ReportIncome for what reportID means. The first GET of a new report may
// briefly answer 404; it is retried after Config.ReportRetryDelays.
func (c *Client) FetchReport(ctx context.Context, ref providers.OrderRef, reportID string) (*providers.Report, error) {
	if ref.UserID == "" {
		return nil, invalidRequest("The order has no Truv user id, so its report cannot be fetched.", "user_id")
	}
	kind, id := parseReportID(reportID)
	if kind == kindUnknown {
		o, err := c.order(ctx, ref.OrderID)
		if err != nil {
			return nil, err
		}
		kind = kindFor(o.Products)
	}
	base := "/v1/users/" + url.PathEscape(ref.UserID) + "/reports/"
	createBody := any(map[string]bool{"is_voe": kind == kindVOE})
	if kind == kindAssets {
		base = "/v1/users/" + url.PathEscape(ref.UserID) + "/assets/reports/"
		createBody = map[string]any{}
	}
	if id == "" {
		var created wireReportID
		if err := c.doJSON(ctx, http.MethodPost, base, nil, createBody, &created); err != nil {
			return nil, err
		}
		if created.ReportID == "" {
			return nil, &providers.ProviderError{Provider: "truv", HTTPStatus: http.StatusOK, Message: "Truv created a report but did not say which one."}
		}
		id = created.ReportID
	}
	body, err := c.getReport(ctx, base+url.PathEscape(id)+"/")
	if err != nil {
		return nil, err
	}
	if kind == kindAssets {
		return normalizeAssets(body)
	}
	return normalizeVOIE(body)
}

// getReport GETs a report, waiting ReportRetryDelays[i] before attempt i and
// retrying only on 404 (the report is still being put together).
func (c *Client) getReport(ctx context.Context, path string) ([]byte, error) {
	var lastErr error
	for i, d := range c.reportDelays {
		if err := providers.Sleep(ctx, d); err != nil {
			return nil, unreachable(err)
		}
		a, err := c.send(ctx, http.MethodGet, path, nil, nil, maxJSONBody)
		if err != nil {
			return nil, err
		}
		if a.status >= 200 && a.status <= 299 {
			return a.body, nil
		}
		lastErr = c.apiError(a)
		if a.status != http.StatusNotFound || i == len(c.reportDelays)-1 {
			break
		}
	}
	return nil, lastErr
}

// FetchReportPDF returns the PDF of a report fetched before
// (`?fmt=pdf`, spec §2.6). For assets reports (AssetsReportPrefix) the same
// query on the assets report path is used; UNCONFIRMED at Truv.
func (c *Client) FetchReportPDF(ctx context.Context, ref providers.OrderRef, reportID string) ([]byte, error) {
	kind, id := parseReportID(reportID)
	if ref.UserID == "" || id == "" {
		return nil, invalidRequest("A Truv user id and report id are needed for the PDF.", "report_id")
	}
	path := "/v1/users/" + url.PathEscape(ref.UserID) + "/reports/" + url.PathEscape(id) + "/"
	if kind == kindAssets {
		path = "/v1/users/" + url.PathEscape(ref.UserID) + "/assets/reports/" + url.PathEscape(id) + "/"
	}
	// No Accept header: Truv answers 406 to restrictive ones (spec §2.3).
	a, err := c.send(ctx, http.MethodGet, path, url.Values{"fmt": {"pdf"}}, nil, maxPDFBody)
	if err != nil {
		return nil, err
	}
	if a.status < 200 || a.status > 299 {
		return nil, c.apiError(a)
	}
	if !bytes.HasPrefix(a.body, []byte("%PDF")) {
		return nil, &providers.ProviderError{Provider: "truv", HTTPStatus: a.status, Message: "Truv did not return a PDF for this report."}
	}
	return a.body, nil
}

// payFrequency maps Truv's pay_frequency codes (spec §2.6; the full list
// is from a third-party mirror, UNCONFIRMED for A, SA and C).
func payFrequency(code string) string {
	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "W":
		return "weekly"
	case "BW":
		return "biweekly"
	case "SM":
		return "semimonthly"
	case "M":
		return "monthly"
	case "A":
		return "annually"
	case "SA":
		return "semiannually"
	case "C":
		return "commission"
	case "":
		return ""
	}
	return strings.ToLower(code)
}

// normalizeVOIE turns a VOIE/VOE report into Employments.
//
// PayRate and PayUnit come from income and income_unit (an amount per
// YEARLY/MONTHLY/WEEKLY/DAILY/HOURLY unit), because Truv's pay_rate is the
// pay per pay cycle and has no unit of its own. When income is missing (VOE
// reports), PayRate falls back to pay_rate with PayUnit "pay_period".
func normalizeVOIE(body []byte) (*providers.Report, error) {
	var w wireVOIEReport
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &providers.ProviderError{Provider: "truv", HTTPStatus: http.StatusOK, Message: "Truv sent a report the portal could not read.", Err: err}
	}
	r := &providers.Report{
		ReportID:  w.ReportID,
		Kind:      providers.ReportIncome,
		CreatedAt: parseTime(w.CreatedAt),
		Raw:       json.RawMessage(bytes.Clone(body)),
	}
	for _, l := range w.Links {
		for _, e := range l.Employments {
			r.Employments = append(r.Employments, normalizeEmployment(e))
		}
	}
	return r, nil
}

func normalizeEmployment(e wireEmployment) providers.Employment {
	out := providers.Employment{
		JobTitle:     string(e.JobTitle),
		Active:       e.IsActive != nil && *e.IsActive,
		StartDate:    dateOnly(string(e.StartDate)),
		EndDate:      dateOnly(string(e.EndDate)),
		PayFrequency: payFrequency(string(e.PayFrequency)),
	}
	if out.StartDate == "" {
		out.StartDate = dateOnly(string(e.OriginalHireDate))
	}
	if e.Company != nil {
		out.Employer = string(e.Company.Name)
	}
	switch {
	case e.Income != "":
		out.PayRate = e.Income.Cents()
		out.PayUnit = strings.ToLower(string(e.IncomeUnit))
	case e.PayRate != "":
		out.PayRate = e.PayRate.Cents()
		out.PayUnit = "pay_period"
	}
	for _, a := range e.AnnualIncomeSummary {
		out.AnnualIncome = append(out.AnnualIncome, providers.AnnualIncome{
			Year: int(a.Year), Gross: a.GrossPay.Cents(), Net: a.NetPay.Cents(),
		})
	}
	slices.SortFunc(out.AnnualIncome, func(a, b providers.AnnualIncome) int { return b.Year - a.Year })
	for _, s := range e.Statements {
		out.Paystubs = append(out.Paystubs, providers.Paystub{
			PayDate:     dateOnly(string(s.PayDate)),
			PeriodStart: dateOnly(string(s.PeriodStart)),
			PeriodEnd:   dateOnly(string(s.PeriodEnd)),
			Hours:       float64(s.Hours),
			Gross:       s.GrossPay.Cents(),
			Net:         s.NetPay.Cents(),
		})
	}
	// Newest first, as the contract asks; ISO dates sort as strings.
	slices.SortStableFunc(out.Paystubs, func(a, b providers.Paystub) int { return strings.Compare(b.PayDate, a.PayDate) })
	return out
}

// normalizeAssets turns an assets report into Accounts. The account shape is
// UNCONFIRMED (see wireAssetsReport); BalanceDate is the account's
// updated_at, else the report's creation date.
func normalizeAssets(body []byte) (*providers.Report, error) {
	var w wireAssetsReport
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &providers.ProviderError{Provider: "truv", HTTPStatus: http.StatusOK, Message: "Truv sent a report the portal could not read.", Err: err}
	}
	r := &providers.Report{
		ReportID:  AssetsReportPrefix + w.ReportID,
		Kind:      providers.ReportAssets,
		CreatedAt: parseTime(w.CreatedAt),
		Raw:       json.RawMessage(bytes.Clone(body)),
	}
	for _, l := range w.Links {
		for _, a := range l.Accounts {
			date := dateOnly(a.UpdatedAt)
			if date == "" {
				date = dateOnly(w.CreatedAt)
			}
			r.Accounts = append(r.Accounts, providers.BankAccount{
				Institution:      string(l.ProviderName),
				Name:             string(a.Nickname),
				Type:             strings.ToLower(string(a.Type)),
				Mask:             string(a.Mask),
				Balance:          a.Balances.Balance.Cents(),
				AvailableBalance: a.Balances.AvailableBalance.Cents(),
				BalanceDate:      date,
			})
		}
	}
	return r, nil
}

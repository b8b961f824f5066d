package payscore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"caseverify/providers"
)

// cents is a money amount in the report data, as Payscore sends it: a
// number (integer or float), a numeric string or null. Whether Payscore's
// amounts are cents or dollars is not stated (Contract.ReportAmounts,
// default cents); amounts turns it into cents.
type cents struct {
	n   float64
	set bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *cents) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "null" || s == "" {
		*c = cents{}
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("payscore: money amount is not a number")
	}
	*c = cents{n: f, set: true}
	return nil
}

// amounts converts report money to cents in the contract's unit.
type amounts string

func (u amounts) of(c cents) int64 {
	if u == "dollars" {
		return int64(math.Round(c.n * 100))
	}
	return int64(math.Round(c.n))
}

// incomeData is one of a screening's recurring and non_recurring values.
// Payscore documents both as IncomeData objects [P09] without listing their
// fields: the amount is read from Contract.IncomeTotalField, and every
// other field is kept (in Report.Raw) and otherwise ignored, so a field
// Payscore adds never makes a report unreadable. A bare number is read as
// the amount too.
type incomeData struct {
	raw json.RawMessage
}

// UnmarshalJSON keeps the value for reading with the contract.
func (d *incomeData) UnmarshalJSON(b []byte) error {
	d.raw = append(json.RawMessage(nil), b...)
	return nil
}

// total reads d's amount by the contract's name; it is unset when d is
// absent or null, or an object without that field.
func (d incomeData) total(ct Contract) (cents, error) {
	var total cents
	b := bytes.TrimSpace(d.raw)
	switch {
	case len(b) == 0 || string(b) == "null":
		return total, nil
	case b[0] != '{':
		err := json.Unmarshal(b, &total)
		return total, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return total, err
	}
	if v, ok := obj[ct.IncomeTotalField]; ok {
		if err := json.Unmarshal(v, &total); err != nil {
			return total, err
		}
	}
	return total, nil
}

// reportData is the legacy report-data answer (GET
// /api/v1/screening_groups/{id}/report/data) [P09]. The top-level names are
// documented; the layout below bank_connections is UNCONFIRMED, and the two
// timestamps are the emulator's own (Payscore documents no time here).
// Single-applicant reports put the screening fields at the top level;
// multi-applicant ones list them in screenings[].
type reportData struct {
	ScreeningGroupID          string  `json:"screening_group_id"`
	CompletedAtTimestamp      float64 `json:"completed_at_timestamp"`
	ReportExpiresAtTimestamp  float64 `json:"report_expires_at_timestamp"`
	TotalNetIncome            cents   `json:"total_net_income"`
	TwoMonthAvgMonthlyNet     cents   `json:"two_month_avg_monthly_net_income"`
	ThreeMonthAvgMonthlyNet   cents   `json:"three_month_avg_monthly_net_income"`
	SixMonthAvgMonthlyNet     cents   `json:"six_month_avg_monthly_net_income"`
	TwelveMonthAvgMonthlyNet  cents   `json:"twelve_month_avg_monthly_net_income"`
	TotalNonRecurringDeposits cents   `json:"total_non_recurring_deposits"`
	SummaryTimespanLength     int     `json:"summary_timespan_length"`

	reportScreening
	Screenings []reportScreening `json:"screenings"`
}

type reportScreening struct {
	ScreeningID     string           `json:"screening_id"`
	Recurring       incomeData       `json:"recurring"`
	NonRecurring    incomeData       `json:"non_recurring"`
	ReasonCompleted string           `json:"reason_completed"`
	BankConnections []bankConnection `json:"bank_connections"`
}

type bankConnection struct {
	ID              string        `json:"id"`
	InstitutionName string        `json:"institution_name"`
	Accounts        []bankAccount `json:"accounts"`
	Income          struct {
		IncomeStreams []incomeStream `json:"income_streams"`
	} `json:"income"`
}

type bankAccount struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Type             string `json:"type"`
	Mask             string `json:"mask"`
	AvailableBalance cents  `json:"available_balance"`
	CurrentBalance   cents  `json:"current_balance"`
	BalanceDate      string `json:"balance_date"`
}

type incomeStream struct {
	Name string `json:"name"`
	// IsRecurring marks a stream as recurring; absent means recurring,
	// because Payscore lists non-recurring deposits apart (UNCONFIRMED).
	IsRecurring *bool  `json:"is_recurring"`
	AccountID   string `json:"account_id"`
	// Transactions dates are "MM/DD/YYYY" [P09].
	Transactions []struct {
		Amount cents  `json:"amount"`
		Name   string `json:"name"`
		Date   string `json:"date"`
	} `json:"transactions"`
}

// FetchReport fetches and normalizes the household's bank-income report.
// reportID is ignored: the legacy API has one report per screening group.
// A report that is not ready returns an error wrapping providers.ErrNotFound;
// an expired one (410) wraps ErrReportExpired.
//
// ExpiresAt is report_expires_at_timestamp when present, else 14 days after
// completed_at_timestamp. Neither field is documented (the emulator sends
// them), so without them it is 14 days after this fetch: Payscore documents
// the 14-day life but not when it started, and the first fetch follows
// SCREENING_GROUP_COMPLETED within seconds. The portal keeps the earliest
// expiry of an order's reports (store.SaveReport), so a re-fire fetched
// later does not extend it, and REPORT_SOON_TO_EXPIRE / REPORT_EXPIRED
// correct it from Payscore's own clock.
func (c *Client) FetchReport(ctx context.Context, ref providers.OrderRef, reportID string) (*providers.Report, error) {
	if ref.OrderID == "" {
		return nil, missingOrderID()
	}
	resp, err := c.call(ctx, http.MethodGet, "/api/v1/screening_groups/"+url.PathEscape(ref.OrderID)+"/report/data", nil)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(opReport, resp)
	}
	var d reportData
	if err := json.Unmarshal(resp.body, &d); err != nil {
		return nil, badAnswer(resp.status, err)
	}
	rep, err := normalizeReport(d, c.contract)
	if err != nil {
		return nil, badAnswer(resp.status, err)
	}
	if rep.ExpiresAt.IsZero() {
		rep.ExpiresAt = c.now().UTC().Add(ReportLifetime)
	}
	rep.ReportID = ref.OrderID
	rep.Raw = json.RawMessage(resp.body)
	return rep, nil
}

// normalizeReport maps the report data onto the provider-neutral report,
// reading amounts in the contract's unit.
func normalizeReport(d reportData, ct Contract) (*providers.Report, error) {
	u := amounts(ct.ReportAmounts)
	rep := &providers.Report{Kind: providers.ReportBank}
	rep.CreatedAt = unixFlexible(d.CompletedAtTimestamp)
	switch {
	case d.ReportExpiresAtTimestamp > 0:
		rep.ExpiresAt = unixFlexible(d.ReportExpiresAtTimestamp)
	case !rep.CreatedAt.IsZero():
		rep.ExpiresAt = rep.CreatedAt.Add(ReportLifetime)
	}

	screenings := d.Screenings
	if len(screenings) == 0 {
		screenings = []reportScreening{d.reportScreening}
	} else if len(d.BankConnections) > 0 {
		screenings = append(screenings, reportScreening{BankConnections: d.BankConnections})
	}

	bi := &providers.BankIncome{
		TotalNet:        providers.Cents(u.of(d.TotalNetIncome)),
		AvgMonthlyNet2:  providers.Cents(u.of(d.TwoMonthAvgMonthlyNet)),
		AvgMonthlyNet3:  providers.Cents(u.of(d.ThreeMonthAvgMonthlyNet)),
		AvgMonthlyNet6:  providers.Cents(u.of(d.SixMonthAvgMonthlyNet)),
		AvgMonthlyNet12: providers.Cents(u.of(d.TwelveMonthAvgMonthlyNet)),
		TimespanDays:    d.SummaryTimespanLength,
	}
	var recurring, nonRecurring, streamRecurring, streamNonRecurring int64
	var recurringSet, nonRecurringSet bool
	for _, s := range screenings {
		r, err := s.Recurring.total(ct)
		if err != nil {
			return nil, err
		}
		n, err := s.NonRecurring.total(ct)
		if err != nil {
			return nil, err
		}
		if r.set {
			recurring, recurringSet = recurring+u.of(r), true
		}
		if n.set {
			nonRecurring, nonRecurringSet = nonRecurring+u.of(n), true
		}
		for _, bc := range s.BankConnections {
			accts, r, n := normalizeConnection(bc, d.SummaryTimespanLength, u)
			// Whose accounts these are: the portal groups a household
			// report by member (its sub-items are the screenings).
			for i := range accts {
				accts[i].Holder = s.ScreeningID
			}
			rep.Accounts = append(rep.Accounts, accts...)
			streamRecurring += r
			streamNonRecurring += n
		}
	}
	// Per-screening totals are Payscore's own figures; the stream sums only
	// stand in when a report leaves them out.
	bi.Recurring = providers.Cents(pick(recurringSet, recurring, streamRecurring))
	switch {
	case d.TotalNonRecurringDeposits.set:
		bi.NonRecurring = providers.Cents(u.of(d.TotalNonRecurringDeposits))
	default:
		bi.NonRecurring = providers.Cents(pick(nonRecurringSet, nonRecurring, streamNonRecurring))
	}
	rep.BankIncome = bi
	return rep, nil
}

func pick(set bool, a, b int64) int64 {
	if set {
		return a
	}
	return b
}

// normalizeConnection maps one bank connection's accounts and attaches each
// income stream to its account (by account_id, else the connection's first
// account, since Payscore reports income per connection). It returns the
// recurring and non-recurring deposit totals of its streams.
func normalizeConnection(bc bankConnection, timespanDays int, u amounts) ([]providers.BankAccount, int64, int64) {
	accts := make([]providers.BankAccount, 0, len(bc.Accounts))
	byID := map[string]int{}
	for i, a := range bc.Accounts {
		accts = append(accts, providers.BankAccount{
			Institution:      bc.InstitutionName,
			Name:             a.Name,
			Type:             strings.ToLower(a.Type),
			Mask:             a.Mask,
			Balance:          providers.Cents(u.of(a.CurrentBalance)),
			AvailableBalance: providers.Cents(u.of(a.AvailableBalance)),
			BalanceDate:      isoDate(a.BalanceDate),
		})
		if a.ID != "" {
			byID[a.ID] = i
		}
	}
	var recurring, nonRecurring int64
	streamTotals := make([]int64, len(accts))
	for _, st := range bc.Income.IncomeStreams {
		is := providers.IncomeStream{Name: st.Name, Recurring: st.IsRecurring == nil || *st.IsRecurring}
		var total int64
		for _, t := range st.Transactions {
			is.Transactions = append(is.Transactions, providers.Transaction{Date: isoDate(t.Date), Name: t.Name, Amount: providers.Cents(u.of(t.Amount))})
			total += u.of(t.Amount)
		}
		if is.Recurring {
			recurring += total
		} else {
			nonRecurring += total
		}
		if len(accts) == 0 {
			// Income without an account (should not happen): keep it
			// visible under the institution rather than drop it.
			accts = append(accts, providers.BankAccount{Institution: bc.InstitutionName})
			streamTotals = append(streamTotals, 0)
		}
		i, ok := byID[st.AccountID]
		if !ok {
			i = 0
		}
		accts[i].IncomeStreams = append(accts[i].IncomeStreams, is)
		streamTotals[i] += total
	}
	if timespanDays > 0 {
		for i := range accts {
			accts[i].MonthlyIncome = providers.Cents(monthly(streamTotals[i], timespanDays))
		}
	}
	return accts, recurring, nonRecurring
}

// monthly spreads a total over the timespan as an average per month of
// 30.4375 days (365.25 / 12), rounded to the cent.
func monthly(total int64, days int) int64 {
	return int64(math.Round(float64(total) * 30.4375 / float64(days)))
}

// isoDate turns Payscore's "MM/DD/YYYY" into "YYYY-MM-DD"; other forms are
// kept as they are.
func isoDate(s string) string {
	if t, err := time.Parse("01/02/2006", s); err == nil {
		return t.Format("2006-01-02")
	}
	return s
}

// FetchReportPDF asks for the report's pre-signed PDF URL (valid 2 hours)
// and downloads it at once. The URL is a bearer secret: it is neither
// returned nor put into an error.
func (c *Client) FetchReportPDF(ctx context.Context, ref providers.OrderRef, reportID string) ([]byte, error) {
	if ref.OrderID == "" {
		return nil, missingOrderID()
	}
	resp, err := c.call(ctx, http.MethodGet, "/api/v1/screening_groups/"+url.PathEscape(ref.OrderID)+"/report", nil)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(opReport, resp)
	}
	var out struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(resp.body, &out); err != nil {
		return nil, badAnswer(resp.status, err)
	}
	u, err := url.Parse(out.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, badAnswer(resp.status, errors.New("report url is not an absolute http(s) URL"))
	}
	// No Authorization header: the URL carries its own signature, and our
	// token must not travel to the file host.
	file, err := c.send(ctx, http.MethodGet, u.String(), nil, "", "application/pdf", maxPDFBytes)
	if err != nil {
		return nil, err
	}
	switch {
	case file.status == http.StatusOK:
	case file.status == http.StatusForbidden || file.status == http.StatusGone:
		return nil, &providers.ProviderError{
			Provider: Name, HTTPStatus: file.status, Code: "pdf_link_expired", Retryable: true,
			Message: "The Payscore PDF link expired before it could be downloaded. Try again.",
		}
	case file.status == http.StatusNotFound:
		return nil, &providers.ProviderError{
			Provider: Name, HTTPStatus: file.status, Code: "pdf_not_found", Err: providers.ErrNotFound,
			Message: "Payscore's PDF file could not be found. Try again.",
		}
	default:
		return nil, &providers.ProviderError{
			Provider: Name, HTTPStatus: file.status, Code: "pdf_download_failed", Retryable: file.status >= 500 || file.status == http.StatusTooManyRequests,
			Message: "The Payscore PDF could not be downloaded. Try again in a few minutes.",
		}
	}
	if !bytes.HasPrefix(file.body, []byte("%PDF-")) {
		return nil, &providers.ProviderError{
			Provider: Name, HTTPStatus: file.status, Code: "not_a_pdf",
			Message: "Payscore sent a file that is not a PDF.",
		}
	}
	return file.body, nil
}

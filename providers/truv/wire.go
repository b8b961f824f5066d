package truv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"caseverify/providers"
)

// This file holds Truv's wire formats (spec.md §2.2, §2.4, §2.6). The adapter
// decodes them and the emulator encodes them, so both sides speak one shape;
// the vendor example payloads in testdata/ keep that shape honest.

// flexString is a JSON value Truv sends as a string but that may be null or,
// for ids such as order_number, a number. It encodes "" as null, which is how
// Truv shows absent ids (employer_id, link_id, template_id in spec §2.4).
type flexString string

// UnmarshalJSON accepts a string, a number or null.
func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		*s = flexString(b)
	case bytes.Equal(b, []byte("true")) || bytes.Equal(b, []byte("false")):
		*s = flexString(b)
	default:
		return errors.New("truv: expected a string, number or null")
	}
	return nil
}

// MarshalJSON writes "" as null.
func (s flexString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(s))
}

// flexID is an order reference that Truv documents only by name
// (initial_order, refresh_order; spec §2.2). Its shape is UNCONFIRMED, so it
// accepts an id string or an object with an "id" field, and encodes as a string.
type flexID string

// UnmarshalJSON accepts an id string, {"id": "..."} or null.
func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			ID flexString `json:"id"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = flexID(v.ID)
		return nil
	}
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*f = flexID(s)
	return nil
}

// MarshalJSON writes "" as null.
func (f flexID) MarshalJSON() ([]byte, error) { return flexString(f).MarshalJSON() }

// decimal is a Truv money value. Truv sends money as decimal strings such as
// "70000.00" (spec §2.6); a JSON number or null is tolerated too.
type decimal string

// UnmarshalJSON accepts a decimal string, a number or null.
func (d *decimal) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	*d = decimal(s)
	return nil
}

// MarshalJSON writes the value as a string, or null when empty.
func (d decimal) MarshalJSON() ([]byte, error) { return flexString(d).MarshalJSON() }

// Cents converts the decimal to cents, rounding half away from zero at the
// third decimal. An empty or unreadable value is 0: a report with one odd
// field is still worth showing.
func (d decimal) Cents() providers.Cents {
	c, _ := parseCents(string(d))
	return c
}

// parseCents turns "1,234.565" into 123457 without going through float64, so
// that money never picks up binary rounding errors.
func parseCents(s string) (providers.Cents, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "$")
	s = strings.ReplaceAll(s, ",", "")
	if s == "" {
		return 0, errors.New("empty amount")
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" {
		whole = "0"
	}
	if len(whole) > 15 || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("not a decimal amount")
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	padded := frac + "000"
	cents, _ := strconv.ParseInt(padded[:2], 10, 64)
	v := w*100 + cents
	if padded[2] >= '5' {
		v++
	}
	if neg {
		v = -v
	}
	return providers.Cents(v), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// flexNumber is a number Truv may send as a string ("80.00") or a number.
type flexNumber float64

// UnmarshalJSON accepts a number, a numeric string or null.
func (n *flexNumber) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
	if err != nil {
		return err
	}
	*n = flexNumber(v)
	return nil
}

// parseTime reads Truv's timestamps, which come both as
// "2024-07-11T21:40:48.424610Z" and "2024-07-11T21:40:48.424655+00:00"
// (spec §2.4). It returns the zero time when the value is empty or unreadable.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
		return t.UTC()
	}
	return time.Time{}
}

// formatTime writes a timestamp the way Truv's order API does.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

// dateOnly trims "2019-03-04T00:00:00.000Z" to "2019-03-04" (spec §2.6 dates
// come both ways); anything that does not start with a date is returned empty.
func dateOnly(s string) string {
	if len(s) >= 10 {
		if _, err := time.Parse("2006-01-02", s[:10]); err == nil {
			return s[:10]
		}
	}
	return ""
}

// wireOrder is an order as returned by POST/GET /v1/orders/ (spec §2.2).
type wireOrder struct {
	ID                          string         `json:"id"`
	UserID                      flexString     `json:"user_id"`
	BridgeToken                 string         `json:"bridge_token,omitempty"`
	ShareURL                    string         `json:"share_url"`
	ShortShareURL               string         `json:"short_share_url"`
	Status                      string         `json:"status"`
	Products                    []string       `json:"products"`
	Source                      string         `json:"source,omitempty"`
	OrderNumber                 flexString     `json:"order_number"`
	ExternalUserID              flexString     `json:"external_user_id"`
	CustomField                 flexString     `json:"custom_field"`
	ClientName                  string         `json:"client_name,omitempty"`
	FirstName                   string         `json:"first_name,omitempty"`
	LastName                    string         `json:"last_name,omitempty"`
	TemplateID                  flexString     `json:"template_id"`
	Locale                      string         `json:"locale,omitempty"`
	SuppressUserNotifications   bool           `json:"suppress_user_notifications"`
	FirstNotificationDelayHours int            `json:"first_notification_delay_hours"`
	CreatedAt                   string         `json:"created_at"`
	UpdatedAt                   string         `json:"updated_at"`
	CanceledAt                  flexString     `json:"canceled_at"`
	CompletedAt                 flexString     `json:"completed_at"`
	ExpiredAt                   flexString     `json:"expired_at"`
	IsExpired                   bool           `json:"is_expired"`
	UserConsentAt               flexString     `json:"user_consent_at"`
	InitialOrder                flexID         `json:"initial_order"`
	RefreshOrder                flexID         `json:"refresh_order"`
	Employers                   []wireSuborder `json:"employers"`
	FinancialAccounts           []wireSuborder `json:"financial_accounts"`
}

// wireSuborder is one employers[] (or financial_accounts[]) item of an order
// (spec §2.2 "employers[] item"). updated_at is not in the documented list;
// it is read when present and the order's updated_at is used otherwise.
type wireSuborder struct {
	ID             string        `json:"id"`
	ProductType    string        `json:"product_type,omitempty"`
	Status         string        `json:"status"`
	SuborderNumber string        `json:"suborder_number,omitempty"`
	CreatedAt      string        `json:"created_at,omitempty"`
	UpdatedAt      string        `json:"updated_at,omitempty"`
	LinkID         flexString    `json:"link_id"`
	DataSource     flexString    `json:"data_source"`
	Provider       *wireProvider `json:"provider"`
	CompanyName    string        `json:"company_name,omitempty"`
	IsSuspicious   bool          `json:"is_suspicious"`
}

// wireProvider is the payroll or bank data provider of a suborder.
type wireProvider struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	LogoURL string `json:"logo_url,omitempty"`
}

// wireOrderList is the paginated list shape Truv uses for lookups (spec §2.2,
// `POST /v1/orders/lookup/` returns {count, next, previous, results[]}).
type wireOrderList struct {
	Count    int         `json:"count"`
	Next     flexString  `json:"next"`
	Previous flexString  `json:"previous"`
	Results  []wireOrder `json:"results"`
}

// wireEvent is a webhook body (spec §2.4 "Common body fields" and the
// example payloads). Task events add task_id and tracking_info.
type wireEvent struct {
	WebhookID      string     `json:"webhook_id"`
	EventType      string     `json:"event_type"`
	EventCreatedAt string     `json:"event_created_at"`
	UpdatedAt      string     `json:"updated_at"`
	Product        flexString `json:"product"`
	TaskID         flexString `json:"task_id,omitempty"`
	TrackingInfo   flexString `json:"tracking_info,omitempty"`
	LinkID         flexString `json:"link_id"`
	UserID         flexString `json:"user_id"`
	DataSource     flexString `json:"data_source"`
	OrderID        flexString `json:"order_id"`
	OrderNumber    flexString `json:"order_number"`
	EmployerID     flexString `json:"employer_id"`
	Status         flexString `json:"status"`
	TemplateID     flexString `json:"template_id"`
}

// wireReportID is the answer to a report creation POST.
type wireReportID struct {
	ReportID string `json:"report_id"`
}

// wireVOIEReport is GET /v1/users/{user_id}/reports/{report_id}/ (spec §2.6).
type wireVOIEReport struct {
	ReportID    string           `json:"report_id"`
	CreatedAt   string           `json:"created_at"`
	CompletedAt flexString       `json:"completed_at"`
	LastTaskAt  flexString       `json:"last_task_at"`
	IsVOE       bool             `json:"is_voe"`
	Links       []wireReportLink `json:"links"`
}

// wireReportLink is one connected payroll account in a VOIE report.
type wireReportLink struct {
	ID           string           `json:"id"`
	LinkID       string           `json:"link_id"`
	TrackingInfo flexString       `json:"tracking_info"`
	DataSource   flexString       `json:"data_source"`
	Provider     flexString       `json:"provider"`
	ProviderName flexString       `json:"provider_name"`
	IsSuspicious bool             `json:"is_suspicious"`
	Employments  []wireEmployment `json:"employments"`
}

// wireEmployment is one job in a VOIE report.
type wireEmployment struct {
	ID                  string          `json:"id"`
	IsActive            *bool           `json:"is_active"`
	JobTitle            flexString      `json:"job_title"`
	JobType             flexString      `json:"job_type"`
	StartDate           flexString      `json:"start_date"`
	OriginalHireDate    flexString      `json:"original_hire_date"`
	EndDate             flexString      `json:"end_date"`
	Income              decimal         `json:"income"`
	IncomeUnit          flexString      `json:"income_unit"`
	PayRate             decimal         `json:"pay_rate"`
	PayFrequency        flexString      `json:"pay_frequency"`
	ManagerName         flexString      `json:"manager_name"`
	Profile             *wireProfile    `json:"profile"`
	Company             *wireCompany    `json:"company"`
	Statements          []wireStatement `json:"statements"`
	AnnualIncomeSummary []wireAnnual    `json:"annual_income_summary"`
	W2s                 []wireW2        `json:"w2s"`
}

// wireProfile is the employee as the payroll system knows them (PII).
type wireProfile struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	FullName  string `json:"full_name"`
}

// wireCompany is the employer.
type wireCompany struct {
	Name    flexString   `json:"name"`
	Address *wireAddress `json:"address"`
	Phone   flexString   `json:"phone"`
	EIN     flexString   `json:"ein"`
}

// wireAddress is a postal address.
type wireAddress struct {
	Street string `json:"street"`
	City   string `json:"city"`
	State  string `json:"state"`
	Zip    string `json:"zip"`
}

// wireStatement is one pay statement.
type wireStatement struct {
	ID          string     `json:"id"`
	PayDate     flexString `json:"pay_date"`
	PeriodStart flexString `json:"period_start"`
	PeriodEnd   flexString `json:"period_end"`
	CheckNumber flexString `json:"check_number"`
	Hours       flexNumber `json:"hours"`
	BasisOfPay  flexString `json:"basis_of_pay"`
	GrossPay    decimal    `json:"gross_pay"`
	GrossPayYTD decimal    `json:"gross_pay_ytd"`
	NetPay      decimal    `json:"net_pay"`
	NetPayYTD   decimal    `json:"net_pay_ytd"`
	Regular     decimal    `json:"regular"`
	Overtime    decimal    `json:"overtime"`
}

// wireAnnual is one annual_income_summary item.
type wireAnnual struct {
	Year     flexNumber `json:"year"`
	GrossPay decimal    `json:"gross_pay"`
	NetPay   decimal    `json:"net_pay"`
	Regular  decimal    `json:"regular"`
	Overtime decimal    `json:"overtime"`
	OtherPay decimal    `json:"other_pay"`
}

// wireW2 is one W-2 summary.
type wireW2 struct {
	Year       flexNumber `json:"year"`
	Wages      decimal    `json:"wages"`
	FederalTax decimal    `json:"federal_tax"`
}

// wireAssetsReport is GET /v1/users/{user_id}/assets/reports/{report_id}/.
// Spec §2.6 names only the endpoints; this shape (links[].accounts[] with a
// balances object) follows Truv's public VOA reference and is UNCONFIRMED
// beyond report_id, created_at, completed_at, days_requested and links[].
type wireAssetsReport struct {
	ReportID      string           `json:"report_id"`
	CreatedAt     string           `json:"created_at"`
	CompletedAt   flexString       `json:"completed_at"`
	DaysRequested int              `json:"days_requested"`
	Links         []wireAssetsLink `json:"links"`
}

// wireAssetsLink is one connected financial institution.
type wireAssetsLink struct {
	LinkID       string        `json:"link_id"`
	TrackingInfo flexString    `json:"tracking_info"`
	Provider     flexString    `json:"provider"`
	ProviderName flexString    `json:"provider_name"`
	Accounts     []wireAccount `json:"accounts"`
}

// wireAccount is one bank account.
type wireAccount struct {
	ID        string       `json:"id"`
	CreatedAt string       `json:"created_at,omitempty"`
	UpdatedAt string       `json:"updated_at,omitempty"`
	Type      flexString   `json:"type"`
	Subtype   flexString   `json:"subtype"`
	Mask      flexString   `json:"mask"`
	Nickname  flexString   `json:"nickname"`
	Balances  wireBalances `json:"balances"`
}

// wireBalances is an account's balances object.
type wireBalances struct {
	CurrencyCode     flexString `json:"currency_code"`
	Balance          decimal    `json:"balance"`
	AvailableBalance decimal    `json:"available_balance"`
	CreditLimit      decimal    `json:"credit_limit"`
}

// wireError is Truv's error body (spec §2.3): {"error": {...}} for most
// statuses and {"detail": "Not Found."} for 404.
type wireError struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Extra   *struct {
			InvalidParams []json.RawMessage `json:"invalid-params"`
		} `json:"extra"`
	} `json:"error"`
	Detail string `json:"detail"`
}

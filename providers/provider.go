// Package providers holds the provider-neutral contract that every verification
// provider adapter implements (Truv, Truework, Payscore, AccountChek, Truuth),
// and the types that cross it. The sub-packages talk to the outside world:
// one package per provider (API client, webhook authentication and parsing,
// status mapping, and a local emulator of that provider), plus email/ and sms/.
//
// This package imports no other package of ours and knows nothing of HTTP
// pages, templates or the database: adapters turn provider wire formats into
// these types, and the portal's store decides what a change means.
package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Product is a kind of verification a caseworker can request.
type Product string

// The products the portal offers. Not every provider supports every product:
// see Verifier.Products.
const (
	ProductIncome     Product = "income"     // income and employment (VOIE)
	ProductEmployment Product = "employment" // employment only (VOE)
	ProductAssets     Product = "assets"     // bank accounts and balances (VOA)
	ProductIdentity   Product = "identity"   // identity proofing (KYC)
)

// Status is the normalized lifecycle status of an order or of one of its
// sub-items. The portal's store owns the rules for moving between them
// (design.md "Order lifecycle"); adapters only map provider values onto them.
type Status string

// The normalized statuses, in lifecycle order.
const (
	StatusCreated        Status = "created"
	StatusSent           Status = "sent"
	StatusInProgress     Status = "in_progress"
	StatusActionRequired Status = "action_required"
	StatusCompleted      Status = "completed"
	StatusCanceled       Status = "canceled"
	StatusExpired        Status = "expired"
	StatusFailed         Status = "failed"
)

// Outcome qualifies a final status, kept apart from it: a completed identity
// check can still be a fail, a completed income check can have no data.
type Outcome string

// Outcomes used across providers. Adapters may use others; the portal shows
// unknown outcomes verbatim.
const (
	OutcomeNone       Outcome = ""
	OutcomeVerified   Outcome = "verified"    // data returned
	OutcomeNoData     Outcome = "no_data"     // connected, nothing usable
	OutcomePass       Outcome = "pass"        // identity approved
	OutcomeReview     Outcome = "review"      // identity: a check warned
	OutcomeFail       Outcome = "fail"        // identity: a check failed
	OutcomeNoIncome   Outcome = "no_income"   // Payscore NO_INCOME
	OutcomeNoBank     Outcome = "no_bank"     // Payscore NO_BANK
	OutcomeSharedBank Outcome = "shared_bank" // Payscore SHARE_BANK
)

// Applicant is the person who verifies: one household member. Personal data
// here is in the clear because the provider needs it; adapters must never log it.
type Applicant struct {
	Ref         string // the portal's member reference, stable and PII-free
	FirstName   string
	LastName    string
	Email       string // may be empty
	Phone       string // E.164, may be empty
	DateOfBirth string // YYYY-MM-DD, may be empty
	SSN         string // full SSN, digits only; only when the provider needs it, never stored by the portal
	SSNLast4    string
	Language    string // BCP 47 base language: "en", "es", ...
}

// OrderRequest asks a provider to create one verification order.
type OrderRequest struct {
	// Reference is the portal's own order reference. It is unique per order and
	// is the idempotency key: an adapter that retries a create after a timeout
	// must first look the order up by it (Truv order_number, Truuth
	// externalRefId) instead of creating a second one.
	Reference  string
	CaseNumber string // the agency's case number (Truv external_user_id, AccountChek referenceNumber)
	AgencyName string // shown to the applicant (Payscore decision_maker_display_name)
	Program    string // SNAP, Medicaid, housing, ...
	Products   []Product
	// Applicants is usually one member; Payscore takes a whole household.
	Applicants []Applicant
	// Employers the caseworker listed (Truework companies to verify). Optional.
	Employers []string
	// ProviderNotifies asks the provider to send the link itself (Truv sends
	// email/SMS); false means the portal delivers the link (agency-managed).
	ProviderNotifies bool
	// WebhookURL is where this order's webhooks should go, for providers that
	// take a per-order URL (Payscore webhook_url, AccountChek notificationUrl).
	WebhookURL string
	// MonthlyRentCents is sent to Payscore when the program is housing.
	MonthlyRentCents int64
	// Options carries provider-specific settings by name (e.g. Truv
	// "template_id", AccountChek "voa_request_type"). Unknown keys are ignored.
	Options map[string]string
	// RefreshOf, in a FindOrder, says the order looked up was a refresh of
	// this provider order (Refresh with RefreshRequest.Reference): an
	// adapter whose provider does not keep the reference on a refresh
	// answers ErrNotSupported rather than a false ErrNotFound.
	RefreshOf string
}

// Order is what a provider returns when an order is created (or refreshed).
type Order struct {
	OrderID string // the provider's order id (Payscore: screening group id)
	UserID  string // the provider's user id where it has one (Truv)
	Status  Status
	// Links holds one entry per applicant, in request order.
	Links     []ApplicantLink
	ExpiresAt time.Time // zero when unknown
	// RefreshOf is the provider order id this order refreshes (Truv
	// initial_order, Truework reverification parent), empty otherwise.
	RefreshOf string
}

// ApplicantLink is how one applicant reaches the provider's hosted flow.
type ApplicantLink struct {
	ApplicantRef string
	SubID        string // the provider's id for this applicant's sub-item (screening, target), if any
	URL          string // hosted link, for email and QR
	ShortURL     string // short link for SMS, empty if the provider has none
	// WidgetToken is set instead of URL for widget providers (Truework Direct
	// session token): the portal serves its own page that opens the widget.
	WidgetToken string
}

// OrderRef identifies an order at its provider for follow-up calls.
type OrderRef struct {
	OrderID string
	UserID  string
	// Secret is a per-order secret the portal generated at creation (the
	// AccountChek notification URL token); empty for other providers.
	Secret string
}

// Update is one provider-neutral change parsed from a webhook delivery or
// read back from the provider's API. The portal applies it through the
// store's status rules; a late or duplicate update never moves an order back.
type Update struct {
	OrderID string // the provider's order id the update is for
	// Also holds other provider ids the update carries. When OrderID is
	// empty (Truv's task-status-updated has none), the portal finds the
	// order by one of them it recorded before or by the provider user id
	// stored at create; when the order is found, they are recorded with it
	// for later events.
	Also      AltIDs
	SubID     string // the sub-item it is about (employer suborder, verification request, screening, VOA/VOIE service); empty for the whole order
	RawEvent  string // the provider's event name, e.g. "order-status-updated", "SHARE_BANK"
	RawStatus string // the provider's status value, e.g. "completed", "507"
	// Status is the normalized status the raw value maps to; empty means the
	// update is informational (timeline only, no status change) or the raw
	// value is unknown (then Unknown is set: the previous status is kept
	// and the raw value logged).
	Status Status
	// Unknown says the provider sent a status or event value this adapter
	// does not know. The order keeps its status, and the portal logs the raw
	// value by LogUnknown (never the body: it may hold personal data).
	Unknown bool
	Outcome Outcome
	// Detail is a short, PII-free sentence for the caseworker, e.g. "Bank not
	// supported: Chase". Bank and employer names are not PII.
	Detail string
	// At is when the provider says the event happened (Truv updated_at,
	// Truework hook.triggered_at); zero if the delivery carries no time. The
	// store orders events by it: a sideways move (in progress ⇄ action
	// required) or a way back older than the newest event already applied
	// loses, so deliveries processed out of order end as in order. Adapters
	// set it whenever the provider gives one.
	At time.Time
	// Refetch asks the portal to fetch the authoritative state from the
	// provider (Truework order.completed, Payscore re-fires, AccountChek
	// postbacks, which are unauthenticated hints).
	Refetch bool
	// ReportReady says a report can now be fetched (ReportID when known).
	ReportReady bool
	ReportID    string
	// ReportExpired says the provider's report is gone (Payscore REPORT_EXPIRED).
	ReportExpired bool
	// ReportExpiresSoon flags a report about to expire (REPORT_SOON_TO_EXPIRE).
	ReportExpiresSoon bool
}

// AltIDs are provider ids other than the order id (Truv task, link and
// user ids). It is a comparable struct so that Updates stay comparable.
type AltIDs struct {
	Task string // one connection attempt
	Link string // one connection (a payroll account link)
	User string // the provider's user: every order of one person
}

// Keys lists the ids as "kind:value", most specific first: the form the
// store records them in.
func (a AltIDs) Keys() []string {
	var keys []string
	for _, k := range [...]struct{ kind, v string }{{"task:", a.Task}, {"link:", a.Link}, {"user:", a.User}} {
		if k.v != "" {
			keys = append(keys, k.kind+k.v)
		}
	}
	return keys
}

// Delivery is one webhook request as received, before authentication.
type Delivery struct {
	Header     http.Header
	Body       []byte // raw bytes, at most the portal's body limit
	Path       string // the part of the URL path after /webhooks/{provider}, e.g. "/3f9a…"
	RemoteAddr string // the client address as the portal sees it
}

// Verifier is the contract every provider adapter implements.
//
// Every method makes real HTTP calls with a timeout (the adapter's
// *http.Client has one). Errors that a caseworker should read are
// *ProviderError; ErrNotSupported means the provider lacks the operation.
type Verifier interface {
	// Name is the provider slug: "truv", "truework", "payscore", "accountchek", "truuth".
	Name() string
	// Products lists the products this provider can verify.
	Products() []Product
	// Capabilities is what the portal does differently for this provider:
	// the one place that says it (capabilities.go).
	Capabilities() Capabilities
	// CreateOrder creates the order at the provider. It is idempotent on
	// req.Reference where the provider allows a lookup.
	CreateOrder(ctx context.Context, req OrderRequest) (*Order, error)
	// FetchStatus reads the authoritative state of an order and returns it as
	// updates (one per sub-item, plus one for the order where it has a status
	// of its own), so the portal applies it through the same path as webhooks.
	FetchStatus(ctx context.Context, ref OrderRef) ([]Update, error)
	// FetchReport fetches and normalizes the order's report. reportID may be
	// empty when the provider creates the report on demand (Truv).
	FetchReport(ctx context.Context, ref OrderRef, reportID string) (*Report, error)
	// FetchReportPDF returns the PDF of a report fetched before.
	FetchReportPDF(ctx context.Context, ref OrderRef, reportID string) ([]byte, error)
	// Refresh asks for fresh data on a completed order without a new link
	// (Truv order refresh, Truework reverification, AccountChek report
	// refresh). It returns the new order, or ErrNotSupported.
	Refresh(ctx context.Context, ref OrderRef, req RefreshRequest) (*Order, error)
	// Cancel cancels the order at the provider.
	Cancel(ctx context.Context, ref OrderRef) error
}

// OrderFinder is implemented by a Verifier that can look an order up by the
// portal's reference without creating anything (the same lookup its
// CreateOrder makes before it posts). The portal uses it to settle an order
// whose create got no answer (CreateMayHaveLanded): the reconciler asks
// until the provider says yes (the order, with its links) or no.
type OrderFinder interface {
	// FindOrder returns the order created under req.Reference (req carries
	// the reference and the applicants' refs, for the links). It returns an
	// error wrapping ErrNotFound when the provider has none, and one
	// wrapping ErrNotSupported when the lookup is turned off (a provider
	// contract where it is UNCONFIRMED).
	FindOrder(ctx context.Context, req OrderRequest) (*Order, error)
}

// CreateMayHaveLanded says a failed CreateOrder may nonetheless have been
// committed at the provider: the call got no answer (a timeout, a dropped
// connection: HTTPStatus 0) or a server error (5xx) after it was sent, and
// the adapter's own lookup could not settle it (a call cut short by the
// caller counts too: the request may have left). A refusal (4xx), a request
// the adapter checked and refused before calling, or an error that is not a
// ProviderError means nothing was created.
func CreateMayHaveLanded(err error) bool {
	var pe *ProviderError
	if !errors.As(err, &pe) || len(pe.Fields) > 0 {
		return false
	}
	if pe.HTTPStatus >= 500 {
		return true
	}
	return pe.HTTPStatus == 0 && (pe.Retryable || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// WebhookReceiver authenticates and parses the provider's webhook deliveries.
// It is separate from Verifier so the request path only needs these two.
type WebhookReceiver interface {
	// Authenticate checks a delivery on its raw bytes in constant time. It
	// returns ErrUnauthenticated (wrapped) when it fails; it never logs the body.
	Authenticate(d Delivery) error
	// Parse turns an authenticated delivery into updates. A well-formed
	// delivery of an event the portal does not use returns no updates and no
	// error. A malformed one returns an error wrapping ErrMalformed.
	Parse(d Delivery) ([]Update, error)
	// DedupeKey returns the key under which a delivery is stored once; two
	// deliveries with the same key are the same delivery. Providers whose
	// legitimate re-fires are byte-identical (Payscore) return "" so that
	// nothing is thrown away.
	DedupeKey(d Delivery) string
}

// RefreshRequest asks for a data refresh of a completed order.
type RefreshRequest struct {
	Reference string    // the portal's reference for the new order
	Product   Product   // one product per request (Truv)
	ReportID  string    // the completed report to reverify (Truework)
	Employers []string  // provider employer ids to refresh; empty means all
	Now       time.Time // for limit checks
}

// Cents is an amount of money in US cents.
type Cents int64

// String formats c as dollars, e.g. "$1,234.56".
func (c Cents) String() string {
	neg := c < 0
	if neg {
		c = -c
	}
	d := int64(c) / 100
	s := fmt.Sprintf("%d", d)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	out := fmt.Sprintf("$%s.%02d", s, int64(c)%100)
	if neg {
		out = "-" + out
	}
	return out
}

// ReportKind says which part of a Report is filled.
type ReportKind string

// Report kinds.
const (
	ReportIncome   ReportKind = "income"   // employments with pay (Truv, Truework, AccountChek VOIE)
	ReportAssets   ReportKind = "assets"   // bank accounts (AccountChek VOA, Truv assets)
	ReportBank     ReportKind = "bank"     // bank-transaction income (Payscore)
	ReportIdentity ReportKind = "identity" // proofing checks (Truuth)
)

// Report is a provider's report, normalized. Raw keeps the provider's JSON for
// support; it holds PII and is purged with the report.
//
// The portal stores reports as this struct's JSON (EncodeReport), so the JSON
// names are a stored format, not Go names: every field carries an explicit
// tag equal to the name the untagged struct wrote before reports had a
// version, and a Go field may be renamed freely but a tag never (a changed
// tag blanks that field in every saved report). A change of meaning gets a
// new ReportFormat and a step in DecodeReport.
type Report struct {
	// Format is the stored format's version (ReportFormat when written);
	// 0 in reports saved before the format had one, which read the same.
	Format int `json:"Format,omitempty"`

	ReportID  string     `json:"ReportID"`
	Kind      ReportKind `json:"Kind"`
	CreatedAt time.Time  `json:"CreatedAt"`
	ExpiresAt time.Time  `json:"ExpiresAt"` // zero when the provider sets no expiry

	Employments []Employment    `json:"Employments"` // income/employment
	Accounts    []BankAccount   `json:"Accounts"`    // assets and bank income
	BankIncome  *BankIncome     `json:"BankIncome"`  // Payscore household income summary
	Identity    *IdentityResult `json:"Identity"`    // identity

	Raw json.RawMessage `json:"Raw"`
}

// Employment is one job with its pay history.
type Employment struct {
	Employer     string         `json:"Employer"`
	JobTitle     string         `json:"JobTitle"`
	Active       bool           `json:"Active"`
	StartDate    string         `json:"StartDate"` // YYYY-MM-DD
	EndDate      string         `json:"EndDate"`   // YYYY-MM-DD, empty while employed
	PayRate      Cents          `json:"PayRate"`
	PayUnit      string         `json:"PayUnit"`      // "hourly", "yearly", "monthly", ...
	PayFrequency string         `json:"PayFrequency"` // "weekly", "biweekly", "semimonthly", "monthly", ...
	AnnualIncome []AnnualIncome `json:"AnnualIncome"`
	Paystubs     []Paystub      `json:"Paystubs"` // newest first
}

// AnnualIncome is one year's totals.
type AnnualIncome struct {
	Year  int   `json:"Year"`
	Gross Cents `json:"Gross"`
	Net   Cents `json:"Net"`
}

// Paystub is one pay statement.
type Paystub struct {
	PayDate     string  `json:"PayDate"` // YYYY-MM-DD
	PeriodStart string  `json:"PeriodStart"`
	PeriodEnd   string  `json:"PeriodEnd"`
	Hours       float64 `json:"Hours"`
	Gross       Cents   `json:"Gross"`
	Net         Cents   `json:"Net"`
}

// BankAccount is one account at a financial institution.
type BankAccount struct {
	Institution      string         `json:"Institution"`
	Name             string         `json:"Name"`
	Type             string         `json:"Type"` // checking, savings, credit, ...
	Mask             string         `json:"Mask"` // last 4 of the account number, if any
	Balance          Cents          `json:"Balance"`
	AvailableBalance Cents          `json:"AvailableBalance"`
	BalanceDate      string         `json:"BalanceDate"`
	MonthlyIncome    Cents          `json:"MonthlyIncome"` // income found in this account, per month
	IncomeStreams    []IncomeStream `json:"IncomeStreams"` // Payscore
	// Holder is the sub-item (Payscore screening) whose applicant connected
	// the account, on a household report; "" on a one-applicant report.
	Holder string `json:"Holder"`
}

// IncomeStream is a recurring or non-recurring source of deposits.
type IncomeStream struct {
	Name      string `json:"Name"`
	Recurring bool   `json:"Recurring"`
	// Monthly is the stream's amount a month as the provider states it
	// (AccountChek); 0 when the provider lists deposits instead (Payscore).
	Monthly      Cents         `json:"Monthly"`
	Transactions []Transaction `json:"Transactions"`
}

// Transaction is one deposit.
type Transaction struct {
	Date   string `json:"Date"` // YYYY-MM-DD
	Name   string `json:"Name"`
	Amount Cents  `json:"Amount"`
}

// BankIncome is a household's bank-based income summary (Payscore).
type BankIncome struct {
	TotalNet        Cents `json:"TotalNet"`
	AvgMonthlyNet2  Cents `json:"AvgMonthlyNet2"`
	AvgMonthlyNet3  Cents `json:"AvgMonthlyNet3"`
	AvgMonthlyNet6  Cents `json:"AvgMonthlyNet6"`
	AvgMonthlyNet12 Cents `json:"AvgMonthlyNet12"`
	Recurring       Cents `json:"Recurring"`
	NonRecurring    Cents `json:"NonRecurring"`
	TimespanDays    int   `json:"TimespanDays"`
}

// IdentityResult is an identity verification outcome with its checks.
type IdentityResult struct {
	Outcome Outcome         `json:"Outcome"` // pass, review or fail
	Checks  []IdentityCheck `json:"Checks"`
}

// IdentityCheck is one proofing check and its result.
type IdentityCheck struct {
	Name   string `json:"Name"`   // e.g. "Document", "Face match", "Address"
	Result string `json:"Result"` // "Pass", "Warning", "Fail"
}

// Errors shared by all adapters. Test with errors.Is.
var (
	ErrUnauthenticated = errors.New("webhook not authenticated")
	ErrMalformed       = errors.New("malformed webhook delivery")
	ErrNotSupported    = errors.New("not supported by this provider")
	ErrNotFound        = errors.New("not found at the provider")
	ErrLimitReached    = errors.New("provider limit reached")
	// ErrUnsupportedVersion is an authentic delivery in a wire version the
	// adapter does not read (a Truework webhook subscribed at another API
	// version). Its message is PII-free and says what to change, so the
	// portal logs it and keeps it as the dead letter's reason.
	ErrUnsupportedVersion = errors.New("webhook version not supported")
)

// ProviderError is an error answer from a provider, translated into words a
// caseworker understands. Message never contains PII.
type ProviderError struct {
	Provider   string
	HTTPStatus int    // 0 when the call did not get an answer
	Code       string // the provider's error code, if any
	Message    string // plain-language sentence for the caseworker
	// Fields maps a request field (e.g. "email") to a problem, when the
	// provider names them (AccountChek 422 properties, Truv invalid-params).
	Fields map[string]string
	// Retryable says a later retry may succeed (429, 5xx, timeouts).
	Retryable  bool
	RetryAfter time.Duration
	Err        error // the underlying error, for errors.Is/As
}

// Error implements error.
func (e *ProviderError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: %s (%d %s)", e.Provider, e.Message, e.HTTPStatus, e.Code)
	}
	return fmt.Sprintf("%s: %s (%d)", e.Provider, e.Message, e.HTTPStatus)
}

// Unwrap returns the underlying error.
func (e *ProviderError) Unwrap() error { return e.Err }

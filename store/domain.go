package store

import "strings"

// The fixed vocabularies of the portal, in one place. Forms offer these and
// the store accepts only these.

// Option is a value with the label a person reads.
type Option struct {
	Value string
	Label string
}

// Programs are the benefit programs a case can belong to.
var Programs = []Option{
	{"snap", "SNAP"}, {"medicaid", "Medicaid"}, {"tanf", "TANF"}, {"wic", "WIC"}, {"chip", "CHIP"},
	{"housing", "Housing assistance"}, {"liheap", "Energy assistance (LIHEAP)"}, {"childcare", "Child care"},
}

// Relationships are a member's relationship to the primary applicant.
var Relationships = []Option{
	{"self", "Applicant"}, {"spouse", "Spouse"}, {"partner", "Partner"}, {"child", "Child"},
	{"parent", "Parent"}, {"sibling", "Sibling"}, {"relative", "Other relative"}, {"other", "Other"},
}

// Languages are the languages an applicant can prefer: English and Spanish
// are complete for messages and applicant pages; the others are the common
// threshold languages and fall back to English until translated.
var Languages = []Option{
	{"en", "English"}, {"es", "Spanish (Español)"}, {"zh", "Chinese (中文)"}, {"vi", "Vietnamese (Tiếng Việt)"},
	{"ko", "Korean (한국어)"}, {"tl", "Tagalog"}, {"ru", "Russian (Русский)"}, {"ar", "Arabic (العربية)"},
	{"ht", "Haitian Creole (Kreyòl)"}, {"fr", "French (Français)"}, {"pt", "Portuguese (Português)"},
}

// Label returns the label of value in opts, or value itself.
func Label(opts []Option, value string) string {
	for _, o := range opts {
		if o.Value == value {
			return o.Label
		}
	}
	return value
}

func isOption(opts []Option, value string) bool {
	for _, o := range opts {
		if o.Value == value {
			return true
		}
	}
	return false
}

// CaseStatus is the roll-up of a case's verifications.
type CaseStatus string

// Case roll-up statuses.
const (
	CaseNew            CaseStatus = "new"             // no verification sent yet
	CasePending        CaseStatus = "pending"         // verifications outstanding
	CaseActionRequired CaseStatus = "action_required" // some member must act, or the caseworker must
	CaseCompleted      CaseStatus = "completed"       // every verification has ended
)

// CaseStatuses lists the roll-up statuses with labels, for filters.
var CaseStatuses = []Option{
	{string(CaseNew), "Not started"}, {string(CasePending), "In progress"},
	{string(CaseActionRequired), "Action required"}, {string(CaseCompleted), "Completed"},
}

// Notify says who delivers an order's link to the applicant.
type Notify string

// Who delivers the link.
const (
	NotifyAgency   Notify = "agency"   // the portal sends it (email, text, QR, copy) and reminds
	NotifyProvider Notify = "provider" // the provider sends it itself
)

// Valid reports whether n is one of the Notify values.
func (n Notify) Valid() bool { return n == NotifyAgency || n == NotifyProvider }

// Outcome is an order's result beyond its status, in provider-neutral words
// (the values of providers.Outcome, which the store cannot import). Adapters
// may report others; the portal keeps and shows them verbatim, so an outcome
// is not validated.
type Outcome string

// Outcomes the portal acts on.
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

// OutcomesWithoutReport are the outcomes of a completed order that has no
// report to fetch: the report sweep leaves them alone.
var OutcomesWithoutReport = []Outcome{OutcomeNoData, OutcomeNoIncome, OutcomeNoBank, OutcomeSharedBank}

// Source says where a status update or a timeline line came from.
type Source string

// Sources of updates and timeline lines.
const (
	SourceWebhook    Source = "webhook"    // a provider's webhook delivery
	SourcePoll       Source = "poll"       // the portal asked the provider (reconciler, refresh)
	SourceCaseworker Source = "caseworker" // a staff action (cancel, resend)
	SourceSystem     Source = "system"     // the portal itself (report stored, link sent)
	SourceApplicant  Source = "applicant"  // the applicant on the portal's own page
)

// Valid reports whether s is one of the Source values.
func (s Source) Valid() bool {
	switch s {
	case SourceWebhook, SourcePoll, SourceCaseworker, SourceSystem, SourceApplicant:
		return true
	}
	return false
}

// DeliveryKind says why a link was sent.
type DeliveryKind string

// Kinds of delivery.
const (
	DeliveryFirst    DeliveryKind = "first"    // with the order
	DeliveryReminder DeliveryKind = "reminder" // the portal's scheduled reminder
	DeliveryResend   DeliveryKind = "resend"   // staff sent it again
)

// Valid reports whether k is one of the DeliveryKind values.
func (k DeliveryKind) Valid() bool {
	return k == DeliveryFirst || k == DeliveryReminder || k == DeliveryResend
}

// DeliveryResult is what became of a delivery.
type DeliveryResult string

// Delivery results.
const (
	DeliverySending DeliveryResult = "sending" // recorded before the message went out (StartDelivery)
	DeliverySent    DeliveryResult = "sent"    // the message service took it
	DeliveryFailed  DeliveryResult = "failed"  // refused; Delivery.Error says why
	DeliveryShown   DeliveryResult = "shown"   // a QR code or the link shown on the screen, nothing sent
)

// Valid reports whether r is one of the DeliveryResult values.
func (r DeliveryResult) Valid() bool {
	switch r {
	case DeliverySending, DeliverySent, DeliveryFailed, DeliveryShown:
		return true
	}
	return false
}

// ReportIncome is the kind of report (providers.ReportIncome) that holds
// employments with pay, which the community engagement check reads.
const ReportIncome = "income"

// inList is an SQL list of placeholders for vals, "(?, ?)", with its
// arguments: vocabularies reach SQL as parameters, never as literals.
func inList[T ~string](vals []T) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = string(v)
	}
	return "(?" + strings.Repeat(", ?", len(vals)-1) + ")", args
}

package store

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

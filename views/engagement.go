package views

import "caseverify/store/engagement"

// EngagementView is a member's Medicaid community engagement check as people
// read it: every figure already formatted. Handlers build it from the pure
// check in store/engagement.
type EngagementView struct {
	Context     string // "At application: the month before the case was opened"
	Rule        string // the rule in one sentence
	Result      string // "met", "not_met", "not_enough_data"
	ResultLabel string // "Met", "Met on the seasonal average", ...
	// ResultWhy says in one sentence what decided the result.
	ResultWhy  string
	Months     []EngagementMonth
	Shares     []EngagementShare
	Seasonal   string // the seasonal-worker average, in one sentence; empty when the rule is off
	Sources    string // "From the Truv report of Dec 4, 2026."
	Duplicates string // "2 paystubs were in more than one report and count once."
	Empty      bool   // no paystubs at all in the look-back
	PDFURL     string // the portal's PDF of the check
}

// EngagementMonth is one calendar month of the look-back.
type EngagementMonth struct {
	Month, Hours, Gross, Test, Result, ResultLabel string
	// Note says why the hours or the result need a word: hours not
	// reported, pay data covering part of the month.
	Note string
}

// EngagementShare is one paystub's part of a month: where a figure comes from.
type EngagementShare struct {
	Month, Employer, Paystub, Days, Hours, Gross string
	Split                                        bool
}

// EngagementResult is a member's result in a list (case page, renewals).
type EngagementResult struct {
	Result, Label string
	URL           string // the report page with the months
}

// EngagementTag is the tag class of a result.
func EngagementTag(result string) string {
	switch result {
	case "met":
		return "usa-tag cv-tag cv-tag--completed"
	case "not_met":
		return "usa-tag cv-tag cv-tag--failed"
	}
	return "usa-tag cv-tag cv-tag--action_required"
}

// EngagementDisclaimer is said wherever a result is shown in full.
const EngagementDisclaimer = "This is a decision aid, not an eligibility determination: the caseworker decides and records the decision."

// EngagementForm is the community engagement part of the settings form.
type EngagementForm struct {
	Shown, Seasonal                                   bool
	Hours, Rate, LookbackApplication, LookbackRenewal string
}

func lookbackChoices() []Choice {
	out := make([]Choice, 6)
	for i := range out {
		n := i + 1
		out[i] = Choice{Value: itoa(int64(n)), Label: Plural(n, "month", "months")}
	}
	return out
}

// CaseEngagementView is the case page's community engagement section.
type CaseEngagementView struct {
	Rows []CaseEngagementRow
}

// CaseEngagementRow is one member's result on the case page.
type CaseEngagementRow struct {
	Member    string
	Result    EngagementResult // empty without an income report
	Context   string
	ReportURL string
}

// engagementResults are the filter's choices, from the check's own list.
func engagementResults() []Choice {
	out := make([]Choice, len(engagement.Results))
	for i, r := range engagement.Results {
		out[i] = Choice{Value: r.Value, Label: r.Label}
	}
	return out
}

package payscore

import (
	"errors"
	"fmt"

	"caseverify/providers"
)

// Contract holds every path and JSON field name of Payscore's legacy
// screening-group API that this package uses and that Payscore's documents
// do not settle (UNCONFIRMED). The defaults are our best reading; an agency
// that learns the real value from Payscore overrides only that field with
// PAYSCORE_CONTRACT (a JSON object of these field names), without a release.
// The adapter and the emulator read the same struct, so they agree.
//
// Paths are relative to Config.BaseURL; {id} is the screening group id.
// Documented items are not here: POST /api/v1/screening_groups [P06],
// GET /api/v1/screening_groups/{id} [P07], .../report [P08] and
// .../report/data [P09], the create fields applicants, property,
// is_decision_maker_paying, decision_maker_display_name, monthly_rent,
// webhook_url and is_invitation_disabled [P06], and the webhook bodies
// (payscore-webhooks.txt).
type Contract struct {
	// ListPath is "Get All Screening Groups" (GET): only its title is
	// documented [P11]. The adapter reads it to find a group it created
	// before a timeout, so a retry never makes a second, billable group.
	ListPath string
	// ListField holds the groups in the list answer; a bare JSON array is
	// read too. UNCONFIRMED.
	ListField string
	// ListWebhookURLField is the listed group's field that echoes the
	// webhook_url it was created with. The legacy create has no field of
	// ours for a reference, so the portal's reference travels in the
	// (documented) webhook_url as the query parameter ReferenceParam and the
	// lookup matches it there. UNCONFIRMED that the list echoes it.
	ListWebhookURLField string
	// ReferenceParam is the webhook_url query parameter carrying the
	// portal's order reference.
	ReferenceParam string
	// CancelMethod and CancelPath are "Delete a Screening Group": only its
	// title is documented [P11].
	CancelMethod string
	CancelPath   string

	// Applicant and property field names of the legacy create request: the
	// legacy page was cut off before its Applicant and Property models
	// [P06], so these are the applicant-group API's names [P02].
	ApplicantFirstNameField string
	ApplicantLastNameField  string
	ApplicantEmailField     string
	ApplicantPhoneField     string
	PropertyNameField       string
	PropertyStreetField     string
	PropertyCityField       string
	PropertyStateField      string
	PropertyZipField        string
	PropertyUnitField       string `contract:"optional"`

	// ApplicantURLField names a screening field holding the applicant's
	// hosted link. No Payscore document shows one: empty (the default)
	// means there is none, so Payscore sends every invitation itself
	// (is_invitation_disabled false) and the portal offers no other channel.
	// Set it only when Payscore confirms such a field for the account.
	ApplicantURLField string `contract:"optional"`

	// IncomeTotalField is the amount field inside the report's recurring
	// and non_recurring IncomeData objects [P09 names the objects, not
	// their fields]; the group level's own name is the default.
	IncomeTotalField string
	// ReportAmounts says whether report money is "cents" or "dollars":
	// Payscore does not state it. Default cents (spec.md §3.4: the values
	// are integers sized like monthly_rent_cents).
	ReportAmounts string
	// RentAmounts says whether the create request's monthly_rent is in
	// "dollars" or "cents". The legacy page says dollars [P06] (the newer
	// applicant-group API takes cents [P02]), so dollars is the default.
	RentAmounts string
}

// DefaultContract returns the contract this package assumes.
func DefaultContract() Contract {
	return Contract{
		ListPath:            "/api/v1/screening_groups",
		ListField:           "screening_groups",
		ListWebhookURLField: "webhook_url",
		ReferenceParam:      "reference",
		CancelMethod:        "DELETE",
		CancelPath:          "/api/v1/screening_groups/{id}",

		ApplicantFirstNameField: "first_name",
		ApplicantLastNameField:  "last_name",
		ApplicantEmailField:     "email",
		ApplicantPhoneField:     "phone_number",
		PropertyNameField:       "name",
		PropertyStreetField:     "street_address",
		PropertyCityField:       "city",
		PropertyStateField:      "state",
		PropertyZipField:        "zip_code",
		PropertyUnitField:       "unit",

		IncomeTotalField: "total_net_income",
		ReportAmounts:    "cents",
		RentAmounts:      "dollars",
	}
}

// Validate fills the defaults and checks the contract; the portal calls it
// at start through New and NewEmulator's callers.
func (c Contract) Validate() (Contract, error) {
	c = providers.FillDefaults(c, DefaultContract())
	if err := providers.CheckContract(c, map[string][]string{"CancelPath": {"{id}"}}); err != nil {
		return c, fmt.Errorf("payscore: %w", err)
	}
	if c.ReportAmounts != "cents" && c.ReportAmounts != "dollars" {
		return c, errors.New("payscore: contract field ReportAmounts must be cents or dollars")
	}
	if c.RentAmounts != "cents" && c.RentAmounts != "dollars" {
		return c, errors.New("payscore: contract field RentAmounts must be cents or dollars")
	}
	return c, nil
}

// SandboxContract is the contract of the portal's sandbox: the default one,
// plus an applicant link field ("applicant_url") that only the emulator
// sends, standing in for the invitation email Payscore would send, so a
// tester can open the hosted page from the portal's outbox. It is never the
// default against the real Payscore.
func SandboxContract() Contract {
	c := DefaultContract()
	c.ApplicantURLField = "applicant_url"
	return c
}

package truework

import (
	"errors"
	"fmt"
	"time"

	"caseverify/providers"
)

// Contract holds what this package assumes about Truework that no stored
// source settles (UNCONFIRMED), in one place, so that an agency that learns
// the real value from Truework overrides it with TRUEWORK_CONTRACT (a JSON
// object of these field names) without a release. Truework's paths and field
// names are documented (the 2023-10-30 OpenAPI, T01) and are not here.
type Contract struct {
	// OrderLifetime is how long an order may stay unopened before the
	// portal treats it as expired (a Go duration, e.g. "168h"). Truework
	// documents no lifetime for a Direct order (spec.md §7.1: "no native
	// expiry state found"), and its orders never expire on their own, so
	// the portal applies this one: the life of its own applicant page
	// (/v/{token}, 7 days), after which the applicant cannot open the
	// widget through the portal anyway.
	OrderLifetime string
	// ApplicantActionRequiredEvent names the reverification webhook event
	// (S00); its payload is UNCONFIRMED and assumed to be the 2023-10-30
	// envelope with data.order_id.
	ApplicantActionRequiredEvent string
	// ActionRequiredStates are the state values read as "action required":
	// the documented one and the T07 schema's typo "action-requred" (which
	// Truework really sends is UNCONFIRMED).
	ActionRequiredStates []string
}

// DefaultContract returns the contract this package assumes.
func DefaultContract() Contract {
	return Contract{
		OrderLifetime:                "168h",
		ApplicantActionRequiredEvent: EventApplicantActionRequired,
		ActionRequiredStates:         []string{StateActionRequired, StateActionRequiredTypo},
	}
}

// validate fills the defaults, checks the contract and returns the order
// lifetime.
func (c Contract) validate() (Contract, time.Duration, error) {
	c = providers.FillDefaults(c, DefaultContract())
	if err := providers.CheckContract(c, nil); err != nil {
		return c, 0, fmt.Errorf("truework: %w", err)
	}
	d, err := time.ParseDuration(c.OrderLifetime)
	if err != nil || d < time.Hour {
		return c, 0, errors.New("truework: contract field OrderLifetime must be a duration of at least 1h, e.g. \"168h\"")
	}
	return c, d, nil
}

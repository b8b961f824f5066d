package truv

import (
	"fmt"

	"caseverify/providers"
)

// Contract holds the paths and field names of Truv's API that no stored
// source settles (UNCONFIRMED, spec.md §8.2), in one place, so that an
// agency that learns the real value overrides it with TRUV_CONTRACT (a JSON
// object of these field names) without a release. A Config field of the same
// name, when set, wins (tests and older wiring use them).
type Contract struct {
	// OrderLookupPath is the order list filtered by order_number, read before
	// a create is retried (Truv documents the list, not this filter).
	OrderLookupPath string
	// RefreshPath is the order refresh endpoint with "{id}": the docs say
	// POST /v1/orders/{id}/, Truv's demo calls /v1/orders/{id}/refresh/.
	RefreshPath string
	// SSNField names the SSN on order creation: "ssn" in Truv's help and LOS
	// guides, "social_security_number" in its demo code.
	SSNField string
	// RefreshLimitCode is the error code of the 3-refreshes-in-24-hours
	// limit (documented limit, undocumented code).
	RefreshLimitCode string
}

// DefaultContract returns the contract this package assumes.
func DefaultContract() Contract {
	return Contract{
		OrderLookupPath:  DefaultOrderLookupPath,
		RefreshPath:      DefaultRefreshPath,
		SSNField:         DefaultSSNField,
		RefreshLimitCode: DefaultRefreshLimitCode,
	}
}

// merged is the contract in force: cfg's own fields first, then the
// override, then the defaults; checked at start.
func (cfg Config) merged() (Contract, error) {
	c := providers.FillDefaults(Contract{OrderLookupPath: cfg.OrderLookupPath, RefreshPath: cfg.RefreshPath,
		SSNField: cfg.SSNField, RefreshLimitCode: cfg.RefreshLimitCode}, providers.FillDefaults(cfg.Contract, DefaultContract()))
	if err := providers.CheckContract(c, map[string][]string{"RefreshPath": {"{id}"}}); err != nil {
		return c, fmt.Errorf("truv: %w", err)
	}
	return c, nil
}

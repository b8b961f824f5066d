package truework

import (
	"time"

	"caseverify/providers"
)

// ReverifyWindow is how long after completion Truework reverifies a report
// [T01, S00]: past it, a new order (and the full SSN) is needed.
const ReverifyWindow = 90 * 24 * time.Hour

// Capabilities: Truework Direct is a widget on the portal's own page and
// needs the applicant's full SSN at send time; its webhooks carry a static
// token (X-Truework-Token), so they are a shared secret, and its own
// examples answer a bad token with 403. order.applicant_action_required
// is its documented way back (a reverification that needs the applicant).
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Label:             "Truework",
		Flow:              providers.FlowWidget,
		NeedsFullSSN:      true,
		AsksEmployers:     true,
		Webhooks:          providers.WebhooksSharedSecret,
		AuthFailureStatus: 403,
		Reopens:           []string{EventApplicantActionRequired},
		ReverifyWindow:    ReverifyWindow,
	}
}

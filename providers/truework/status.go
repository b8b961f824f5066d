package truework

import (
	"cmp"
	"slices"
	"strings"

	"caseverify/providers"
)

// Truework verification request states (state.canonical_value) [T01].
const (
	StatePendingApproval = "pending-approval"
	StateActionRequired  = "action-required"
	// StateActionRequiredTypo is the spelling in the T07 webhook schema enum.
	// Whether Truework ever sends it is UNCONFIRMED; it is accepted as a
	// synonym so that either spelling maps to action_required.
	StateActionRequiredTypo = "action-requred"
	StateProcessing         = "processing"
	StateCompleted          = "completed"
	StateCanceled           = "canceled"
	StateInvalid            = "invalid"
	StateOther              = "other"
)

// Webhook events (2023-10-30) [T05, T06, S00].
const (
	EventOrderCompleted          = "order.completed"
	EventStateChange             = "verification_request.state.change"
	EventApplicantActionRequired = "order.applicant_action_required"
)

// isVerifierReason reports whether reason is one a verifier can give on PUT
// /orders/{id}/cancel [T01]. Truework's own output adds "no-match".
func isVerifierReason(reason string) bool {
	switch reason {
	case "immediate", "high-turnaround-time", "competitor", "wrong-info", "other":
		return true
	}
	return false
}

// Caseworker-facing details. They carry no PII: only states, reasons and
// fixed sentences.
const (
	detailActionRequired  = "The applicant needs to take an action in Truework to finish."
	detailReconnect       = "The applicant must sign in again to finish"
	detailInvalid         = "Truework could not find the employee or the employer with the details given."
	detailNoMatch         = "Truework could not find a match for this employee."
	detailTrueworkCancel  = "Truework canceled the verification."
	detailVerifierCancel  = "The verification was canceled."
	detailCanceledPending = "The verification was canceled; the portal is asking Truework for the reason."
	// The detail stays on the order after the report arrives, so it says
	// only what stays true (the row shows "Read the report" once it is in).
	detailCompletedFetch = "Truework finished the verification."
	detailOrderCompleted = "Truework finished every verification in the order."
)

// mapState maps a verification request state onto the portal's statuses
// (spec.md §7.1). It does not know the cancellation reason; use
// mapCanceled for "canceled" when the reason is known.
//
// "pending-approval" maps to created. §7.1 also allows in_progress when the
// request comes back to pending-approval after processing; neither a
// webhook nor a single GET shows that history, and the portal's store never
// moves an order backwards, so an order already in_progress stays there.
//
// "other" and unknown values return no status (the store keeps the previous
// one) with the raw value in the detail.
func (c *Client) mapState(canonical, raw string) (providers.Status, string) {
	if slices.Contains(c.contract.ActionRequiredStates, canonical) {
		return providers.StatusActionRequired, detailActionRequired
	}
	switch canonical {
	case StatePendingApproval:
		return providers.StatusCreated, ""
	case StateProcessing:
		return providers.StatusInProgress, ""
	case StateCompleted:
		return providers.StatusCompleted, ""
	case StateCanceled:
		return providers.StatusCanceled, detailVerifierCancel
	case StateInvalid:
		return providers.StatusFailed, detailInvalid
	case StateOther:
		return "", "Truework status: " + shortRaw(cmp.Or(raw, canonical))
	default:
		return "", ""
	}
}

// unknownState says a state value is none the adapter knows (mapState gives
// it no status and no detail): the portal logs it (providers.Update.Unknown).
func (c *Client) unknownState(canonical, raw string) bool {
	st, detail := c.mapState(canonical, raw)
	return canonical != "" && st == "" && detail == ""
}

// mapCanceled maps a canceled request by its cancellation reason: a reason
// the verifier gives (the portal's own cancel, "other") is canceled;
// "no-match", no reason at all or any reason a verifier cannot give means
// Truework stopped it, which is a failure the caseworker must act on
// (§7.1; a verifier cancel always carries a reason because the cancel
// endpoint requires one, INFERENCE).
func mapCanceled(reason *valueWrapper) (providers.Status, string) {
	if reason == nil || reason.Canonical == "" {
		return providers.StatusFailed, detailTrueworkCancel
	}
	switch {
	case reason.Canonical == "no-match":
		return providers.StatusFailed, detailNoMatch
	case isVerifierReason(reason.Canonical):
		return providers.StatusCanceled, detailVerifierCancel + " Reason: " + reason.Canonical + "."
	default:
		return providers.StatusFailed, detailTrueworkCancel + " Reason: " + shortRaw(reason.Canonical) + "."
	}
}

// deriveStatus rolls the statuses of an order's verification requests up
// into one (spec.md §7 common model): any action_required wins; otherwise
// an order with open requests is in_progress once anything moved, else
// created; a finished order is completed if any request completed, else
// failed, expired or canceled in that order of precedence.
func deriveStatus(sts []providers.Status) providers.Status {
	if len(sts) == 0 {
		return providers.StatusCreated
	}
	var open, moved, actionRequired bool
	terminal := map[providers.Status]bool{}
	for _, s := range sts {
		switch s {
		case providers.StatusActionRequired:
			actionRequired, open = true, true
		case providers.StatusInProgress:
			moved, open = true, true
		case providers.StatusCompleted, providers.StatusCanceled, providers.StatusFailed, providers.StatusExpired:
			terminal[s], moved = true, true
		default:
			open = true
		}
	}
	switch {
	case actionRequired:
		return providers.StatusActionRequired
	case open && moved:
		return providers.StatusInProgress
	case open:
		return providers.StatusCreated
	}
	for _, s := range []providers.Status{providers.StatusCompleted, providers.StatusFailed, providers.StatusExpired} {
		if terminal[s] {
			return s
		}
	}
	return providers.StatusCanceled
}

// shortRaw bounds a provider value shown to caseworkers.
func shortRaw(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

package truework

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"caseverify/providers"
)

// TokenHeader carries the webhook's shared token [T04, T15]. Truework signs
// nothing: the token is the only proof a delivery is genuine.
const TokenHeader = "X-Truework-Token"

// Authenticate accepts a delivery whose X-Truework-Token equals one of
// Config.WebhookTokens (current and previous, for rotation). The header
// must appear exactly once and match byte for byte: no trimming, no case
// folding. The value is compared with every configured token, each in
// constant time and without stopping at a match, after hashing both sides
// so that the comparison does not reveal the token's length either.
func (c *Client) Authenticate(d providers.Delivery) error {
	vals := d.Header.Values(TokenHeader)
	if len(vals) != 1 || vals[0] == "" {
		return fmt.Errorf("truework: %d %s headers or empty token: %w", len(vals), TokenHeader, providers.ErrUnauthenticated)
	}
	got := sha256.Sum256([]byte(vals[0]))
	match := 0
	for _, tok := range c.webhookTokens {
		want := sha256.Sum256(tok)
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if match != 1 {
		return fmt.Errorf("truework: token does not match: %w", providers.ErrUnauthenticated)
	}
	return nil
}

// Parse turns an authenticated delivery into updates:
//
//   - verification_request.state.change: one Update for the verification
//     request, mapped as in FetchStatus. Two states also set Refetch,
//     because the webhook lacks what the portal needs: "completed" (the
//     report ids are only on the order) and "canceled" (the reason, which
//     decides between canceled and failed, is only on the order; the status
//     is left to the fetch so that a terminal canceled is not recorded
//     before a terminal failed).
//   - order.completed: Update{Refetch: true}; the portal then reads the
//     order and its reports (S00 "Once you receive this webhook you can
//     fetch the order results").
//   - order.applicant_action_required: action_required for the order (or
//     the verification request when data.verification_request_id is
//     present). Its payload is UNCONFIRMED (S00's example was not captured);
//     the same envelope with data.order_id is assumed (INFERENCE). The
//     portal gets a fresh widget token with SessionToken.
//
// Other events return no updates. version, hook.id and hook.triggered_at
// may be missing (the T17 example has none of them).
func (c *Client) Parse(d providers.Delivery) ([]providers.Update, error) {
	var env webhookEnvelope
	if err := json.Unmarshal(d.Body, &env); err != nil {
		return nil, fmt.Errorf("truework: webhook body is not the 2023-10-30 envelope: %w", providers.ErrMalformed)
	}
	// Subscriptions are per event version (T03) and this adapter reads
	// 2023-10-30 only. Only the top-level version is stable across versions,
	// so a body of another version is refused by it, with what to change,
	// before anything else is read. A body without version (the T17 short
	// form) is read as 2023-10-30.
	if env.Version != "" && env.Version != WebhookVersion {
		return nil, fmt.Errorf("truework: webhook version %q: the portal reads %s only; subscribe this webhook at version %s in Truework's Developer Settings: %w",
			printable(env.Version), WebhookVersion, WebhookVersion, providers.ErrUnsupportedVersion)
	}
	if env.Hook.Event == "" {
		return nil, fmt.Errorf("truework: webhook without hook.event: %w", providers.ErrMalformed)
	}
	var at time.Time
	if t, ok := parseTime(env.Hook.TriggeredAt); ok {
		at = t
	}
	if env.Hook.Event == c.contract.ApplicantActionRequiredEvent {
		env.Hook.Event = EventApplicantActionRequired // its name is the contract's
	}
	switch env.Hook.Event {
	case EventStateChange, EventOrderCompleted, EventApplicantActionRequired:
	default:
		return nil, nil
	}
	if env.Data.OrderID == "" {
		return nil, fmt.Errorf("truework: %s without data.order_id: %w", env.Hook.Event, providers.ErrMalformed)
	}
	u := providers.Update{
		OrderID:  env.Data.OrderID,
		SubID:    env.Data.VerificationRequestID,
		RawEvent: env.Hook.Event,
		At:       at,
	}
	switch env.Hook.Event {
	case EventStateChange:
		if env.Data.State == "" {
			return nil, fmt.Errorf("truework: state change without data.state: %w", providers.ErrMalformed)
		}
		u.RawStatus = env.Data.State
		u.Status, u.Detail = c.mapState(env.Data.State, env.Data.State)
		u.Unknown = c.unknownState(env.Data.State, env.Data.State)
		switch env.Data.State {
		case StateCompleted:
			u.Refetch, u.Detail = true, detailCompletedFetch
		case StateCanceled:
			u.Status, u.Refetch, u.Detail = "", true, detailCanceledPending
		}
	case EventOrderCompleted:
		u.Refetch, u.Detail = true, detailOrderCompleted
	case EventApplicantActionRequired:
		u.Status, u.Detail = providers.StatusActionRequired, detailReconnect
	}
	return []providers.Update{u}, nil
}

// WebhookVersion is the webhook event version the adapter reads: the
// subscription must be made at this version in Truework's Developer
// Settings (T03: subscriptions are per event version and can be upgraded,
// not downgraded).
const WebhookVersion = apiVersion

// printable keeps a short run of safe characters of a version string for a
// message (it comes from the body).
func printable(v string) string {
	out := make([]rune, 0, len(v))
	for _, r := range v {
		if len(out) == 20 {
			break
		}
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '.' {
			out = append(out, r)
		}
	}
	return string(out)
}

// DedupeKey identifies a delivery: hook.id, event, order, verification
// request, state and hook.triggered_at when hook.id is present, else the
// SHA-256 of the body.
//
// In the documented example hook.id (123) reads like the id of the webhook
// subscription, not of the delivery (UNCONFIRMED): every delivery of a
// subscription may carry the same one. So the key adds what tells two
// deliveries apart: the order (two orders' order.completed have neither
// request nor state), and the time it was triggered, so that a state that
// comes back (processing, action required, processing again) or a second
// order.applicant_action_required is a new delivery while a retry of the
// same body is still one. Without triggered_at a repeat of the same state
// cannot be told from a retry; the reconciler's status poll catches it.
func (c *Client) DedupeKey(d providers.Delivery) string {
	var env webhookEnvelope
	if err := json.Unmarshal(d.Body, &env); err == nil && env.Hook.ID != "" {
		return string(env.Hook.ID) + ":" + env.Hook.Event + ":" + env.Data.OrderID + ":" +
			env.Data.VerificationRequestID + ":" + env.Data.State + ":" + env.Hook.TriggeredAt
	}
	sum := sha256.Sum256(d.Body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

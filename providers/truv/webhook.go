package truv

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/textproto"
	"strings"

	"caseverify/providers"
)

// HeaderSignature is the header Truv signs its webhooks in (spec §2.4):
// "v1=" + lowercase hex HMAC-SHA256(access secret, raw body).
const HeaderSignature = "X-Webhook-Sign"

// signaturePrefix is the only scheme Truv documents; the demo's tests reject
// "v2=" (spec §2.9).
const signaturePrefix = "v1="

// Webhook event types Parse understands (spec §2.4).
const (
	EventOrderCreated       = "order-created"
	EventOrderStatusUpdated = "order-status-updated"
	EventOrderRefreshFailed = "order-refresh-failed"
	EventOrderFinalized     = "order-finalized"
	EventTaskStatusUpdated  = "task-status-updated"
	EventLinkConnected      = "link-connected"
	EventLinkDisconnected   = "link-disconnected"
)

// RawEventPoll is the RawEvent of updates FetchStatus reads from the API.
const RawEventPoll = "poll"

// Sign returns the X-WEBHOOK-SIGN value for body under secret. The emulator
// signs with it; tests and sandbox tooling may too.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return signaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Authenticate checks X-WEBHOOK-SIGN against the raw body with the access
// secret and every previous secret, in constant time.
//
// Exactly one header value is accepted (two values, even one good, are
// refused). Only "v1=" followed by 64 lowercase hex digits is accepted:
// Truv sends lowercase (spec §2.4), so uppercase hex is refused rather than
// normalised, which keeps one canonical encoding per signature. Failures
// wrap providers.ErrUnauthenticated and never include the body.
func (c *Client) Authenticate(d providers.Delivery) error {
	values := headerValues(d.Header, HeaderSignature)
	switch {
	case len(values) == 0:
		return fmt.Errorf("truv: %w: no %s header", providers.ErrUnauthenticated, HeaderSignature)
	case len(values) > 1:
		return fmt.Errorf("truv: %w: %d %s headers", providers.ErrUnauthenticated, len(values), HeaderSignature)
	}
	got, ok := strings.CutPrefix(values[0], signaturePrefix)
	if !ok {
		return fmt.Errorf("truv: %w: signature scheme is not v1", providers.ErrUnauthenticated)
	}
	if !isLowerHex(got, sha256.Size*2) {
		return fmt.Errorf("truv: %w: signature is not 64 lowercase hex digits", providers.ErrUnauthenticated)
	}
	match := 0
	for _, secret := range c.secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write(d.Body)
		want := hex.EncodeToString(mac.Sum(nil))
		// Check every secret, so timing does not tell which one matched.
		if hmac.Equal([]byte(want), []byte(got)) {
			match++
		}
	}
	if match == 0 {
		return fmt.Errorf("truv: %w: signature does not match", providers.ErrUnauthenticated)
	}
	return nil
}

// headerValues collects a header's values whatever the case of its key, so a
// Delivery built by hand with "X-WEBHOOK-SIGN" is read like a parsed request.
func headerValues(h map[string][]string, name string) []string {
	want := textproto.CanonicalMIMEHeaderKey(name)
	var out []string
	for k, v := range h {
		if textproto.CanonicalMIMEHeaderKey(k) == want {
			out = append(out, v...)
		}
	}
	return out
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// DedupeKey is webhook_id + ":" + the first 16 hex digits of sha256(body).
// webhook_id alone is not enough: Truv's own examples reuse one webhook_id
// for two different events (spec §2.4). A body without a webhook_id is keyed
// by its hash alone.
func (c *Client) DedupeKey(d providers.Delivery) string {
	sum := sha256.Sum256(d.Body)
	h := hex.EncodeToString(sum[:])[:16]
	var v struct {
		WebhookID string `json:"webhook_id"`
	}
	if json.Unmarshal(d.Body, &v) != nil || v.WebhookID == "" {
		return h
	}
	return v.WebhookID + ":" + h
}

// Parse turns an authenticated delivery into updates (spec §2.4, §7.2).
//
// order-status-updated gives one update for the employer suborder
// (SubID = employer_id) or, with no employer_id, for the whole order.
// task-status-updated gives progress: SubID = employer_id, else
// tracking_info. Truv's own task payloads carry no order_id (V05), so their
// OrderID is empty and Also carries what they do have (task_id, link_id,
// user_id): the portal finds the order by the user id Truv gave at create,
// or by a link or task id an earlier event recorded with the order. A known event with an unknown
// status gives an update with an empty Status (keep the previous one). An
// unknown event type gives no updates and no error. A body that is not a JSON
// object with an event_type wraps providers.ErrMalformed.
func (c *Client) Parse(d providers.Delivery) ([]providers.Update, error) {
	var ev wireEvent
	// The decoder's message may quote the body, so it is not wrapped.
	if err := json.Unmarshal(d.Body, &ev); err != nil {
		return nil, fmt.Errorf("truv: %w: body is not a Truv webhook object", providers.ErrMalformed)
	}
	if ev.EventType == "" {
		return nil, fmt.Errorf("truv: %w: no event_type", providers.ErrMalformed)
	}
	at := parseTime(ev.UpdatedAt)
	if at.IsZero() {
		at = parseTime(ev.EventCreatedAt)
	}
	u := providers.Update{
		OrderID:   string(ev.OrderID),
		SubID:     string(ev.EmployerID),
		RawEvent:  ev.EventType,
		RawStatus: string(ev.Status),
		At:        at,
		Also:      providers.AltIDs{Task: string(ev.TaskID), Link: string(ev.LinkID), User: string(ev.UserID)},
	}
	switch ev.EventType {
	case EventOrderCreated:
		u.SubID = ""
		u.Status = providers.StatusCreated
		u.Detail = "Truv created the order"
	case EventOrderStatusUpdated:
		m := mapOrderStatus(string(ev.Status))
		u.Status, u.Outcome, u.Detail, u.ReportReady = m.status, m.outcome, m.detail, m.reportReady
		u.Unknown = m.status == "" && ev.Status != ""
	case EventTaskStatusUpdated:
		if u.SubID == "" {
			u.SubID = string(ev.TrackingInfo)
		}
		m := mapTaskStatus(string(ev.Status))
		u.Status, u.Outcome, u.Detail, u.ReportReady = m.status, m.outcome, m.detail, m.reportReady
		u.Unknown = m.status == "" && ev.Status != ""
	case EventOrderRefreshFailed:
		u.Status = providers.StatusActionRequired
		u.Detail = refreshFailedDetail(string(ev.Status))
	case EventOrderFinalized:
		u.Detail = "Truv finalized the order"
	case EventLinkConnected:
		u.Status = providers.StatusInProgress
		u.Detail = "The applicant connected an account"
	case EventLinkDisconnected:
		u.Status = providers.StatusActionRequired
		u.Detail = "The account connection was lost; the applicant needs to reconnect"
	default:
		return nil, nil
	}
	return []providers.Update{u}, nil
}

// mapping is a raw Truv status translated for the portal.
type mapping struct {
	status      providers.Status
	outcome     providers.Outcome
	detail      string
	reportReady bool
}

// mapOrderStatus maps an order or suborder status (spec §2.5, §7.2).
//
// Choices: no_data is failed with outcome no_data (§7.2; some agencies may
// prefer completed-with-no-data); skipped (opened, not finished) is failed;
// error (V10: notification delivery failed) is failed; canceled and expired
// keep their own statuses. login_error and mfa_error are not documented
// suborder values; the emulator sets them on a failed refresh's suborders,
// so they map to action_required like order-refresh-failed (INFERENCE).
// An unknown value maps to "" so the previous status is kept.
func mapOrderStatus(raw string) mapping {
	switch raw {
	case "pending":
		return mapping{status: providers.StatusCreated}
	case "sent":
		return mapping{status: providers.StatusSent, detail: "Truv sent the link to the applicant"}
	case "completed":
		return mapping{status: providers.StatusCompleted, outcome: providers.OutcomeVerified, detail: "Verification completed; the report is ready", reportReady: true}
	case "no_data":
		return mapping{status: providers.StatusFailed, outcome: providers.OutcomeNoData, detail: "The applicant connected, but no usable data was found"}
	case "skipped":
		return mapping{status: providers.StatusFailed, detail: "The applicant opened the link but did not finish"}
	case "error":
		return mapping{status: providers.StatusFailed, detail: "Truv could not process the order (for example the link could not be delivered)"}
	case "canceled", "cancelled":
		return mapping{status: providers.StatusCanceled, detail: "The order was canceled"}
	case "expired":
		return mapping{status: providers.StatusExpired, detail: "The link expired before the applicant finished"}
	case "login_error", "mfa_error":
		return mapping{status: providers.StatusActionRequired, detail: refreshFailedDetail(raw)}
	}
	return mapping{}
}

// mapTaskStatus maps a task (one connection attempt) status (spec §2.5,
// §7.2). A failed sign-in on a new order keeps the order in progress: the
// applicant can try again in Bridge, and only order statuses decide the
// outcome.
func mapTaskStatus(raw string) mapping {
	inProgress := func(detail string) mapping { return mapping{status: providers.StatusInProgress, detail: detail} }
	switch raw {
	case "new":
		return inProgress("The applicant started connecting an account")
	case "login":
		return inProgress("Signing in to payroll")
	case "mfa":
		return inProgress("Waiting for the applicant's verification code")
	case "parse":
		return inProgress("Reading payroll data")
	case "full_parse":
		return inProgress("Reading the full pay history")
	case "switch_deposit":
		return inProgress("Switching direct deposit")
	case "login_error":
		return inProgress("Sign-in failed; the applicant can try again")
	case "mfa_error":
		return inProgress("The verification code was not accepted; the applicant can try again")
	case "account_locked":
		return inProgress("The payroll account is locked; the applicant can try again or choose another way")
	case "config_error":
		return inProgress("The payroll account did not match the order details; the applicant can try again")
	case "done":
		return mapping{status: providers.StatusCompleted, outcome: providers.OutcomeVerified, detail: "Payroll data received", reportReady: true}
	case "no_data":
		return mapping{status: providers.StatusFailed, outcome: providers.OutcomeNoData, detail: "The applicant connected, but no usable data was found"}
	case "unavailable":
		return mapping{status: providers.StatusFailed, detail: "The payroll provider is unavailable; try again later"}
	case "error":
		return mapping{status: providers.StatusFailed, detail: "Truv could not finish the connection"}
	}
	return mapping{}
}

// refreshFailedDetail explains an order-refresh-failed status.
func refreshFailedDetail(raw string) string {
	switch raw {
	case "login_error":
		return "Refresh failed: the payroll sign-in no longer works (expired session or changed password). Send the applicant a new link."
	case "mfa_error":
		return "Refresh failed: the payroll account asks for a verification code. Send the applicant a new link."
	}
	return "Refresh failed. Send the applicant a new link."
}

package truuth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"caseverify/providers"
)

// Raw event names reported in Update.RawEvent. Truuth's own identifiers are
// UNCONFIRMED; these are the event names of its webhook documentation (S04).
const (
	EventCallback = "Callback"
	EventBiopass  = "Biopass User Provisioning"
)

// URL event names: Truuth sends one event type per webhook subscription
// (S04), so each subscription gets its own URL, /webhooks/truuth/{event},
// and the URL says what the body is.
const (
	EventPathCallback = "callback"
	EventPathBiopass  = "biopass"
)

// webhookEvents maps the URL event names to the raw event names.
var webhookEvents = map[string]string{EventPathCallback: EventCallback, EventPathBiopass: EventBiopass}

// eventOfPath reads the event from a delivery's path ("/callback"). The bare
// URL gives "" and ok; an unknown path gives ok false.
func eventOfPath(path string) (event string, ok bool) {
	p := strings.Trim(path, "/")
	if p == "" {
		return "", true
	}
	_, ok = webhookEvents[p]
	return p, ok
}

// Webhook authentication (truuth-webhooks.txt): Truuth sends the configured
// "Auth Token" as Basic or Bearer credentials, or nothing at all. There is no
// signature, so the receiver's only defence is an exact, constant-time
// comparison of the whole Authorization header with the configured value.
//
// Decision (pinned in tests): the auth scheme is case-insensitive, as RFC 7235
// §2.1 says ("basic xyz" equals "Basic xyz"); the token is compared byte for
// byte. A delivery with the header repeated is refused even if one copy is
// right, because we cannot tell which one a proxy would have used.

// canonicalAuth splits an Authorization value into a lower-cased scheme and
// its token (RFC 7235: scheme 1*SP token). ok is false when there is no token.
func canonicalAuth(v string) (scheme, token string, ok bool) {
	scheme, rest, found := strings.Cut(v, " ")
	if !found || scheme == "" {
		return "", "", false
	}
	token = strings.TrimLeft(rest, " ")
	if token == "" {
		return "", "", false
	}
	return strings.ToLower(scheme), token, true
}

// authDigest is what Authenticate compares: a hash of the canonical value,
// so the comparison takes the same time whatever the lengths.
func authDigest(scheme, token string) []byte {
	sum := sha256.Sum256([]byte(scheme + " " + token))
	return sum[:]
}

// Authenticate implements providers.WebhookReceiver. It accepts a delivery
// only when it carries exactly one Authorization header equal to
// Config.WebhookAuth (scheme case-insensitive, token exact). With
// WebhookAuth unset it refuses everything: an unprotected Truuth webhook would
// let anyone mark identities approved (reliability.md W14).
//
// The expected value is the token of the URL's event subscription
// (Config.WebhookAuthByEvent), else Config.WebhookAuth; the bare URL takes
// Callbacks, so it uses the Callback token when WebhookAuth is unset. A
// path that is no event subscription is refused.
func (c *Client) Authenticate(d providers.Delivery) error {
	event, ok := eventOfPath(d.Path)
	if !ok {
		return fmt.Errorf("truuth: no webhook subscription at this URL: %w", providers.ErrUnauthenticated)
	}
	if event == "" && c.webhookDigest == nil {
		event = EventPathCallback
	}
	want := c.eventDigests[event]
	if want == nil {
		want = c.webhookDigest
	}
	if want == nil {
		return fmt.Errorf("truuth: webhook auth is not configured: %w", providers.ErrUnauthenticated)
	}
	values := d.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return fmt.Errorf("truuth: no Authorization header: %w", providers.ErrUnauthenticated)
	case 1:
	default:
		return fmt.Errorf("truuth: Authorization header repeated: %w", providers.ErrUnauthenticated)
	}
	scheme, token, ok := canonicalAuth(values[0])
	if !ok {
		return fmt.Errorf("truuth: Authorization header has no credentials: %w", providers.ErrUnauthenticated)
	}
	if !hmac.Equal(authDigest(scheme, token), want) {
		return fmt.Errorf("truuth: Authorization header does not match: %w", providers.ErrUnauthenticated)
	}
	return nil
}

// Minimum strength ValidateWebhookAuth asks of a webhook credential. Our
// choice: long enough that guessing is hopeless, short enough for any token
// Truuth's portal generates (its example password has 64 characters).
const (
	minBearerLen    = 16
	minBasicPassLen = 12
)

// ValidateWebhookAuth checks a configured webhook Authorization value (e.g.
// TRUUTH_WEBHOOK_AUTH) at start-up: "Basic <base64 of user:password>" or
// "Bearer <token>", scheme in any case, with a non-trivial secret. The error
// never repeats the value, which is a secret.
func ValidateWebhookAuth(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("truuth webhook auth is empty: set it to \"Basic <base64>\" or \"Bearer <token>\" as configured in the Truuth portal")
	}
	scheme, token, ok := canonicalAuth(s)
	if !ok {
		return errors.New("truuth webhook auth must be \"Basic <base64>\" or \"Bearer <token>\"")
	}
	if strings.ContainsAny(token, " \t\r\n") {
		return errors.New("truuth webhook auth token must not contain spaces")
	}
	switch scheme {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(token)
		if err != nil {
			return errors.New("truuth webhook auth: the Basic token is not valid base64 of username:password")
		}
		user, pass, found := strings.Cut(string(raw), ":")
		if !found || user == "" {
			return errors.New("truuth webhook auth: the Basic token must encode username:password")
		}
		if len(pass) < minBasicPassLen || trivial(pass) {
			return fmt.Errorf("truuth webhook auth: the Basic password is too weak (use at least %d varied characters)", minBasicPassLen)
		}
	case "bearer":
		if !isToken68(token) {
			return errors.New("truuth webhook auth: the Bearer token has characters a token may not contain")
		}
		if len(token) < minBearerLen || trivial(token) {
			return fmt.Errorf("truuth webhook auth: the Bearer token is too weak (use at least %d varied characters)", minBearerLen)
		}
	default:
		return errors.New("truuth webhook auth scheme must be Basic or Bearer")
	}
	return nil
}

// trivial reports a secret made of one repeated character.
func trivial(s string) bool {
	return strings.Count(s, s[:1]) == len(s)
}

// isToken68 checks the RFC 7235 token68 syntax Bearer tokens use.
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for _, r := range body {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-._~+/", r):
		default:
			return false
		}
	}
	return true
}

// Parse implements providers.WebhookReceiver. A Callback becomes one Update
// for its verification; Biopass User Provisioning becomes an informational
// Update (no status change). Which one a body is comes from its URL
// (/webhooks/truuth/callback or /biopass: one event type per subscription,
// S04), else from an explicit event-type field (Contract.EventTypeField),
// else it is a Callback: never from the body's shape, so a Callback with a
// field that looks like Biopass data still completes its order. The
// applicant's identityOwner block is never read: it is PII and the portal
// does not need it from a webhook.
func (c *Client) Parse(d providers.Delivery) ([]providers.Update, error) {
	m, err := decodeObject(d.Body)
	if err != nil {
		// The decoder's message can quote body bytes: keep it out.
		return nil, fmt.Errorf("truuth: webhook body is not a JSON object: %w", providers.ErrMalformed)
	}
	ct := c.contract
	event, ok := eventOfPath(d.Path)
	if !ok {
		return nil, fmt.Errorf("truuth: no webhook subscription at this URL: %w", providers.ErrMalformed)
	}
	if event == "" {
		event = eventOfBody(m, ct)
	}
	id := getString(m, ct.VerificationIDField)
	if event == EventPathBiopass {
		if id == "" {
			// Informational only, and nothing to attach it to.
			return nil, nil
		}
		return []providers.Update{{
			OrderID:  id,
			RawEvent: EventBiopass,
			Detail:   "Biopass user provisioned",
		}}, nil
	}
	if id == "" {
		return nil, fmt.Errorf("truuth: callback without %s: %w", ct.VerificationIDField, providers.ErrMalformed)
	}
	raw := getString(m, ct.StatusField)
	if raw == "" {
		return nil, fmt.Errorf("truuth: callback without %s: %w", ct.StatusField, providers.ErrMalformed)
	}
	u := resultUpdate(id, raw, parseChecks(m, ct), ct)
	u.RawEvent = EventCallback
	return []providers.Update{u}, nil
}

// eventOfBody reads an explicit event-type field of a body that came to the
// bare URL; without one the body is a Callback.
func eventOfBody(m map[string]any, ct Contract) string {
	if ev := getString(m, ct.EventTypeField); ev != "" {
		norm := strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(ev))
		if strings.Contains(norm, "biopass") {
			return EventPathBiopass
		}
	}
	return EventPathCallback
}

// DedupeKey implements providers.WebhookReceiver: verificationId, status and
// a short body hash. Truuth documents no delivery id, so the hash tells a
// retried (identical) delivery from a new one with the same status.
func (c *Client) DedupeKey(d providers.Delivery) string {
	sum := sha256.Sum256(d.Body)
	var id, status string
	if m, err := decodeObject(d.Body); err == nil {
		id = getString(m, c.contract.VerificationIDField)
		status = getString(m, c.contract.StatusField)
	}
	return id + ":" + status + ":" + hex.EncodeToString(sum[:])[:16]
}

// parseChecks reads the proofing outcomes as identity checks, result
// spellings normalized to Pass / Warning / Fail (unknown ones kept verbatim).
func parseChecks(m map[string]any, ct Contract) []providers.IdentityCheck {
	var checks []providers.IdentityCheck
	for _, item := range getList(m, ct.OutcomesPath) {
		obj, ok := item.(map[string]any)
		if !ok {
			continue
		}
		var name string
		for _, f := range ct.CheckNameFields {
			if name = getString(obj, f); name != "" {
				break
			}
		}
		raw := getString(obj, ct.CheckResultField)
		res := cleanText(raw)
		if k := resultKindOf(raw); k != resultUnknown {
			res = k.String()
		}
		checks = append(checks, providers.IdentityCheck{Name: cleanText(name), Result: res})
	}
	return checks
}

// resultKind is a check result, normalized.
type resultKind int

const (
	resultUnknown resultKind = iota
	resultPass
	resultWarning
	resultFail
)

// String returns Truuth's display spelling (R02).
func (k resultKind) String() string {
	switch k {
	case resultPass:
		return "Pass"
	case resultWarning:
		return "Warning"
	case resultFail:
		return "Fail"
	}
	return ""
}

// resultKindOf accepts the spellings seen or likely for a check result:
// Pass/PASS/pass/Passed, Warning/WARNING/Warn, Fail/FAIL/Failed, R02's overall
// words Approved and Rejected, and proto-enum forms such as
// PROOFING_STATUS_PASS (last underscore-separated word).
func resultKindOf(raw string) resultKind {
	s := strings.ToLower(strings.TrimSpace(raw))
	if i := strings.LastIndexByte(s, '_'); i >= 0 {
		s = s[i+1:]
	}
	switch s {
	case "pass", "passed", "approved":
		return resultPass
	case "warning", "warn", "warned":
		return resultWarning
	case "fail", "failed", "failure", "rejected":
		return resultFail
	}
	return resultUnknown
}

// normStatus upper-cases a verification status and strips the proto-enum
// prefix, so "VERIFICATION_STATUS_DONE", "Done" and "DONE" read the same.
func normStatus(raw, prefix string) string {
	s := strings.ToUpper(strings.TrimSpace(raw))
	s = strings.NewReplacer(" ", "_", "-", "_").Replace(s)
	return strings.TrimPrefix(s, strings.ToUpper(prefix))
}

// resultUpdate maps a verification's raw status and checks onto an Update
// (spec.md §7.5 and the outcome rules):
//
//	DONE, every check Pass          → completed, pass   "Identity approved"
//	DONE, a Warning and no Fail     → completed, review "Needs review: ..."
//	DONE, any Fail                  → completed, fail   "Rejected: ..."
//	DONE, no checks at all          → completed, review (cannot approve unseen)
//	DONE, a check with an unknown   → completed, review (a person must look)
//	      result and no Fail
//	IN_PROGRESS, PROCESSING         → in_progress
//	ERROR                           → failed
//	EXPIRED, CANCELED/CANCELLED     → expired, canceled (values UNCONFIRMED)
//	PENDING, CREATED, INVITED, NEW,
//	NOT_STARTED, UNSPECIFIED        → no change (waiting; values UNCONFIRMED)
//	anything else                   → no change; marked Unknown (logged)
func resultUpdate(id, raw string, checks []providers.IdentityCheck, ct Contract) providers.Update {
	u := providers.Update{OrderID: id, RawStatus: raw}
	switch normStatus(raw, ct.StatusEnumPrefix) {
	case "DONE":
		u.Status = providers.StatusCompleted
		u.Outcome, u.Detail = judge(checks)
		u.ReportReady = true
	case "IN_PROGRESS":
		u.Status = providers.StatusInProgress
		u.Detail = "Applicant started identity verification"
	case "PROCESSING":
		u.Status = providers.StatusInProgress
		u.Detail = "Truuth is checking the applicant's documents"
	case "ERROR":
		u.Status = providers.StatusFailed
		u.Detail = "Truuth could not complete the verification"
	case "EXPIRED":
		u.Status = providers.StatusExpired
		u.Detail = "The verification invite expired"
	case "CANCELED", "CANCELLED":
		u.Status = providers.StatusCanceled
		u.Detail = "The verification was canceled at Truuth"
	case "PENDING", "CREATED", "INVITED", "NEW", "NOT_STARTED", "UNSPECIFIED":
		u.Detail = "Waiting for the applicant to start"
	default:
		u.Detail = "Truuth reported a status the portal does not know"
		u.Unknown = true
	}
	return u
}

// judge applies R02's overall result rule to the checks and words it for a
// caseworker, naming checks only (never applicant data).
func judge(checks []providers.IdentityCheck) (providers.Outcome, string) {
	if len(checks) == 0 {
		return providers.OutcomeReview, "Needs review: Truuth returned no check results"
	}
	var failed, warned, unclear []string
	for _, ch := range checks {
		name := strings.ToLower(ch.Name)
		if name == "" {
			name = "unnamed"
		}
		switch resultKindOf(ch.Result) {
		case resultPass:
		case resultWarning:
			warned = append(warned, name)
		case resultFail:
			failed = append(failed, name)
		default:
			unclear = append(unclear, name)
		}
	}
	switch {
	case len(failed) > 0:
		return providers.OutcomeFail, "Rejected: " + checkList(failed) + " failed"
	case len(warned) > 0 || len(unclear) > 0:
		var parts []string
		if len(warned) > 0 {
			parts = append(parts, checkList(warned)+" warned")
		}
		if len(unclear) > 0 {
			parts = append(parts, checkList(unclear)+" gave no clear result")
		}
		return providers.OutcomeReview, "Needs review: " + strings.Join(parts, "; ")
	}
	return providers.OutcomePass, "Identity approved"
}

// checkList words check names: "document check", "address and liveness checks".
func checkList(names []string) string {
	switch len(names) {
	case 1:
		return names[0] + " check"
	case 2:
		return names[0] + " and " + names[1] + " checks"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " checks"
}

// cleanText trims a provider-supplied label, drops control characters (log
// and page safety) and caps its length.
func cleanText(s string) string {
	const maxRunes = 60
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsControl(r) {
			continue
		}
		if n == maxRunes {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

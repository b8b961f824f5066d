package payscore

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"caseverify/providers"
)

// SignatureHeader carries the webhook signature: hex HMAC-SHA256 of the raw
// body keyed with the secret key [S02, P05].
const SignatureHeader = "Verification-Signature"

// The legacy webhook codes [S02]. There are nineteen: spec.md §3.3 counts
// eighteen because it lists APPLICANT_ADDED and APPLICANT_REMOVED on one row.
const (
	CodeBeginScreening                      = "BEGIN_SCREENING"
	CodeScreeningCompleted                  = "SCREENING_COMPLETED"
	CodeScreeningGroupCompleted             = "SCREENING_GROUP_COMPLETED"
	CodeBankNotSupported                    = "BANK_NOT_SUPPORTED"
	CodeNoOnlineBanking                     = "NO_ONLINE_BANKING"
	CodeNoBank                              = "NO_BANK"
	CodeBankCannotConnect                   = "BANK_CANNOT_CONNECT"
	CodeShareBank                           = "SHARE_BANK"
	CodeNoIncome                            = "NO_INCOME"
	CodeReOpenScreening                     = "RE_OPEN_SCREENING"
	CodeReportSoonToExpire                  = "REPORT_SOON_TO_EXPIRE"
	CodeReportExpired                       = "REPORT_EXPIRED"
	CodeInviteExpired                       = "INVITE_EXPIRED"
	CodeApplicantAdded                      = "APPLICANT_ADDED"
	CodeApplicantRemoved                    = "APPLICANT_REMOVED"
	CodeInitialTOSAndPrivacyPolicyConsent   = "INITIAL_TOS_AND_PRIVACY_POLICY_CONSENT"
	CodeBankConnectionAccuracyConsent       = "BANK_CONNECTION_ACCURACY_CONSENT"
	CodeCombinedAccountsAccuracyConsent     = "COMBINED_ACCOUNTS_ACCURACY_CONSENT"
	CodeFinalAccuracyAndCompletenessConsent = "FINAL_ACCURACY_AND_COMPLETENESS_CONSENT"
)

// Sign returns the Verification-Signature value for body: lowercase hex of
// HMAC-SHA256(secret, body). The emulator signs with it; tests use it too.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Authenticate checks the Verification-Signature header against the raw
// body in constant time. Hex case does not matter (both sides are compared
// as bytes). A missing, empty, repeated or non-hex header, or a wrong
// signature, returns an error wrapping providers.ErrUnauthenticated. The
// error never contains body bytes.
func (c *Client) Authenticate(d providers.Delivery) error {
	vals := d.Header.Values(SignatureHeader)
	switch {
	case len(vals) == 0:
		return fmt.Errorf("payscore: %w: no %s header", providers.ErrUnauthenticated, SignatureHeader)
	case len(vals) > 1:
		// Two signatures cannot both be right; taking either would let an
		// attacker add one.
		return fmt.Errorf("payscore: %w: repeated %s header", providers.ErrUnauthenticated, SignatureHeader)
	}
	got, err := hex.DecodeString(strings.TrimSpace(vals[0]))
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("payscore: %w: %s is not a hex SHA-256 digest", providers.ErrUnauthenticated, SignatureHeader)
	}
	m := hmac.New(sha256.New, c.webhookSecret)
	m.Write(d.Body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return fmt.Errorf("payscore: %w: signature mismatch", providers.ErrUnauthenticated)
	}
	return nil
}

// DedupeKey returns "" for every delivery: Payscore's bodies carry no event
// id, and a legitimate SCREENING_GROUP_COMPLETED re-fire is byte-identical
// to a duplicate, so nothing may be dropped as "seen" (reliability.md W8).
func (c *Client) DedupeKey(d providers.Delivery) string { return "" }

// webhookBody is every field a legacy webhook can carry [S02].
type webhookBody struct {
	Code             *string         `json:"code"`
	ScreeningGroupID *string         `json:"screening_group_id"`
	ScreeningID      *string         `json:"screening_id"`
	BankConnectionID *string         `json:"bank_connection_id"`
	Value            json.RawMessage `json:"value"`
}

// applicantValue is the value of APPLICANT_ADDED / APPLICANT_REMOVED. Email
// and phone are deliberately not decoded: they must not travel further.
type applicantValue struct {
	FirstName string `json:"applicant_first_name"`
	LastName  string `json:"applicant_last_name"`
}

// Parse turns a delivery into updates. Every documented code gives exactly
// one update. An unknown code gives one informational update (RawEvent the
// code, no status: the order keeps its status, and the timeline shows the
// code), marked Unknown so the portal logs it (spec.md §7: unknown values
// are kept in the previous status and logged). Invalid JSON, a missing code or screening_group_id, a
// missing screening_id where the code is about one applicant, or a value of
// the wrong type returns an error wrapping providers.ErrMalformed.
func (c *Client) Parse(d providers.Delivery) ([]providers.Update, error) {
	ups, _, err := parseWebhook(d.Body)
	return ups, err
}

// ParseWebhook is Parse on a raw body; it needs no Client (and logs nothing).
func ParseWebhook(body []byte) ([]providers.Update, error) {
	ups, _, err := parseWebhook(body)
	return ups, err
}

// parseWebhook is ParseWebhook that also says whether the code is known.
func parseWebhook(body []byte) ([]providers.Update, bool, error) {
	ups, err := parseBody(body)
	if errors.Is(err, errUnknownCode) {
		return ups, false, nil
	}
	return ups, true, err
}

// errUnknownCode marks a well-formed delivery with a code this adapter does
// not know (parseBody then returns its informational update).
var errUnknownCode = errors.New("payscore: unknown webhook code")

func parseBody(body []byte) ([]providers.Update, error) {
	var w webhookBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, malformed("body is not a JSON object")
	}
	if dec.More() {
		return nil, malformed("trailing data after the JSON object")
	}
	if w.Code == nil || *w.Code == "" {
		return nil, malformed("no code")
	}
	if w.ScreeningGroupID == nil || *w.ScreeningGroupID == "" {
		return nil, malformed("no screening_group_id")
	}
	code := *w.Code
	u := providers.Update{OrderID: *w.ScreeningGroupID, RawEvent: code}
	if w.ScreeningID != nil {
		u.SubID = *w.ScreeningID
	}
	needSub := func() error {
		if u.SubID == "" {
			return malformed(code + " without screening_id")
		}
		return nil
	}

	switch code {
	case CodeBeginScreening:
		u.Status, u.Detail = providers.StatusInProgress, "Started the Payscore screening."
	case CodeScreeningCompleted:
		// The member is done; the order completes with the group.
		u.Status, u.Detail = providers.StatusCompleted, "Finished the Payscore screening."
	case CodeScreeningGroupCompleted:
		u.SubID = ""
		u.Status, u.ReportReady, u.Refetch = providers.StatusCompleted, true, true
		u.Detail = "Every household member finished; the Payscore report is ready."
	case CodeBankNotSupported, CodeNoOnlineBanking, CodeBankCannotConnect:
		bank, err := stringValue(w.Value)
		if err != nil {
			return nil, malformed(code + " value is not a bank name")
		}
		u.Status, u.Detail = providers.StatusActionRequired, bankDetail(code, bank)
	case CodeNoBank:
		u.Status, u.Outcome, u.Detail = providers.StatusCompleted, providers.OutcomeNoBank, "Said they have no bank account."
	case CodeShareBank:
		u.Status, u.Outcome, u.Detail = providers.StatusCompleted, providers.OutcomeSharedBank, "Said they share a bank account with another household member."
	case CodeNoIncome:
		u.Status, u.Outcome, u.Detail = providers.StatusCompleted, providers.OutcomeNoIncome, "Said they have no income."
	case CodeReOpenScreening:
		// The documented way back from completed (payscore-webhooks.txt).
		u.Status, u.Detail = providers.StatusInProgress, "Re-opened the Payscore screening to make changes."
	case CodeReportSoonToExpire:
		u.SubID = ""
		u.ReportExpiresSoon, u.Detail = true, "The Payscore report expires in 2 days."
	case CodeReportExpired:
		// §7.3: keep the order completed; only the report is gone.
		u.SubID = ""
		u.ReportExpired, u.Detail = true, "The Payscore report has expired (reports are kept 14 days)."
	case CodeInviteExpired:
		u.Status, u.Detail = providers.StatusExpired, "The Payscore invitation expired before it was finished (14 days)."
	case CodeApplicantAdded, CodeApplicantRemoved:
		var a applicantValue
		if len(w.Value) > 0 && string(w.Value) != "null" {
			if err := json.Unmarshal(w.Value, &a); err != nil {
				return nil, malformed(code + " value is not an applicant")
			}
		}
		verb := "added"
		if code == CodeApplicantRemoved {
			verb = "removed"
		}
		u.Detail = "Applicant " + verb + shortName(a.FirstName, a.LastName)
	case CodeInitialTOSAndPrivacyPolicyConsent, CodeBankConnectionAccuracyConsent,
		CodeCombinedAccountsAccuracyConsent, CodeFinalAccuracyAndCompletenessConsent:
		at, err := unixValue(w.Value)
		if err != nil {
			return nil, malformed(code + " value is not a Unix time")
		}
		u.At, u.Detail = at, consentDetail(code)
	default:
		// A code this adapter does not know: the order keeps its status
		// and the raw code goes on the timeline. Its value and screening
		// are not read (their meaning is unknown).
		return []providers.Update{{OrderID: u.OrderID, RawEvent: cleanText(code, 64), Unknown: true}}, errUnknownCode
	}

	switch code {
	case CodeBeginScreening, CodeScreeningCompleted, CodeBankNotSupported, CodeNoOnlineBanking,
		CodeBankCannotConnect, CodeNoBank, CodeShareBank, CodeNoIncome, CodeReOpenScreening, CodeInviteExpired:
		// These change one member's status; without the screening the
		// update would land on the whole household.
		if err := needSub(); err != nil {
			return nil, err
		}
	}
	return []providers.Update{u}, nil
}

// consentDetail names the consent a consent code records.
func consentDetail(code string) string {
	switch code {
	case CodeInitialTOSAndPrivacyPolicyConsent:
		return "Consented to the Payscore Terms of Service and Privacy Policy."
	case CodeBankConnectionAccuracyConsent:
		return "Confirmed a bank connection's income summary is accurate and complete."
	case CodeCombinedAccountsAccuracyConsent:
		return "Confirmed the combined income summary of all bank connections is accurate and complete."
	default:
		return "Gave final consent and submitted the income report."
	}
}

func malformed(why string) error {
	return fmt.Errorf("payscore: %w: %s", providers.ErrMalformed, why)
}

// bankDetail names the reason and the bank, which is not PII.
func bankDetail(code, bank string) string {
	reason := "Bank could not connect"
	switch code {
	case CodeBankNotSupported:
		reason = "Bank not supported"
	case CodeNoOnlineBanking:
		reason = "No online banking"
	}
	bank = cleanText(bank, 80)
	if bank == "" {
		return reason + "."
	}
	return reason + ": " + bank
}

// shortName gives ": Jane D." for a first name and last initial (enough for
// a caseworker to recognise a household member without the full name),
// ": Jane." without a last name, and "." without any name.
func shortName(first, last string) string {
	first = cleanText(first, 40)
	var initial string
	for _, r := range cleanText(last, 40) {
		initial = string(unicode.ToUpper(r)) + "."
		break
	}
	switch {
	case first != "" && initial != "":
		return ": " + first + " " + initial
	case first != "":
		return ": " + first + "."
	}
	return "."
}

// cleanText drops control characters (no log or HTML line tricks) and caps
// the length in runes.
func cleanText(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if unicode.IsControl(r) {
			continue
		}
		if n == max {
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// stringValue reads a string value; a missing or null value is "".
func stringValue(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// unixValue reads a Unix-seconds value given as a number or a numeric string.
func unixValue(raw json.RawMessage) (time.Time, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("not a Unix time")
	}
	sec := int64(f)
	return time.Unix(sec, 0).UTC(), nil
}

// mapScreening maps a screening's screening_status and reason_completed
// (from GET /api/v1/screening_groups/{id}) per spec.md §7.3. RawStatus is
// "status/reason". not_started maps to no status (the portal already knows
// the order was created or sent). Unknown values map to no status.
func mapScreening(status, reason string) providers.Update {
	u := providers.Update{RawEvent: "screening_status", RawStatus: status}
	if reason != "" {
		u.RawStatus = status + "/" + reason
	}
	switch status {
	case "in_progress":
		u.Status = providers.StatusInProgress
	case "completed":
		u.Status = providers.StatusCompleted
		switch reason {
		case "finished":
			u.Outcome = providers.OutcomeVerified
		case "no_bank":
			u.Outcome, u.Detail = providers.OutcomeNoBank, "Said they have no bank account."
		case "share_bank", "shared_bank":
			u.Outcome, u.Detail = providers.OutcomeSharedBank, "Said they share a bank account with another household member."
		case "no_income":
			u.Outcome, u.Detail = providers.OutcomeNoIncome, "Said they have no income."
		case "", "not_completed":
		default:
			// e.g. no_online_banking: completed without bank data. The
			// portal shows unknown outcomes verbatim.
			u.Outcome = providers.Outcome(reason)
		}
	case "expired":
		// Emulator value for an invite past 14 days (UNCONFIRMED).
		u.Status = providers.StatusExpired
	case "", "not_started":
	default:
		u.Unknown = true
	}
	return u
}

// mapGroup maps the group's own status: completed means the report is
// ready; is_report_expired flags a report past its 14 days.
func mapGroup(status string, reportExpired bool) providers.Update {
	u := providers.Update{RawEvent: "screening_group_status", RawStatus: status, ReportExpired: reportExpired}
	switch status {
	case "in_progress":
		u.Status = providers.StatusInProgress
	case "completed":
		u.Status, u.ReportReady = providers.StatusCompleted, true
	case "", "created", "not_started", "pending":
	default:
		u.Unknown = true
	}
	if reportExpired {
		u.ReportReady = false
		u.Detail = "The Payscore report has expired (reports are kept 14 days)."
	}
	return u
}

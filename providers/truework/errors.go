package truework

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"caseverify/providers"
)

// Error codes set on providers.ProviderError.Code. Truework's error body has
// only a message [T01], so the code names the HTTP status in words the
// portal can branch on.
const (
	CodeInvalidRequest       = "invalid_request"       // 400
	CodeUnauthorized         = "unauthorized"          // 401
	CodeForbidden            = "forbidden"             // 403
	CodeNotFound             = "not_found"             // 404
	CodeInvalidVersion       = "invalid_version"       // 406
	CodeRateLimited          = "rate_limited"          // 429
	CodeFrozenSSN            = "frozen_ssn"            // 451
	CodeServerError          = "server_error"          // 5xx
	CodeNotImplemented       = "not_implemented"       // 501
	CodeUnreachable          = "unreachable"           // no answer (network, timeout)
	CodeBadResponse          = "bad_response"          // an answer the adapter cannot read
	CodeValidation           = "validation"            // refused before calling Truework
	CodeReverificationWindow = "reverification_window" // older than 90 days
)

// MsgFrozenSSN is the caseworker message for HTTP 451 (Frozen SSN): it says
// what the applicant has to do, because nothing the caseworker changes in
// the request will help.
const MsgFrozenSSN = "The applicant's SSN is frozen at the credit bureaus. Ask them to lift the freeze with Equifax (The Work Number), then send the verification again."

// MsgReverificationWindow is the caseworker message when a reverification is
// asked for a report completed more than 90 days ago [T01, S00].
const MsgReverificationWindow = "Truework reverification is only possible within 90 days of the original verification."

// fieldNames maps the request fields Truework may name in a 400 message to
// the portal's names for them (ProviderError.Fields keys).
func fieldNames() []struct{ wire, portal string } {
	return []struct{ wire, portal string }{
		{"social_security_number", "ssn"},
		{"date_of_birth", "date_of_birth"},
		{"contact_email", "email"},
		{"phone_number", "phone"},
		{"first_name", "first_name"},
		{"last_name", "last_name"},
		{"companies", "employers"},
		{"report_id", "report_id"},
	}
}

// apiError turns a non-2xx answer into a *providers.ProviderError. The
// provider's own message is used only when it cannot carry personal data
// (see safeMessage); the raw body never leaves this function.
func apiError(status int, header http.Header, body []byte, now time.Time) *providers.ProviderError {
	var eb errorBody
	_ = json.Unmarshal(body, &eb) // a body that is not the documented shape just has no message
	msg := safeMessage(eb.Error.Message)

	pe := &providers.ProviderError{Provider: ProviderName, HTTPStatus: status}
	switch {
	case status == http.StatusBadRequest:
		pe.Code = CodeInvalidRequest
		if msg != "" {
			pe.Message = "Truework did not accept the request: " + strings.TrimSuffix(plainFieldWords.Replace(msg), ".") + "."
		} else {
			pe.Message = "Truework did not accept the request. Check the applicant's name, SSN, date of birth and email, then try again."
		}
		pe.Fields = namedFields(eb.Error.Message)
	case status == http.StatusUnauthorized:
		pe.Code = CodeUnauthorized
		pe.Message = "Truework did not accept the portal's API key. Ask an administrator to check the Truework settings."
	case status == http.StatusForbidden:
		pe.Code = CodeForbidden
		pe.Message = "The portal's Truework account is not allowed to do this. Ask an administrator to contact Truework."
	case status == http.StatusNotFound:
		pe.Code = CodeNotFound
		pe.Message = "Truework has no record of this order or report."
		pe.Err = providers.ErrNotFound
	case status == http.StatusNotAcceptable:
		pe.Code = CodeInvalidVersion
		pe.Message = "Truework did not accept the API version the portal uses. The portal needs an update; tell an administrator."
	case status == http.StatusTooManyRequests:
		pe.Code = CodeRateLimited
		pe.Message = "Truework is receiving too many requests right now. Wait a minute, then try again."
		pe.Retryable = true
		pe.RetryAfter = providers.RetryAfter(header.Get("Retry-After"), now)
	case status == http.StatusUnavailableForLegalReasons:
		pe.Code = CodeFrozenSSN
		pe.Message = MsgFrozenSSN
	case status == http.StatusNotImplemented:
		pe.Code = CodeNotImplemented
		pe.Message = "Truework does not support this request."
	case status >= 500:
		pe.Code = CodeServerError
		pe.Message = "Truework is having a problem right now. Try again in a few minutes."
		pe.Retryable = true
		pe.RetryAfter = providers.RetryAfter(header.Get("Retry-After"), now)
	default:
		pe.Code = "http_" + strconv.Itoa(status)
		pe.Message = "Truework refused the request."
	}
	return pe
}

// transportError wraps a call that got no answer (network error, timeout).
func transportError(err error) *providers.ProviderError {
	return &providers.ProviderError{
		Provider:  ProviderName,
		Code:      CodeUnreachable,
		Message:   "The portal could not reach Truework. Try again in a few minutes.",
		Retryable: true,
		Err:       err,
	}
}

// decodeError wraps an answer whose body the adapter cannot read. The body
// itself is not kept: it may hold PII.
func decodeError(status int, what string, err error) *providers.ProviderError {
	return &providers.ProviderError{
		Provider:   ProviderName,
		HTTPStatus: status,
		Code:       CodeBadResponse,
		Message:    "Truework sent an answer the portal could not read.",
		Err:        fmt.Errorf("decode %s: %w", what, err),
	}
}

// validationError is a request the adapter refuses before calling Truework,
// naming the fields (never their values).
func validationError(msg string, fields map[string]string) *providers.ProviderError {
	return &providers.ProviderError{
		Provider: ProviderName,
		Code:     CodeValidation,
		Message:  msg,
		Fields:   fields,
	}
}

// safeMessage returns Truework's error message when it is safe to show, or
// "". A message is dropped, rather than shown redacted, when it echoes a
// submitted value (providers.EchoesPII: an email, an SSN or its last 4, a
// phone number, a date of birth): the portal's own sentence says more. The
// 400 default "Invalid field values provided" and messages that only name
// fields pass.
func safeMessage(m string) string {
	m = strings.TrimSpace(m)
	if m == "" || len(m) > 300 || providers.EchoesPII(m) {
		return ""
	}
	return m
}

// plainFieldWords puts the caseworker's words in place of the request
// field names a 400 message may use: the message is shown on the page.
var plainFieldWords = strings.NewReplacer(
	"social_security_number", "the SSN",
	"date_of_birth", "the date of birth",
	"contact_email", "the email address",
	"phone_number", "the phone number",
	"first_name", "the first name",
	"last_name", "the last name",
)

// namedFields lists the request fields a 400 message names, so the portal
// can point at them. Only field names are looked for, never values.
func namedFields(m string) map[string]string {
	var out map[string]string
	for _, f := range fieldNames() {
		if strings.Contains(m, f.wire) {
			if out == nil {
				out = map[string]string{}
			}
			out[f.portal] = "Truework did not accept this value."
		}
	}
	return out
}

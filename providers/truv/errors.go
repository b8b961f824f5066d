package truv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"caseverify/providers"
)

// Messages a caseworker reads. They never carry a value from the request or
// the answer body, so no PII can leak through them.
const (
	msgBadRequest   = "Truv rejected the request as invalid."
	msgUnauthorized = "The portal's Truv credentials were rejected. Ask an administrator to check TRUV_CLIENT_ID and TRUV_ACCESS_SECRET."
	msgForbidden    = "Truv refused this request with the portal's credentials (for example sandbox credentials used for a production order). Ask an administrator to check the Truv settings."
	msgNotFound     = "Truv has no record of this order or report."
	msgGone         = "The Truv link or token has expired. Send the applicant a new link."
	msgThrottled    = "Truv is receiving too many requests right now. Wait a minute, then try again."
	msgRefreshLimit = "Truv allows 3 refreshes per connection in 24 hours and this connection has reached the limit. Try again tomorrow or send the applicant a new link."
	msgServer       = "Truv is having problems right now. Try again in a few minutes."
	msgUnreachable  = "The portal could not reach Truv. Try again in a few minutes."
	msgPortalBug    = "Truv did not accept the portal's request format. This is a portal problem; please report it."
)

// invalidRequest is an error found before calling Truv.
func invalidRequest(msg string, fields ...string) *providers.ProviderError {
	f := make(map[string]string, len(fields))
	for _, name := range fields {
		f[name] = "required"
	}
	return &providers.ProviderError{Provider: "truv", Message: msg, Fields: f}
}

// unreachable wraps a transport error: the call got no answer.
func unreachable(err error) *providers.ProviderError {
	return &providers.ProviderError{Provider: "truv", Message: msgUnreachable, Retryable: true, Err: err}
}

// noAnswer says the call got no HTTP answer, so a create may or may not have
// been committed. A canceled caller context is not counted: the caller gave up.
func noAnswer(err error) bool {
	var pe *providers.ProviderError
	return errors.As(err, &pe) && pe.HTTPStatus == 0 && pe.Retryable && !errors.Is(err, context.Canceled)
}

// apiError turns a non-2xx answer into a ProviderError (spec §2.3).
func (c *Client) apiError(a *answer) *providers.ProviderError {
	pe := &providers.ProviderError{Provider: "truv", HTTPStatus: a.status}
	var w wireError
	_ = json.Unmarshal(a.body, &w) // an unreadable body still has a status
	if w.Error != nil {
		pe.Code = w.Error.Code
		if w.Error.Extra != nil {
			pe.Fields = invalidParams(w.Error.Extra.InvalidParams)
		}
	}
	switch {
	case a.status == http.StatusBadRequest:
		pe.Message = msgBadRequest
		if len(pe.Fields) > 0 {
			names := make([]string, 0, len(pe.Fields))
			for k := range pe.Fields {
				names = append(names, k)
			}
			sort.Strings(names)
			pe.Message = "Truv rejected the request because of these fields: " + strings.Join(names, ", ") + "."
		}
	case a.status == http.StatusUnauthorized:
		pe.Message = msgUnauthorized
	case a.status == http.StatusForbidden:
		pe.Message = msgForbidden
	case a.status == http.StatusNotFound:
		pe.Message = msgNotFound
		pe.Err = providers.ErrNotFound
	case a.status == http.StatusGone:
		pe.Message = msgGone
	case a.status == http.StatusTooManyRequests && pe.Code == c.refreshLimitCode:
		// Not Retryable: an automatic retry would only meet the same limit
		// and each refresh is billed; RetryAfter still says when it lifts.
		pe.Message = msgRefreshLimit
		pe.Err = providers.ErrLimitReached
		pe.RetryAfter = providers.RetryAfter(a.header.Get("Retry-After"), c.now())
	case a.status == http.StatusTooManyRequests:
		pe.Message = msgThrottled
		pe.Retryable = true
		pe.RetryAfter = providers.RetryAfter(a.header.Get("Retry-After"), c.now())
	case a.status == http.StatusMethodNotAllowed, a.status == http.StatusNotAcceptable, a.status == http.StatusUnsupportedMediaType:
		pe.Message = msgPortalBug
	case a.status >= 500:
		pe.Message = msgServer
		pe.Retryable = true
		pe.RetryAfter = providers.RetryAfter(a.header.Get("Retry-After"), c.now())
	default:
		pe.Message = fmt.Sprintf("Truv returned an unexpected answer (HTTP %d).", a.status)
	}
	return pe
}

// invalidParams reads extra["invalid-params"]. Its item shape is not
// documented (spec §2.3 shows an empty list), so it accepts RFC 7807-style
// {"name","reason"} objects, a few synonyms, and bare field-name strings.
func invalidParams(items []json.RawMessage) map[string]string {
	if len(items) == 0 {
		return nil
	}
	out := make(map[string]string, len(items))
	for _, raw := range items {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			if name != "" {
				out[name] = "invalid"
			}
			continue
		}
		var obj map[string]any
		if json.Unmarshal(raw, &obj) != nil {
			continue
		}
		name = firstString(obj, "name", "field", "param", "parameter")
		if name == "" {
			continue
		}
		reason := firstString(obj, "reason", "message", "detail", "error")
		// A reason that echoes a value (personal data, or any quoted value)
		// is replaced: the field name says enough.
		if reason == "" || providers.EchoesPII(reason) || strings.ContainsAny(reason, `'"`) || len(reason) > 120 {
			reason = "invalid"
		}
		out[name] = reason
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func firstString(m map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

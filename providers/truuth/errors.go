package truuth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"caseverify/providers"
)

// apiError turns an error answer into a ProviderError a caseworker can read.
// Truuth's error body shape is UNCONFIRMED: the Contract's message, code and
// field-list names are tried, and whatever the provider says is scrubbed of
// anything that looks like personal data before it reaches Message or Fields.
// The body itself is never echoed.
func apiError(status int, h http.Header, body []byte, ct Contract) *providers.ProviderError {
	pe := &providers.ProviderError{Provider: Name, HTTPStatus: status}
	var said string
	if m, err := decodeObject(body); err == nil {
		for _, f := range ct.ErrorMessageFields {
			if said = providers.Redact(getString(m, f)); said != "" {
				break
			}
		}
		pe.Code = cleanText(getString(m, ct.ErrorCodeField))
		pe.Fields = errorFields(m, ct)
	}
	switch {
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		pe.Message = "Truuth rejected the request"
		if said != "" {
			pe.Message += ": " + lowerFirst(strings.TrimRight(said, ". "))
		}
		if len(pe.Fields) > 0 {
			pe.Message += " (check " + strings.Join(sortedKeys(pe.Fields), ", ") + ")"
		}
		pe.Message = sentence(pe.Message)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		pe.Message = "Truuth refused the portal's API credentials. An administrator should check the Truuth API key, secret and tenant."
	case status == http.StatusNotFound || status == http.StatusGone:
		pe.Message = "Truuth has no record of this verification."
		pe.Err = providers.ErrNotFound
	case status == http.StatusConflict:
		// Truuth's uses of 409 are unknown: a duplicate reference, an invite
		// for a finished verification, a report not ready yet.
		pe.Message = "Truuth refused the request because of the verification's current state."
		if said != "" {
			pe.Message = sentence("Truuth refused the request: " + lowerFirst(strings.TrimRight(said, ". ")))
		}
	case status == http.StatusTooManyRequests:
		pe.Message = "Truuth is receiving too many requests. Try again in a minute."
		pe.Retryable = true
		pe.RetryAfter = providers.RetryAfter(h.Get("Retry-After"), time.Now())
	case status >= 500:
		pe.Message = "Truuth is having problems right now. Try again in a few minutes."
		pe.Retryable = true
		pe.RetryAfter = providers.RetryAfter(h.Get("Retry-After"), time.Now())
	default:
		pe.Message = fmt.Sprintf("Truuth refused the request (HTTP %d).", status)
	}
	return pe
}

// reportLinkError maps a failed download from the pre-signed report URL.
// Object storage answers 403 once a signature expires, so 403 and 404 mean
// "ask for a fresh link", not "bad credentials".
func reportLinkError(resp *http.Response) *providers.ProviderError {
	pe := &providers.ProviderError{Provider: Name, HTTPStatus: resp.StatusCode, Retryable: true}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		pe.Message = "Truuth's report storage is not answering. Try again in a few minutes."
		pe.RetryAfter = providers.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	default:
		pe.Message = "The report link from Truuth has expired. Try downloading the report again."
	}
	return pe
}

// transportError maps a call that got no answer: timeouts and network
// errors are retryable, a caller's cancellation is not.
func transportError(ctx context.Context, err error) *providers.ProviderError {
	pe := &providers.ProviderError{Provider: Name, Err: err}
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		pe.Message = "The request to Truuth was canceled."
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		pe.Message = "Truuth did not answer in time. Try again in a few minutes."
		pe.Retryable = true
	default:
		pe.Message = "The portal could not reach Truuth. Try again in a few minutes."
		pe.Retryable = true
	}
	return pe
}

// unreadable is the error for a success answer that is not the JSON we need.
func unreadable(status int) *providers.ProviderError {
	return &providers.ProviderError{Provider: Name, HTTPStatus: status,
		Message: "Truuth sent an answer the portal could not read."}
}

// errorFields reads the per-field problems: either a list of
// {field, message} objects or an object mapping field to message.
func errorFields(m map[string]any, ct Contract) map[string]string {
	v, ok := getPath(m, ct.ErrorFieldsField)
	if !ok {
		return nil
	}
	out := map[string]string{}
	add := func(field, msg string) {
		field = cleanText(field)
		if field == "" {
			return
		}
		if msg = providers.Redact(msg); msg == "" {
			msg = "invalid"
		}
		out[field] = msg
	}
	switch t := v.(type) {
	case []any:
		for _, item := range t {
			if obj, ok := item.(map[string]any); ok {
				add(getString(obj, ct.ErrorFieldNameField), getString(obj, ct.ErrorFieldMessageField))
			}
		}
	case map[string]any:
		for k, val := range t {
			s, _ := val.(string)
			add(k, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// sentence ends s with a full stop.
func sentence(s string) string {
	s = strings.TrimRight(s, " ")
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

// lowerFirst lower-cases the first letter of a provider message that
// continues our sentence, leaving acronyms ("JSON ...") alone.
func lowerFirst(s string) string {
	if len(s) < 2 || s[0] < 'A' || s[0] > 'Z' || (s[1] >= 'A' && s[1] <= 'Z') {
		return s
	}
	return string(s[0]+('a'-'A')) + s[1:]
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package payscore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"caseverify/providers"
)

// operation says which call failed, so a 404 can read "not ready yet" for a
// report and "no such screening group" elsewhere.
type operation int

const (
	opAuth operation = iota
	opCreate
	opGroup
	opReport
)

// errorBody is the error answer. UNCONFIRMED: Payscore documents 400
// "Bad request - validation errors" without a body shape; the emulator sends
// {"errors":[{"field","message"}]}, and {"message"} / {"error"} are read too.
type errorBody struct {
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
		Code    string `json:"code"`
	} `json:"errors"`
	Message string `json:"message"`
	Error   string `json:"error"`
	Code    string `json:"code"`
}

// apiError turns a non-success answer into a ProviderError a caseworker can
// read. It never copies the raw body; field messages are scrubbed of
// anything that looks like an email address or a phone number.
func (c *Client) apiError(op operation, r *response) error {
	pe := &providers.ProviderError{Provider: Name, HTTPStatus: r.status}
	var eb errorBody
	_ = json.Unmarshal(r.body, &eb) // an unreadable body still gets a status-based message
	pe.Code = eb.Code
	for _, e := range eb.Errors {
		if pe.Code == "" && e.Code != "" {
			pe.Code = e.Code
		}
		if e.Field == "" {
			continue
		}
		if pe.Fields == nil {
			pe.Fields = map[string]string{}
		}
		msg := providers.Redact(e.Message)
		if msg == "" {
			msg = "is invalid"
		}
		pe.Fields[e.Field] = msg
	}
	switch s := r.status; {
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		if pe.Code == "" {
			pe.Code = "validation_failed"
		}
		if len(pe.Fields) > 0 {
			pe.Message = "Payscore rejected some details of the request: " + strings.Join(limit(sortedKeys(pe.Fields), 5), ", ") + ". Check them and try again."
		} else {
			pe.Message = "Payscore rejected the request. Check the household members' names, email addresses and phone numbers, then try again."
		}
	case s == http.StatusUnauthorized:
		pe.Code = orDefault(pe.Code, "unauthorized")
		pe.Message = "Payscore did not accept our credentials. An administrator should check the Payscore client ID and secret key."
	case s == http.StatusForbidden:
		pe.Code = orDefault(pe.Code, "forbidden")
		pe.Message = "Payscore refused access to this screening group. It may belong to another Payscore account."
	case s == http.StatusNotFound && (op == opAuth || op == opCreate):
		pe.Code = orDefault(pe.Code, "endpoint_not_found")
		pe.Message = "Payscore does not know this API address. An administrator should check the Payscore base URL."
	case s == http.StatusNotFound && op == opReport:
		pe.Code = orDefault(pe.Code, "report_not_ready")
		pe.Message = "The Payscore report is not ready yet. It is ready once every household member has finished."
		pe.Err = providers.ErrNotFound
	case s == http.StatusNotFound:
		pe.Code = orDefault(pe.Code, "not_found")
		pe.Message = "Payscore has no screening group with this ID. It may have been deleted."
		pe.Err = providers.ErrNotFound
	case s == http.StatusGone:
		pe.Code = orDefault(pe.Code, "report_expired")
		pe.Message = "The Payscore report has expired (reports are kept 14 days)."
		pe.Err = ErrReportExpired
	case s == http.StatusTooManyRequests:
		pe.Code = orDefault(pe.Code, "rate_limited")
		pe.Message = "Payscore is receiving too many requests. Try again in a moment."
		pe.Retryable = true
		pe.RetryAfter = providers.RetryAfter(r.header.Get("Retry-After"), c.now())
	case s >= 500:
		pe.Code = orDefault(pe.Code, "provider_unavailable")
		pe.Message = "Payscore is having trouble right now. Try again in a few minutes."
		pe.Retryable = true
		pe.RetryAfter = providers.RetryAfter(r.header.Get("Retry-After"), c.now())
	default:
		pe.Message = fmt.Sprintf("Payscore answered with an unexpected status (%d).", s)
	}
	if op == opAuth && r.status == http.StatusBadRequest {
		pe.Message = "Payscore did not accept the sign-in request. An administrator should check the Payscore client ID and secret key."
	}
	return pe
}

// transportError describes a call that got no answer. It drops the URL that
// *url.Error carries, because a pre-signed report URL is a secret.
func transportError(err error) *providers.ProviderError {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	pe := &providers.ProviderError{
		Provider: Name, Code: "unreachable", Retryable: true, Err: inner,
		Message: "Could not reach Payscore. Try again in a few minutes.",
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		pe.Code, pe.Retryable, pe.Message = "canceled", false, "The request to Payscore was canceled."
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		pe.Code, pe.Message = "timeout", "Payscore did not answer in time. Try again in a few minutes."
	}
	return pe
}

// badAnswer reports a success status whose body could not be understood.
func badAnswer(status int, err error) error {
	if err == nil {
		err = errors.New("required field missing")
	}
	return &providers.ProviderError{
		Provider: Name, HTTPStatus: status, Code: "bad_response", Retryable: true,
		Message: "Payscore sent an answer we could not read. Try again; if it keeps happening, contact support.",
		Err:     err,
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func limit(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

func orDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

package accountchek

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"caseverify/providers"
)

// Response body limits: JSON answers are small; PDFs can be large.
const (
	maxJSONBody = 4 << 20
	maxPDFBody  = 20 << 20
)

// apiRequest is one call to the Verifier API.
type apiRequest struct {
	method string
	path   string     // already escaped, starting with "/"
	query  url.Values // optional
	body   any        // JSON-encoded when non-nil
	accept string     // default application/json
	limit  int64      // response body limit; default maxJSONBody
}

// call performs req and returns the response body of a 2xx answer. Any other
// answer, and any transport failure, becomes a *providers.ProviderError.
func (c *Client) call(ctx context.Context, req apiRequest) ([]byte, http.Header, error) {
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, nil, fmt.Errorf("accountchek: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.baseURL + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, nil, fmt.Errorf("accountchek: build request: %w", err)
	}
	hreq.SetBasicAuth(c.cfg.Username, c.cfg.Password)
	accept := req.accept
	if accept == "" {
		accept = "application/json"
	}
	hreq.Header.Set("Accept", accept)
	if req.body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		return nil, nil, transportError(ctx, err)
	}
	defer resp.Body.Close()
	limit := req.limit
	if limit == 0 {
		limit = maxJSONBody
	}
	// Read one byte past the limit to tell "exactly at the limit" from "cut".
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, transportError(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, apiError(resp, data)
	}
	if int64(len(data)) > limit {
		return nil, nil, &providers.ProviderError{
			Provider: Name, HTTPStatus: resp.StatusCode,
			Message: "AccountChek sent a larger answer than the portal accepts.",
		}
	}
	return data, resp.Header, nil
}

// callJSON performs req and decodes a 2xx JSON answer into out.
func (c *Client) callJSON(ctx context.Context, req apiRequest, out any) error {
	data, _, err := c.call(ctx, req)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &providers.ProviderError{
			Provider: Name, HTTPStatus: http.StatusOK,
			Message: "AccountChek sent an answer the portal could not read.",
			Err:     err,
		}
	}
	return nil
}

// transportError describes a call that got no answer. Timeouts and network
// failures are retryable; a caller's own cancellation is not.
func transportError(ctx context.Context, err error) error {
	pe := &providers.ProviderError{Provider: Name, Err: err, Retryable: true,
		Message: "The portal could not reach AccountChek; try again in a few minutes."}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		pe.Message = "The request to AccountChek was stopped before it finished."
		pe.Retryable = false
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		pe.Message = "AccountChek did not answer in time; try again in a few minutes."
	}
	return pe
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// errorBody is AccountChek's documented 422 answer (S03).
type errorBody struct {
	General    []string `json:"general"`
	Properties []struct {
		Property string `json:"property"`
		Message  string `json:"message"`
	} `json:"properties"`
}

// apiError translates a non-2xx answer into a ProviderError. The body is
// read only for the documented 422 fields; it is never quoted whole.
func apiError(resp *http.Response, data []byte) *providers.ProviderError {
	pe := &providers.ProviderError{Provider: Name, HTTPStatus: resp.StatusCode}
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		pe.Message = "AccountChek did not accept the portal's credentials; check ACCOUNTCHEK_USERNAME and ACCOUNTCHEK_PASSWORD."
	case code == http.StatusForbidden:
		pe.Message = "The portal's AccountChek user is not allowed to do this; ask AccountChek to check the user's role."
	case code == http.StatusNotFound:
		pe.Message = "AccountChek has no such order, or the portal's AccountChek user cannot see it."
		pe.Err = providers.ErrNotFound
	case code == http.StatusUnprocessableEntity || code == http.StatusBadRequest:
		pe.Message, pe.Fields = validationError(data)
	case code == http.StatusTooManyRequests:
		pe.Message = "AccountChek is receiving too many requests right now. Wait a minute, then try again."
		pe.Retryable = true
	case code >= 500:
		pe.Message = "AccountChek is having a problem right now; try again later."
		pe.Retryable = true
	default:
		pe.Message = "AccountChek refused the request."
	}
	if pe.Retryable {
		pe.RetryAfter = providers.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return pe
}

// rejectedPrefix starts the message of a 422 that carries general reasons.
const rejectedPrefix = "AccountChek did not accept the request: "

// validationError reads a 422 body into a caseworker sentence and a map of
// portal field names to problems.
func validationError(data []byte) (string, map[string]string) {
	var eb errorBody
	_ = json.Unmarshal(data, &eb) // a body that is not the documented shape still gets a message
	var fields map[string]string
	for _, p := range eb.Properties {
		if p.Property == "" {
			continue
		}
		if fields == nil {
			fields = make(map[string]string, len(eb.Properties))
		}
		name := portalField(p.Property)
		msg := portalWords(p.Property, name, providers.Redact(p.Message))
		if msg == "" {
			msg = "is not valid"
		}
		if prev, ok := fields[name]; ok {
			msg = prev + "; " + msg
		}
		fields[name] = msg
	}
	var parts []string
	for _, g := range eb.General {
		if g = providers.Redact(g); g != "" {
			parts = append(parts, g)
		}
	}
	switch {
	case len(parts) > 0:
		return rejectedPrefix + strings.Join(parts, " "), fields
	case len(fields) > 0:
		return "AccountChek did not accept some of the details; check the fields marked.", fields
	}
	return "AccountChek did not accept the request.", fields
}

// portalField maps an AccountChek request property onto the portal's word
// for it, so the portal can mark the right form field:
//
//	email → email            firstName → first_name     lastName → last_name
//	last4SSN, ssn → ssn_last4 (the portal only ever sends the last 4)
//	referenceNumber → case_number                        phoneNumber → phone
//	dateOfBirth → date_of_birth                          notificationUrl → webhook_url
//	employerName → employer   address, address.* → address
//	requestType → voa_request_type  daysBack → days_back  accountMonitoring → account_monitoring
//
// Anything else is kept under AccountChek's own name. Matching ignores case
// and a leading "model." or "request." that ASP.NET sometimes adds.
func portalField(property string) string {
	p := property
	if i := strings.LastIndex(p, "model."); i >= 0 {
		p = p[i+len("model."):]
	}
	p = strings.TrimPrefix(p, "request.")
	lower := strings.ToLower(p)
	if lower == "address" || strings.HasPrefix(lower, "address.") {
		return "address"
	}
	switch lower {
	case "email":
		return "email"
	case "firstname":
		return "first_name"
	case "lastname":
		return "last_name"
	case "last4ssn", "ssn":
		return "ssn_last4"
	case "referencenumber":
		return "case_number"
	case "phonenumber":
		return "phone"
	case "dateofbirth":
		return "date_of_birth"
	case "notificationurl":
		return "webhook_url"
	case "employername":
		return "employer"
	case "requesttype":
		return "voa_request_type"
	case "daysback":
		return "days_back"
	case "accountmonitoring":
		return "account_monitoring"
	}
	return property
}

// fieldWords are the portal's words for the fields portalField names, so a
// message reads as the caseworker's form does, not as AccountChek's API.
var fieldWords = map[string]string{
	"email": "email address", "first_name": "first name", "last_name": "last name",
	"ssn_last4": "last 4 digits of the SSN", "case_number": "case number", "phone": "mobile number",
	"date_of_birth": "date of birth", "employer": "employer", "address": "address",
	"webhook_url": "notification URL",
}

// propertyInMessage matches an AccountChek property name in a message,
// quoted or not, with an optional "model." or "request." in front.
var propertyInMessage = regexp.MustCompile(`['"]?(?:model\.|request\.)?[A-Za-z0-9_.]+['"]?`)

// portalWords rewrites a 422 property message in the portal's words: the
// property's own name (e.g. 'last4SSN') becomes the portal's word for the
// field ("The last 4 digits of the SSN must not be empty."). A message
// without the name keeps its words; an empty one says the value is not
// valid.
func portalWords(property, field, msg string) string {
	words, ok := fieldWords[field]
	if msg == "" {
		if ok {
			return upperFirst(words) + " is not valid."
		}
		return "is not valid"
	}
	if !ok {
		return msg
	}
	out := propertyInMessage.ReplaceAllStringFunc(msg, func(tok string) string {
		bare := strings.Trim(tok, `'"`)
		if strings.EqualFold(portalField(bare), field) && portalField(bare) != bare || strings.EqualFold(bare, property) {
			return words
		}
		return tok
	})
	return upperFirst(out)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

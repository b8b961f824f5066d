package handlers

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/store"
)

// The one mapping from the kinds of error a handler meets to what a person
// sees: the HTTP status and the words. Every page that runs a workflow
// (send, household send, order actions, the contact-center form) and the
// error page itself (handleError) ask explain, so the same error reads the
// same everywhere. Words come only from this file, from ValidationError (the
// store's sentences for a form field), from ProviderError.Message (made
// plain and PII-free by the adapters) and from DeliveryError.Reason (made
// PII-free by the workflow); never from err.Error(), which may hold SQL,
// paths, an internal code or a provider's raw answer.

// errKind says how a page answers an error.
type errKind int

const (
	// kindServer is an error nobody can act on: the generic error page,
	// logged by request id.
	kindServer errKind = iota
	// kindPage is answered by an error page with its own words (not found,
	// a conflict, a refused request).
	kindPage
	// kindBusy is the database busy past its bound (store.BusyError):
	// nothing was saved; 503 with Retry-After, so the request is tried
	// again instead of waiting until the server drops it.
	kindBusy
	// kindInput is a problem with what was typed: the form again, 422.
	kindInput
	// kindProvider is the provider refusing (422) or failing (502).
	kindProvider
	// kindDelivery is a link that was not sent: the order exists.
	kindDelivery
	// kindUnconfirmed is a create the provider did not answer: the order
	// is kept while the portal checks with the provider whether it has it.
	kindUnconfirmed
)

// explained is an error put into words for a page.
type explained struct {
	Kind    errKind
	Status  int
	Heading string // the error page's heading
	Message string // one sentence for the page; PII-free
	// Fields are problems by form field: the store's (kindInput) or the
	// ones the provider named (kindProvider).
	Fields map[string]string
	// RetryAfter is sent as the Retry-After header (kindBusy).
	RetryAfter time.Duration
}

// Words of the error pages.
const (
	headingServer   = "Something went wrong"
	messageServer   = "The portal could not finish this request. Try again; if it keeps happening, tell your administrator the time and the error number below."
	headingNotFound = "Page not found"
	messageNotFound = "There is nothing here, or you do not have access to it. Check the address, or go back to your cases."
)

// explain maps err to what a page shows. what names the action for the
// provider's log line ("an order").
func (h *Handler) explain(err error, what string) explained {
	var he *echo.HTTPError
	var problems store.ValidationError
	var perr *providers.ProviderError
	var derr *verify.DeliveryError
	var uerr *verify.UnconfirmedError
	var busy *store.BusyError
	switch {
	case errors.As(err, &he):
		return httpErrorPage(he)
	case errors.As(err, &problems):
		return explained{Kind: kindInput, Status: http.StatusUnprocessableEntity, Heading: "Check what was entered",
			Message: strings.Join(sortedProblems(problems), " "), Fields: problems}
	case errors.As(err, &perr):
		return explained{Kind: kindProvider, Status: h.providerStatus(perr, what), Heading: "The provider did not accept this",
			Message: perr.Message, Fields: perr.Fields}
	case errors.As(err, &derr):
		return explained{Kind: kindDelivery, Status: http.StatusBadGateway, Heading: "The link was not sent",
			Message: deliveryWords(derr)}
	case errors.As(err, &uerr):
		return explained{Kind: kindUnconfirmed, Status: http.StatusAccepted, Heading: "Checking with " + uerr.Provider,
			Message: uerr.Message()}
	case errors.As(err, &busy):
		return explained{Kind: kindBusy, Status: http.StatusServiceUnavailable, Heading: "The portal is busy",
			Message: "Nothing was saved. Wait a few seconds and try again.", RetryAfter: busy.Wait}
	case errors.Is(err, store.ErrNotFound):
		return explained{Kind: kindPage, Status: http.StatusNotFound, Heading: headingNotFound, Message: messageNotFound}
	case errors.Is(err, store.ErrConflict):
		return explained{Kind: kindPage, Status: http.StatusConflict, Heading: "Changed at the same time",
			Message: "Someone changed this at the same moment. Go back, reload the page and try again."}
	}
	return explained{Kind: kindServer, Status: http.StatusInternalServerError, Heading: headingServer, Message: messageServer}
}

// handled says a page answers this error itself (a form problem, the
// provider's answer, a link not sent); anything else goes to handleError.
func (e explained) handled() bool { return e.Kind >= kindInput }

// deliveryWords is the one sentence for a link that was not sent, e.g. "the
// link was not sent by text message: the applicant replied STOP to this
// number and gets no more texts from it."
func deliveryWords(derr *verify.DeliveryError) string {
	return "the link was not sent by " + verify.ChannelWords(derr.Channel) + ": " + derr.Reason
}

// httpErrorPage words an echo.HTTPError (routing, middleware, paramID).
func httpErrorPage(he *echo.HTTPError) explained {
	e := explained{Kind: kindPage, Status: he.Code, Heading: headingServer, Message: messageServer}
	switch he.Code {
	case http.StatusNotFound:
		e.Heading, e.Message = headingNotFound, messageNotFound
	case http.StatusForbidden:
		e.Heading, e.Message = "Not allowed", "You cannot do that here."
		// A 403's message is the portal's own sentence (roles, CSRF).
		if s, ok := he.Message.(string); ok {
			e.Message = s
		}
	case http.StatusRequestEntityTooLarge:
		e.Heading, e.Message = "Too much data", "What was sent is larger than the portal accepts."
	case http.StatusMethodNotAllowed:
		e.Heading, e.Message = "Not allowed", "That action is not available at this address."
	case http.StatusTooManyRequests:
		e.Heading, e.Message = "Too many requests", "Wait a minute and try again."
	default:
		if he.Code < 500 {
			e.Heading, e.Message = "Request not understood", "The portal could not read this request."
		} else {
			e.Kind = kindServer
		}
	}
	return e
}

// retryAfter is the Retry-After header's value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}

// upperFirst starts a sentence.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// sortedProblems lists a form's problems in a fixed order (by field name).
func sortedProblems(p map[string]string) []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = p[k]
	}
	return out
}

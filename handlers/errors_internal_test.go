package handlers

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/store"
)

// The one mapping: each kind of error, however wrapped, gets its status and
// words, and no page sentence carries the error's own text.
func TestExplain_OneMapping(t *testing.T) {
	h := &Handler{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	internal := "near \"SELEC\": syntax error /var/lib/caseverify.db ssn=123-45-6789"
	wrapped := func(err error) error { return fmt.Errorf("store: Op: %w: %s", err, internal) }
	for _, tc := range []struct {
		name   string
		err    error
		kind   errKind
		status int
		words  string
	}{
		{"server", errors.New(internal), kindServer, 500, messageServer},
		{"not found", wrapped(store.ErrNotFound), kindPage, 404, messageNotFound},
		{"conflict", wrapped(store.ErrConflict), kindPage, 409, "Someone changed this"},
		{"input", wrapped(store.ValidationError{"phone": "Enter a phone number.", "email": "Enter an email."}), kindInput, 422,
			"Enter an email. Enter a phone number."},
		{"provider refused", wrapped(&providers.ProviderError{Provider: "truv", HTTPStatus: 400, Message: "Check the SSN."}),
			kindProvider, 422, "Check the SSN."},
		{"provider failed", wrapped(&providers.ProviderError{Provider: "truv", HTTPStatus: 503, Retryable: true, Message: "Truv did not answer."}),
			kindProvider, 502, "Truv did not answer."},
		{"delivery", wrapped(&verify.DeliveryError{Channel: verify.ChannelSMS, Reason: "the mobile number cannot receive texts."}),
			kindDelivery, 502, "the link was not sent by text message: the mobile number cannot receive texts."},
		{"http 404", echo.NewHTTPError(http.StatusNotFound, internal), kindPage, 404, messageNotFound},
		{"http 400", echo.NewHTTPError(http.StatusBadRequest, internal), kindPage, 400, "could not read this request"},
		{"http 500", echo.NewHTTPError(http.StatusInternalServerError, internal), kindServer, 500, messageServer},
	} {
		e := h.explain(tc.err, "a test")
		if e.Kind != tc.kind || e.Status != tc.status {
			t.Errorf("%s: kind %d status %d, want %d %d", tc.name, e.Kind, e.Status, tc.kind, tc.status)
		}
		if !strings.Contains(e.Message, tc.words) {
			t.Errorf("%s: message %q, want %q", tc.name, e.Message, tc.words)
		}
		for _, leak := range []string{"SELEC", "caseverify.db", "123-45-6789", "store:", "sms"} {
			if strings.Contains(e.Message, leak) || strings.Contains(e.Heading, leak) {
				t.Errorf("%s: the page would show %q: %q / %q", tc.name, leak, e.Heading, e.Message)
			}
		}
	}
}

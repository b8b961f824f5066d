// Package sms sends an applicant their verification link by text message
// and handles what comes back: Twilio status callbacks (with their
// X-Twilio-Signature), STOP/START replies, and segment counting so a link
// fits one message.
//
// Sender is the interface the portal programs against. Two implementations
// exist: Twilio in this package (plain net/http against the Messages API,
// configured by TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM) and the
// database-backed outbox in the store, the default when Twilio is not
// configured. Sub-package twiliotest is a fake Twilio for tests.
//
// Nothing here logs, and no error message carries a phone number or message
// text: they are personal data (design.md), and Twilio's own error messages
// quote the number, so they are never passed on.
package sms

import (
	"context"
	"errors"
)

// Message is one text message to one phone.
type Message struct {
	To   string // E.164, e.g. "+15551234567"
	Body string // plain text, at most 1600 characters (Twilio's limit)
	// StatusCallback is the absolute URL Twilio POSTs delivery status
	// changes to; empty uses the sender's default (or none).
	StatusCallback string
}

// Sender sends one message and returns an id for it: Twilio's message SID
// ("SM…") for Twilio, the outbox row id for the outbox.
type Sender interface {
	Send(ctx context.Context, m Message) (id string, err error)
}

// Errors callers test with errors.Is.
var (
	// ErrOptedOut means the recipient replied STOP (Twilio error 21610):
	// nothing can be sent to them from this sender until they reply START.
	ErrOptedOut = errors.New("sms: recipient has opted out")
	// ErrInvalidNumber means the number is not a valid mobile number
	// (Twilio 21211, 21614, or our own E.164 check before sending).
	ErrInvalidNumber = errors.New("sms: invalid phone number")
	// ErrInvalidMessage means the message cannot be sent as given (empty or
	// too long body, bad callback URL).
	ErrInvalidMessage = errors.New("sms: invalid message")
)

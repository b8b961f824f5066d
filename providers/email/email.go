// Package email sends an applicant their verification link by email.
//
// Sender is the interface the portal programs against. Two implementations
// exist: SMTP in this package (a real mail server, configured by SMTP_URL)
// and the database-backed outbox in the store, which is the default when no
// SMTP server is configured and shows the "sent" mail at /outbox.
//
// Nothing here logs, and no error message carries a recipient address, a
// password or message content: addresses are personal data (design.md) and
// the portal logs errors.
package email

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Message is one email to one recipient. Text is required (mail clients
// that cannot show HTML, screen readers and spam filters rely on it); HTML
// is optional and is sent as the alternative part when given.
type Message struct {
	To          string // bare address, e.g. "ana@example.org"
	FromName    string // display name, e.g. "Springfield County Benefits"; empty uses the sender's default
	FromAddress string // empty uses the sender's default (SMTP_URL ?from=)
	Subject     string // plain UTF-8; encoded on the wire as needed
	Text        string // text/plain body
	HTML        string // text/html body, optional
	// Headers are extra headers, e.g. "List-Unsubscribe" or
	// "X-Caseverify-Delivery". Structural headers (From, To, Subject,
	// Content-Type, Message-ID, ...) are refused: they are the sender's job.
	Headers map[string]string
}

// Sender sends one message and returns an id for it: the Message-ID for
// SMTP (without angle brackets), the outbox row id for the outbox.
type Sender interface {
	Send(ctx context.Context, m Message) (id string, err error)
}

// ErrInvalidMessage is wrapped by every error about a Message that cannot be
// sent as given (missing or malformed fields). Retrying will not help.
var ErrInvalidMessage = errors.New("email: invalid message")

// reservedHeaders are set by the sender from Message fields or by the MIME
// writer; letting callers set them would allow duplicate or conflicting
// headers (and Bcc would leak recipients into the envelope).
var reservedHeaders = map[string]bool{
	"from": true, "to": true, "cc": true, "bcc": true, "subject": true,
	"date": true, "message-id": true, "mime-version": true,
	"content-type": true, "content-transfer-encoding": true,
	"content-disposition": true, "sender": true, "return-path": true,
}

// Validate checks m with the given default sender and returns the effective
// from name and address. Errors wrap ErrInvalidMessage and never quote the
// addresses themselves.
func (m Message) Validate(defaultFromName, defaultFromAddress string) (fromName, fromAddr string, err error) {
	fromName, fromAddr = m.FromName, m.FromAddress
	if fromName == "" {
		fromName = defaultFromName
	}
	if fromAddr == "" {
		fromAddr = defaultFromAddress
	}
	if err := checkBareAddress(m.To); err != nil {
		return "", "", fmt.Errorf("%w: recipient address %v", ErrInvalidMessage, err)
	}
	if fromAddr == "" {
		return "", "", fmt.Errorf("%w: no sender address (set Message.FromAddress or ?from= in SMTP_URL)", ErrInvalidMessage)
	}
	if err := checkBareAddress(fromAddr); err != nil {
		return "", "", fmt.Errorf("%w: sender address %v", ErrInvalidMessage, err)
	}
	// CR or LF in a header value would let text start a new header
	// (header injection); names and subjects never need them.
	if strings.ContainsAny(fromName, "\r\n") {
		return "", "", fmt.Errorf("%w: sender name contains a line break", ErrInvalidMessage)
	}
	if strings.TrimSpace(m.Subject) == "" {
		return "", "", fmt.Errorf("%w: subject is empty", ErrInvalidMessage)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return "", "", fmt.Errorf("%w: subject contains a line break", ErrInvalidMessage)
	}
	if strings.TrimSpace(m.Text) == "" {
		return "", "", fmt.Errorf("%w: text body is empty", ErrInvalidMessage)
	}
	for k, v := range m.Headers {
		if !validHeaderName(k) {
			return "", "", fmt.Errorf("%w: header name %q is not valid", ErrInvalidMessage, k)
		}
		if reservedHeaders[strings.ToLower(k)] {
			return "", "", fmt.Errorf("%w: header %q is set by the sender and cannot be overridden", ErrInvalidMessage, k)
		}
		if strings.ContainsAny(v, "\r\n") {
			return "", "", fmt.Errorf("%w: header %q contains a line break", ErrInvalidMessage, k)
		}
	}
	return fromName, fromAddr, nil
}

// checkBareAddress accepts a single plain address ("a@b.example"), not a
// display-name form or a list. The error text never includes the address.
func checkBareAddress(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	if strings.ContainsAny(s, "\r\n<>,;\" ") {
		return errors.New("must be a single plain address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return errors.New("is not a valid address")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || !strings.Contains(s[at+1:], ".") && s[at+1:] != "localhost" {
		return errors.New("is not a valid address")
	}
	return nil
}

// validHeaderName reports whether k is an RFC 5322 field name: printable
// ASCII without colon or space.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"

	mail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Kind classifies a failed Send, so the portal can decide between "retry
// later", "fix the settings" and "fix the address".
type Kind string

// The kinds of send failure.
const (
	KindTimeout     Kind = "timeout"     // the server did not answer in time, or the context ended
	KindUnreachable Kind = "unreachable" // could not connect (refused, no route, DNS)
	KindTLS         Kind = "tls"         // TLS handshake failed or STARTTLS not offered
	KindAuth        Kind = "auth"        // the server refused the user name or password
	KindRecipient   Kind = "recipient"   // the server refused the recipient address
	KindSender      Kind = "sender"      // the server refused the sender address
	KindRejected    Kind = "rejected"    // the server refused the message itself
	KindConfig      Kind = "config"      // the settings cannot work (e.g. AUTH not offered)
	KindOther       Kind = "other"       // anything else
)

// SendError is a failed Send, in words an administrator understands. Its
// Error text holds no recipient address, password or message content:
// the wrapped Err (go-mail's error) can quote the recipient, so never log
// Err on its own.
type SendError struct {
	// Kind says what went wrong, for deciding what to do next.
	Kind Kind
	// Message is a plain-language sentence, e.g. "the mail server refused
	// the user name or password".
	Message string
	// Temporary says a later retry may succeed (timeouts, unreachable,
	// SMTP 4xx replies).
	Temporary bool
	// SMTPCode is the server's reply code (e.g. 550), 0 when none.
	SMTPCode int
	// EnhancedCode is the RFC 3463 status (e.g. "5.1.1") when the server
	// sent one.
	EnhancedCode string
	// Addr is the server's host:port (not personal data).
	Addr string
	// Err is the underlying error, for errors.Is and errors.As.
	Err error
}

// Error implements error without personal data.
func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("email: ")
	b.WriteString(e.Message)
	if e.Addr != "" {
		b.WriteString(" (server ")
		b.WriteString(e.Addr)
		b.WriteString(")")
	}
	if e.SMTPCode != 0 {
		fmt.Fprintf(&b, " [SMTP %d", e.SMTPCode)
		if e.EnhancedCode != "" {
			b.WriteString(" " + e.EnhancedCode)
		}
		b.WriteString("]")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *SendError) Unwrap() error { return e.Err }

// classify turns a go-mail error into a *SendError. ctx is the Send context:
// when it has ended, the failure is reported as a timeout or cancellation
// whatever the connection said (our dialer closed it).
func classify(ctx context.Context, err error, addr string) *SendError {
	e := &SendError{Kind: KindOther, Message: "the mail server did not accept the message", Addr: addr, Err: err}

	if cerr := ctx.Err(); cerr != nil {
		e.Kind, e.Temporary, e.Err = KindTimeout, true, errors.Join(cerr, err)
		e.Message = "the mail server did not answer in time"
		if errors.Is(cerr, context.Canceled) {
			e.Message = "sending was cancelled"
		}
		return e
	}

	var sendErr *mail.SendError
	if errors.As(err, &sendErr) {
		e.SMTPCode = sendErr.ErrorCode()
		e.EnhancedCode = sendErr.EnhancedStatusCode()
		e.Temporary = sendErr.IsTemp()
		switch sendErr.Reason {
		case mail.ErrSMTPRcptTo:
			e.Kind, e.Message = KindRecipient, "the mail server refused the recipient address"
		case mail.ErrSMTPMailFrom:
			e.Kind, e.Message = KindSender, "the mail server refused the sender address"
		case mail.ErrSMTPData, mail.ErrSMTPDataClose, mail.ErrWriteContent:
			e.Kind, e.Message = KindRejected, "the mail server refused the message"
		case mail.ErrConnCheck:
			e.Kind, e.Message, e.Temporary = KindUnreachable, "the connection to the mail server broke", true
		case mail.ErrSMTPReset:
			// RSET after a successful DATA: the message was accepted.
			e.Kind, e.Message = KindOther, "the mail server accepted the message but then failed"
		}
		if isTimeout(err) {
			e.Kind, e.Message, e.Temporary = KindTimeout, "the mail server did not answer in time", true
		}
		return e
	}

	var opErr *net.OpError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var tpErr *textproto.Error
	switch {
	case isTimeout(err):
		e.Kind, e.Message, e.Temporary = KindTimeout, "the mail server did not answer in time", true
	case errors.As(err, &dnsErr):
		e.Kind, e.Message, e.Temporary = KindUnreachable, "the mail server's host name could not be found", true
	case errors.As(err, &opErr) && opErr.Op == "dial":
		e.Kind, e.Message, e.Temporary = KindUnreachable, "could not connect to the mail server", true
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr):
		e.Kind, e.Message = KindTLS, "the mail server's TLS certificate is not trusted"
	case errors.As(err, &recErr):
		e.Kind, e.Message = KindTLS, "the TLS handshake with the mail server failed (is the port and TLS mode right?)"
	case strings.Contains(err.Error(), "does not support STARTTLS"):
		// go-mail returns a plain fmt error for this; its wording is
		// covered by a test against mailpit.
		e.Kind, e.Message = KindTLS, "the mail server does not offer STARTTLS, which is required (use tls=none only for a local test server)"
	case errors.Is(err, smtp.ErrUnencrypted):
		e.Kind, e.Message = KindConfig, "refusing to send the SMTP password over an unencrypted connection"
	case errors.Is(err, mail.ErrPlainAuthNotSupported), errors.Is(err, mail.ErrLoginAuthNotSupported),
		errors.Is(err, mail.ErrCramMD5AuthNotSupported), errors.Is(err, mail.ErrSCRAMSHA256AuthNotSupported),
		strings.Contains(err.Error(), "server does not support SMTP AUTH"):
		e.Kind, e.Message = KindConfig, "the mail server does not offer the configured SMTP AUTH mechanism"
	case errors.As(err, &tpErr):
		e.SMTPCode = tpErr.Code
		e.Temporary = tpErr.Code >= 400 && tpErr.Code < 500
		switch tpErr.Code {
		case 530, 534, 535, 538, 454:
			e.Kind, e.Message = KindAuth, "the mail server refused the SMTP user name or password"
		default:
			e.Kind, e.Message = KindRejected, "the mail server refused the connection"
		}
	case strings.Contains(err.Error(), "SMTP AUTH failed"):
		e.Kind, e.Message = KindAuth, "the mail server refused the SMTP user name or password"
	}
	return e
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

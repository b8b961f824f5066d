package sms

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MessageStatus is a Twilio message status as sent in MessageStatus.
type MessageStatus string

// The statuses of an outbound message (Twilio Message resource, "Message
// status values"). A status callback is sent for changes after creation;
// Twilio does not send one for the initial status (queued, or accepted /
// scheduled with a Messaging Service).
const (
	StatusAccepted    MessageStatus = "accepted"  // Messaging Service took it
	StatusScheduled   MessageStatus = "scheduled" // Messaging Service, scheduled send
	StatusQueued      MessageStatus = "queued"
	StatusSending     MessageStatus = "sending"
	StatusSent        MessageStatus = "sent" // handed to the carrier
	StatusDelivered   MessageStatus = "delivered"
	StatusUndelivered MessageStatus = "undelivered" // the carrier could not deliver it
	StatusFailed      MessageStatus = "failed"      // Twilio could not send it
	StatusRead        MessageStatus = "read"        // WhatsApp/RCS read receipt
	StatusCanceled    MessageStatus = "canceled"    // a scheduled message was cancelled
)

// rank orders statuses along the lifecycle so late callbacks (Twilio does
// not guarantee their order) can be recognised: a status never replaces one
// of a higher rank. Final statuses share rank 5; unknown ones are 0.
func (s MessageStatus) rank() int {
	switch s {
	case StatusAccepted, StatusScheduled:
		return 1
	case StatusQueued:
		return 2
	case StatusSending:
		return 3
	case StatusSent:
		return 4
	case StatusDelivered, StatusUndelivered, StatusFailed, StatusCanceled:
		return 5
	case StatusRead:
		return 6
	}
	return 0
}

// Known reports whether s is one of the statuses above. Twilio may add
// values; an unknown one should keep the previous status and be logged by
// name (design.md), not rejected.
func (s MessageStatus) Known() bool { return s.rank() > 0 }

// Final reports whether no further status is expected, except "read"
// after "delivered" on channels with read receipts.
func (s MessageStatus) Final() bool { return s.rank() >= 5 }

// Failed reports whether the message did not reach the phone.
func (s MessageStatus) Failed() bool {
	return s == StatusUndelivered || s == StatusFailed || s == StatusCanceled
}

// Supersedes reports whether s may replace prev, the status on record: true
// when s comes later in the lifecycle, so a late "sent" never hides
// "delivered". Unknown statuses never supersede anything (any known status
// supersedes an unknown or empty one). Final statuses do not replace each
// other, with one exception: "undelivered" or "failed" replaces "delivered",
// because a carrier can report a failure after a delivery receipt, and
// staff must see that the text did not arrive. This is the one place the
// rule lives; the store applies it (store.SetMessageStatus).
func (s MessageStatus) Supersedes(prev MessageStatus) bool {
	if prev == StatusDelivered && (s == StatusUndelivered || s == StatusFailed) {
		return true
	}
	return s.rank() > prev.rank()
}

// StatusUpdate is one parsed status callback. It carries no phone number
// or message text.
type StatusUpdate struct {
	MessageSID string        // "SM…" (or "MM…" for MMS)
	AccountSID string        // "AC…"
	Status     MessageStatus // may be unknown: check Status.Known
	ErrorCode  int           // Twilio error code for undelivered/failed, 0 when none
	// RawDlrDoneDate is the carrier's delivery-receipt time, "YYMMDDhhmm"
	// with no time zone, when sent (delivered/undelivered only).
	RawDlrDoneDate string
}

// Detail is a plain-language sentence for the caseworker: the error
// explanation for a failed message, otherwise empty.
func (u StatusUpdate) Detail() string {
	if u.ErrorCode == 0 {
		return ""
	}
	return ErrorText(u.ErrorCode)
}

// ErrMalformedCallback is wrapped by ParseStatusCallback errors.
var ErrMalformedCallback = errors.New("sms: malformed status callback")

// ParseStatusCallback reads a Twilio status callback form (authenticate it
// with VerifySignature first). It needs MessageSid and MessageStatus
// (falling back to the legacy SmsSid and SmsStatus); ErrorCode is optional
// and numeric. Other parameters are ignored: Twilio adds new ones without
// notice. Errors never quote the form.
func ParseStatusCallback(form url.Values) (StatusUpdate, error) {
	u := StatusUpdate{
		MessageSID:     first(form, "MessageSid", "SmsSid"),
		AccountSID:     form.Get("AccountSid"),
		Status:         MessageStatus(strings.ToLower(strings.TrimSpace(first(form, "MessageStatus", "SmsStatus")))),
		RawDlrDoneDate: form.Get("RawDlrDoneDate"),
	}
	if u.MessageSID == "" {
		return StatusUpdate{}, fmt.Errorf("%w: MessageSid is missing", ErrMalformedCallback)
	}
	if !sidPattern.MatchString(u.MessageSID) || !(strings.HasPrefix(u.MessageSID, "SM") || strings.HasPrefix(u.MessageSID, "MM")) {
		return StatusUpdate{}, fmt.Errorf("%w: MessageSid is not a message SID", ErrMalformedCallback)
	}
	if u.Status == "" {
		return StatusUpdate{}, fmt.Errorf("%w: MessageStatus is missing", ErrMalformedCallback)
	}
	if ec := strings.TrimSpace(form.Get("ErrorCode")); ec != "" {
		n, err := strconv.Atoi(ec)
		if err != nil || strings.TrimLeft(ec, "0123456789") != "" {
			return StatusUpdate{}, fmt.Errorf("%w: ErrorCode is not a number", ErrMalformedCallback)
		}
		u.ErrorCode = n
	}
	return u, nil
}

// first returns the first non-empty value among keys.
func first(form url.Values, keys ...string) string {
	for _, k := range keys {
		if v := form.Get(k); v != "" {
			return v
		}
	}
	return ""
}

package providers

import (
	"fmt"
	"log/slog"
	"regexp"
)

// statusWord is what a provider's status or event value looks like: its
// vocabulary ("inprogress", "5999", "order.state_change"), never a body.
var statusWord = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,64}$`)

// LogUnknown logs an update whose status or event value its adapter does
// not know (Update.Unknown): the order keeps its status, and this says
// which value to teach the adapter. Only the provider's vocabulary is
// logged (the raw event and status), with the provider's ids; a value that
// does not look like a status word is not repeated, only its length, so a
// provider that puts personal data where a status belongs cannot leak it
// into the log. Every provider's unknown values are logged here, once.
func LogUnknown(log *slog.Logger, provider string, u Update) {
	if log == nil || !u.Unknown {
		return
	}
	log.Warn("provider: unknown status; status kept", "provider", provider, "raw_event", statusValue(u.RawEvent),
		"raw_status", statusValue(u.RawStatus), "sub_id", statusValue(u.SubID), "provider_order_id", statusValue(u.OrderID))
}

// statusValue is v when it looks like a status word, else its length.
func statusValue(v string) slog.Value {
	if v == "" || statusWord.MatchString(v) {
		return slog.StringValue(v)
	}
	return slog.StringValue(fmt.Sprintf("(%d characters, not shown)", len(v)))
}

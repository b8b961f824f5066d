package sms_test

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"caseverify/providers/sms"
)

func readForm(t *testing.T, file string) url.Values {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	form, err := url.ParseQuery(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return form
}

func TestParseStatusCallbackFixtures(t *testing.T) {
	const sid = "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	const account = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tests := []struct {
		file string
		want sms.StatusUpdate
	}{
		{"status_callback_sent.txt", sms.StatusUpdate{MessageSID: sid, AccountSID: account, Status: sms.StatusSent}},
		{"status_callback_delivered.txt", sms.StatusUpdate{MessageSID: sid, AccountSID: account, Status: sms.StatusDelivered, RawDlrDoneDate: "2308240501"}},
		{"status_callback_undelivered.txt", sms.StatusUpdate{MessageSID: sid, AccountSID: account, Status: sms.StatusUndelivered, ErrorCode: 30003, RawDlrDoneDate: "2308240502"}},
		{"status_callback_failed.txt", sms.StatusUpdate{MessageSID: sid, AccountSID: account, Status: sms.StatusFailed, ErrorCode: 30008}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := sms.ParseStatusCallback(readForm(t, tt.file))
			if err != nil {
				t.Fatalf("ParseStatusCallback: %v", err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("a fixture signed by the fake's algorithm verifies", func(t *testing.T) {
		form := readForm(t, "status_callback_delivered.txt")
		const u = "https://portal.example.gov/webhooks/twilio/status?delivery=dlv_7"
		sig := sms.Signature("tok", u, form)
		if !sms.VerifySignature("tok", u, form, sig) {
			t.Fatal("round trip failed")
		}
		form.Set("MessageStatus", "failed")
		if sms.VerifySignature("tok", u, form, sig) {
			t.Fatal("changed status still verified")
		}
	})
}

func TestParseStatusCallbackErrors(t *testing.T) {
	const sid = "SM0123456789abcdef0123456789abcdef"
	tests := []struct {
		name string
		form url.Values
		ok   bool
	}{
		{"minimal", url.Values{"MessageSid": {sid}, "MessageStatus": {"queued"}}, true},
		{"legacy names only", url.Values{"SmsSid": {sid}, "SmsStatus": {"sent"}}, true},
		{"mms sid", url.Values{"MessageSid": {"MM0123456789abcdef0123456789abcdef"}, "MessageStatus": {"sent"}}, true},
		{"unknown status is kept, not an error", url.Values{"MessageSid": {sid}, "MessageStatus": {"partially_delivered"}}, true},
		{"missing sid", url.Values{"MessageStatus": {"sent"}}, false},
		{"call sid", url.Values{"MessageSid": {"CA0123456789abcdef0123456789abcdef"}, "MessageStatus": {"sent"}}, false},
		{"short sid", url.Values{"MessageSid": {"SM123"}, "MessageStatus": {"sent"}}, false},
		{"missing status", url.Values{"MessageSid": {sid}}, false},
		{"non-numeric error code", url.Values{"MessageSid": {sid}, "MessageStatus": {"failed"}, "ErrorCode": {"+15558675310"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sms.ParseStatusCallback(tt.form)
			if tt.ok && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if !tt.ok {
				if !errors.Is(err, sms.ErrMalformedCallback) {
					t.Fatalf("err = %v, want ErrMalformedCallback", err)
				}
				if strings.Contains(err.Error(), "+1555") {
					t.Errorf("error %q quotes the form", err)
				}
			}
		})
	}
	u, _ := sms.ParseStatusCallback(url.Values{"MessageSid": {sid}, "MessageStatus": {"partially_delivered"}})
	if u.Status.Known() || u.Status != "partially_delivered" {
		t.Errorf("unknown status: %+v known=%v", u, u.Status.Known())
	}
}

func TestMessageStatusOrder(t *testing.T) {
	tests := []struct {
		next, prev sms.MessageStatus
		supersedes bool
	}{
		{sms.StatusSent, sms.StatusQueued, true},
		{sms.StatusDelivered, sms.StatusSent, true},
		{sms.StatusRead, sms.StatusDelivered, true},
		{sms.StatusSent, sms.StatusDelivered, false},        // late "sent" after "delivered"
		{sms.StatusQueued, sms.StatusSending, false},        // late "queued"
		{sms.StatusFailed, sms.StatusDelivered, true},       // a failure reported after a delivery receipt
		{sms.StatusUndelivered, sms.StatusDelivered, true},  // likewise
		{sms.StatusDelivered, sms.StatusUndelivered, false}, // final statuses do not otherwise replace each other
		{sms.StatusDelivered, sms.StatusFailed, false},
		{sms.StatusUndelivered, sms.StatusFailed, false},
		{sms.StatusCanceled, sms.StatusDelivered, false},
		{sms.StatusUndelivered, sms.StatusRead, false},
		{"bogus", sms.StatusDelivered, false},
		{"bogus", "", false},
		{sms.StatusDelivered, "bogus", true}, // a known status replaces an unknown one on record
		{sms.StatusUndelivered, sms.StatusSent, true},
		{sms.StatusSending, sms.StatusAccepted, true},
		{"bogus", sms.StatusQueued, false},
		{sms.StatusQueued, "", true},
	}
	for _, tt := range tests {
		if got := tt.next.Supersedes(tt.prev); got != tt.supersedes {
			t.Errorf("%q.Supersedes(%q) = %v, want %v", tt.next, tt.prev, got, tt.supersedes)
		}
	}
	for _, s := range []sms.MessageStatus{sms.StatusDelivered, sms.StatusUndelivered, sms.StatusFailed, sms.StatusCanceled, sms.StatusRead} {
		if !s.Final() {
			t.Errorf("%s should be final", s)
		}
	}
	for _, s := range []sms.MessageStatus{sms.StatusAccepted, sms.StatusScheduled, sms.StatusQueued, sms.StatusSending, sms.StatusSent, "bogus"} {
		if s.Final() {
			t.Errorf("%s should not be final", s)
		}
	}
	if !sms.StatusUndelivered.Failed() || !sms.StatusFailed.Failed() || sms.StatusDelivered.Failed() || sms.StatusSent.Failed() {
		t.Error("Failed() table wrong")
	}
}

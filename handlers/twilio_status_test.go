package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"caseverify/providers/sms"
)

// Twilio's status callbacks arrive in any order: a late "sent" or "queued"
// never replaces "delivered", an unknown status never replaces a known one,
// and a failure reported after "delivered" is still recorded.
func TestTwilio_StatusCallbacksOutOfOrder(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	sid := l.twilio.Messages()[0].SID
	post := func(status, errorCode string) {
		t.Helper()
		form := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"}}
		if errorCode != "" {
			form.Set("ErrorCode", errorCode)
		}
		req, _ := http.NewRequest(http.MethodPost, l.srv.URL+"/webhooks/twilio/status", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(sms.SignatureHeader, sms.Signature("tw-token", l.srv.URL+"/webhooks/twilio/status", form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("callback %s: %d", status, resp.StatusCode)
		}
	}
	want := func(status, result string) {
		t.Helper()
		ds, err := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ds[0].MessageStatus != status || string(ds[0].Result) != result {
			t.Fatalf("delivery: status %q result %q; want %q %q", ds[0].MessageStatus, ds[0].Result, status, result)
		}
	}
	before, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID)
	sentResult := string(before[0].Result)

	post("sent", "")
	want("sent", sentResult)
	post("delivered", "")
	want("delivered", sentResult)
	post("sent", "") // late
	want("delivered", sentResult)
	post("queued", "") // later still
	want("delivered", sentResult)
	post("partially_delivered", "") // a status Twilio may add: acknowledged, not recorded
	want("delivered", sentResult)
	post("undelivered", "30003") // the carrier reports a failure after the receipt
	want("undelivered", "failed")
	post("delivered", "") // a late receipt does not hide the failure
	want("undelivered", "failed")
	post("sent", "")
	want("undelivered", "failed")
}

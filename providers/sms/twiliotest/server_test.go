package twiliotest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"caseverify/providers/sms"
	"caseverify/providers/sms/twiliotest"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "fake-token"
)

type answer struct {
	status int
	code   int
	sid    string
	state  string
}

// post sends a raw request so the fake's own checks are tested without the
// sms client in the way.
func post(t *testing.T, method, u, user, pass, contentType string, form url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body struct {
		Code   int    `json:"code"`
		SID    string `json:"sid"`
		Status any    `json:"status"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("non-JSON answer %q", raw)
	}
	a := answer{status: resp.StatusCode, code: body.Code, sid: body.SID}
	if s, ok := body.Status.(string); ok {
		a.state = s
	}
	return a
}

func TestFakeChecksRequests(t *testing.T) {
	srv := twiliotest.NewServer(t, sid, token)
	endpoint := srv.URL + "/2010-04-01/Accounts/" + sid + "/Messages.json"
	const form = "application/x-www-form-urlencoded"
	ok := url.Values{"To": {"+15558675310"}, "From": {"+15005550006"}, "Body": {"hello"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range ok {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}

	tests := []struct {
		name         string
		method, url  string
		user, pass   string
		contentType  string
		form         url.Values
		status, code int
	}{
		{"created", "POST", endpoint, sid, token, form, ok, 201, 0},
		{"no auth", "POST", endpoint, "", "", form, ok, 401, 20003},
		{"wrong token", "POST", endpoint, sid, "nope", form, ok, 401, 20003},
		{"other account in path", "POST", srv.URL + "/2010-04-01/Accounts/AC99999999999999999999999999999999/Messages.json", sid, token, form, ok, 404, 20404},
		{"unknown path", "POST", srv.URL + "/2010-04-01/Accounts/" + sid + "/Calls.json", sid, token, form, ok, 404, 20404},
		{"GET", "GET", endpoint, sid, token, form, ok, 405, 20004},
		{"json body", "POST", endpoint, sid, token, "application/json", ok, 400, 20001},
		{"missing To", "POST", endpoint, sid, token, form, with("To", ""), 400, 21604},
		{"invalid To", "POST", endpoint, sid, token, form, with("To", "5558675310"), 400, 21211},
		{"missing From", "POST", endpoint, sid, token, form, with("From", ""), 400, 21603},
		{"missing Body", "POST", endpoint, sid, token, form, with("Body", ""), 400, 21602},
		{"long Body", "POST", endpoint, sid, token, form, with("Body", strings.Repeat("x", 1601)), 400, 21617},
		{"bad callback", "POST", endpoint, sid, token, form, with("StatusCallback", "not a url"), 400, 21609},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := post(t, tt.method, tt.url, tt.user, tt.pass, tt.contentType, tt.form)
			if a.status != tt.status || a.code != tt.code {
				t.Errorf("got %d/%d, want %d/%d", a.status, a.code, tt.status, tt.code)
			}
			if tt.status == 201 && (!strings.HasPrefix(a.sid, "SM") || a.state != "queued") {
				t.Errorf("created answer sid=%q status=%q", a.sid, a.state)
			}
		})
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("recorded %d messages, want only the created one", n)
	}

	t.Run("opt-out list", func(t *testing.T) {
		srv.OptOut("+15558675310")
		if a := post(t, "POST", endpoint, sid, token, form, ok); a.status != 400 || a.code != 21610 {
			t.Errorf("got %d/%d, want 400/21610", a.status, a.code)
		}
	})

	t.Run("deliver errors", func(t *testing.T) {
		if err := srv.Deliver("SM00000000000000000000000000000000", sms.StatusSent); err == nil {
			t.Error("Deliver of an unknown message succeeded")
		}
		// The created message has no StatusCallback.
		if err := srv.Deliver(srv.Messages()[0].SID, sms.StatusSent); err == nil {
			t.Error("Deliver without a callback URL succeeded")
		}
	})
}

func TestFakeCallbackIsSigned(t *testing.T) {
	srv := twiliotest.NewServer(t, sid, token)
	got := make(chan *http.Request, 1)
	forms := make(chan url.Values, 1)
	cb := newRecorder(t, got, forms)
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: sid, AuthToken: token, From: "+15005550006", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	callbackURL := cb + "/status?d=1&x=%20y"
	msid, err := tw.Send(t.Context(), sms.Message{To: "+15558675310", Body: "hi", StatusCallback: callbackURL})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.DeliverWithError(msid, sms.StatusFailed, 30008); err != nil {
		t.Fatal(err)
	}
	r := <-got
	form := <-forms
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
	}
	if !sms.VerifySignature(token, callbackURL, form, r.Header.Get(sms.SignatureHeader)) {
		t.Error("signature does not verify over the exact callback URL")
	}
	if form.Get("MessageSid") != msid || form.Get("MessageStatus") != "failed" || form.Get("ErrorCode") != "30008" ||
		form.Get("AccountSid") != sid || form.Get("SmsStatus") != "failed" {
		t.Errorf("form = %v", form)
	}
	cbs := srv.Callbacks()
	if len(cbs) != 1 || cbs[0].URL != callbackURL || cbs[0].HTTPCode != http.StatusOK {
		t.Errorf("Callbacks = %+v", cbs)
	}
}

// newRecorder starts a receiver that hands each request and its parsed form
// to the channels and answers 200.
func newRecorder(t *testing.T, got chan<- *http.Request, forms chan<- url.Values) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			http.Error(w, "form", http.StatusBadRequest)
			return
		}
		got <- r
		forms <- form
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

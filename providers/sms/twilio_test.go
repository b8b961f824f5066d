package sms_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/providers/sms"
	"caseverify/providers/sms/twiliotest"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "test-auth-token-0123456789abcdef"
	testFrom  = "+15005550006"
	testMG    = "MG0123456789abcdef0123456789abcdef"
	applicant = "+15558675310"
	smsLink   = "https://v.example.test/l/3f9a1c7e"
)

func newTwilio(t *testing.T, baseURL, token, from string) *sms.Twilio {
	t.Helper()
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: testSID, AuthToken: token, From: from, BaseURL: baseURL})
	if err != nil {
		t.Fatalf("NewTwilio: %v", err)
	}
	return tw
}

func ctx10s(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// noPII fails when an error text carries the phone number or the body.
func noPII(t *testing.T, err error, values ...string) {
	t.Helper()
	for _, v := range values {
		if v != "" && strings.Contains(err.Error(), v) {
			t.Errorf("error %q contains personal data", err)
		}
	}
}

// callbackReceiver is the portal's side of status callbacks: it verifies
// X-Twilio-Signature over the exact URL it is reached at and parses the
// form, recording the updates.
type callbackReceiver struct {
	*httptest.Server
	token string

	mu       sync.Mutex
	updates  []sms.StatusUpdate
	rejected int
}

func newReceiver(t *testing.T, token string) *callbackReceiver {
	t.Helper()
	rc := &callbackReceiver{token: token}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			http.Error(w, "form", http.StatusBadRequest)
			return
		}
		// The public URL as configured: here the test server's own base
		// plus the request URI (path and query string).
		fullURL := rc.URL + r.URL.RequestURI()
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			!sms.VerifySignature(rc.token, fullURL, form, r.Header.Get(sms.SignatureHeader)) {
			rc.mu.Lock()
			rc.rejected++
			rc.mu.Unlock()
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		u, err := sms.ParseStatusCallback(form)
		if err != nil {
			http.Error(w, "bad callback", http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.updates = append(rc.updates, u)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *callbackReceiver) got() ([]sms.StatusUpdate, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]sms.StatusUpdate(nil), rc.updates...), rc.rejected
}

func TestTwilioSendEndToEnd(t *testing.T) {
	fake := twiliotest.NewServer(t, testSID, testToken)
	recv := newReceiver(t, testToken)
	tw := newTwilio(t, fake.URL, testToken, testFrom)

	callbackURL := recv.URL + "/webhooks/twilio/status?delivery=dlv_7&lang=es"
	body := "Springfield County: verify your income here " + smsLink
	sid, err := tw.Send(ctx10s(t), sms.Message{To: applicant, Body: body, StatusCallback: callbackURL})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.HasPrefix(sid, "SM") || len(sid) != 34 {
		t.Errorf("sid = %q, want SM + 32 hex", sid)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 {
		t.Fatalf("fake recorded %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.SID != sid || m.To != applicant || m.From != testFrom || m.MessagingServiceSID != "" ||
		m.Body != body || m.StatusCallback != callbackURL || m.Status != sms.StatusQueued {
		t.Errorf("recorded %+v", m)
	}

	// Status callbacks in lifecycle order, signed over the exact URL
	// including its query string.
	for _, st := range []sms.MessageStatus{sms.StatusSent, sms.StatusDelivered} {
		if err := fake.Deliver(sid, st); err != nil {
			t.Fatalf("Deliver %s: %v", st, err)
		}
	}
	updates, rejected := recv.got()
	if rejected != 0 || len(updates) != 2 {
		t.Fatalf("receiver got %d updates, rejected %d", len(updates), rejected)
	}
	if updates[0].MessageSID != sid || updates[0].Status != sms.StatusSent || updates[0].AccountSID != testSID {
		t.Errorf("first update %+v", updates[0])
	}
	if updates[1].Status != sms.StatusDelivered || len(updates[1].RawDlrDoneDate) != 10 || !updates[1].Status.Final() {
		t.Errorf("second update %+v", updates[1])
	}
	if got, _ := fake.Message(sid); got.Status != sms.StatusDelivered {
		t.Errorf("fake status = %s", got.Status)
	}

	t.Run("undelivered with error code", func(t *testing.T) {
		sid2, err := tw.Send(ctx10s(t), sms.Message{To: "+15558675311", Body: body, StatusCallback: callbackURL})
		if err != nil {
			t.Fatal(err)
		}
		if err := fake.DeliverWithError(sid2, sms.StatusUndelivered, 30003); err != nil {
			t.Fatal(err)
		}
		updates, _ := recv.got()
		last := updates[len(updates)-1]
		if last.MessageSID != sid2 || last.Status != sms.StatusUndelivered || last.ErrorCode != 30003 ||
			!last.Status.Failed() || !strings.Contains(last.Detail(), "switched off") {
			t.Errorf("update %+v detail %q", last, last.Detail())
		}
	})

	t.Run("receiver with another token rejects the callback", func(t *testing.T) {
		other := newReceiver(t, "some-other-token")
		sid3, err := tw.Send(ctx10s(t), sms.Message{To: "+15558675312", Body: body, StatusCallback: other.URL + "/cb"})
		if err != nil {
			t.Fatal(err)
		}
		if err := fake.Deliver(sid3, sms.StatusSent); err == nil {
			t.Fatal("Deliver succeeded against a receiver with the wrong token")
		}
		if updates, rejected := other.got(); len(updates) != 0 || rejected != 1 {
			t.Errorf("updates %d rejected %d, want 0 and 1", len(updates), rejected)
		}
	})
}

func TestTwilioMessagingService(t *testing.T) {
	fake := twiliotest.NewServer(t, testSID, testToken)
	tw := newTwilio(t, fake.URL, testToken, testMG)
	if _, err := tw.Send(ctx10s(t), sms.Message{To: applicant, Body: "Link " + smsLink}); err != nil {
		t.Fatal(err)
	}
	m := fake.Messages()[0]
	if m.MessagingServiceSID != testMG || m.From != "" || m.StatusCallback != "" || m.Status != sms.StatusAccepted {
		t.Errorf("recorded %+v: want MessagingServiceSid, no From, no callback", m)
	}
}

func TestTwilioDefaultStatusCallback(t *testing.T) {
	fake := twiliotest.NewServer(t, testSID, testToken)
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom,
		BaseURL: fake.URL, StatusCallback: "https://portal.example.gov/webhooks/twilio"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Send(ctx10s(t), sms.Message{To: applicant, Body: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := fake.Messages()[0].StatusCallback; got != "https://portal.example.gov/webhooks/twilio" {
		t.Errorf("StatusCallback = %q", got)
	}
}

func TestTwilioOptOutAndAuth(t *testing.T) {
	fake := twiliotest.NewServer(t, testSID, testToken)
	fake.OptOut(applicant)

	t.Run("opted out recipient", func(t *testing.T) {
		tw := newTwilio(t, fake.URL, testToken, testFrom)
		_, err := tw.Send(ctx10s(t), sms.Message{To: applicant, Body: "Link " + smsLink})
		var e *sms.Error
		if !errors.Is(err, sms.ErrOptedOut) || !errors.As(err, &e) {
			t.Fatalf("err = %v, want ErrOptedOut as *sms.Error", err)
		}
		if e.Code != 21610 || e.HTTPStatus != 400 || e.Retryable || e.MoreInfo != "https://www.twilio.com/docs/errors/21610" {
			t.Errorf("error %+v", e)
		}
		if !strings.Contains(e.Message, "opted out") || !strings.Contains(e.Message, "START") {
			t.Errorf("message %q should explain the opt-out", e.Message)
		}
		noPII(t, err, applicant, smsLink)
		if len(fake.Messages()) != 0 {
			t.Error("fake recorded a message to an opted-out number")
		}

		fake.OptIn(applicant)
		if _, err := tw.Send(ctx10s(t), sms.Message{To: applicant, Body: "Link"}); err != nil {
			t.Errorf("after START: %v", err)
		}
	})

	t.Run("wrong auth token", func(t *testing.T) {
		tw := newTwilio(t, fake.URL, "wrong-token", testFrom)
		_, err := tw.Send(ctx10s(t), sms.Message{To: "+15558675399", Body: "x"})
		var e *sms.Error
		if !errors.As(err, &e) || e.Code != 20003 || e.HTTPStatus != 401 || e.Retryable {
			t.Fatalf("err = %#v, want 401/20003 not retryable", err)
		}
		if !strings.Contains(e.Message, "TWILIO_AUTH_TOKEN") {
			t.Errorf("message %q should point at the setting", e.Message)
		}
		noPII(t, err, "wrong-token")
	})
}

// serveFixture answers every request with a testdata file and status.
func serveFixture(t *testing.T, file string, status int, header http.Header) string {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestTwilioFixtures(t *testing.T) {
	t.Run("message created", func(t *testing.T) {
		tw := newTwilio(t, serveFixture(t, "message_created.json", http.StatusCreated, nil), testToken, testFrom)
		sid, err := tw.Send(ctx10s(t), sms.Message{To: applicant, Body: "Hi there"})
		if err != nil || sid != "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
			t.Fatalf("sid %q err %v", sid, err)
		}
	})

	tests := []struct {
		file       string
		status     int
		header     http.Header
		code       int
		sentinel   error
		retryable  bool
		retryAfter time.Duration
		text       string
	}{
		{"error_20003.json", 401, nil, 20003, nil, false, 0, "auth token"},
		{"error_20429.json", 429, http.Header{"Retry-After": {"7"}}, 20429, nil, true, 7 * time.Second, "too many requests"},
		{"error_21211.json", 400, nil, 21211, sms.ErrInvalidNumber, false, 0, "not valid"},
		{"error_21610.json", 400, nil, 21610, sms.ErrOptedOut, false, 0, "opted out"},
		{"error_21614.json", 400, nil, 21614, sms.ErrInvalidNumber, false, 0, "not a mobile number"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			tw := newTwilio(t, serveFixture(t, tt.file, tt.status, tt.header), testToken, testFrom)
			_, err := tw.Send(ctx10s(t), sms.Message{To: applicant, Body: "Hi " + smsLink})
			var e *sms.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *sms.Error", err)
			}
			if e.HTTPStatus != tt.status || e.Code != tt.code || e.Retryable != tt.retryable || e.RetryAfter != tt.retryAfter {
				t.Errorf("got status=%d code=%d retryable=%v retryAfter=%s", e.HTTPStatus, e.Code, e.Retryable, e.RetryAfter)
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("err %v does not wrap %v", err, tt.sentinel)
			}
			if !strings.Contains(strings.ToLower(e.Message), tt.text) {
				t.Errorf("message %q lacks %q", e.Message, tt.text)
			}
			// Twilio's own message quotes the number; ours must not.
			noPII(t, err, applicant, "+15558675310", smsLink)
		})
	}
}

func TestTwilioServerErrors(t *testing.T) {
	fake := twiliotest.NewServer(t, testSID, testToken)
	tw := newTwilio(t, fake.URL, testToken, testFrom)
	tests := []struct {
		name       string
		failure    twiliotest.Failure
		retryable  bool
		retryAfter time.Duration
	}{
		{"500 html page", twiliotest.Failure{HTTPStatus: 500}, true, 0},
		{"503 json with http-date retry-after", twiliotest.Failure{HTTPStatus: 503, Code: 20503, Message: "Service Unavailable",
			RetryAfter: time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}, true, 90 * time.Second},
		{"429 without code", twiliotest.Failure{HTTPStatus: 429, RetryAfter: "2"}, true, 2 * time.Second},
		{"400 unknown code", twiliotest.Failure{HTTPStatus: 400, Code: 21999, Message: "Something about +15558675310"}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.FailNext(tt.failure)
			_, err := tw.Send(ctx10s(t), sms.Message{To: applicant, Body: "x"})
			var e *sms.Error
			if !errors.As(err, &e) || e.HTTPStatus != tt.failure.HTTPStatus || e.Retryable != tt.retryable {
				t.Fatalf("err = %#v", err)
			}
			// The HTTP-date form is relative to now: allow for slow CI.
			if d := e.RetryAfter - tt.retryAfter; d > 0 || d < -5*time.Second {
				t.Errorf("RetryAfter = %s, want about %s", e.RetryAfter, tt.retryAfter)
			}
			if tt.retryable && !strings.Contains(e.Message, "Try again") {
				t.Errorf("message %q should say to try again", e.Message)
			}
			if !tt.retryable && !strings.Contains(e.Message, "21999") {
				t.Errorf("message %q should name the unknown code", e.Message)
			}
			noPII(t, err, applicant)
		})
	}
	if n := len(fake.Messages()); n != 0 {
		t.Errorf("fake recorded %d messages during failures", n)
	}
}

func TestTwilioTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })

	t.Run("client timeout", func(t *testing.T) {
		tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom,
			BaseURL: slow.URL, HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = tw.Send(context.Background(), sms.Message{To: applicant, Body: "x"})
		var e *sms.Error
		if !errors.As(err, &e) || !e.Retryable || e.HTTPStatus != 0 || !strings.Contains(e.Message, "in time") {
			t.Fatalf("err = %v", err)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("took %s", time.Since(start))
		}
	})

	t.Run("context deadline", func(t *testing.T) {
		tw := newTwilio(t, slow.URL, testToken, testFrom)
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		_, err := tw.Send(ctx, sms.Message{To: applicant, Body: "x"})
		var e *sms.Error
		if !errors.As(err, &e) || !e.Retryable || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("context cancelled", func(t *testing.T) {
		tw := newTwilio(t, slow.URL, testToken, testFrom)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := tw.Send(ctx, sms.Message{To: applicant, Body: "x"})
		var e *sms.Error
		if !errors.As(err, &e) || e.Retryable || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestTwilioLocalValidation(t *testing.T) {
	// Any request reaching this server is a test failure: these messages
	// must be refused before a call.
	var calls int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	tw := newTwilio(t, srv.URL, testToken, testFrom)
	tests := []struct {
		name     string
		msg      sms.Message
		sentinel error
	}{
		{"not E.164", sms.Message{To: "555-867-5310", Body: "x"}, sms.ErrInvalidNumber},
		{"empty number", sms.Message{To: "", Body: "x"}, sms.ErrInvalidNumber},
		{"too long number", sms.Message{To: "+1234567890123456", Body: "x"}, sms.ErrInvalidNumber},
		{"empty body", sms.Message{To: applicant, Body: "  "}, sms.ErrInvalidMessage},
		{"body over 1600", sms.Message{To: applicant, Body: strings.Repeat("a", 1601)}, sms.ErrInvalidMessage},
		{"relative callback", sms.Message{To: applicant, Body: "x", StatusCallback: "/webhooks/twilio"}, sms.ErrInvalidMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tw.Send(ctx10s(t), tt.msg)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			noPII(t, err, tt.msg.To, tt.msg.Body)
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 0 {
		t.Errorf("%d calls reached the server", calls)
	}
}

func TestNewTwilioValidation(t *testing.T) {
	ok := sms.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom}
	tests := []struct {
		name   string
		modify func(*sms.TwilioConfig)
		want   string // "" means valid
	}{
		{"valid number", func(*sms.TwilioConfig) {}, ""},
		{"valid messaging service", func(c *sms.TwilioConfig) { c.From = testMG }, ""},
		{"valid short code", func(c *sms.TwilioConfig) { c.From = "89757" }, ""},
		{"valid alphanumeric", func(c *sms.TwilioConfig) { c.From = "CountyBenef" }, ""},
		{"missing sid", func(c *sms.TwilioConfig) { c.AccountSID = "" }, "TWILIO_ACCOUNT_SID"},
		{"malformed sid", func(c *sms.TwilioConfig) { c.AccountSID = "SK0123456789abcdef0123456789abcdef" }, "TWILIO_ACCOUNT_SID"},
		{"missing token", func(c *sms.TwilioConfig) { c.AuthToken = "" }, "TWILIO_AUTH_TOKEN"},
		{"missing from", func(c *sms.TwilioConfig) { c.From = "" }, "TWILIO_FROM"},
		{"bad number", func(c *sms.TwilioConfig) { c.From = "+0123" }, "TWILIO_FROM"},
		{"bad messaging service", func(c *sms.TwilioConfig) { c.From = "MG123" }, "TWILIO_FROM"},
		{"bad base url", func(c *sms.TwilioConfig) { c.BaseURL = "api.twilio.com" }, "BaseURL"},
		{"bad callback", func(c *sms.TwilioConfig) { c.StatusCallback = "ftp://x" }, "StatusCallback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.modify(&c)
			_, err := sms.NewTwilio(c)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error echoes the token")
			}
		})
	}
}

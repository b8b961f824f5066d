// Package twiliotest is a fake Twilio Messages API for tests: an
// httptest.Server that checks what the real API checks (Basic auth, path,
// form fields), answers in Twilio's JSON shapes (201 message resource,
// {code, message, more_info, status} errors), remembers the messages, and
// sends signed status callbacks on demand.
//
// State is in memory behind a mutex; it is a test double, not a sandbox.
package twiliotest

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"caseverify/providers/sms"
)

// Message is one message the fake accepted.
type Message struct {
	SID                 string            // "SM" + 32 hex, as returned to the sender
	To                  string            // the To form field
	From                string            // the From form field; empty when sent through a Messaging Service
	MessagingServiceSID string            // the MessagingServiceSid form field, if any
	Body                string            // the Body form field
	StatusCallback      string            // the StatusCallback form field, if any
	Status              sms.MessageStatus // queued (accepted with a Messaging Service), then what Deliver set
	Created             time.Time         // when the fake accepted it
}

// Callback is one status callback the fake delivered.
type Callback struct {
	URL       string     // the message's StatusCallback URL
	Form      url.Values // the parameters sent
	Signature string     // the X-Twilio-Signature sent
	HTTPCode  int        // the receiver's answer
}

// Failure is a canned error answer, queued with FailNext.
type Failure struct {
	HTTPStatus int    // the HTTP status to answer with
	Code       int    // Twilio error code; 0 sends a non-JSON body, like a proxy error page
	Message    string // Twilio's message text
	RetryAfter string // Retry-After header value, if any
}

// Server is the fake. Its URL (from the embedded httptest.Server) is the
// BaseURL to give sms.TwilioConfig.
type Server struct {
	*httptest.Server

	sid, token string
	client     *http.Client

	mu        sync.Mutex
	messages  []Message
	optedOut  map[string]bool
	failures  []Failure
	callbacks []Callback
}

var (
	e164        = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	messagesURL = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
)

// NewServer starts a fake Twilio for account sid with auth token token.
// It is closed when t's test ends.
func NewServer(t testing.TB, sid, token string) *Server {
	t.Helper()
	s := &Server{
		sid:      sid,
		token:    token,
		client:   &http.Client{Timeout: 10 * time.Second},
		optedOut: map[string]bool{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

// OptOut puts numbers on the opt-out list, as if each had replied STOP:
// sending to them fails with 400 and code 21610.
func (s *Server) OptOut(numbers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range numbers {
		s.optedOut[n] = true
	}
}

// OptIn removes numbers from the opt-out list (they replied START).
func (s *Server) OptIn(numbers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range numbers {
		delete(s.optedOut, n)
	}
}

// FailNext makes the next authenticated create answer with f instead of
// creating a message. Several calls queue several failures.
func (s *Server) FailNext(f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
}

// Messages returns a copy of the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Message returns the accepted message with SID sid.
func (s *Server) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.SID == sid {
			return m, true
		}
	}
	return Message{}, false
}

// Callbacks returns a copy of the status callbacks delivered so far.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// Deliver moves message sid to status and POSTs a status callback to its
// StatusCallback URL, the way Twilio does: form-encoded, signed with
// X-Twilio-Signature over the exact callback URL and all parameters. It
// returns an error when the message is unknown, has no callback URL, or the
// receiver does not answer 2xx.
func (s *Server) Deliver(sid string, status sms.MessageStatus) error {
	return s.DeliverWithError(sid, status, 0)
}

// DeliverWithError is Deliver with a Twilio ErrorCode (e.g. 30003 for an
// undelivered message); 0 sends none.
func (s *Server) DeliverWithError(sid string, status sms.MessageStatus, errorCode int) error {
	s.mu.Lock()
	var msg *Message
	for i := range s.messages {
		if s.messages[i].SID == sid {
			msg = &s.messages[i]
		}
	}
	if msg == nil {
		s.mu.Unlock()
		return fmt.Errorf("twiliotest: no message %s", sid)
	}
	msg.Status = status
	m := *msg
	s.mu.Unlock()
	if m.StatusCallback == "" {
		return fmt.Errorf("twiliotest: message %s has no StatusCallback", sid)
	}

	form := url.Values{}
	form.Set("AccountSid", s.sid)
	form.Set("ApiVersion", "2010-04-01")
	form.Set("MessageSid", m.SID)
	form.Set("MessageStatus", string(status))
	form.Set("SmsSid", m.SID)
	form.Set("SmsStatus", string(status))
	form.Set("To", m.To)
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	} else {
		form.Set("From", m.From)
	}
	if errorCode != 0 {
		form.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	if status == sms.StatusDelivered || status == sms.StatusUndelivered {
		form.Set("RawDlrDoneDate", time.Now().UTC().Format("0601021504"))
	}
	sig := sms.Signature(s.token, m.StatusCallback, form)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.StatusCallback, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(sms.SignatureHeader, sig)
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", newHex(16))
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("twiliotest: status callback: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	s.mu.Lock()
	s.callbacks = append(s.callbacks, Callback{URL: m.StatusCallback, Form: form, Signature: sig, HTTPCode: resp.StatusCode})
	s.mu.Unlock()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("twiliotest: status callback answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// handle serves POST /2010-04-01/Accounts/{sid}/Messages.json.
func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	match := messagesURL.FindStringSubmatch(r.URL.Path)
	if match == nil {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok ||
		subtle.ConstantTimeCompare([]byte(user), []byte(s.sid)) != 1 ||
		subtle.ConstantTimeCompare([]byte(pass), []byte(s.token)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if match[1] != s.sid {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeError(w, http.StatusBadRequest, 20001, "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, 20001, "Could not parse the request body")
		return
	}

	s.mu.Lock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		s.mu.Unlock()
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		if f.Code == 0 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(f.HTTPStatus)
			_, _ = io.WriteString(w, "<html><body>upstream error</body></html>")
			return
		}
		writeError(w, f.HTTPStatus, f.Code, f.Message)
		return
	}
	s.mu.Unlock()

	to := r.PostForm.Get("To")
	from := r.PostForm.Get("From")
	mgs := r.PostForm.Get("MessagingServiceSid")
	body := r.PostForm.Get("Body")
	callback := r.PostForm.Get("StatusCallback")
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case !e164.MatchString(to):
		// Twilio quotes the number here; the sender must not pass it on.
		writeError(w, http.StatusBadRequest, 21211, "The 'To' number "+to+" is not a valid phone number.")
		return
	case from == "" && mgs == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case mgs != "" && !strings.HasPrefix(mgs, "MG"):
		writeError(w, http.StatusBadRequest, 21701, "The Messaging Service Sid "+mgs+" is invalid.")
		return
	case body == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	case utf8.RuneCountInString(body) > sms.MaxBodyChars:
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
		return
	}
	if callback != "" {
		if u, err := url.Parse(callback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			writeError(w, http.StatusBadRequest, 21609, "Invalid StatusCallback url")
			return
		}
	}

	s.mu.Lock()
	if s.optedOut[to] {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	now := time.Now().UTC()
	msg := Message{
		SID: "SM" + newHex(16), To: to, From: from, MessagingServiceSID: mgs, Body: body,
		StatusCallback: callback, Status: sms.StatusQueued, Created: now,
	}
	if mgs != "" {
		// Through a Messaging Service a new message starts as "accepted".
		msg.Status = sms.StatusAccepted
	}
	s.messages = append(s.messages, msg)
	s.mu.Unlock()

	_, segments := sms.Segments(body)
	date := now.Format(time.RFC1123Z)
	var fromField, mgsField any
	if from != "" {
		fromField = from
	}
	if mgs != "" {
		mgsField = mgs
	}
	uri := "/2010-04-01/Accounts/" + s.sid + "/Messages/" + msg.SID + ".json"
	writeJSON(w, http.StatusCreated, map[string]any{
		"account_sid":           s.sid,
		"api_version":           "2010-04-01",
		"body":                  body,
		"date_created":          date,
		"date_sent":             nil,
		"date_updated":          date,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  fromField,
		"messaging_service_sid": mgsField,
		"num_media":             "0",
		"num_segments":          strconv.Itoa(segments),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   msg.SID,
		"status":                string(msg.Status),
		"subresource_uris":      map[string]string{"media": strings.TrimSuffix(uri, ".json") + "/Media.json"},
		"to":                    to,
		"uri":                   uri,
	})
}

// writeError writes Twilio's error shape.
func writeError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, map[string]any{
		"code":      code,
		"message":   message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(code),
		"status":    status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newHex returns n random bytes as lowercase hex.
func newHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24
	return hex.EncodeToString(b)
}

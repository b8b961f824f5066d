package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"caseverify/providers"
)

// DefaultTwilioBaseURL is Twilio's REST API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// MaxBodyChars is Twilio's limit on a message body (error 21617).
const MaxBodyChars = 1600

// maxResponseBytes bounds what we read from Twilio: a message resource is a
// few KiB.
const maxResponseBytes = 1 << 20

// TwilioConfig configures the Twilio sender.
type TwilioConfig struct {
	// AccountSID is the account ("AC" + 32 hex), TWILIO_ACCOUNT_SID. It is
	// the Basic-auth user and part of the API path.
	AccountSID string
	// AuthToken is the account's auth token, TWILIO_AUTH_TOKEN: the Basic-auth
	// password, and the key of X-Twilio-Signature on callbacks.
	AuthToken string
	// From is TWILIO_FROM: an E.164 number, a short code, an alphanumeric
	// sender ID, or a Messaging Service SID ("MG…"), which is then sent as
	// MessagingServiceSid instead of From.
	From string
	// BaseURL is the API base; empty means https://api.twilio.com. Tests
	// and the fake (twiliotest) point it elsewhere.
	BaseURL string
	// HTTPClient makes the calls; nil means a client with a 15 s timeout.
	HTTPClient *http.Client
	// StatusCallback is the default callback URL for messages that do not
	// set one; empty means none.
	StatusCallback string
}

// Twilio sends text messages through Twilio's Messages API. It is safe for
// concurrent use.
type Twilio struct {
	cfg TwilioConfig
}

var _ Sender = (*Twilio)(nil)

var (
	// sidPattern is Twilio's SID shape: two letters and 32 hex digits.
	sidPattern = regexp.MustCompile(`^[A-Z]{2}[0-9a-fA-F]{32}$`)
	// e164Pattern is ITU-T E.164: "+", a non-zero digit, at most 15 digits.
	e164Pattern = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	// shortCodePattern is a US/CA short code.
	shortCodePattern = regexp.MustCompile(`^[0-9]{3,8}$`)
	// alphaSenderPattern is an alphanumeric sender ID: up to 11 letters,
	// digits, spaces, with at least one letter.
	alphaSenderPattern = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

// NewTwilio validates cfg and returns a sender. Errors name the setting.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	if cfg.AccountSID == "" {
		return nil, errors.New("sms: TwilioConfig.AccountSID (TWILIO_ACCOUNT_SID) is required")
	}
	if !strings.HasPrefix(cfg.AccountSID, "AC") || !sidPattern.MatchString(cfg.AccountSID) {
		return nil, errors.New("sms: TwilioConfig.AccountSID (TWILIO_ACCOUNT_SID) must be an account SID: AC followed by 32 hex digits")
	}
	if cfg.AuthToken == "" {
		return nil, errors.New("sms: TwilioConfig.AuthToken (TWILIO_AUTH_TOKEN) is required")
	}
	if cfg.From == "" {
		return nil, errors.New("sms: TwilioConfig.From (TWILIO_FROM) is required")
	}
	switch {
	case strings.HasPrefix(cfg.From, "MG"):
		if !sidPattern.MatchString(cfg.From) {
			return nil, errors.New("sms: TwilioConfig.From (TWILIO_FROM) looks like a Messaging Service SID but is not MG followed by 32 hex digits")
		}
	case strings.HasPrefix(cfg.From, "+"):
		if !e164Pattern.MatchString(cfg.From) {
			return nil, errors.New("sms: TwilioConfig.From (TWILIO_FROM) must be an E.164 number such as +15551234567")
		}
	case shortCodePattern.MatchString(cfg.From):
	case alphaSenderPattern.MatchString(cfg.From) && strings.ContainsFunc(cfg.From, isLetter):
	default:
		return nil, errors.New("sms: TwilioConfig.From (TWILIO_FROM) must be an E.164 number, a short code, an alphanumeric sender ID or a Messaging Service SID (MG…)")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultTwilioBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("sms: TwilioConfig.BaseURL must be an absolute http(s) URL")
	}
	if cfg.StatusCallback != "" {
		if err := checkCallbackURL(cfg.StatusCallback); err != nil {
			return nil, fmt.Errorf("sms: TwilioConfig.StatusCallback %v", err)
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	return &Twilio{cfg: cfg}, nil
}

func isLetter(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }

// checkCallbackURL accepts an absolute http(s) URL with a host.
func checkCallbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL")
	}
	return nil
}

// messageResource is the part of Twilio's Message resource we read.
type messageResource struct {
	SID    string `json:"sid"`
	Status string `json:"status"`
}

// Send creates the message at Twilio and returns its SID. It does not retry:
// Twilio's Messages API has no idempotency key, so a retry after a timeout
// can text the applicant twice; the caller decides (Error.Retryable).
func (t *Twilio) Send(ctx context.Context, m Message) (string, error) {
	// Checked here, before any call, so a typo costs nothing. Code stays 0:
	// Twilio was not asked.
	if !e164Pattern.MatchString(m.To) {
		return "", &Error{Message: "The phone number is not a valid number in international format (+1…).", Err: ErrInvalidNumber}
	}
	if strings.TrimSpace(m.Body) == "" {
		return "", &Error{Message: ErrorText(21602), Err: ErrInvalidMessage}
	}
	if utf8.RuneCountInString(m.Body) > MaxBodyChars {
		return "", &Error{Message: ErrorText(21617), Err: ErrInvalidMessage}
	}
	callback := m.StatusCallback
	if callback == "" {
		callback = t.cfg.StatusCallback
	}
	if callback != "" {
		if err := checkCallbackURL(callback); err != nil {
			return "", &Error{Message: ErrorText(21609), Err: ErrInvalidMessage}
		}
	}

	form := url.Values{}
	form.Set("To", m.To)
	if strings.HasPrefix(t.cfg.From, "MG") {
		form.Set("MessagingServiceSid", t.cfg.From)
	} else {
		form.Set("From", t.cfg.From)
	}
	form.Set("Body", m.Body)
	if callback != "" {
		form.Set("StatusCallback", callback)
	}

	endpoint := t.cfg.BaseURL + "/2010-04-01/Accounts/" + url.PathEscape(t.cfg.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &Error{Message: "Could not build the request to Twilio.", Err: err}
	}
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")

	resp, err := t.cfg.HTTPClient.Do(req)
	if err != nil {
		return "", transportError(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return "", &Error{HTTPStatus: resp.StatusCode, Message: "The answer from Twilio was cut off; the text may or may not have been sent.", Retryable: true, Err: err}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", apiError(resp, body)
	}
	var res messageResource
	if err := json.Unmarshal(body, &res); err != nil || res.SID == "" {
		return "", &Error{HTTPStatus: resp.StatusCode, Message: "Twilio's answer could not be read; the text may or may not have been sent."}
	}
	return res.SID, nil
}

// Error is a failed Send, in words a caseworker understands. Message never
// holds the phone number or text: Twilio's own "message" field quotes the
// number, so it is dropped.
type Error struct {
	HTTPStatus int    // 0 when Twilio did not answer (or the check was local)
	Code       int    // Twilio's error code, e.g. 21610; 0 when none
	Message    string // plain-language sentence
	MoreInfo   string // Twilio's documentation link for Code
	// Retryable says a later retry may succeed (429, 5xx, timeouts). After
	// a timeout the text may already have gone out.
	Retryable  bool
	RetryAfter time.Duration // from Retry-After, when Twilio sent one
	Err        error         // ErrOptedOut, ErrInvalidNumber, ... or the transport error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sms: ")
	b.WriteString(e.Message)
	switch {
	case e.HTTPStatus != 0 && e.Code != 0:
		fmt.Fprintf(&b, " (HTTP %d, Twilio error %d)", e.HTTPStatus, e.Code)
	case e.Code != 0:
		fmt.Fprintf(&b, " (Twilio error %d)", e.Code)
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.HTTPStatus)
	}
	return b.String()
}

// Unwrap returns the sentinel or underlying error.
func (e *Error) Unwrap() error { return e.Err }

// twilioError is Twilio's JSON error body.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"` // may quote the phone number: never shown
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// apiError maps a non-2xx answer to *Error.
func apiError(resp *http.Response, body []byte) *Error {
	var te twilioError
	_ = json.Unmarshal(body, &te) // a non-JSON body (proxy page) leaves Code 0
	e := &Error{HTTPStatus: resp.StatusCode, Code: te.Code, MoreInfo: te.MoreInfo}
	if strings.ContainsAny(e.MoreInfo, "\r\n") || !strings.HasPrefix(e.MoreInfo, "https://") {
		e.MoreInfo = ""
	}
	e.Message = ErrorText(te.Code)
	switch te.Code {
	case 21610:
		e.Err = ErrOptedOut
	case 21211, 21614:
		e.Err = ErrInvalidNumber
	case 21602, 21617, 21609:
		e.Err = ErrInvalidMessage
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || te.Code == 20429:
		e.Retryable = true
		e.Message = ErrorText(20429)
	case resp.StatusCode >= 500:
		e.Retryable = true
		e.Message = "Twilio is having problems. Try again in a few minutes."
	case resp.StatusCode == http.StatusUnauthorized && te.Code == 0:
		e.Message = ErrorText(20003)
	case resp.StatusCode == http.StatusNotFound && te.Code == 0:
		e.Message = ErrorText(20404)
	}
	if e.Retryable {
		e.RetryAfter = providers.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// transportError maps a failed round trip (no answer) to *Error.
func transportError(ctx context.Context, err error) *Error {
	e := &Error{Retryable: true, Err: err}
	var ue *url.Error
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		e.Message, e.Retryable = "Sending was cancelled; the text may or may not have been sent.", false
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ue) && ue.Timeout():
		e.Message = "Twilio did not answer in time; the text may or may not have been sent."
	default:
		e.Message = "Could not reach Twilio."
	}
	return e
}

// ErrorText returns a plain-language sentence for a Twilio error code, from
// the API (21xxx, 20xxx) or from a status callback's ErrorCode (30xxx), for
// showing to a caseworker. Unknown codes get a generic sentence with the
// number.
func ErrorText(code int) string {
	switch code {
	case 0:
		return "Twilio refused the text message."
	case 20003:
		return "Twilio refused the account SID or auth token. Check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."
	case 20404:
		return "Twilio does not know this account or resource. Check TWILIO_ACCOUNT_SID."
	case 20429:
		return "Twilio is receiving too many requests. Try again in a moment."
	case 21211:
		return "The phone number is not valid."
	case 21408:
		return "Texting this country is not enabled on the agency's Twilio account."
	case 21602:
		return "The text message is empty."
	case 21603, 21606, 21659, 21212:
		return "The agency's sending number cannot send text messages. Check TWILIO_FROM."
	case 21604:
		return "The phone number is missing."
	case 21609:
		return "The status callback URL is not valid."
	case 21610:
		return "This person has opted out of text messages (they replied STOP). They must reply START before they can get texts again."
	case 21612:
		return "Twilio cannot send a text message to this phone number."
	case 21614:
		return "The phone number cannot receive text messages (it is not a mobile number)."
	case 21617:
		return "The text message is longer than 1600 characters."
	case 30003:
		return "Not delivered: the phone is switched off or out of range."
	case 30004:
		return "Not delivered: the phone or its carrier blocked the message."
	case 30005:
		return "Not delivered: the phone number does not exist or is no longer in service."
	case 30006:
		return "Not delivered: the number is a landline or cannot receive texts."
	case 30007:
		return "Not delivered: the carrier filtered the message as unwanted."
	case 30008:
		return "Not delivered: unknown error at the carrier."
	}
	return fmt.Sprintf("Twilio refused the text message (error %d).", code)
}

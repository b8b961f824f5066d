package sms_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"testing"

	"caseverify/providers/sms"
)

// docsParams is the example from Twilio's "Validating requests" docs.
func docsParams() url.Values {
	return url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
	}
}

const (
	docsToken = "12345"
	docsURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	docsSig   = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
)

func TestSignatureTwilioDocsVector(t *testing.T) {
	if got := sms.Signature(docsToken, docsURL, docsParams()); got != docsSig {
		t.Fatalf("Signature = %q, want %q", got, docsSig)
	}
	if !sms.VerifySignature(docsToken, docsURL, docsParams(), docsSig) {
		t.Fatal("VerifySignature rejected the docs example")
	}
}

// independentSignature spells the algorithm out by hand, with the
// parameters already in sorted order, as a second implementation.
func independentSignature(token, data string) string {
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSignatureKnownAnswer(t *testing.T) {
	const token = "f3a1c0ffee"
	const u = "https://portal.example.gov/webhooks/twilio/status?delivery=dlv_7"
	form := url.Values{
		"To":            {"+15558675310"},
		"MessageStatus": {"delivered"},
		"AccountSid":    {"AC0123456789abcdef0123456789abcdef"},
		"MessageSid":    {"SM0123456789abcdef0123456789abcdef"},
		"ErrorCode":     {""},
	}
	want := independentSignature(token, u+
		"AccountSid"+"AC0123456789abcdef0123456789abcdef"+
		"ErrorCode"+""+
		"MessageSid"+"SM0123456789abcdef0123456789abcdef"+
		"MessageStatus"+"delivered"+
		"To"+"+15558675310")
	if got := sms.Signature(token, u, form); got != want {
		t.Fatalf("Signature = %q, want %q", got, want)
	}

	t.Run("repeated key: every value, in received order", func(t *testing.T) {
		form, err := url.ParseQuery("b=2&a=z&a=y")
		if err != nil {
			t.Fatal(err)
		}
		want := independentSignature(token, u+"az"+"ay"+"b2")
		if got := sms.Signature(token, u, form); got != want {
			t.Errorf("Signature = %q, want %q", got, want)
		}
		// Reordering the repeated values changes the signature.
		swapped, _ := url.ParseQuery("b=2&a=y&a=z")
		if sms.VerifySignature(token, u, swapped, want) {
			t.Error("signature survived reordering the values of a repeated key")
		}
	})

	t.Run("keys sort by bytes, upper case first", func(t *testing.T) {
		form := url.Values{"b": {"1"}, "B": {"2"}, "a": {"3"}}
		want := independentSignature(token, u+"B2"+"a3"+"b1")
		if got := sms.Signature(token, u, form); got != want {
			t.Errorf("Signature = %q, want %q", got, want)
		}
	})
}

func TestVerifySignatureRejectsForgeries(t *testing.T) {
	good := docsSig
	tamperedValue := docsParams()
	tamperedValue.Set("Digits", "9999")
	extraParam := docsParams()
	extraParam.Set("Injected", "1")
	missingParam := docsParams()
	missingParam.Del("Digits")
	flipped := []byte(good)
	flipped[3] ^= 1

	tests := []struct {
		name, token, url string
		form             url.Values
		sig              string
	}{
		{"wrong token", "54321", docsURL, docsParams(), good},
		{"tampered value", docsToken, docsURL, tamperedValue, good},
		{"extra param", docsToken, docsURL, extraParam, good},
		{"missing param", docsToken, docsURL, missingParam, good},
		{"other path", docsToken, "https://mycompany.com/other.php?foo=1&bar=2", docsParams(), good},
		{"other query", docsToken, "https://mycompany.com/myapp.php?foo=1&bar=3", docsParams(), good},
		{"http instead of https", docsToken, "http://mycompany.com/myapp.php?foo=1&bar=2", docsParams(), good},
		{"flipped character", docsToken, docsURL, docsParams(), string(flipped)},
		{"not base64", docsToken, docsURL, docsParams(), "not*base64!"},
		{"truncated", docsToken, docsURL, docsParams(), good[:20]},
		{"empty signature", docsToken, docsURL, docsParams(), ""},
		{"empty token", "", docsURL, docsParams(), independentSignature("", docsURL+"CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212")},
		{"hex instead of base64", docsToken, docsURL, docsParams(), "d3f28a4d1e832e92a6024f1ff26ece6aa8d70e41"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if sms.VerifySignature(tt.token, tt.url, tt.form, tt.sig) {
				t.Error("forged request verified")
			}
		})
	}
}

func TestVerifySignaturePortVariants(t *testing.T) {
	const token = "port-token"
	form := url.Values{"MessageSid": {"SM0123456789abcdef0123456789abcdef"}, "MessageStatus": {"sent"}}
	tests := []struct {
		name, signedURL, verifyURL string
		want                       bool
	}{
		{"signed with :443, verified without", "https://portal.example.gov:443/cb?x=1", "https://portal.example.gov/cb?x=1", true},
		{"signed without port, verified with :443", "https://portal.example.gov/cb?x=1", "https://portal.example.gov:443/cb?x=1", true},
		{"signed with :80, verified without", "http://portal.example.gov:80/cb", "http://portal.example.gov/cb", true},
		{"proxy dropped a custom port", "https://portal.example.gov/cb", "https://portal.example.gov:8443/cb", true},
		{"ipv6 host with port", "http://[::1]/cb", "http://[::1]:8080/cb", true},
		{"custom port not invented", "https://portal.example.gov:8443/cb", "https://portal.example.gov/cb", false},
		{"other host", "https://evil.example.com/cb", "https://portal.example.gov/cb", false},
		{"wrong default port", "https://portal.example.gov:80/cb", "https://portal.example.gov/cb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := sms.Signature(token, tt.signedURL, form)
			if got := sms.VerifySignature(token, tt.verifyURL, form, sig); got != tt.want {
				t.Errorf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

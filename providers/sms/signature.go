package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// SignatureHeader is the header Twilio signs its webhook requests with.
const SignatureHeader = "X-Twilio-Signature"

// Signature computes Twilio's X-Twilio-Signature for a form-encoded POST
// to fullURL: base64(HMAC-SHA1(authToken, fullURL + k1 + v1 + k2 + v2 ...)),
// the parameters sorted by key (byte order), each key followed by its value.
//
// A key that occurs several times is appended once per value, in the order
// the values were received (the order url.ParseQuery keeps). That follows
// Twilio's documented algorithm ("sort the list of POST variables by the
// parameter name ... append each POST variable, name and value"); the
// helper libraries disagree on this corner: twilio-go keeps only the first
// value of a repeated key, twilio-python sorts and de-duplicates the values.
// Twilio's status callbacks never repeat a key, so all agree in practice.
//
// fullURL must be exactly the URL Twilio requested: scheme, host, port,
// path and query string as configured in StatusCallback. Behind a proxy,
// rebuild it from the public base URL, not from the request's Host.
func Signature(authToken, fullURL string, form url.Values) string {
	return base64.StdEncoding.EncodeToString(signatureMAC(authToken, fullURL, form))
}

// signatureMAC returns the raw HMAC-SHA1 behind Signature.
func signatureMAC(authToken, fullURL string, form url.Values) []byte {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range keys {
		for _, v := range form[k] {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return mac.Sum(nil)
}

// VerifySignature reports whether signature (the X-Twilio-Signature header)
// is Twilio's signature of a POST of form to fullURL under authToken. The
// comparison is constant-time (hmac.Equal on the decoded MAC).
//
// Like Twilio's own validators it also accepts the URL with the port
// removed, or, when fullURL has no port, with the scheme's default port
// (443 for https, 80 for http) added: Twilio has signed both forms over
// time, and proxies differ in whether they pass the port on. Every
// candidate is checked, so timing does not tell which one matched.
//
// An empty authToken or signature never verifies.
func VerifySignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	want, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(want) != sha1.Size {
		return false
	}
	ok := false
	for _, u := range urlVariants(fullURL) {
		match := hmac.Equal(signatureMAC(authToken, u, form), want)
		ok = ok || match
	}
	return ok
}

// urlVariants returns fullURL, then the same URL with its port removed
// (when it has one) or with the scheme's default port added (when it has
// none). It edits the authority as text so the rest of the URL keeps its
// exact bytes (re-encoding a query string would change the signature).
func urlVariants(fullURL string) []string {
	out := []string{fullURL}
	i := strings.Index(fullURL, "://")
	if i <= 0 {
		return out
	}
	scheme := strings.ToLower(fullURL[:i])
	rest := fullURL[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	prefix := fullURL[:i+3]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		prefix += authority[:at+1]
		authority = authority[at+1:]
	}
	host, port := splitAuthority(authority)
	if host == "" {
		return out
	}
	switch {
	case port != "":
		out = append(out, prefix+host+tail)
	case scheme == "https":
		out = append(out, prefix+host+":443"+tail)
	case scheme == "http":
		out = append(out, prefix+host+":80"+tail)
	}
	return out
}

// splitAuthority splits "host:port" or "[v6]:port"; port is "" when absent.
func splitAuthority(a string) (host, port string) {
	if strings.HasPrefix(a, "[") {
		j := strings.IndexByte(a, ']')
		if j < 0 {
			return "", ""
		}
		host = a[:j+1]
		if strings.HasPrefix(a[j+1:], ":") {
			port = a[j+2:]
		}
		return host, port
	}
	if k := strings.LastIndexByte(a, ':'); k >= 0 {
		return a[:k], a[k+1:]
	}
	return a, ""
}

package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"caseverify/providers/accountchek"
	"caseverify/providers/payscore"
	"caseverify/providers/truework"
	"caseverify/providers/truuth"
	"caseverify/providers/truv"
)

// The rules that keep sandbox mode and real providers apart. A sandbox is a
// developer's portal: demo accounts with published passwords and emulators
// in place of the providers. A deployment must never become one by accident,
// and a sandbox must never hold or imitate a real secret.

// credentialSettings are the settings that hold a provider's or a message
// service's credentials, with the setting that says where they are sent.
// Sandbox mode refuses them: the emulators use this installation's own
// secrets (sandboxCredentials), so a real key in a sandbox is a deployment
// that forgot SANDBOX=false. The one exception is a base URL on loopback:
// credentials for a test server on the same machine are not real.
var credentialSettings = []struct {
	baseURL string
	vars    []string
}{
	{"TRUV_BASE_URL", []string{"TRUV_CLIENT_ID", "TRUV_ACCESS_SECRET"}},
	{"TRUEWORK_BASE_URL", []string{"TRUEWORK_API_KEY", "TRUEWORK_PUBLISHABLE_KEY", "TRUEWORK_WEBHOOK_TOKEN", "TRUEWORK_WEBHOOK_TOKEN_PREVIOUS"}},
	{"PAYSCORE_BASE_URL", []string{"PAYSCORE_CLIENT_ID", "PAYSCORE_SECRET_KEY", "PAYSCORE_WEBHOOK_SECRET"}},
	{"ACCOUNTCHEK_BASE_URL", []string{"ACCOUNTCHEK_USERNAME", "ACCOUNTCHEK_PASSWORD"}},
	{"TRUUTH_BASE_URL", []string{"TRUUTH_API_KEY", "TRUUTH_API_SECRET", "TRUUTH_WEBHOOK_AUTH", "TRUUTH_WEBHOOK_AUTH_CALLBACK", "TRUUTH_WEBHOOK_AUTH_BIOPASS"}},
	// Real texts to real phones from a sandbox's demo cases.
	{"TWILIO_BASE_URL", []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"}},
}

// minSecretLen is the shortest provider secret accepted outside sandbox mode.
const minSecretLen = 16

// secretSettings are the credential settings that are secrets, with the
// sandbox values published in this repository (the emulators' defaults).
// Outside sandbox mode a secret shorter than minSecretLen, or equal to a
// published value, is refused: anyone who reads the source knows it.
var secretSettings = []struct {
	name      string
	published []string
}{
	{"TRUV_ACCESS_SECRET", []string{truv.SandboxAccessSecret}},
	{"TRUEWORK_API_KEY", []string{truework.DefaultSandboxAPIKey}},
	{"TRUEWORK_WEBHOOK_TOKEN", []string{truework.DefaultSandboxWebhookToken}},
	{"TRUEWORK_WEBHOOK_TOKEN_PREVIOUS", []string{truework.DefaultSandboxWebhookToken}},
	{"PAYSCORE_SECRET_KEY", []string{payscore.SandboxSecretKey}},
	{"PAYSCORE_WEBHOOK_SECRET", []string{payscore.SandboxSecretKey}},
	{"ACCOUNTCHEK_PASSWORD", []string{accountchek.SandboxPassword}},
	{"TRUUTH_API_SECRET", []string{truuth.SandboxAPISecret}},
	{"TRUUTH_WEBHOOK_AUTH", []string{truuth.SandboxWebhookAuth}},
	{"TRUUTH_WEBHOOK_AUTH_CALLBACK", []string{truuth.SandboxWebhookAuth}},
	{"TRUUTH_WEBHOOK_AUTH_BIOPASS", []string{truuth.SandboxWebhookAuth}},
	{"TWILIO_AUTH_TOKEN", nil},
}

// providerSettingProblems checks the provider and message settings against
// the mode: in sandbox mode no real credential; outside it, every base URL
// https and every secret long and unpublished. Messages name the variables,
// never a value.
func providerSettingProblems(getenv func(string) string, sandbox bool) []string {
	set := func(k string) string { return strings.TrimSpace(getenv(k)) }
	var problems []string
	if sandbox {
		var real []string
		for _, g := range credentialSettings {
			if isLoopbackURL(set(g.baseURL)) {
				continue
			}
			for _, v := range g.vars {
				if set(v) != "" {
					real = append(real, v)
				}
			}
		}
		if u, err := url.Parse(set("SMTP_URL")); err == nil && u.User != nil && !isLoopbackHost(u.Hostname()) {
			if _, hasPassword := u.User.Password(); hasPassword {
				real = append(real, "SMTP_URL (with a password)")
			}
		}
		if len(real) > 0 {
			problems = append(problems, "SANDBOX is on but real credentials are set ("+strings.Join(real, ", ")+
				"): sandbox mode uses only its emulators, with this installation's own secrets; set SANDBOX=false to use real providers, or remove them")
		}
		return problems
	}
	for _, g := range credentialSettings {
		if v := set(g.baseURL); v != "" {
			if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
				problems = append(problems, g.baseURL+" must be an absolute https URL outside sandbox mode")
			}
		}
	}
	for _, s := range secretSettings {
		v := set(s.name)
		if v == "" {
			continue
		}
		if len(v) < minSecretLen {
			problems = append(problems, fmt.Sprintf("%s must be at least %d characters outside sandbox mode", s.name, minSecretLen))
			continue
		}
		for _, p := range s.published {
			if v == p {
				problems = append(problems, s.name+" is a sandbox value published in caseverify's source; use the provider's real secret")
			}
		}
	}
	return problems
}

// isLoopbackURL reports whether s is an absolute URL whose host is loopback.
func isLoopbackURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && isLoopbackHost(u.Hostname())
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// sandboxCredentials are the emulators' API credentials and webhook secrets
// for this installation, derived from SANDBOX_KEY (made once and kept in
// data/sandbox.key, like SESSION_KEY). Nothing in the source lets anyone
// call a sandbox's emulators or forge its webhooks.
type sandboxCredentials struct {
	TruvAccessSecret     string
	TrueworkAPIKey       string
	TrueworkWebhookToken string
	PayscoreSecretKey    string
	AccountChekPassword  string
	TruuthAPISecret      string
	TruuthWebhookAuth    string
}

// newSandboxCredentials derives the credentials from the sandbox key.
func newSandboxCredentials(key []byte) (sandboxCredentials, error) {
	if len(key) < 32 {
		return sandboxCredentials{}, errors.New("sandbox mode needs SANDBOX_KEY (made in data/sandbox.key at start)")
	}
	secret := func(label string) string { return hex.EncodeToString(derive(key, "sandbox "+label)) }
	return sandboxCredentials{
		TruvAccessSecret:     secret("truv access secret"),
		TrueworkAPIKey:       "tw_sk_test_" + secret("truework api key"),
		TrueworkWebhookToken: secret("truework webhook token"),
		PayscoreSecretKey:    secret("payscore secret key"),
		AccountChekPassword:  secret("accountchek password"),
		TruuthAPISecret:      secret("truuth api secret"),
		TruuthWebhookAuth:    "Bearer " + secret("truuth webhook auth"),
	}, nil
}

// noInsecureRedirect is the providers' HTTP clients' CheckRedirect: a
// report PDF or an API answer never follows a redirect to plain http (which
// would carry an applicant's report, or a bearer URL, in clear). Sandbox
// mode allows http on loopback, where its emulators are.
func noInsecureRedirect(sandbox bool) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if req.URL.Scheme != "https" && !(sandbox && req.URL.Scheme == "http" && isLoopbackHost(req.URL.Hostname())) {
			return errors.New("refused a redirect to a URL that is not https")
		}
		return nil
	}
}

package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers/accountchek"
)

// setupAccountChek: ACCOUNTCHEK_USERNAME selects the real Verifier API (with
// ACCOUNTCHEK_PASSWORD, and ACCOUNTCHEK_BASE_URL, default production);
// without it, sandbox mode uses the emulator at /sandbox/accountchek/.
// ACCOUNTCHEK_ALLOWED_IPS (comma-separated CIDRs or IPs) restricts where
// postbacks may come from, in both modes. ACCOUNTCHEK_DROP_RATE (sandbox
// only, 0..1) makes the emulator lose that share of its postbacks, so the
// reconciler's work is visible.
//
// AccountChek postbacks are unauthenticated, so the provider is
// PerOrderWebhook: every order gets its own notificationUrl,
// BASE_URL/webhooks/accountchek/{secret}, and a postback is only a hint that
// the portal confirms with its own status call (verify.Service.Apply →
// Refetch).
//
// ACCOUNTCHEK_CONTRACT optionally names a JSON file overriding the paths and
// field names AccountChek leaves UNCONFIRMED (accountchek.Contract).
func setupAccountChek(env providerEnv, ps *providerSet) error {
	cfg, getenv := env.cfg, env.getenv
	contract, err := readContract[accountchek.Contract](getenv, "ACCOUNTCHEK_CONTRACT")
	if err != nil {
		return err
	}
	allowed := strings.FieldsFunc(getenv("ACCOUNTCHEK_ALLOWED_IPS"), func(r rune) bool { return r == ',' || r == ' ' })
	provider := func(c *accountchek.Client, sandbox bool) *verify.Provider {
		p := &verify.Provider{Verifier: c, Webhooks: c, Sandbox: sandbox}
		if sandbox {
			p.SandboxHint = "The member needs an email and the last 4 of the SSN on file (any 4 digits). The applicant signs in to the bank with user_good / pass_good (user_mfa asks for a code, user_update needs an update)."
		}
		return p
	}

	if user := getenv("ACCOUNTCHEK_USERNAME"); user != "" {
		pass := getenv("ACCOUNTCHEK_PASSWORD")
		if pass == "" {
			return errors.New("configuration: ACCOUNTCHEK_USERNAME is set, so ACCOUNTCHEK_PASSWORD is required")
		}
		if getenv("ACCOUNTCHEK_DROP_RATE") != "" {
			env.log.Warn("ACCOUNTCHEK_DROP_RATE is ignored: it only applies to the sandbox emulator")
		}
		c, err := accountchek.New(accountchek.Config{BaseURL: getenv("ACCOUNTCHEK_BASE_URL"), Username: user, Password: pass,
			HTTPClient: env.client, AllowedSourceCIDRs: allowed, Contract: contract})
		if err != nil {
			return accountChekConfigError(err)
		}
		if !strings.HasPrefix(cfg.BaseURL, "https://") {
			env.log.Warn("AccountChek accepts only https notification URLs; with an http BASE_URL it will refuse every order")
		}
		ps.add(provider(c, false), nil, nil)
		return nil
	}
	if !cfg.Sandbox {
		return nil
	}
	drop := 0.0
	if v := getenv("ACCOUNTCHEK_DROP_RATE"); v != "" {
		d, err := strconv.ParseFloat(v, 64)
		if err != nil || d < 0 || d > 1 {
			return errors.New("configuration: ACCOUNTCHEK_DROP_RATE must be a number from 0 to 1, such as 0.3")
		}
		drop = d
	}
	webhookBase := cfg.BaseURL + "/webhooks/accountchek"
	// The notificationUrl is BASE_URL/webhooks/accountchek/{secret}, as the
	// real AccountChek would get it. AccountChek requires https there. The
	// sandbox allows plain http because a portal on a developer machine has
	// no TLS, and nothing leaves the machine: the emulator runs inside the
	// portal, accepts notificationUrls only under the portal's own webhook
	// path (WebhookURL, so the sandbox cannot be made to post anywhere
	// else), and delivers them over loopback to the portal's listener
	// (loopbackTransport), which is reachable whatever BASE_URL says.
	em := accountchek.NewEmulator(accountchek.EmulatorConfig{
		PublicURL:  cfg.BaseURL + "/sandbox/accountchek",
		WebhookURL: webhookBase,
		HTTPClient: &http.Client{Timeout: 10 * time.Second,
			Transport: loopbackTransport{public: webhookBase + "/", internal: env.internalURL + "/webhooks/accountchek/"}},
		Logger:       env.log.With("emulator", accountchek.Name),
		WebhookDelay: cfg.EmulatorDelay,
		DropRate:     drop,
		Seed:         uint64(time.Now().UnixNano()),
		// The API's password is this installation's own: the emulator's
		// orders hold applicants' details and secret notification URLs.
		Username: accountchek.SandboxUsername,
		Password: env.sandbox.AccountChekPassword,
	})
	c, err := accountchek.New(accountchek.Config{BaseURL: env.internalURL + "/sandbox/accountchek",
		Username: accountchek.SandboxUsername, Password: env.sandbox.AccountChekPassword, HTTPClient: env.client,
		AllowedSourceCIDRs: allowed, Contract: contract})
	if err != nil {
		em.Close()
		return accountChekConfigError(err)
	}
	if drop > 0 {
		env.log.Info("AccountChek emulator drops postbacks on purpose", "drop_rate", drop)
	}
	ps.add(provider(c, true), em, em.Close)
	return nil
}

// accountChekConfigError names the setting behind an adapter config error.
func accountChekConfigError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "AllowedSourceCIDRs"):
		return errors.New("configuration: ACCOUNTCHEK_ALLOWED_IPS must be a comma-separated list of CIDRs or IP addresses such as 203.0.113.0/24")
	case strings.Contains(msg, "BaseURL"):
		return errors.New("configuration: ACCOUNTCHEK_BASE_URL must be an absolute https URL such as https://verifierapi.accountchek.net")
	case strings.Contains(msg, "Path") || strings.Contains(msg, "Field") || strings.Contains(msg, "Param"):
		return contractError("ACCOUNTCHEK_CONTRACT", err) // the contract's paths and names
	}
	return fmt.Errorf("configuration: AccountChek: %w", err)
}

// loopbackTransport sends requests for URLs under public to the same path
// under internal (the portal's own listener on 127.0.0.1), and refuses
// everything else: the sandbox emulator's postbacks go nowhere but the
// portal.
type loopbackTransport struct {
	public, internal string
}

// RoundTrip implements http.RoundTripper.
func (t loopbackTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rest, ok := strings.CutPrefix(r.URL.String(), t.public)
	if !ok {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errors.New("accountchek sandbox: postbacks go only to the portal")
	}
	u, err := url.Parse(t.internal + rest)
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, err
	}
	r2 := r.Clone(r.Context())
	r2.URL, r2.Host = u, ""
	return http.DefaultTransport.RoundTrip(r2)
}

package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"caseverify/handlers/verify"
	"caseverify/providers/truework"
)

// trueworkVars are Truework's settings that only make sense with
// TRUEWORK_API_KEY (TRUEWORK_WEBHOOK_TOKEN also sets the emulator's token in
// sandbox mode).
var trueworkVars = []string{"TRUEWORK_PUBLISHABLE_KEY", "TRUEWORK_BASE_URL", "TRUEWORK_WEBHOOK_TOKEN_PREVIOUS"}

// setupTruework wires Truework Direct (issue 4).
//
//   - TRUEWORK_API_KEY set: the real API (TRUEWORK_BASE_URL, default
//     https://api.truework.com; https://api.truework-sandbox.com for
//     Truework's own sandbox) with TRUEWORK_PUBLISHABLE_KEY for Truework.js
//     and TRUEWORK_WEBHOOK_TOKEN, the X-Truework-Token Truework's webhooks
//     carry. Both are required: without the token anyone could complete an
//     order (reliability.md W14). TRUEWORK_WEBHOOK_TOKEN_PREVIOUS is also
//     accepted during a rotation.
//   - otherwise, in sandbox mode: the emulator at /sandbox/truework/, with
//     its Truework.js stand-in at /sandbox/truework/js/v1; its webhooks go to
//     the portal's own /webhooks/truework with this installation's own token.
//   - otherwise, outside sandbox mode: Truework is not offered, and a
//     Truework setting without TRUEWORK_API_KEY is refused as half done.
//
// TRUEWORK_CONTRACT optionally names a JSON file overriding what Truework
// leaves UNCONFIRMED (truework.Contract): the order lifetime after which an
// unopened order ends expired, the reverification event's name, the
// action-required spellings.
func setupTruework(env providerEnv, ps *providerSet) error {
	cfg, getenv := env.cfg, env.getenv
	contract, err := readContract[truework.Contract](getenv, "TRUEWORK_CONTRACT")
	if err != nil {
		return err
	}
	token := strings.TrimSpace(getenv("TRUEWORK_WEBHOOK_TOKEN"))
	if key := strings.TrimSpace(getenv("TRUEWORK_API_KEY")); key != "" {
		return setupTrueworkAPI(env, ps, key, token, contract)
	}
	for _, v := range trueworkVars {
		if getenv(v) != "" {
			return fmt.Errorf("configuration: %s is set but TRUEWORK_API_KEY is not; set TRUEWORK_API_KEY to use Truework, or remove the TRUEWORK_ settings", v)
		}
	}
	if token != "" {
		return errors.New("configuration: TRUEWORK_WEBHOOK_TOKEN is set but TRUEWORK_API_KEY is not; set TRUEWORK_API_KEY to use Truework, or remove the TRUEWORK_ settings")
	}
	if !cfg.Sandbox {
		return nil // Truework is not configured: it is not offered.
	}
	// Sandbox mode refuses TRUEWORK_ settings (loadConfig): the emulator's
	// key and webhook token are this installation's own.
	key := env.sandbox.TrueworkAPIKey
	token = env.sandbox.TrueworkWebhookToken
	public := cfg.BaseURL + "/sandbox/truework"
	em := truework.NewEmulator(truework.EmulatorConfig{PublicURL: public, WebhookURL: env.internalURL + "/webhooks/truework",
		APIKey: key, WebhookToken: token, HTTPClient: env.emulatorClient, Logger: env.log.With("emulator", "truework"),
		WebhookDelay: cfg.EmulatorDelay})
	// The adapter calls the emulator on loopback; the applicant's browser
	// loads the Truework.js stand-in from the public URL.
	c := truework.SandboxConfig(public)
	c.BaseURL, c.HTTPClient, c.APIKey, c.WebhookTokens = env.internalURL+"/sandbox/truework", env.client, key, []string{token}
	c.Contract = contract
	client, err := truework.New(c)
	if err != nil {
		em.Close()
		return contractError("TRUEWORK_CONTRACT", err)
	}
	ps.add(trueworkProvider(client, true), em, em.Close)
	return nil
}

// setupTrueworkAPI wires the real Truework API.
func setupTrueworkAPI(env providerEnv, ps *providerSet, key, token string, contract truework.Contract) error {
	getenv := env.getenv
	publishable := strings.TrimSpace(getenv("TRUEWORK_PUBLISHABLE_KEY"))
	var missing []string
	if publishable == "" {
		missing = append(missing, "TRUEWORK_PUBLISHABLE_KEY")
	}
	if token == "" {
		missing = append(missing, "TRUEWORK_WEBHOOK_TOKEN")
	}
	if len(missing) > 0 {
		msg := "configuration: TRUEWORK_API_KEY is set, so " + strings.Join(missing, " and ") + " "
		if len(missing) == 1 {
			msg += "is required"
		} else {
			msg += "are required"
		}
		if token == "" {
			msg += " (TRUEWORK_WEBHOOK_TOKEN is the X-Truework-Token value set for the portal's webhook in Truework; without it anyone could mark a verification completed)"
		}
		return errors.New(msg)
	}
	base := strings.TrimSpace(getenv("TRUEWORK_BASE_URL"))
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(env.cfg.Sandbox && u.Scheme == "http")) {
			return errors.New("configuration: TRUEWORK_BASE_URL must be an absolute https URL such as https://api.truework.com")
		}
	}
	tokens := []string{token}
	if prev := strings.TrimSpace(getenv("TRUEWORK_WEBHOOK_TOKEN_PREVIOUS")); prev != "" {
		tokens = append(tokens, prev)
	}
	c, err := truework.New(truework.Config{BaseURL: base, HTTPClient: env.client, APIKey: key, PublishableKey: publishable,
		WebhookTokens: tokens, Contract: contract})
	if err != nil {
		// truework.New names its Config field and never repeats a secret.
		return fmt.Errorf("configuration: Truework settings: %w", err)
	}
	ps.add(trueworkProvider(c, false), nil, nil)
	return nil
}

func trueworkProvider(c *truework.Client, sandbox bool) *verify.Provider {
	p := &verify.Provider{Verifier: c, Webhooks: c, Sandbox: sandbox}
	if sandbox {
		p.SandboxHint = "Test SSNs: 000-00-0000 (Taylor Curtis, one job) to 000-00-0005 and 000-00-0007 (two employers); 000-23-0000 reverifies without the applicant, 000-22-0000 needs them again."
	}
	return p
}

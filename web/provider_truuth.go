package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"caseverify/handlers/verify"
	"caseverify/providers/truuth"
)

// truuthVars are Truuth's settings; any of them without TRUUTH_API_KEY is a
// half-done configuration (except TRUUTH_WEBHOOK_AUTH and TRUUTH_CONTRACT in
// sandbox mode, where they configure the emulator).
var truuthVars = []string{"TRUUTH_API_SECRET", "TRUUTH_TENANT", "TRUUTH_REGION", "TRUUTH_BASE_URL",
	"TRUUTH_WEBHOOK_AUTH_CALLBACK", "TRUUTH_WEBHOOK_AUTH_BIOPASS"}

// setupTruuth wires Truuth identity verification (issue 7).
//
//   - TRUUTH_API_KEY set: the real API, with TRUUTH_API_SECRET, TRUUTH_TENANT
//     and TRUUTH_REGION (au or eu; optional when TRUUTH_BASE_URL is set).
//     TRUUTH_WEBHOOK_AUTH is then required in every mode and must pass
//     truuth.ValidateWebhookAuth: Truuth's webhooks carry no signature, and an
//     unauthenticated identity webhook could mark anyone approved
//     (reliability.md W14).
//   - otherwise, in sandbox mode: the emulator at /sandbox/truuth/ with this
//     installation's own API secret; its callbacks go to the portal's own
//     /webhooks/truuth with this installation's own Authorization.
//   - otherwise, outside sandbox mode: Truuth is not offered. A Truuth
//     setting without TRUUTH_API_KEY is refused as a half-done configuration.
//
// TRUUTH_CONTRACT optionally names a JSON file that overrides paths and field
// names of Truuth's REST contract, which is largely UNCONFIRMED (see
// truuth.Contract); the emulator follows the same overrides.
func setupTruuth(env providerEnv, ps *providerSet) error {
	cfg, getenv := env.cfg, env.getenv
	contract, err := readContract[truuth.Contract](getenv, "TRUUTH_CONTRACT")
	if err != nil {
		return err
	}
	if key := getenv("TRUUTH_API_KEY"); key != "" {
		byEvent, err := truuthEventAuth(getenv)
		if err != nil {
			return err
		}
		return setupTruuthAPI(env, ps, key, strings.TrimSpace(getenv("TRUUTH_WEBHOOK_AUTH")), byEvent, contract)
	}
	for _, v := range truuthVars {
		if getenv(v) != "" {
			return fmt.Errorf("configuration: %s is set but TRUUTH_API_KEY is not; set TRUUTH_API_KEY to use Truuth, or remove the TRUUTH_ settings", v)
		}
	}
	if strings.TrimSpace(getenv("TRUUTH_WEBHOOK_AUTH")) != "" {
		return errors.New("configuration: TRUUTH_WEBHOOK_AUTH is set but TRUUTH_API_KEY is not; set TRUUTH_API_KEY to use Truuth, or remove the TRUUTH_ settings")
	}
	if !cfg.Sandbox {
		return nil // Truuth is not configured: it is not offered.
	}
	// Sandbox mode refuses TRUUTH_ credentials (loadConfig): the emulator's
	// API secret and webhook Authorization are this installation's own.
	webhookAuth := env.sandbox.TruuthWebhookAuth
	em, err := newTruuthEmulator(truuth.EmulatorConfig{PublicURL: cfg.BaseURL + "/sandbox/truuth",
		WebhookURL: env.internalURL + "/webhooks/truuth", WebhookAuth: webhookAuth, HTTPClient: env.emulatorClient,
		APIKey: truuth.SandboxAPIKey, APISecret: env.sandbox.TruuthAPISecret, Tenant: truuth.SandboxTenant,
		Logger: env.log.With("emulator", "truuth"), WebhookDelay: cfg.EmulatorDelay, Contract: contract})
	if err != nil {
		return err
	}
	c, err := truuth.New(truuth.Config{BaseURL: env.internalURL + "/sandbox/truuth", Region: "au", Tenant: truuth.SandboxTenant,
		APIKey: truuth.SandboxAPIKey, APISecret: env.sandbox.TruuthAPISecret, WebhookAuth: webhookAuth, Contract: contract,
		HTTPClient: env.client})
	if err != nil {
		em.Close()
		return err
	}
	ps.add(truuthProvider(c, true), em, em.Close)
	return nil
}

// setupTruuthAPI wires the real Truuth API.
func setupTruuthAPI(env providerEnv, ps *providerSet, key, webhookAuth string, byEvent map[string]string, contract truuth.Contract) error {
	getenv := env.getenv
	var missing []string
	secret, tenant := getenv("TRUUTH_API_SECRET"), strings.TrimSpace(getenv("TRUUTH_TENANT"))
	region, base := strings.ToLower(strings.TrimSpace(getenv("TRUUTH_REGION"))), strings.TrimSpace(getenv("TRUUTH_BASE_URL"))
	if secret == "" {
		missing = append(missing, "TRUUTH_API_SECRET")
	}
	if tenant == "" {
		missing = append(missing, "TRUUTH_TENANT")
	}
	if region == "" && base == "" {
		missing = append(missing, "TRUUTH_REGION")
	}
	// Every event subscription needs a token: its own or the general one.
	webhookMissing := webhookAuth == "" && (byEvent[truuth.EventPathCallback] == "" || byEvent[truuth.EventPathBiopass] == "")
	if webhookMissing {
		missing = append(missing, "TRUUTH_WEBHOOK_AUTH")
	}
	if len(missing) > 0 {
		msg := "configuration: TRUUTH_API_KEY is set, so " + strings.Join(missing, ", ") + " "
		if len(missing) == 1 {
			msg += "is required"
		} else {
			msg += "are required"
		}
		if webhookMissing {
			msg += ` (or both TRUUTH_WEBHOOK_AUTH_CALLBACK and TRUUTH_WEBHOOK_AUTH_BIOPASS; TRUUTH_WEBHOOK_AUTH is the Authorization value Truuth's webhooks send, "Basic <base64>" or "Bearer <token>", as set in the Truuth portal; without it anyone could mark an identity approved)`
		}
		return errors.New(msg)
	}
	if region != "" && region != "au" && region != "eu" {
		return errors.New("configuration: TRUUTH_REGION must be au or eu")
	}
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(env.cfg.Sandbox && u.Scheme == "http")) {
			return errors.New("configuration: TRUUTH_BASE_URL must be an absolute https URL such as https://portal.api.au.truuth.id/kyc")
		}
	}
	if webhookAuth != "" {
		if err := truuth.ValidateWebhookAuth(webhookAuth); err != nil {
			return webhookAuthError(err)
		}
	}
	c, err := truuth.New(truuth.Config{BaseURL: base, Region: region, Tenant: tenant, APIKey: key, APISecret: secret,
		WebhookAuth: webhookAuth, WebhookAuthByEvent: byEvent, Contract: contract, HTTPClient: env.client})
	if err != nil {
		// truuth.New names its Config field and never repeats a secret.
		return fmt.Errorf("configuration: Truuth settings: %w", err)
	}
	ps.add(truuthProvider(c, false), nil, nil)
	return nil
}

func truuthProvider(c *truuth.Client, sandbox bool) *verify.Provider {
	// CanNotify: Truuth emails the invite itself (Send Verification Invite).
	p := &verify.Provider{Verifier: c, Webhooks: c, Sandbox: sandbox}
	if sandbox {
		p.SandboxHint = "Any member details work. On the applicant's page, choose the outcome: pass (approved), warning (needs review), fail (rejected) or error."
	}
	return p
}

// truuthEventAuth reads the per-subscription tokens: Truuth sends one event
// type per webhook subscription, each of which may carry its own Auth Token
// (truuth-webhooks.txt), at /webhooks/truuth/callback and
// /webhooks/truuth/biopass. Each is validated like TRUUTH_WEBHOOK_AUTH.
func truuthEventAuth(getenv func(string) string) (map[string]string, error) {
	out := map[string]string{}
	for ev, name := range map[string]string{truuth.EventPathCallback: "TRUUTH_WEBHOOK_AUTH_CALLBACK", truuth.EventPathBiopass: "TRUUTH_WEBHOOK_AUTH_BIOPASS"} {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			continue
		}
		if err := truuth.ValidateWebhookAuth(v); err != nil {
			return nil, fmt.Errorf("configuration: %s is not usable: %w", name, err)
		}
		out[ev] = v
	}
	return out, nil
}

// webhookAuthError names the variable; the validator never repeats the value.
func webhookAuthError(err error) error {
	return fmt.Errorf("configuration: TRUUTH_WEBHOOK_AUTH is not usable: %w", err)
}

// newTruuthEmulator builds the emulator, turning its panic on a contract
// path that is not a valid route pattern into a configuration error.
func newTruuthEmulator(ec truuth.EmulatorConfig) (em *truuth.Emulator, err error) {
	defer func() {
		if r := recover(); r != nil {
			em, err = nil, fmt.Errorf("configuration: TRUUTH_CONTRACT has a path the sandbox emulator cannot serve: %v", r)
		}
	}()
	return truuth.NewEmulator(ec), nil
}

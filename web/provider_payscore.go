package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/payscore"
)

// payscoreVars are Payscore's settings that only make sense with
// PAYSCORE_CLIENT_ID: set without it they would be silently ignored, so the
// start is refused instead (a half-done configuration).
var payscoreVars = []string{"PAYSCORE_SECRET_KEY", "PAYSCORE_WEBHOOK_SECRET", "PAYSCORE_BASE_URL"}

// setupPayscore: PAYSCORE_CLIENT_ID selects the real API (with
// PAYSCORE_SECRET_KEY, optional PAYSCORE_BASE_URL and PAYSCORE_WEBHOOK_SECRET:
// which key signs Payscore's webhooks is UNCONFIRMED, so it defaults to the
// API secret key and can be set apart). PAYSCORE_BASE_URL must be https
// outside sandbox mode: the API carries the secret key and applicants' bank
// data. Without PAYSCORE_CLIENT_ID, sandbox mode uses the emulator at
// /sandbox/payscore/, and any other PAYSCORE_ setting stops the start.
// Payscore verifies a household together.
//
// PAYSCORE_CONTRACT optionally names a JSON file overriding the paths and
// field names Payscore's documents leave UNCONFIRMED (payscore.Contract),
// including whether amounts are cents or dollars. In sandbox mode the
// emulator follows it too, on top of payscore.SandboxContract.
func setupPayscore(env providerEnv, ps *providerSet) error {
	getenv := env.getenv
	log := env.log.With("provider", "payscore")
	contract, err := readContract[payscore.Contract](getenv, "PAYSCORE_CONTRACT")
	if err != nil {
		return err
	}
	if id := strings.TrimSpace(getenv("PAYSCORE_CLIENT_ID")); id != "" {
		secret := getenv("PAYSCORE_SECRET_KEY")
		if strings.TrimSpace(secret) == "" {
			return errors.New("configuration: PAYSCORE_CLIENT_ID is set, so PAYSCORE_SECRET_KEY is required")
		}
		base := strings.TrimSpace(getenv("PAYSCORE_BASE_URL"))
		if base != "" {
			u, err := url.Parse(base)
			if err != nil || u.Host == "" || (u.Scheme != "https" && !(env.cfg.Sandbox && u.Scheme == "http")) {
				return errors.New("configuration: PAYSCORE_BASE_URL must be an absolute https URL such as https://api.payscore.com (plain http only in sandbox mode)")
			}
		}
		c, err := payscore.New(payscore.Config{BaseURL: base, ClientID: id, SecretKey: secret,
			WebhookSecret: getenv("PAYSCORE_WEBHOOK_SECRET"), HTTPClient: env.client, Logger: log, Contract: contract})
		if err != nil {
			return contractError("PAYSCORE_CONTRACT", err)
		}
		ps.add(&verify.Provider{Verifier: c, Webhooks: c}, nil, nil)
		return nil
	}
	for _, v := range payscoreVars {
		if getenv(v) != "" {
			return fmt.Errorf("configuration: %s is set but PAYSCORE_CLIENT_ID is not; set PAYSCORE_CLIENT_ID to use Payscore, or remove the PAYSCORE_ settings", v)
		}
	}
	if !env.cfg.Sandbox {
		return nil // Payscore is not configured: it is not offered.
	}
	// The sandbox's screenings carry a link (payscore.SandboxContract), so
	// a tester can open the hosted page from the outbox. The emulator's
	// secret key (which also signs its webhooks) is this installation's own.
	contract = providers.FillDefaults(contract, payscore.SandboxContract())
	secret := env.sandbox.PayscoreSecretKey
	c, err := payscore.New(payscore.Config{BaseURL: env.internalURL + "/sandbox/payscore", ClientID: payscore.SandboxClientID,
		SecretKey: secret, HTTPClient: env.client, Logger: log, Contract: contract})
	if err != nil {
		return contractError("PAYSCORE_CONTRACT", err)
	}
	em := payscore.NewEmulator(payscore.EmulatorConfig{PublicURL: env.cfg.BaseURL + "/sandbox/payscore",
		WebhookURL: env.internalURL + "/webhooks/payscore", HTTPClient: env.emulatorClient, Logger: env.log.With("emulator", "payscore"),
		WebhookDelay: env.cfg.EmulatorDelay, Contract: contract, ClientID: payscore.SandboxClientID, SecretKey: secret})
	// Payscore's time-based webhooks (report about to expire, expired,
	// invite expired) come from its clock; the emulator sends them when asked.
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				em.FireExpiryWebhooks()
			}
		}
	}()
	ps.add(&verify.Provider{Verifier: c, Webhooks: c, Sandbox: true,
		SandboxHint: "The applicant connects Demo Bank with " + payscore.DemoUsernameGood + " / pass_good, or says they have no income or no bank."},
		em, func() { close(stop); em.Close() })
	return nil
}

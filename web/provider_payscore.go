package main

import (
	"errors"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers/payscore"
)

// setupPayscore: PAYSCORE_CLIENT_ID selects the real API (with
// PAYSCORE_SECRET_KEY, optional PAYSCORE_BASE_URL and PAYSCORE_WEBHOOK_SECRET:
// which key signs Payscore's webhooks is UNCONFIRMED, so it defaults to the
// API secret key and can be set apart). Without it, sandbox mode uses the
// emulator at /sandbox/payscore/. Payscore verifies a household together.
func setupPayscore(env providerEnv, ps *providerSet) error {
	getenv := env.getenv
	if id := getenv("PAYSCORE_CLIENT_ID"); id != "" {
		secret := getenv("PAYSCORE_SECRET_KEY")
		if secret == "" {
			return errors.New("configuration: PAYSCORE_CLIENT_ID is set, so PAYSCORE_SECRET_KEY is required")
		}
		c, err := payscore.New(payscore.Config{BaseURL: getenv("PAYSCORE_BASE_URL"), ClientID: id, SecretKey: secret,
			WebhookSecret: getenv("PAYSCORE_WEBHOOK_SECRET"), HTTPClient: env.client})
		if err != nil {
			return err
		}
		ps.add(&verify.Provider{Name: "payscore", Label: "Payscore", Verifier: c, Webhooks: c, CanNotify: true, Household: true}, nil, nil)
		return nil
	}
	if !env.cfg.Sandbox {
		return nil
	}
	em := payscore.NewEmulator(payscore.EmulatorConfig{PublicURL: env.cfg.BaseURL + "/sandbox/payscore",
		WebhookURL: env.internalURL + "/webhooks/payscore", HTTPClient: env.client, Logger: env.log.With("emulator", "payscore"),
		WebhookDelay: env.cfg.EmulatorDelay})
	c, err := payscore.New(payscore.Config{BaseURL: env.internalURL + "/sandbox/payscore", ClientID: payscore.SandboxClientID,
		SecretKey: payscore.SandboxSecretKey, HTTPClient: env.client})
	if err != nil {
		return err
	}
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
	ps.add(&verify.Provider{Name: "payscore", Label: "Payscore", Verifier: c, Webhooks: c, CanNotify: true, Household: true, Sandbox: true},
		em, func() { close(stop); em.Close() })
	return nil
}

package main

import (
	"errors"
	"fmt"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers/truv"
)

// setupTruv: TRUV_BASE_URL selects the real API (with TRUV_CLIENT_ID and
// TRUV_ACCESS_SECRET); without it, sandbox mode uses the emulator at
// /sandbox/truv/, with this installation's own access secret (which also
// signs the emulator's webhooks).
//
// TRUV_CONTRACT optionally names a JSON file overriding the paths and field
// names Truv leaves UNCONFIRMED (truv.Contract).
func setupTruv(env providerEnv, ps *providerSet) error {
	cfg, getenv, internalURL, client := env.cfg, env.getenv, env.internalURL, env.client
	contract, err := readContract[truv.Contract](getenv, "TRUV_CONTRACT")
	if err != nil {
		return err
	}
	if base := getenv("TRUV_BASE_URL"); base != "" {
		id, secret := getenv("TRUV_CLIENT_ID"), getenv("TRUV_ACCESS_SECRET")
		if id == "" || secret == "" {
			return errors.New("configuration: TRUV_BASE_URL is set, so TRUV_CLIENT_ID and TRUV_ACCESS_SECRET are required")
		}
		c, err := truv.New(truv.Config{BaseURL: base, ClientID: id, AccessSecret: secret, HTTPClient: client,
			TemplateID: getenv("TRUV_TEMPLATE_ID"), Contract: contract})
		if err != nil {
			return contractError("TRUV_CONTRACT", err)
		}
		ps.add(&verify.Provider{Verifier: c, Webhooks: c}, nil, nil)
		return nil
	}
	for _, v := range []string{"TRUV_CLIENT_ID", "TRUV_ACCESS_SECRET"} {
		if getenv(v) != "" {
			return fmt.Errorf("configuration: %s is set but TRUV_BASE_URL is not; set TRUV_BASE_URL to use Truv, or remove the TRUV_ settings", v)
		}
	}
	if !cfg.Sandbox {
		return nil
	}
	secret := env.sandbox.TruvAccessSecret
	em := truv.NewEmulator(truv.EmulatorConfig{PublicURL: cfg.BaseURL + "/sandbox/truv", WebhookURL: internalURL + "/webhooks/truv",
		AccessSecret: secret, ClientID: truv.SandboxClientID, HTTPClient: env.emulatorClient, Logger: env.log.With("emulator", "truv"),
		WebhookDelay: cfg.EmulatorDelay})
	c, err := truv.New(truv.Config{BaseURL: internalURL + "/sandbox/truv", ClientID: truv.SandboxClientID, AccessSecret: secret,
		HTTPClient: client, ReportRetryDelays: []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second},
		Contract: contract})
	if err != nil {
		em.Close()
		return contractError("TRUV_CONTRACT", err)
	}
	ps.add(&verify.Provider{Verifier: c, Webhooks: c, Sandbox: true,
		SandboxHint: "The applicant picks any employer and signs in with goodlogin / goodpassword (goodlogin / mfa asks for the code 12345)."}, em, em.Close)
	return nil
}

package main

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers/truv"
)

// providerSet is what web/ builds for the configured providers: the
// adapters the workflows use, the emulators mounted under /sandbox/, and
// what to close at shutdown.
type providerSet struct {
	list      []*verify.Provider
	sandboxes map[string]http.Handler
	closers   []func()
}

// setupProviders builds each provider from its settings: the real API when
// configured, its local emulator in sandbox mode otherwise, and nothing
// outside sandbox mode without settings. internalURL is how the portal
// reaches itself (adapters call the emulators over real HTTP on loopback);
// cfg.BaseURL is what applicants' links use.
func setupProviders(cfg Config, getenv func(string) string, internalURL string, log *slog.Logger) (*providerSet, error) {
	ps := &providerSet{sandboxes: map[string]http.Handler{}}
	client := &http.Client{Timeout: 15 * time.Second}

	// Truv: TRUV_BASE_URL selects the real API (with TRUV_CLIENT_ID and
	// TRUV_ACCESS_SECRET); without it, sandbox mode uses the emulator.
	// TRUV_ACCESS_SECRET, when set, is the secret of both the emulator and
	// the webhook check.
	if base := getenv("TRUV_BASE_URL"); base != "" {
		id, secret := getenv("TRUV_CLIENT_ID"), getenv("TRUV_ACCESS_SECRET")
		if id == "" || secret == "" {
			return nil, errors.New("configuration: TRUV_BASE_URL is set, so TRUV_CLIENT_ID and TRUV_ACCESS_SECRET are required")
		}
		c, err := truv.New(truv.Config{BaseURL: base, ClientID: id, AccessSecret: secret, HTTPClient: client,
			TemplateID: getenv("TRUV_TEMPLATE_ID")})
		if err != nil {
			return nil, err
		}
		ps.list = append(ps.list, &verify.Provider{Name: "truv", Label: "Truv", Verifier: c, Webhooks: c, CanNotify: true})
	} else if cfg.Sandbox {
		secret := getenv("TRUV_ACCESS_SECRET")
		if secret == "" {
			secret = truv.SandboxAccessSecret
		}
		em := truv.NewEmulator(truv.EmulatorConfig{PublicURL: cfg.BaseURL + "/sandbox/truv", WebhookURL: internalURL + "/webhooks/truv",
			AccessSecret: secret, ClientID: truv.SandboxClientID, HTTPClient: client, Logger: log.With("emulator", "truv"),
			WebhookDelay: cfg.EmulatorDelay})
		c, err := truv.New(truv.Config{BaseURL: internalURL + "/sandbox/truv", ClientID: truv.SandboxClientID, AccessSecret: secret,
			HTTPClient: client, ReportRetryDelays: []time.Duration{0, 500 * time.Millisecond, time.Second, 2 * time.Second}})
		if err != nil {
			return nil, err
		}
		ps.list = append(ps.list, &verify.Provider{Name: "truv", Label: "Truv", Verifier: c, Webhooks: c, CanNotify: true, Sandbox: true})
		ps.sandboxes["truv"] = em
		ps.closers = append(ps.closers, em.Close)
	}
	return ps, nil
}

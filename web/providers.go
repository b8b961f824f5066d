package main

import (
	"log/slog"
	"net/http"
	"time"

	"caseverify/handlers/verify"
	"caseverify/metrics"
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
func setupProviders(cfg Config, getenv func(string) string, internalURL string, log *slog.Logger, m *metrics.Metrics) (*providerSet, error) {
	ps := &providerSet{sandboxes: map[string]http.Handler{}}
	client := providerClient(cfg.Sandbox)

	env := providerEnv{cfg: cfg, getenv: getenv, internalURL: internalURL, log: log, emulatorClient: client}
	if cfg.Sandbox {
		var err error
		if env.sandbox, err = newSandboxCredentials(cfg.SandboxKey); err != nil {
			return nil, err
		}
	}
	for _, p := range []struct {
		name  string
		setup func(providerEnv, *providerSet) error
	}{{"truv", setupTruv}, {"truework", setupTruework}, {"payscore", setupPayscore}, {"truuth", setupTruuth},
		{"accountchek", setupAccountChek}} {
		// Each adapter's calls are counted and timed under its name
		// (operations metrics); the emulators' webhooks are not its calls.
		env.client = m.ProviderClient(client, p.name)
		if err := p.setup(env, ps); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// providerClient is the HTTP client of every provider adapter: a timeout on
// every call, and no redirect to plain http (noInsecureRedirect).
func providerClient(sandbox bool) *http.Client {
	return &http.Client{Timeout: 15 * time.Second, CheckRedirect: noInsecureRedirect(sandbox)}
}

// providerEnv is what a provider's setup reads.
type providerEnv struct {
	cfg         Config
	getenv      func(string) string
	internalURL string
	log         *slog.Logger
	client      *http.Client // the adapter's: timed and counted under the provider's name
	// emulatorClient is the emulators' (their webhooks to the portal).
	emulatorClient *http.Client
	sandbox        sandboxCredentials // the emulators' credentials, in sandbox mode
}

// add registers a provider and, when it is emulated, its emulator.
func (ps *providerSet) add(p *verify.Provider, emulator http.Handler, closer func()) {
	ps.list = append(ps.list, p.Complete())
	if emulator != nil {
		ps.sandboxes[p.Name] = emulator
	}
	if closer != nil {
		ps.closers = append(ps.closers, closer)
	}
}

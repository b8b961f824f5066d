package main

import (
	"log/slog"
	"net/http"
	"time"

	"caseverify/handlers/verify"
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

	env := providerEnv{cfg: cfg, getenv: getenv, internalURL: internalURL, log: log, client: client}
	for _, setup := range []func(providerEnv, *providerSet) error{setupTruv, setupTruework, setupPayscore, setupTruuth, setupAccountChek} {
		if err := setup(env, ps); err != nil {
			return nil, err
		}
	}
	return ps, nil
}

// providerEnv is what a provider's setup reads.
type providerEnv struct {
	cfg         Config
	getenv      func(string) string
	internalURL string
	log         *slog.Logger
	client      *http.Client
}

// add registers a provider and, when it is emulated, its emulator.
func (ps *providerSet) add(p *verify.Provider, emulator http.Handler, closer func()) {
	ps.list = append(ps.list, p)
	if emulator != nil {
		ps.sandboxes[p.Name] = emulator
	}
	if closer != nil {
		ps.closers = append(ps.closers, closer)
	}
}

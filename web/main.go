// Command web is the caseverify portal: `go run ./web` starts it;
// `go run ./web user create ...` adds a staff user (see README.md).
package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/metrics"
	"caseverify/store"
	"caseverify/views"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "caseverify:", err)
		os.Exit(1)
	}
}

// run is the whole program, with its inputs passed in so tests can start it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return runCommand(ctx, cfg, args, stdin, stdout)
	}
	return serve(ctx, cfg, getenv, stdout, stderr, nil)
}

// serve starts the portal and blocks until ctx is done. ready, if not nil,
// receives the listening address (tests use port 0).
func serve(ctx context.Context, cfg Config, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	log := newLogger(cfg, stderr)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on ADDR %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	if cfg.baseURLDefaulted {
		// No BASE_URL: the portal is where it listens (port 0 in tests).
		cfg.BaseURL = "http://" + localhost(ln.Addr().String())
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, cfg.storeOptions())
	if err != nil {
		return err
	}
	defer st.Close()
	var demo []views.DemoAccount
	if cfg.Sandbox {
		if demo, err = seedDemo(ctx, st); err != nil {
			return err
		}
	} else if err := retireDemo(ctx, st, log); err != nil {
		return err
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Logger.SetOutput(io.Discard) // we log through slog
	// Never trust X-Forwarded-For unless the operator named the proxies
	// (Echo v4.16.0 otherwise believes the first entry: ecosystem.md §0.2).
	if len(cfg.TrustedProxies) > 0 {
		var opts []echo.TrustOption
		for _, n := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	internalURL := "http://127.0.0.1:" + port
	// Operations metrics, only with METRICS_ADDR (nil records nothing).
	var m *metrics.Metrics
	var metricsLn net.Listener
	if cfg.MetricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("listen on METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
		}
		defer metricsLn.Close()
		m = metrics.New(st)
	}
	ps, err := setupProviders(cfg, getenv, internalURL, log, m)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range ps.list {
		names = append(names, p.Name)
	}
	m.Providers(names...)
	mail, text, twilioToken, err := messengers(getenv)
	if err != nil {
		return err
	}
	svc := verify.New(st, log, verify.Config{Providers: ps.list, BaseURL: cfg.BaseURL, ReconcileQuiet: cfg.ReconcileQuiet,
		SMTP: mail, Twilio: text, RenewalRate: cfg.RenewalRate, Metrics: m, Messages: handlers.LinkMessages{}})
	h := handlers.New(st, log, newCookieStore(cfg), svc, handlers.Config{
		Sandbox: cfg.Sandbox, Secure: cfg.Secure(), CSRFKey: derive(cfg.SessionKey, "csrf"),
		Zone: cfg.TimeZone, DemoAccounts: demo, Sandboxes: ps.sandboxes, BaseURL: cfg.BaseURL, TwilioAuthToken: twilioToken,
		Metrics: m,
	})
	h.Register(e)

	// Background work: the webhook inbox, the report sweeps (missing and
	// expired reports), the reconciler (polls orders that have been quiet too
	// long) and the reminders. They claim rows in the database, so a second
	// process would not double them.
	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(7)
	go func() { defer wg.Done(); svc.RunInbox(workers) }()
	go func() { defer wg.Done(); every(workers, 30*time.Second, svc.SweepReports) }()
	// Reports past their expiry are hidden at once; this deletes their data
	// even when the provider's "expired" webhook never comes (reliability.md R1).
	go func() { defer wg.Done(); every(workers, 30*time.Second, svc.PurgeExpiredReports) }()
	go func() { defer wg.Done(); every(workers, cfg.ReconcileEvery, svc.Reconcile) }()
	go func() { defer wg.Done(); every(workers, time.Minute, svc.SendReminders) }()
	go func() { defer wg.Done(); svc.RunRenewals(workers) }()
	go func() {
		defer wg.Done()
		every(workers, time.Hour, func(ctx context.Context) { svc.PurgeOld(ctx, cfg.Retention) })
	}()
	defer func() {
		stopWorkers()
		wg.Wait()
		for _, c := range ps.closers {
			c()
		}
	}()

	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // lifted per request by the live-status stream
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(h.Shutdown) // live streams end, /readyz says 503
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if m != nil {
		go func() {
			if err := m.Serve(ctx, metricsLn, log); err != nil {
				errc <- fmt.Errorf("metrics on METRICS_ADDR: %w", err)
			}
		}()
		log.Info("metrics started", "addr", metricsLn.Addr().String())
	}
	printWelcome(stdout, cfg, demo)
	log.Info("portal started", "addr", ln.Addr().String(), "sandbox", cfg.Sandbox)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("portal stopped")
	return nil
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// newCookieStore builds the gorilla cookie store: signed and encrypted, and
// holding only the opaque session token. Lifetime is the absolute session
// limit; the server enforces the idle limit.
func newCookieStore(cfg Config) *sessions.CookieStore {
	cs := sessions.NewCookieStore(derive(cfg.SessionKey, "cookie-hash"), derive(cfg.SessionKey, "cookie-block"))
	cs.Options = &sessions.Options{Path: "/", MaxAge: int(store.SessionAbsoluteTimeout.Seconds()),
		HttpOnly: true, Secure: cfg.Secure(), SameSite: http.SameSiteLaxMode}
	return cs
}

// derive returns an independent 32-byte subkey of key for label.
func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("caseverify " + label))
	return m.Sum(nil)
}

func printWelcome(w io.Writer, cfg Config, demo []views.DemoAccount) {
	fmt.Fprintf(w, "\ncaseverify is running at %s\n", cfg.BaseURL)
	if cfg.Sandbox {
		fmt.Fprintf(w, "Sandbox mode: providers are emulated, email and SMS go to %s/outbox\n", cfg.BaseURL)
		fmt.Fprintln(w, "Sign in with:")
		for _, a := range demo {
			fmt.Fprintf(w, "  %-21s %s / %s\n", a.Role, a.Email, a.Password)
		}
	}
	fmt.Fprintln(w)
}

// every runs fn each interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

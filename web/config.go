package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"caseverify/store"
)

// Config is every setting, read once from the environment at start and
// validated: a bad value stops the start with a message naming the variable.
// README.md lists them all.
type Config struct {
	Addr           string         // ADDR
	BaseURL        string         // BASE_URL: the public URL of the portal (links in messages, webhook URLs)
	DatabaseURL    string         // DATABASE_URL: the SQLite file, or a postgres:// URL (several replicas)
	Sandbox        bool           // SANDBOX: demo data, emulated providers, outbox
	SandboxKey     []byte         // SANDBOX_KEY (sandbox only): the emulators' credentials and webhook secrets derive from it
	SessionKey     []byte         // SESSION_KEY: 64 hex chars (32 bytes) or more
	DataKey        []byte         // DATA_KEY: 64 hex chars (32 bytes), encrypts PII at rest
	LogFormat      string         // LOG_FORMAT: text or json
	LogLevel       string         // LOG_LEVEL: debug, info, warn, error
	TrustedProxies []*net.IPNet   // TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed
	TimeZone       *time.Location // TZ_DISPLAY: zone for displayed times
	EmulatorDelay  time.Duration  // SANDBOX_DELAY: pause before each emulated webhook, to look real
	ReconcileEvery time.Duration  // RECONCILE_EVERY: how often the reconciler looks for quiet orders
	ReconcileQuiet time.Duration  // RECONCILE_QUIET: how long an open order may be quiet before it is polled
	RenewalRate    float64        // RENEWAL_RATE: refresh calls a second per provider in bulk renewals
	Retention      time.Duration  // RETENTION: how long processed webhook bodies and outbox messages are kept
	MetricsAddr    string         // METRICS_ADDR: where /metrics listens; empty: no metrics
	DBWait         time.Duration  // DB_WAIT: how long a write waits for the database before the request gets 503
	DBPool         int            // DB_POOL: PostgreSQL connections per replica (0: store.DefaultPoolSize)

	baseURLDefaulted bool // BASE_URL was not set: derived from the listener
}

// Secure reports whether the portal is served over https.
func (c Config) Secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }

func loadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:        envOr(getenv, "ADDR", ":8080"),
		DatabaseURL: envOr(getenv, "DATABASE_URL", "data/caseverify.db"),
		LogFormat:   envOr(getenv, "LOG_FORMAT", "text"),
		LogLevel:    envOr(getenv, "LOG_LEVEL", "info"),
	}
	var problems []string
	c.BaseURL = strings.TrimRight(getenv("BASE_URL"), "/")
	if c.BaseURL == "" {
		c.BaseURL, c.baseURLDefaulted = "http://"+localhost(c.Addr), true
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		problems = append(problems, "BASE_URL must be an absolute http(s) URL such as https://verify.agency.gov")
		base = nil
	}
	// Sandbox mode is on only when asked for, or when the portal is a
	// developer's own (an http BASE_URL on loopback, as `make run` has):
	// a deployment that forgot SANDBOX=false must not come up with demo
	// accounts and emulators that anyone can call.
	c.Sandbox = base != nil && base.Scheme == "http" && isLoopbackHost(base.Hostname())
	if v := strings.TrimSpace(getenv("SANDBOX")); v != "" {
		if c.Sandbox, err = strconv.ParseBool(v); err != nil {
			problems = append(problems, "SANDBOX must be true or false")
		}
	}
	switch {
	case base == nil:
	case !c.Sandbox && base.Scheme != "https":
		problems = append(problems, "BASE_URL must be https outside sandbox mode")
	case c.Sandbox && base.Scheme == "https":
		problems = append(problems, "SANDBOX is on but BASE_URL is https, which is how a real deployment looks: set SANDBOX=false to deploy, or use an http BASE_URL to try the sandbox")
	}
	problems = append(problems, providerSettingProblems(getenv, c.Sandbox)...)
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, "LOG_FORMAT must be text or json")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, "LOG_LEVEL must be debug, info, warn or error")
	}
	for _, cidr := range strings.FieldsFunc(getenv("TRUSTED_PROXIES"), func(r rune) bool { return r == ',' || r == ' ' }) {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			problems = append(problems, "TRUSTED_PROXIES must be a comma-separated list of CIDRs such as 10.0.0.0/8")
			break
		}
		c.TrustedProxies = append(c.TrustedProxies, n)
	}
	c.EmulatorDelay = 700 * time.Millisecond
	if v := getenv("SANDBOX_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			problems = append(problems, "SANDBOX_DELAY must be a duration such as 500ms or 0")
		}
		c.EmulatorDelay = d
	}
	c.ReconcileEvery = time.Minute
	if v := getenv("RECONCILE_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			problems = append(problems, "RECONCILE_EVERY must be a duration of at least 1s, such as 1m")
		}
		c.ReconcileEvery = d
	}
	c.ReconcileQuiet = 15 * time.Minute
	if v := getenv("RECONCILE_QUIET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			problems = append(problems, "RECONCILE_QUIET must be a duration of at least 1s, such as 15m")
		}
		c.ReconcileQuiet = d
	}
	c.DBWait = store.DefaultWait
	if v := getenv("DB_WAIT"); v != "" {
		d, err := time.ParseDuration(v)
		// Well under the server's 60 s write timeout: a request waits at
		// most about twice DB_WAIT (the write connection, then the lock).
		if err != nil || d < 100*time.Millisecond || d > 20*time.Second {
			problems = append(problems, "DB_WAIT must be a duration between 100ms and 20s, such as 3s")
		}
		c.DBWait = d
	}
	if v := getenv("DB_POOL"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 200 {
			problems = append(problems, "DB_POOL must be a number of connections between 2 and 200, such as 10")
		}
		c.DBPool = n
	}
	c.RenewalRate = 5
	if v := getenv("RENEWAL_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 || r > 1000 {
			problems = append(problems, "RENEWAL_RATE must be a number of calls a second between 0 and 1000, such as 5")
		}
		c.RenewalRate = r
	}
	c.Retention = 30 * 24 * time.Hour
	if v := getenv("RETENTION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour {
			problems = append(problems, "RETENTION must be a duration of at least 1h, such as 720h (30 days)")
		}
		c.Retention = d
	}
	if c.MetricsAddr = strings.TrimSpace(getenv("METRICS_ADDR")); c.MetricsAddr != "" {
		if p := metricsAddrProblem(c.MetricsAddr, c.Addr); p != "" {
			problems = append(problems, p)
		}
	}
	c.TimeZone = time.Local
	if tz := getenv("TZ_DISPLAY"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			problems = append(problems, "TZ_DISPLAY must be an IANA zone such as America/Chicago")
		}
		c.TimeZone = loc
	}
	// Keys: required outside sandbox. In sandbox mode a missing key is made
	// once and kept beside the database, so restarts keep sessions and the
	// encrypted data readable (never a fresh random key at every start).
	var kerr error
	if c.SessionKey, kerr = loadKey(getenv, "SESSION_KEY", 32, c.Sandbox, c.keyFile("session.key")); kerr != nil {
		problems = append(problems, kerr.Error())
	}
	if c.DataKey, kerr = loadKey(getenv, "DATA_KEY", 32, c.Sandbox, c.keyFile("data.key")); kerr != nil {
		problems = append(problems, kerr.Error())
	} else if len(c.DataKey) != 32 {
		problems = append(problems, "DATA_KEY must be exactly 64 hex characters (32 bytes)")
	}
	if c.Sandbox {
		if c.SandboxKey, kerr = loadKey(getenv, "SANDBOX_KEY", 32, true, c.keyFile("sandbox.key")); kerr != nil {
			problems = append(problems, kerr.Error())
		}
	}
	if len(problems) > 0 {
		return c, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}

// metricsAddrProblem checks METRICS_ADDR: a host:port of its own. The
// metrics are for a scraper on the operations network, so they never share
// the portal's listener (where anyone reaching the portal could read them).
func metricsAddrProblem(addr, portal string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "METRICS_ADDR must be a listen address such as 127.0.0.1:9090 or :9090"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "METRICS_ADDR must be a listen address such as 127.0.0.1:9090 or :9090"
	}
	if _, pport, err := net.SplitHostPort(portal); err == nil && pport == port && port != "0" {
		return "METRICS_ADDR must not use the port of ADDR: metrics have a listener of their own"
	}
	return ""
}

// keyFile is where sandbox mode keeps a key it made: beside the SQLite
// file, or in data/ when the database is PostgreSQL.
func (c Config) keyFile(name string) string {
	if store.IsPostgres(c.DatabaseURL) {
		return filepath.Join("data", name)
	}
	return filepath.Join(filepath.Dir(strings.TrimPrefix(c.DatabaseURL, "file:")), name)
}

// storeOptions are the store's settings from the configuration: one place
// for the server and the commands.
func (c Config) storeOptions() store.Options {
	return store.Options{DataKey: c.DataKey, Wait: c.DBWait, PoolSize: c.DBPool}
}

func envOr(getenv func(string) string, key, def string) string {
	if v := strings.TrimSpace(getenv(key)); v != "" {
		return v
	}
	return def
}

func localhost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "localhost:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// loadKey reads a hex key of at least min bytes from the environment, or in
// sandbox mode from (or into) file.
func loadKey(getenv func(string) string, name string, min int, sandbox bool, file string) ([]byte, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" && sandbox {
		if b, err := os.ReadFile(file); err == nil {
			v = strings.TrimSpace(string(b))
			// A key file made before keys were kept private may be readable
			// by others: only the portal's user reads it.
			if fi, err := os.Stat(file); err == nil && fi.Mode().Perm()&0o077 != 0 {
				if err := os.Chmod(file, 0o600); err != nil {
					return nil, fmt.Errorf("%s: cannot make %s private (0600): %v", name, file, err)
				}
			}
		} else {
			k := make([]byte, 32)
			if _, err := rand.Read(k); err != nil {
				return nil, err
			}
			v = hex.EncodeToString(k)
			if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
				return nil, fmt.Errorf("%s: cannot create %s: %v", name, filepath.Dir(file), err)
			}
			if err := os.WriteFile(file, []byte(v+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("%s: cannot write %s: %v", name, file, err)
			}
		}
	}
	if v == "" {
		return nil, fmt.Errorf("%s is required outside sandbox mode (generate one with: openssl rand -hex 32)", name)
	}
	k, err := hex.DecodeString(v)
	if err != nil || len(k) < min {
		return nil, fmt.Errorf("%s must be at least %d hex characters", name, 2*min)
	}
	return k, nil
}

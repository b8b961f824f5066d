package store

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"caseverify/store/pgtest"
)

// The LISTEN connection's logs name no database host, user or database
// (no PII or secrets in logs), whatever its connection attempts fail on:
// nothing listening at the address (both engines' runs), and, on
// PostgreSQL, the server refusing a role it does not know (its message
// names the role). pgx's own error text names all three.
func TestPGChanges_LogsNameNoHostUserOrDatabase(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close() // nothing listens there now
	type attempt struct{ name, url string }
	secrets := []string{"alice.caseworker", "s3cret-pw", "benefits_records", "127.0.0.1", port}
	attempts := []attempt{{"nothing listening", "postgres://alice.caseworker:s3cret-pw@127.0.0.1:" + port + "/benefits_records?sslmode=disable&connect_timeout=5"}}
	if pgtest.Enabled() {
		u, err := url.Parse(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("alice.caseworker", "s3cret-pw")
		secrets = append(secrets, u.Query().Get("host"), strings.TrimPrefix(u.Path, "/"))
		attempts = append(attempts, attempt{"unknown role", u.String()})
	}
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			cfg, err := pgx.ParseConfig(a.url)
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			p := &pgChanges{feed: NewFeed(), cfg: cfg, log: slog.New(slog.NewTextHandler(&logs, nil)),
				backoffMin: time.Millisecond, backoffMax: 20 * time.Millisecond}
			// The error Open would return, and the reconnect loop's logs.
			_, raw := p.listen(context.Background())
			if raw == nil {
				t.Fatal("the connection attempt did not fail")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if conn := p.reconnect(ctx); conn != nil {
				t.Fatal("reconnected to nothing")
			}
			out := logs.String() + raw.Error()
			if !strings.Contains(logs.String(), "reconnect failed") {
				t.Fatalf("no reconnect failure logged:\n%s", out)
			}
			for _, s := range secrets {
				if s != "" && strings.Contains(out, s) {
					t.Errorf("the listener's error or log names %q:\n%s", s, out)
				}
			}
		})
	}
	// A redacted error still says what kind of failure it was.
	if got := pgSafe(context.DeadlineExceeded).Error(); !strings.Contains(got, "timed out") {
		t.Errorf("pgSafe(deadline) = %q", got)
	}
}

// cutProxy forwards TCP connections to target until cut, which closes the
// listener and every connection: a database server that went away (or a
// network that failed) under a running store.
type cutProxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) cut() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// Errors of ordinary queries name no database host, port, user or
// database when the server goes away under a running store (issue 18):
// the pooled connections break mid-use and the pool's reconnects are
// refused, on every pool (lists, reads, writes in a transaction). These
// errors are what handlers log and what background jobs log; pgx's text
// ("failed to connect to `user=… database=…`: 127.0.0.1:port …") named
// all of them before the driver wrappers passed errors through redactConn.
func TestPostgres_QueryErrorsNameNoHostUserOrDatabase(t *testing.T) {
	pgtest.URL(t) // skips unless the suite may start PostgreSQL
	u, err := url.Parse(DatabaseURLForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	p := newCutProxy(t, "127.0.0.1:"+q.Get("port"))
	proxyPort := strconv.Itoa(p.l.Addr().(*net.TCPAddr).Port)
	socketDir := q.Get("host")
	q.Set("host", "127.0.0.1")
	q.Set("port", proxyPort)
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	user, db := u.User.Username(), strings.TrimPrefix(u.Path, "/")
	ctx := context.Background()
	s, err := Open(ctx, u.String(), Options{DataKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.CreateAgency(ctx, "Redaction County")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Cases(ctx, a.ID, CaseFilter{}); err != nil {
		t.Fatal(err)
	}
	p.cut()
	secrets := []string{"user=", "database=", "127.0.0.1", proxyPort, q.Get("port"), user, db, socketDir}
	ops := map[string]func() error{
		"list (lists pool)": func() error { _, _, err := s.Cases(ctx, a.ID, CaseFilter{}); return err },
		"read":              func() error { _, err := s.Case(ctx, a.ID, 1); return err },
		"write (a transaction)": func() error {
			_, err := s.CreateCase(ctx, a.ID, 0, CaseInput{Number: "R-1", Program: "snap"})
			return err
		},
	}
	for name, op := range ops {
		for i := range 3 { // a broken pooled connection first, then refused reconnects
			err := op()
			if err == nil {
				t.Fatalf("%s %d: no error with the server gone", name, i)
			}
			for _, sec := range secrets {
				if sec != "" && strings.Contains(err.Error(), sec) {
					t.Errorf("%s %d: the error names %q: %v", name, i, sec, err)
				}
			}
			if i == 2 && !strings.Contains(err.Error(), "database connection") {
				t.Errorf("%s: %q does not say the database connection failed", name, err)
			}
		}
	}
}

package store

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
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

// Package mailpittest starts a real SMTP server (mailpit, pinned as a Go tool
// in the separate tools module .tools/go.mod) for tests, and reads the messages it caught back through its
// HTTP API. It is used by the email package's tests and can be reused by any
// other test in the module that needs to see the mail the portal sends.
//
// The mailpit binary is found through the MAILPIT_BIN environment variable,
// or else with `go -C <repo>/.tools tool -n mailpit`, which prints the path of
// the built tool and builds it first when the build cache is cold (allow about two minutes
// the first time). Each server listens on free loopback ports only, keeps its
// database in the test's temporary directory and is killed at cleanup.
package mailpittest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds how long StartMailpit waits for the server to answer.
// mailpit itself starts in well under a second; the margin is for a loaded
// two-core CI machine.
const startTimeout = 20 * time.Second

// toolTimeout bounds `go tool -n mailpit`, which builds mailpit when the
// build cache is cold.
const toolTimeout = 3 * time.Minute

// Options tunes a mailpit server started by Start.
type Options struct {
	// STARTTLS makes the SMTP listener offer STARTTLS with a fresh
	// self-signed certificate for 127.0.0.1 and localhost. Server.RootCAs
	// then holds the certificate so clients can verify it.
	STARTTLS bool
	// ImplicitTLS makes the SMTP listener speak TLS from the first byte
	// (SMTPS, as on port 465) with the same kind of certificate.
	ImplicitTLS bool
	// RequireSTARTTLS makes mailpit refuse mail until the client has
	// switched to TLS. It implies STARTTLS.
	RequireSTARTTLS bool
	// Users, when set, makes the server accept only these SMTP user names
	// with these passwords (plain text, no ':' or line breaks) instead of
	// any credentials.
	Users map[string]string
	// ExtraArgs are appended to mailpit's command line, e.g.
	// "--smtp-allowed-recipients", "^ok@".
	ExtraArgs []string
}

// Server is a running mailpit.
type Server struct {
	// SMTPAddr is the host:port of the SMTP listener, on 127.0.0.1.
	SMTPAddr string
	// APIURL is the base URL of the HTTP API and web UI, without a trailing
	// slash, e.g. "http://127.0.0.1:40123".
	APIURL string
	// RootCAs trusts the server's self-signed certificate; nil without TLS.
	RootCAs *x509.CertPool
}

// StartMailpit starts a plain SMTP mailpit (no TLS, any username and
// password accepted, AUTH allowed without TLS) and returns its SMTP address
// (host:port) and API base URL. The server is stopped when t's test ends.
func StartMailpit(t testing.TB) (smtpAddr, apiURL string) {
	t.Helper()
	s := Start(t, Options{})
	return s.SMTPAddr, s.APIURL
}

// Start starts a mailpit with the given options. It fails the test when
// mailpit cannot be found or does not come up in time.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()

	var roots *x509.CertPool
	var serverArgs []string
	if opts.STARTTLS || opts.ImplicitTLS || opts.RequireSTARTTLS {
		certFile, keyFile, pool, err := writeSelfSignedCert(dir)
		if err != nil {
			t.Fatalf("mailpittest: making a test certificate: %v", err)
		}
		roots = pool
		serverArgs = []string{"--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile}
		if opts.ImplicitTLS {
			serverArgs = append(serverArgs, "--smtp-require-tls")
		} else if opts.RequireSTARTTLS {
			serverArgs = append(serverArgs, "--smtp-require-starttls")
		}
	}

	authArgs := []string{"--smtp-auth-accept-any"}
	if len(opts.Users) > 0 {
		file := filepath.Join(dir, "smtp-users")
		var b strings.Builder
		for u, p := range opts.Users {
			if strings.ContainsAny(u+p, ":\r\n") {
				t.Fatalf("mailpittest: user names and passwords must not contain ':' or line breaks")
			}
			b.WriteString(u + ":" + p + "\n")
		}
		if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
			t.Fatalf("mailpittest: writing the password file: %v", err)
		}
		authArgs = []string{"--smtp-auth-file", file}
	}
	serverArgs = append(authArgs, serverArgs...)

	// A free port can be taken by someone else between our probe and
	// mailpit's bind; try a few times before giving up.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := start(t, bin, dir, attempt, serverArgs, opts.ExtraArgs)
		if err == nil {
			s.RootCAs = roots
			return s
		}
		lastErr = err
	}
	t.Fatalf("mailpittest: mailpit did not start: %v", lastErr)
	return nil
}

// Binary returns the path of the mailpit executable: MAILPIT_BIN when set,
// otherwise what `go tool -n mailpit` prints (building it if needed) in the
// tools module .tools/ at the root of this repository. mailpit lives there,
// not in the portal's go.mod, so its dependencies stay out of the portal's
// requirement list.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("MAILPIT_BIN"); p != "" {
		return p
	}
	// `go test` puts its own GOROOT/bin first on PATH, so this finds the
	// toolchain that runs the tests.
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("mailpittest: no go command on PATH (set MAILPIT_BIN instead): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	toolsDir, err := toolsModuleDir(ctx, goBin)
	if err != nil {
		t.Fatalf("mailpittest: finding the tools module (set MAILPIT_BIN to skip it): %v", err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, goBin, "-C", toolsDir, "tool", "-n", "mailpit")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mailpittest: `go -C %s tool -n mailpit` failed (set MAILPIT_BIN to skip it): %v\n%s", toolsDir, err, stderr.String())
	}
	p := strings.TrimSpace(string(out))
	if p == "" {
		t.Fatalf("mailpittest: `go tool -n mailpit` printed no path")
	}
	return p
}

// toolsModuleDir is .tools/ beside the go.mod of the module under test (the
// test runs in its package's directory, somewhere below that go.mod).
func toolsModuleDir(ctx context.Context, goBin string) (string, error) {
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside a module")
	}
	dir := filepath.Join(filepath.Dir(gomod), ".tools")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", err
	}
	return dir, nil
}

// start runs one mailpit process and waits until both listeners answer.
func start(t testing.TB, bin, dir string, attempt int, serverArgs, extra []string) (*Server, error) {
	t.Helper()
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	smtpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--listen", httpAddr,
		"--smtp", smtpAddr,
		"--database", filepath.Join(dir, fmt.Sprintf("mailpit-%d.db", attempt)),
		"--smtp-disable-rdns",
		"--disable-version-check",
		"--quiet",
	}
	if !requiresTLS(serverArgs) {
		// AUTH over plaintext is what a local test server is for; mailpit
		// refuses this flag together with required TLS.
		args = append(args, "--smtp-auth-allow-insecure")
	}
	args = append(args, serverArgs...)
	args = append(args, extra...)

	cmd := exec.Command(bin, args...)
	var logs syncBuffer
	cmd.Stdout = &logs
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	apiURL := "http://" + httpAddr
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			// Put the value back so a later stop() does not block.
			exited <- err
			return nil, fmt.Errorf("mailpit exited early (%v): %s", err, logs.String())
		default:
		}
		if ready(client, apiURL, smtpAddr) {
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("mailpit not ready after %s: %s", startTimeout, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(stop)
	return &Server{SMTPAddr: smtpAddr, APIURL: apiURL}, nil
}

// requiresTLS reports whether the arguments make TLS mandatory.
func requiresTLS(serverArgs []string) bool {
	for _, a := range serverArgs {
		if a == "--smtp-require-tls" || a == "--smtp-require-starttls" {
			return true
		}
	}
	return false
}

// ready reports whether the HTTP API answers and the SMTP port accepts.
func ready(client *http.Client, apiURL, smtpAddr string) bool {
	resp, err := client.Get(apiURL + "/api/v1/messages?limit=1")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	conn, err := net.DialTimeout("tcp", smtpAddr, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

// writeSelfSignedCert writes a fresh ECDSA certificate for 127.0.0.1, ::1
// and localhost into dir and returns the file names and a pool trusting it.
func writeSelfSignedCert(dir string) (certFile, keyFile string, pool *x509.CertPool, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return "", "", nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mailpittest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", "", nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", nil, err
	}
	certFile = filepath.Join(dir, "smtp-cert.pem")
	keyFile = filepath.Join(dir, "smtp-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return "", "", nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return "", "", nil, err
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool, nil
}

// syncBuffer collects mailpit's output; the process writes to it from its
// own goroutines while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p, dropping output beyond 64 KiB.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep at most 64 KiB: enough to explain a failed start.
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Address is a mailbox as mailpit reports it.
type Address struct {
	Name    string `json:"Name"`    // display name, may be empty
	Address string `json:"Address"` // the mailbox, e.g. "ana@example.org"
}

// Message is one caught message as returned by GET /api/v1/message/{ID}
// (the fields tests need).
type Message struct {
	ID        string    `json:"ID"`        // mailpit's database ID, for Get and Headers
	MessageID string    `json:"MessageID"` // the Message-ID header, without angle brackets
	From      Address   `json:"From"`      // the From header
	To        []Address `json:"To"`        // the To header
	Subject   string    `json:"Subject"`   // decoded subject
	Text      string    `json:"Text"`      // decoded text/plain part (CRLF line ends)
	HTML      string    `json:"HTML"`      // decoded text/html part, empty when none
	Date      time.Time `json:"Date"`      // the Date header
}

// Summary is one entry of a message list or search result.
type Summary struct {
	ID        string    `json:"ID"`        // mailpit's database ID, for Get and Headers
	MessageID string    `json:"MessageID"` // the Message-ID header, without angle brackets
	From      Address   `json:"From"`      // the From header
	To        []Address `json:"To"`        // the To header
	Subject   string    `json:"Subject"`   // decoded subject
}

// Latest returns the most recently caught message.
func Latest(t testing.TB, apiURL string) Message {
	t.Helper()
	var m Message
	getJSON(t, apiURL+"/api/v1/message/latest", &m)
	return m
}

// Get returns the caught message with mailpit's database ID id.
func Get(t testing.TB, apiURL, id string) Message {
	t.Helper()
	var m Message
	getJSON(t, apiURL+"/api/v1/message/"+url.PathEscape(id), &m)
	return m
}

// Search runs a mailpit search (e.g. "to:ana@example.org subject:Verify")
// and returns the matching summaries, newest first.
func Search(t testing.TB, apiURL, query string) []Summary {
	t.Helper()
	var res struct {
		Messages []Summary `json:"messages"`
	}
	getJSON(t, apiURL+"/api/v1/search?query="+url.QueryEscape(query), &res)
	return res.Messages
}

// Headers returns the headers of the caught message with database ID id.
func Headers(t testing.TB, apiURL, id string) map[string][]string {
	t.Helper()
	var h map[string][]string
	getJSON(t, apiURL+"/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	return h
}

// DeleteAll removes every caught message, to isolate tests sharing a server.
func DeleteAll(t testing.TB, apiURL string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodDelete, apiURL+"/api/v1/messages", nil)
	if err != nil {
		t.Fatalf("mailpittest: %v", err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("mailpittest: delete all: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpittest: delete all: HTTP %d", resp.StatusCode)
	}
}

// getJSON GETs u and decodes its JSON answer into v, failing the test on
// any error.
func getJSON(t testing.TB, u string, v any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(u)
	if err != nil {
		t.Fatalf("mailpittest: GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		t.Fatalf("mailpittest: GET %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpittest: GET %s: HTTP %d", u, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("mailpittest: GET %s: decoding: %v", u, err)
	}
}

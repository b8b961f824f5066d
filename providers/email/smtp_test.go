package email_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/providers/email"
	"caseverify/providers/email/mailpittest"
)

const (
	testPassword = "s3cr3t-Pa55word!"
	verifyLink   = "https://verify.example.test/l/3f9a1c7e?lang=en&src=email"
)

// newSender builds a sender from an SMTP_URL, failing the test on error.
func newSender(t *testing.T, rawURL string, tweak func(*email.SMTPConfig)) *email.SMTP {
	t.Helper()
	cfg, err := email.ParseURL(rawURL)
	if err != nil {
		t.Fatalf("ParseURL: %v", err)
	}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := email.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// anchorHrefs returns the unescaped href values of the <a> elements in s.
func anchorHrefs(s string) []string {
	re := regexp.MustCompile(`(?is)<a\s[^>]*href="([^"]*)"[^>]*>`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(s, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// findOne searches mailpit for query and returns the one full message.
func findOne(t *testing.T, apiURL, query string) mailpittest.Message {
	t.Helper()
	res := mailpittest.Search(t, apiURL, query)
	if len(res) != 1 {
		t.Fatalf("search %q: got %d messages, want 1", query, len(res))
	}
	return mailpittest.Get(t, apiURL, res[0].ID)
}

// assertNoSecrets fails when an error text carries the password or the
// recipient address.
func assertNoSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	t.Logf("error text: %v", err)
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error text %q contains a secret or personal data", err.Error())
		}
	}
}

func TestSMTPAgainstMailpit(t *testing.T) {
	smtpAddr, apiURL := mailpittest.StartMailpit(t)
	base := fmt.Sprintf("smtp://caseverify:%s@%s?tls=none&from=noreply@agency.example.gov&from_name=%s",
		"s3cr3t-Pa55word%21", smtpAddr, "Springfield%20County%20Benefits")
	sender := newSender(t, base, nil)

	t.Run("english text and HTML with link", func(t *testing.T) {
		to := "ana.english@example.org"
		id, err := sender.Send(ctxTimeout(t, 10*time.Second), email.Message{
			To:      to,
			Subject: "Verify your income for case 2024-0193",
			Text:    "Hello,\n\nPlease verify your income here:\n" + verifyLink + "\n\nThank you.",
			HTML:    `<p>Hello,</p><p><a href="` + html.EscapeString(verifyLink) + `">Verify your income</a></p>`,
			Headers: map[string]string{"X-Caseverify-Delivery": "dlv_42"},
		})
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		m := findOne(t, apiURL, "to:"+to)
		if m.MessageID != id {
			t.Errorf("Message-ID = %q, Send returned %q", m.MessageID, id)
		}
		if !strings.HasSuffix(id, "@agency.example.gov") || strings.ContainsAny(id, "<>") {
			t.Errorf("id %q: want <hex>@agency.example.gov without brackets", id)
		}
		if m.From.Name != "Springfield County Benefits" || m.From.Address != "noreply@agency.example.gov" {
			t.Errorf("From = %+v", m.From)
		}
		if len(m.To) != 1 || m.To[0].Address != to {
			t.Errorf("To = %+v", m.To)
		}
		if m.Subject != "Verify your income for case 2024-0193" {
			t.Errorf("Subject = %q", m.Subject)
		}
		if !strings.Contains(m.Text, verifyLink) {
			t.Errorf("text part lacks the link: %q", m.Text)
		}
		hrefs := anchorHrefs(m.HTML)
		if len(hrefs) != 1 || hrefs[0] != verifyLink {
			t.Errorf("HTML anchors = %q, want [%q]; HTML: %s", hrefs, verifyLink, m.HTML)
		}
		h := mailpittest.Headers(t, apiURL, m.ID)
		if got := h["X-Caseverify-Delivery"]; len(got) != 1 || got[0] != "dlv_42" {
			t.Errorf("X-Caseverify-Delivery = %q", got)
		}
		if ct := strings.Join(h["Content-Type"], ""); !strings.HasPrefix(ct, "multipart/alternative") {
			t.Errorf("Content-Type = %q, want multipart/alternative", ct)
		}
	})

	t.Run("spanish accents and enye survive", func(t *testing.T) {
		to := "jose.pena@example.org"
		subject := "Verifique sus ingresos: información para José Peña (año 2025)"
		text := "Hola José:\n\nPor favor, verifique su información aquí:\n" + verifyLink + "\n\n¿Preguntas? Llame a la oficina. ¡Gracias!"
		_, err := sender.Send(ctxTimeout(t, 10*time.Second), email.Message{
			To:       to,
			FromName: "Condado de Springfield – Beneficios",
			Subject:  subject,
			Text:     text,
			HTML:     `<p lang="es">Hola José:</p><p><a href="` + html.EscapeString(verifyLink) + `">Verificar mis ingresos</a> – año 2025, señora Núñez</p>`,
		})
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
		m := findOne(t, apiURL, "to:"+to)
		if m.Subject != subject {
			t.Errorf("Subject = %q, want %q", m.Subject, subject)
		}
		if m.From.Name != "Condado de Springfield – Beneficios" {
			t.Errorf("From name = %q", m.From.Name)
		}
		// Mail bodies travel with CRLF line ends.
		if got := strings.ReplaceAll(strings.TrimSpace(m.Text), "\r\n", "\n"); got != text {
			t.Errorf("Text = %q, want %q", m.Text, text)
		}
		if !strings.Contains(m.HTML, "año 2025, señora Núñez") {
			t.Errorf("HTML lost its accents: %s", m.HTML)
		}
		if hrefs := anchorHrefs(m.HTML); len(hrefs) != 1 || hrefs[0] != verifyLink {
			t.Errorf("HTML anchors = %q", hrefs)
		}
	})

	t.Run("text only", func(t *testing.T) {
		to := "text.only@example.org"
		if _, err := sender.Send(ctxTimeout(t, 10*time.Second), email.Message{
			To: to, Subject: "Reminder", Text: "Link: " + verifyLink,
		}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		m := findOne(t, apiURL, "to:"+to)
		if m.HTML != "" {
			t.Errorf("HTML = %q, want none", m.HTML)
		}
		if !strings.Contains(m.Text, verifyLink) {
			t.Errorf("Text = %q", m.Text)
		}
	})

	t.Run("concurrent sends each arrive once", func(t *testing.T) {
		const n = 6
		var wg sync.WaitGroup
		ids := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				ids[i], errs[i] = sender.Send(ctxTimeout(t, 10*time.Second), email.Message{
					To: fmt.Sprintf("parallel%d@example.org", i), Subject: "Parallel", Text: "Link: " + verifyLink,
				})
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("send %d: %v", i, errs[i])
			}
			if seen[ids[i]] {
				t.Errorf("duplicate Message-ID %q", ids[i])
			}
			seen[ids[i]] = true
			m := findOne(t, apiURL, fmt.Sprintf("to:parallel%d@example.org", i))
			if m.MessageID != ids[i] {
				t.Errorf("send %d: Message-ID %q, want %q", i, m.MessageID, ids[i])
			}
		}
	})

	t.Run("STARTTLS is required by default", func(t *testing.T) {
		// Same server, but without tls=none: mailpit offers no STARTTLS
		// here, so the default (mandatory) policy must refuse to send.
		s := newSender(t, fmt.Sprintf("smtp://caseverify:%s@%s?from=noreply@agency.example.gov", "s3cr3t-Pa55word%21", smtpAddr), nil)
		_, err := s.Send(ctxTimeout(t, 10*time.Second), email.Message{To: "never@example.org", Subject: "x", Text: "x"})
		var se *email.SendError
		if !errors.As(err, &se) || se.Kind != email.KindTLS {
			t.Fatalf("err = %v, want SendError kind tls", err)
		}
		assertNoSecrets(t, err, testPassword, "never@example.org")
		if res := mailpittest.Search(t, apiURL, "to:never@example.org"); len(res) != 0 {
			t.Errorf("message was delivered without TLS")
		}
	})
}

func TestSMTPStartTLSAndImplicitTLS(t *testing.T) {
	t.Run("starttls required by server and client", func(t *testing.T) {
		srv := mailpittest.Start(t, mailpittest.Options{RequireSTARTTLS: true})
		s := newSender(t, fmt.Sprintf("smtp://user:%s@%s?from=noreply@agency.example.gov", "s3cr3t-Pa55word%21", srv.SMTPAddr),
			func(c *email.SMTPConfig) { c.TLSConfig = &tls.Config{RootCAs: srv.RootCAs} })
		to := "tls.user@example.org"
		if _, err := s.Send(ctxTimeout(t, 10*time.Second), email.Message{To: to, Subject: "Over TLS", Text: verifyLink}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if m := findOne(t, srv.APIURL, "to:"+to); m.Subject != "Over TLS" {
			t.Errorf("Subject = %q", m.Subject)
		}

		// The same server with the system roots: its self-signed
		// certificate must not be trusted.
		untrusted := newSender(t, fmt.Sprintf("smtp://user:%s@%s?from=noreply@agency.example.gov", "s3cr3t-Pa55word%21", srv.SMTPAddr), nil)
		_, err := untrusted.Send(ctxTimeout(t, 10*time.Second), email.Message{To: to, Subject: "x", Text: "x"})
		var se *email.SendError
		if !errors.As(err, &se) || se.Kind != email.KindTLS {
			t.Fatalf("err = %v, want SendError kind tls", err)
		}
		assertNoSecrets(t, err, testPassword, to)
	})

	t.Run("implicit TLS (smtps)", func(t *testing.T) {
		srv := mailpittest.Start(t, mailpittest.Options{ImplicitTLS: true})
		s := newSender(t, fmt.Sprintf("smtps://user:%s@%s?from=noreply@agency.example.gov", "s3cr3t-Pa55word%21", srv.SMTPAddr),
			func(c *email.SMTPConfig) { c.TLSConfig = &tls.Config{RootCAs: srv.RootCAs} })
		to := "smtps.user@example.org"
		if _, err := s.Send(ctxTimeout(t, 10*time.Second), email.Message{To: to, Subject: "Implicit TLS", Text: verifyLink}); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if m := findOne(t, srv.APIURL, "to:"+to); m.Subject != "Implicit TLS" {
			t.Errorf("Subject = %q", m.Subject)
		}
	})
}

func TestSMTPAuth(t *testing.T) {
	srv := mailpittest.Start(t, mailpittest.Options{Users: map[string]string{"caseverify": testPassword}})
	to := "auth.check@example.org"

	good := newSender(t, fmt.Sprintf("smtp://caseverify:%s@%s?tls=none&from=noreply@agency.example.gov", "s3cr3t-Pa55word%21", srv.SMTPAddr), nil)
	if _, err := good.Send(ctxTimeout(t, 10*time.Second), email.Message{To: to, Subject: "Authenticated", Text: verifyLink}); err != nil {
		t.Fatalf("Send with the right password: %v", err)
	}
	findOne(t, srv.APIURL, "to:"+to)

	for _, mech := range []string{"plain", "login"} {
		t.Run("wrong password "+mech, func(t *testing.T) {
			const wrong = "Wrong-Pa55word-XYZ"
			bad := newSender(t, fmt.Sprintf("smtp://caseverify:%s@%s?tls=none&auth=%s&from=noreply@agency.example.gov", wrong, srv.SMTPAddr, mech), nil)
			_, err := bad.Send(ctxTimeout(t, 10*time.Second), email.Message{To: to, Subject: "x", Text: "x"})
			var se *email.SendError
			if !errors.As(err, &se) || se.Kind != email.KindAuth || se.Temporary {
				t.Fatalf("err = %v, want permanent SendError kind auth", err)
			}
			assertNoSecrets(t, err, wrong, testPassword, to)
		})
	}
}

func TestSMTPRecipientRefused(t *testing.T) {
	srv := mailpittest.Start(t, mailpittest.Options{ExtraArgs: []string{"--smtp-allowed-recipients", "^allowed@"}})
	s := newSender(t, fmt.Sprintf("smtp://%s?tls=none&from=noreply@agency.example.gov", srv.SMTPAddr), nil)
	to := "refused.person@example.org"
	_, err := s.Send(ctxTimeout(t, 10*time.Second), email.Message{To: to, Subject: "x", Text: "x"})
	var se *email.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want *SendError", err)
	}
	if se.Kind != email.KindRecipient || se.SMTPCode < 500 || se.Temporary {
		t.Errorf("got kind=%s code=%d temporary=%v, want recipient, 5xx, permanent", se.Kind, se.SMTPCode, se.Temporary)
	}
	assertNoSecrets(t, err, to)
	if _, err := s.Send(ctxTimeout(t, 10*time.Second), email.Message{To: "allowed@example.org", Subject: "ok", Text: "ok"}); err != nil {
		t.Errorf("allowed recipient: %v", err)
	}
}

func TestSMTPUnreachable(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	s := newSender(t, fmt.Sprintf("smtp://user:%s@%s?tls=none&from=noreply@agency.example.gov&timeout=2s", "s3cr3t-Pa55word%21", addr), nil)
	start := time.Now()
	_, err = s.Send(ctxTimeout(t, 10*time.Second), email.Message{To: "nobody@example.org", Subject: "x", Text: "x"})
	var se *email.SendError
	if !errors.As(err, &se) || se.Kind != email.KindUnreachable || !se.Temporary {
		t.Fatalf("err = %v, want temporary SendError kind unreachable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s, want within the 2 s timeout", d)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q should name the server %s", err, addr)
	}
	assertNoSecrets(t, err, testPassword, "s3cr3t-Pa55word%21", "nobody@example.org")
}

// silentServer accepts connections and never says a word, like a firewall
// that swallows packets after the handshake.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String()
}

func TestSMTPTimeouts(t *testing.T) {
	addr := silentServer(t)

	t.Run("dial timeout bounds a silent server", func(t *testing.T) {
		s := newSender(t, fmt.Sprintf("smtp://user:%s@%s?tls=none&from=noreply@agency.example.gov&timeout=300ms", "s3cr3t-Pa55word%21", addr), nil)
		start := time.Now()
		_, err := s.Send(context.Background(), email.Message{To: "slow@example.org", Subject: "x", Text: "x"})
		var se *email.SendError
		if !errors.As(err, &se) || se.Kind != email.KindTimeout || !se.Temporary {
			t.Fatalf("err = %v, want temporary SendError kind timeout", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %s, want about 300ms", d)
		}
		assertNoSecrets(t, err, testPassword, "slow@example.org")
	})

	t.Run("context cancellation is honoured", func(t *testing.T) {
		s := newSender(t, fmt.Sprintf("smtp://%s?tls=none&from=noreply@agency.example.gov&timeout=30s", addr), nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := s.Send(ctx, email.Message{To: "slow@example.org", Subject: "x", Text: "x"})
		var se *email.SendError
		if !errors.As(err, &se) || se.Kind != email.KindTimeout || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want SendError kind timeout wrapping context.Canceled", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %s after cancel at 200ms", d)
		}
	})

	t.Run("send timeout bounds the whole conversation", func(t *testing.T) {
		s := newSender(t, fmt.Sprintf("smtp://%s?tls=none&from=noreply@agency.example.gov&timeout=30s&send_timeout=250ms", addr), nil)
		start := time.Now()
		_, err := s.Send(context.Background(), email.Message{To: "slow@example.org", Subject: "x", Text: "x"})
		var se *email.SendError
		if !errors.As(err, &se) || se.Kind != email.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want SendError kind timeout wrapping DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %s, want about 250ms", d)
		}
	})
}

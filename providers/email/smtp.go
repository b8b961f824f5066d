package email

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
)

// TLSMode says how the connection to the SMTP server is protected.
type TLSMode string

// The TLS modes. There is deliberately no "opportunistic" mode: a STARTTLS
// that silently falls back to plaintext sends the SMTP password and the
// applicant's link in the clear whenever an attacker strips the STARTTLS
// offer.
const (
	// TLSStartTLS connects in plaintext and requires STARTTLS before
	// anything else (port 587). The default for smtp:// URLs.
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465). The
	// mode of smtps:// URLs.
	TLSImplicit TLSMode = "implicit"
	// TLSNone never uses TLS. Only for a local test server (mailpit):
	// smtp://127.0.0.1:1025?tls=none.
	TLSNone TLSMode = "none"
)

// AuthMechanism names the SMTP AUTH mechanism used when a username is set.
type AuthMechanism string

// The supported mechanisms. PLAIN is what almost every submission service
// (SES, SendGrid, Postmark, Microsoft 365, Gmail) accepts over TLS; go-mail
// refuses PLAIN and LOGIN over an unencrypted connection to anything but
// localhost, so the password cannot leak by misconfiguration.
const (
	AuthPlain       AuthMechanism = "plain"
	AuthLogin       AuthMechanism = "login"
	AuthCRAMMD5     AuthMechanism = "cram-md5"
	AuthSCRAMSHA256 AuthMechanism = "scram-sha-256"
)

// Default ports and timeouts.
const (
	DefaultSubmissionPort = 587              // smtp:// with STARTTLS
	DefaultSMTPSPort      = 465              // smtps://
	DefaultDialTimeout    = 15 * time.Second // connect, and each SMTP command
	DefaultSendTimeout    = 30 * time.Second // the whole conversation for one message
)

// SMTPConfig configures the SMTP sender. ParseURL builds one from SMTP_URL.
type SMTPConfig struct {
	Host     string // server host name or IP
	Port     int    // 0 picks 587 (STARTTLS, none) or 465 (implicit)
	Username string // empty: no SMTP AUTH
	Password string // never logged or put in an error
	// Auth is the AUTH mechanism when Username is set; empty means PLAIN.
	Auth AuthMechanism
	// TLS is the TLS mode; empty means STARTTLS, required.
	TLS TLSMode
	// TLSConfig overrides the TLS settings, e.g. RootCAs for a private CA
	// or a test server. ServerName defaults to Host; the minimum version is
	// TLS 1.2 unless set higher.
	TLSConfig *tls.Config
	// FromAddress is the sender address for messages that leave it empty
	// (SMTP_URL ?from=).
	FromAddress string
	// FromName is the display name for messages that leave it empty
	// (SMTP_URL ?from_name=).
	FromName string
	// HELO is the name sent in EHLO; empty uses this machine's host name.
	HELO string
	// DialTimeout bounds connecting and each SMTP command (go-mail sets it
	// as the connection deadline before every command); 0 means 15 s.
	DialTimeout time.Duration
	// SendTimeout bounds one whole Send, on top of the caller's context;
	// 0 means 30 s.
	SendTimeout time.Duration
}

// ParseURL parses SMTP_URL:
//
//	smtp://user:pass@host:587?from=noreply@agency.gov&from_name=County%20Benefits
//	smtps://user:pass@host:465?from=noreply@agency.gov
//	smtp://127.0.0.1:1025?tls=none&from=noreply@example.test   (local test server only)
//
// smtp:// requires STARTTLS unless tls=none; smtps:// uses implicit TLS.
// Other query parameters: auth=plain|login|cram-md5|scram-sha-256,
// helo=<name>, timeout=<Go duration> (dial and per command), send_timeout=<Go
// duration>. Special characters in the user or password must be
// percent-encoded. Errors name SMTP_URL and never repeat the password.
func ParseURL(smtpURL string) (SMTPConfig, error) {
	const hint = "expected smtp://user:pass@host:587?from=noreply@agency.gov or smtps://user:pass@host:465?from=..."
	var cfg SMTPConfig
	if strings.TrimSpace(smtpURL) == "" {
		return cfg, fmt.Errorf("SMTP_URL is empty (%s)", hint)
	}
	// url.Parse's own error quotes the whole input, password included, so
	// it is never wrapped or shown.
	u, err := url.Parse(smtpURL)
	if err != nil {
		return cfg, fmt.Errorf("SMTP_URL is not a valid URL (%s; percent-encode special characters in the user name and password)", hint)
	}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
		cfg.TLS = TLSStartTLS
	case "smtps":
		cfg.TLS = TLSImplicit
	default:
		return cfg, fmt.Errorf("SMTP_URL must start with smtp:// or smtps:// (%s)", hint)
	}
	if u.Opaque != "" || u.Host == "" {
		return cfg, fmt.Errorf("SMTP_URL has no host (%s)", hint)
	}
	if u.Path != "" && u.Path != "/" {
		return cfg, fmt.Errorf("SMTP_URL must not have a path (%s)", hint)
	}
	cfg.Host = u.Hostname()
	if cfg.Host == "" {
		return cfg, fmt.Errorf("SMTP_URL has no host (%s)", hint)
	}
	if p := u.Port(); p != "" {
		port, err := strconv.Atoi(p)
		if err != nil || port < 1 || port > 65535 {
			return cfg, errors.New("SMTP_URL has an invalid port (1-65535)")
		}
		cfg.Port = port
	}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		if cfg.Username == "" {
			return cfg, errors.New("SMTP_URL has a password but no user name")
		}
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, errors.New("SMTP_URL has a malformed query string")
	}
	for k := range q {
		switch k {
		case "from", "from_name", "tls", "auth", "helo", "timeout", "send_timeout":
		default:
			return cfg, fmt.Errorf("SMTP_URL has an unknown parameter %q (known: from, from_name, tls, auth, helo, timeout, send_timeout)", k)
		}
	}
	cfg.FromAddress = q.Get("from")
	cfg.FromName = q.Get("from_name")
	cfg.HELO = q.Get("helo")
	switch t := strings.ToLower(q.Get("tls")); t {
	case "":
	case "none":
		if cfg.TLS == TLSImplicit {
			return cfg, errors.New("SMTP_URL: tls=none cannot be used with smtps://")
		}
		cfg.TLS = TLSNone
	case "starttls":
		if cfg.TLS == TLSImplicit {
			return cfg, errors.New("SMTP_URL: tls=starttls cannot be used with smtps://")
		}
	case "implicit":
		cfg.TLS = TLSImplicit
	default:
		return cfg, errors.New("SMTP_URL: tls must be starttls, implicit or none")
	}
	if a := q.Get("auth"); a != "" {
		cfg.Auth = AuthMechanism(strings.ToLower(a))
	}
	if d := q.Get("timeout"); d != "" {
		if cfg.DialTimeout, err = time.ParseDuration(d); err != nil || cfg.DialTimeout <= 0 {
			return cfg, errors.New("SMTP_URL: timeout must be a positive duration such as 15s")
		}
	}
	if d := q.Get("send_timeout"); d != "" {
		if cfg.SendTimeout, err = time.ParseDuration(d); err != nil || cfg.SendTimeout <= 0 {
			return cfg, errors.New("SMTP_URL: send_timeout must be a positive duration such as 30s")
		}
	}
	if err := cfg.validate("SMTP_URL"); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// validate checks the fields that ParseURL and NewSMTP both need; name is
// what the error calls the setting.
func (c SMTPConfig) validate(name string) error {
	if c.Host == "" {
		return fmt.Errorf("%s: host is required", name)
	}
	if strings.ContainsAny(c.Host, "/ \r\n") {
		return fmt.Errorf("%s: host is not valid", name)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("%s: port must be 1-65535", name)
	}
	switch c.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("%s: TLS mode must be starttls, implicit or none", name)
	}
	switch c.Auth {
	case "", AuthPlain, AuthLogin, AuthCRAMMD5, AuthSCRAMSHA256:
	default:
		return fmt.Errorf("%s: auth must be plain, login, cram-md5 or scram-sha-256", name)
	}
	if c.Password != "" && c.Username == "" {
		return fmt.Errorf("%s: a password is set but no user name", name)
	}
	if c.FromAddress != "" {
		if err := checkBareAddress(c.FromAddress); err != nil {
			return fmt.Errorf("%s: from address %v", name, err)
		}
	}
	if strings.ContainsAny(c.FromName, "\r\n") || strings.ContainsAny(c.HELO, "\r\n ") {
		return fmt.Errorf("%s: from_name and helo must be single-line", name)
	}
	if c.DialTimeout < 0 || c.SendTimeout < 0 {
		return fmt.Errorf("%s: timeouts must not be negative", name)
	}
	return nil
}

// SMTP sends mail through one SMTP server. It is safe for concurrent use:
// every Send opens its own connection, so there is no shared session to
// break and nothing to close.
type SMTP struct {
	cfg SMTPConfig
}

var _ Sender = (*SMTP)(nil)

// NewSMTP validates cfg, fills in defaults and returns a sender.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if err := cfg.validate("SMTP config"); err != nil {
		return nil, err
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Auth == "" {
		cfg.Auth = AuthPlain
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultSubmissionPort
		if cfg.TLS == TLSImplicit {
			cfg.Port = DefaultSMTPSPort
		}
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.SendTimeout == 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	tc := &tls.Config{}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	cfg.TLSConfig = tc
	return &SMTP{cfg: cfg}, nil
}

// Addr returns the server's host:port, for start-up messages. It holds no
// credentials.
func (s *SMTP) Addr() string {
	return net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
}

// Send delivers m and returns its Message-ID (without angle brackets). The
// context is honoured for the whole conversation: cancelling it closes the
// connection. Errors are *SendError (or wrap ErrInvalidMessage).
func (s *SMTP) Send(ctx context.Context, m Message) (string, error) {
	fromName, fromAddr, err := m.Validate(s.cfg.FromName, s.cfg.FromAddress)
	if err != nil {
		return "", err
	}
	msg, id, err := s.build(m, fromName, fromAddr)
	if err != nil {
		return "", err
	}

	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	dialer := &ctxDialer{ctx: ctx, tlsConfig: s.cfg.TLSConfig, implicit: s.cfg.TLS == TLSImplicit}
	defer dialer.stop()

	client, err := s.client(dialer)
	if err != nil {
		return "", &SendError{Kind: KindConfig, Message: "the SMTP settings are not usable", Err: err}
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return "", classify(ctx, err, s.Addr())
	}
	return id, nil
}

// build turns m into a go-mail message with a fresh Message-ID.
func (s *SMTP) build(m Message, fromName, fromAddr string) (*mail.Msg, string, error) {
	msg := mail.NewMsg(mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP))
	if err := msg.FromFormat(fromName, fromAddr); err != nil {
		return nil, "", fmt.Errorf("%w: sender address is not valid", ErrInvalidMessage)
	}
	if err := msg.To(m.To); err != nil {
		return nil, "", fmt.Errorf("%w: recipient address is not valid", ErrInvalidMessage)
	}
	msg.Subject(m.Subject)
	id, err := newMessageID(fromAddr)
	if err != nil {
		return nil, "", err
	}
	msg.SetMessageIDWithValue(id)
	msg.SetDate()
	for k, v := range m.Headers {
		msg.SetGenHeader(mail.Header(k), v)
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, id, nil
}

// client builds a go-mail client for one Send.
func (s *SMTP) client(d *ctxDialer) (*mail.Client, error) {
	opts := []mail.Option{
		mail.WithPort(s.cfg.Port),
		mail.WithTimeout(s.cfg.DialTimeout),
		mail.WithTLSConfig(s.cfg.TLSConfig),
		// Our dialer closes the connection when the Send context ends,
		// which go-mail alone only honours while dialling.
		mail.WithDialContextFunc(d.DialContext),
	}
	switch s.cfg.TLS {
	case TLSImplicit:
		// The dialer does the TLS handshake (a custom dial function
		// replaces go-mail's own TLS dialer); WithSSL stops go-mail from
		// also trying STARTTLS.
		opts = append(opts, mail.WithSSL())
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.cfg.HELO != "" {
		opts = append(opts, mail.WithHELO(s.cfg.HELO))
	}
	if s.cfg.Username != "" {
		opts = append(opts,
			mail.WithSMTPAuth(authType(s.cfg.Auth)),
			mail.WithUsername(s.cfg.Username),
			mail.WithPassword(s.cfg.Password),
		)
	}
	return mail.NewClient(s.cfg.Host, opts...)
}

// authType maps our mechanism names to go-mail's.
func authType(a AuthMechanism) mail.SMTPAuthType {
	switch a {
	case AuthLogin:
		return mail.SMTPAuthLogin
	case AuthCRAMMD5:
		return mail.SMTPAuthCramMD5
	case AuthSCRAMSHA256:
		return mail.SMTPAuthSCRAMSHA256
	default:
		return mail.SMTPAuthPlain
	}
}

// newMessageID returns "<32 hex>@<sender domain>": unique, and under the
// agency's own domain so replies and bounces thread correctly.
func newMessageID(fromAddr string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("email: generating a Message-ID: %w", err)
	}
	domain := "localhost"
	if at := strings.LastIndexByte(fromAddr, '@'); at >= 0 && at < len(fromAddr)-1 {
		domain = fromAddr[at+1:]
	}
	return hex.EncodeToString(b[:]) + "@" + domain, nil
}

// ctxDialer dials for go-mail and ties each connection to the Send context:
// when the context ends (deadline or cancel) the connection is closed, which
// aborts whatever SMTP command is waiting. For implicit TLS it also does the
// handshake, because go-mail skips its own TLS dialer when given a custom
// dial function.
type ctxDialer struct {
	ctx       context.Context
	tlsConfig *tls.Config
	implicit  bool

	mu    sync.Mutex
	stops []func() bool
}

// DialContext has go-mail's DialContextFunc signature. dialCtx is go-mail's
// own context, bounded by the dial timeout.
func (d *ctxDialer) DialContext(dialCtx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	var conn net.Conn
	var err error
	if d.implicit {
		td := &tls.Dialer{NetDialer: &nd, Config: d.tlsConfig}
		conn, err = td.DialContext(dialCtx, network, addr)
	} else {
		conn, err = nd.DialContext(dialCtx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	// Returned as is (not wrapped) so the SMTP client still sees a
	// *tls.Conn for implicit TLS and knows the session is encrypted.
	stop := context.AfterFunc(d.ctx, func() { _ = conn.Close() })
	d.mu.Lock()
	d.stops = append(d.stops, stop)
	d.mu.Unlock()
	return conn, nil
}

// stop releases the context hooks once Send is over.
func (d *ctxDialer) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.stops {
		s()
	}
	d.stops = nil
}

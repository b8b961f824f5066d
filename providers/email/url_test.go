package email_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"caseverify/providers/email"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want email.SMTPConfig
	}{
		{
			name: "submission with STARTTLS",
			in:   "smtp://apikey:p%40ss%2Fw%3Ard@smtp.example.com:587?from=noreply@agency.gov",
			want: email.SMTPConfig{Host: "smtp.example.com", Port: 587, Username: "apikey", Password: "p@ss/w:rd",
				TLS: email.TLSStartTLS, FromAddress: "noreply@agency.gov"},
		},
		{
			name: "implicit TLS, default port left to NewSMTP",
			in:   "smtps://u:p@mail.example.com?from=noreply@agency.gov&from_name=County%20Benefits",
			want: email.SMTPConfig{Host: "mail.example.com", Username: "u", Password: "p", TLS: email.TLSImplicit,
				FromAddress: "noreply@agency.gov", FromName: "County Benefits"},
		},
		{
			name: "local test server without TLS or auth",
			in:   "smtp://127.0.0.1:1025?tls=none",
			want: email.SMTPConfig{Host: "127.0.0.1", Port: 1025, TLS: email.TLSNone},
		},
		{
			name: "options",
			in:   "smtp://u:p@[::1]:2525?tls=starttls&auth=LOGIN&helo=portal.agency.gov&timeout=5s&send_timeout=1m",
			want: email.SMTPConfig{Host: "::1", Port: 2525, Username: "u", Password: "p", TLS: email.TLSStartTLS,
				Auth: email.AuthLogin, HELO: "portal.agency.gov", DialTimeout: 5 * time.Second, SendTimeout: time.Minute},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := email.ParseURL(tt.in)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if _, err := email.NewSMTP(got); err != nil {
				t.Errorf("NewSMTP: %v", err)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	const pw = "Hunter2-SECRET"
	tests := []struct {
		name, in, wantText string
	}{
		{"empty", "", "empty"},
		{"wrong scheme", "http://u:" + pw + "@host:587", "smtp:// or smtps://"},
		{"no host", "smtp://u:" + pw + "@:587", "no host"},
		{"bad port", "smtp://u:" + pw + "@host:99999", "port"},
		{"non-numeric port", "smtp://u:" + pw + "@host:abc", "not a valid URL"},
		{"unparseable", "smtp://u:" + pw + "@host:587/%zz", "not a valid URL"},
		{"control character", "smtp://u:" + pw + "\x7f@host", "not a valid URL"},
		{"path", "smtp://u:" + pw + "@host:587/inbox", "path"},
		{"unknown param", "smtp://u:" + pw + "@host:587?fromm=a@b.gov", "unknown parameter"},
		{"bad tls", "smtp://u:" + pw + "@host:587?tls=maybe", "tls must be"},
		{"tls none with smtps", "smtps://u:" + pw + "@host?tls=none", "tls=none"},
		{"bad from", "smtp://u:" + pw + "@host?from=not-an-address", "from address"},
		{"bad auth", "smtp://u:" + pw + "@host?auth=kerberos", "auth must be"},
		{"bad timeout", "smtp://u:" + pw + "@host?timeout=soon", "timeout"},
		{"password without user", "smtp://:" + pw + "@host", "no user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := email.ParseURL(tt.in)
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "SMTP_URL") {
				t.Errorf("error %q does not name SMTP_URL", msg)
			}
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q does not mention %q", msg, tt.wantText)
			}
			if strings.Contains(msg, pw) {
				t.Errorf("error %q echoes the password", msg)
			}
		})
	}
}

func TestNewSMTPValidates(t *testing.T) {
	bad := []email.SMTPConfig{
		{},                                   // no host
		{Host: "h", Port: 70000},             // port
		{Host: "h", TLS: "opportunistic"},    // no silent fallback mode
		{Host: "h", Password: "x"},           // password without user
		{Host: "h", FromAddress: "a@b, c@d"}, // list instead of one address
		{Host: "h", DialTimeout: -time.Second},
	}
	for i, c := range bad {
		if _, err := email.NewSMTP(c); err == nil {
			t.Errorf("case %d: NewSMTP(%+v) accepted", i, c)
		}
	}
}

func TestMessageValidation(t *testing.T) {
	s, err := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: 1, TLS: email.TLSNone, FromAddress: "noreply@agency.gov"})
	if err != nil {
		t.Fatal(err)
	}
	const to = "private.person@example.org"
	ok := email.Message{To: to, Subject: "Verify", Text: "link"}
	tests := []struct {
		name   string
		modify func(*email.Message)
	}{
		{"empty recipient", func(m *email.Message) { m.To = "" }},
		{"display-name recipient", func(m *email.Message) { m.To = "Ana <" + to + ">" }},
		{"two recipients", func(m *email.Message) { m.To = to + ",other@example.org" }},
		{"recipient without domain", func(m *email.Message) { m.To = "private.person" }},
		{"header injection in subject", func(m *email.Message) { m.Subject = "Hi\r\nBcc: " + to }},
		{"header injection in from name", func(m *email.Message) { m.FromName = "Agency\nBcc: x@example.org" }},
		{"empty subject", func(m *email.Message) { m.Subject = " " }},
		{"empty text", func(m *email.Message) { m.Text = ""; m.HTML = "<p>only html</p>" }},
		{"reserved header", func(m *email.Message) { m.Headers = map[string]string{"Bcc": "x@example.org"} }},
		{"bad header name", func(m *email.Message) { m.Headers = map[string]string{"X Bad": "1"} }},
		{"header value injection", func(m *email.Message) { m.Headers = map[string]string{"X-Ok": "1\r\nBcc: x@example.org"} }},
		{"bad from address", func(m *email.Message) { m.FromAddress = "nope" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.modify(&m)
			// Nothing listens on port 1: if validation let the message
			// through, the error would be "unreachable" instead.
			_, err := s.Send(context.Background(), m)
			if !errors.Is(err, email.ErrInvalidMessage) {
				t.Fatalf("err = %v, want ErrInvalidMessage", err)
			}
			if strings.Contains(err.Error(), to) || strings.Contains(err.Error(), "private.person") {
				t.Errorf("error %q quotes the recipient", err)
			}
		})
	}

	t.Run("no sender anywhere", func(t *testing.T) {
		s2, err := email.NewSMTP(email.SMTPConfig{Host: "127.0.0.1", Port: 1, TLS: email.TLSNone})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Send(context.Background(), ok); !errors.Is(err, email.ErrInvalidMessage) {
			t.Fatalf("err = %v, want ErrInvalidMessage", err)
		}
	})
}

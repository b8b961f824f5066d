package mailpittest_test

import (
	"net/smtp"
	"strings"
	"testing"

	"caseverify/providers/email/mailpittest"
)

// TestStartReadDelete drives the helper with the standard library's SMTP
// client, independent of the email package under test.
func TestStartReadDelete(t *testing.T) {
	smtpAddr, apiURL := mailpittest.StartMailpit(t)
	if !strings.HasPrefix(smtpAddr, "127.0.0.1:") || !strings.HasPrefix(apiURL, "http://127.0.0.1:") {
		t.Fatalf("want loopback addresses, got %s and %s", smtpAddr, apiURL)
	}
	raw := "From: Sender <from@example.test>\r\nTo: rcpt@example.test\r\nSubject: hello helper\r\nMessage-ID: <abc123@example.test>\r\n\r\nbody text\r\n"
	if err := smtp.SendMail(smtpAddr, nil, "from@example.test", []string{"rcpt@example.test"}, []byte(raw)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}

	m := mailpittest.Latest(t, apiURL)
	if m.Subject != "hello helper" || m.MessageID != "abc123@example.test" || m.From.Name != "Sender" {
		t.Errorf("Latest = %+v", m)
	}
	res := mailpittest.Search(t, apiURL, "to:rcpt@example.test")
	if len(res) != 1 || res[0].ID != m.ID {
		t.Fatalf("Search = %+v", res)
	}
	if got := mailpittest.Get(t, apiURL, m.ID); strings.TrimSpace(got.Text) != "body text" {
		t.Errorf("Text = %q", got.Text)
	}
	if h := mailpittest.Headers(t, apiURL, m.ID); len(h["Subject"]) != 1 {
		t.Errorf("Headers = %v", h)
	}

	mailpittest.DeleteAll(t, apiURL)
	if res := mailpittest.Search(t, apiURL, "to:rcpt@example.test"); len(res) != 0 {
		t.Errorf("after DeleteAll: %d messages", len(res))
	}
}

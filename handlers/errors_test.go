package handlers_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"caseverify/store"
)

// A link that could not be sent is told the same way on every page that
// sends one, in the portal's words: never the Go error's text ("sending by
// sms failed: ..."), which named the channel by its internal code.
func TestWorkflowErrors_DeliveryFailureInPlainWords(t *testing.T) {
	env := newContactEnv(t)
	ctx := context.Background()
	cs, err := env.s.store.CreateCase(ctx, env.agency.ID, env.user.ID, store.CaseInput{Number: "E-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := env.s.store.AddMember(ctx, env.agency.ID, cs.ID, store.MemberInput{FirstName: "Ana", LastName: "Ruiz",
		Relationship: "self", Phone: "555-201-0444"})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.s.store.OptOut(ctx, m.Phone); err != nil {
		t.Fatal(err)
	}
	const words = "the link was not sent by text message: the applicant replied stop"
	check := func(name, body string) {
		t.Helper()
		var alerts []string
		for _, m := range alertText.FindAllStringSubmatch(body, -1) {
			alerts = append(alerts, html.UnescapeString(m[1]))
		}
		text := strings.ToLower(strings.Join(alerts, "\n"))
		if !strings.Contains(text, words) {
			t.Errorf("%s: the page does not say %q; it says %q", name, words, alerts)
		}
		if strings.Contains(text, "sending by sms") || strings.Contains(text, "..") {
			t.Errorf("%s: the page shows the error's internal text: %q", name, alerts)
		}
	}

	// The send form: the order exists, so the verification page says so.
	rec := env.c.post(itoaPath("/cases/", cs.ID, "/members/", m.ID, "/orders"), url.Values{"provider": {"truv"},
		"products": {"income"}, "channel": {"sms"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("send: %d %s", rec.Code, rec.Body.String())
	}
	page := env.c.get(rec.Header().Get("Location"))
	check("send form", page.Body.String())

	// Sending again from the verification page.
	loc := rec.Header().Get("Location")
	again := env.c.post(loc+"/resend", url.Values{"channel": {"sms"}})
	check("resend", again.Body.String())
	if again.Code != http.StatusBadGateway {
		t.Errorf("resend: status %d, want 502", again.Code)
	}

	// The contact-center form.
	rec = env.send(t, "truv", "E-1", func(f url.Values) {
		f.Set("first_name", "Ana")
		f.Set("last_name", "Ruiz")
		f.Set("phone", "555-201-0444")
	})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("contact: %d %s", rec.Code, rec.Body.String())
	}
	page = env.c.get(rec.Header().Get("Location"))
	check("contact", page.Body.String())
}

// alertText is the text of a page's alerts (the flash and the error).
var alertText = regexp.MustCompile(`usa-alert__text">([^<]*)<`)

func itoaPath(parts ...any) string {
	var b strings.Builder
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b.WriteString(v)
		case int64:
			b.WriteString(itoa(v))
		}
	}
	return b.String()
}

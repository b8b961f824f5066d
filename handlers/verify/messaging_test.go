package verify_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers/email"
	"caseverify/providers/email/mailpittest"
	"caseverify/providers/sms"
	"caseverify/providers/sms/twiliotest"
	"caseverify/store"
)

// withSenders returns a Service like e.svc but with real senders.
func (e *env) withSenders(t *testing.T, mail email.Sender, text sms.Sender) *verify.Service {
	return verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url, SMTP: mail, Twilio: text,
		Providers: []*verify.Provider{{Name: "truv", Label: "Truv", Verifier: e.truv, Webhooks: e.truv}}})
}

// Issue 8: real email through a real SMTP server (mailpit), in English and
// Spanish, with the agency as sender name and the tracked link as a real link.
func TestEmail_ThroughMailpit_EnglishAndSpanish(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	smtpAddr, api := mailpittest.StartMailpit(t)
	cfg, err := email.ParseURL("smtp://" + smtpAddr + "?tls=none&from=benefits@county.example")
	if err != nil {
		t.Fatal(err)
	}
	sender, err := email.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc := e.withSenders(t, sender, nil)
	en, err := e.st.AddMember(ctx, e.user.AgencyID, e.caseID, store.MemberInput{FirstName: "Grace", LastName: "Lee",
		Relationship: "spouse", Email: "grace.lee@example.org", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		member             *store.Member
		to, subject, greet string
		textHas            []string
	}{
		{en, "grace.lee@example.org", "Test Agency: please verify your income", "Hello Grace,", []string{"secure link", "The link works until"}},
		{e.member, "ana@example.org", "Test Agency: verifique sus ingresos", "Hola, Ana:", []string{"enlace seguro", "El enlace funciona hasta el"}},
	} {
		if _, err := svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: tc.member.ID, Provider: "truv",
			Products: []string{"income"}, Channel: verify.ChannelEmail}); err != nil {
			t.Fatal(err)
		}
		m := mailpittest.Latest(t, api)
		if len(m.To) != 1 || m.To[0].Address != tc.to || m.From.Name != "Test Agency" || m.From.Address != "benefits@county.example" {
			t.Fatalf("envelope: to %+v from %+v", m.To, m.From)
		}
		if m.Subject != tc.subject {
			t.Errorf("subject = %q, want %q", m.Subject, tc.subject)
		}
		if !strings.Contains(m.Text, tc.greet) || !strings.Contains(m.Text, e.url+"/l/") {
			t.Errorf("text = %q", m.Text)
		}
		for _, w := range tc.textHas {
			if !strings.Contains(m.Text, w) {
				t.Errorf("text lacks %q", w)
			}
		}
		if !strings.Contains(m.HTML, `<a href="`+e.url+`/l/`) {
			t.Errorf("html has no real link: %s", m.HTML)
		}
		if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 5); len(msgs) != 0 {
			t.Fatal("with SMTP set, nothing goes to the outbox")
		}
	}
}

// Issue 8: text messages through a fake Twilio that speaks the real API:
// one segment, the tracked link, the status callback address, and STOP.
func TestSMS_ThroughTwilio(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	fake := twiliotest.NewServer(t, "AC0123456789abcdef0123456789abcdef", "tok")
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "tok", From: "+15550001111", BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	svc := e.withSenders(t, nil, tw)
	m, _ := e.st.AddMember(ctx, e.user.AgencyID, e.caseID, store.MemberInput{FirstName: "Tom", LastName: "Ng", Relationship: "child",
		Phone: "555-201-0777", Language: "en"})
	o, err := svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: m.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelSMS})
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].To != "+15552010777" || !strings.Contains(msgs[0].Body, e.url+"/l/") {
		t.Fatalf("twilio got %+v", msgs)
	}
	if _, n := sms.Segments(msgs[0].Body); n != 1 {
		t.Errorf("%d segments: %q", n, msgs[0].Body)
	}
	if msgs[0].StatusCallback != e.url+"/webhooks/twilio/status" {
		t.Errorf("status callback = %q", msgs[0].StatusCallback)
	}
	ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
	if ds[0].MessageID != msgs[0].SID {
		t.Fatalf("delivery message id %q, twilio sid %q", ds[0].MessageID, msgs[0].SID)
	}
	// The applicant answered STOP at Twilio: the next text fails with words
	// staff understand, and the portal remembers the opt-out.
	fake.OptOut("+15552010777")
	err = svc.Resend(ctx, e.user, o, verify.ChannelSMS)
	var de *verify.DeliveryError
	if !errors.As(err, &de) || !strings.Contains(de.Reason, "STOP") {
		t.Fatalf("resend to an opted-out number: %v", err)
	}
	if out, _ := e.st.OptedOut(ctx, "+15552010777"); !out {
		t.Fatal("opt-out not recorded")
	}
	before := len(fake.Messages())
	if err := svc.Resend(ctx, e.user, o, verify.ChannelSMS); err == nil || len(fake.Messages()) != before {
		t.Fatal("the portal texted an opted-out number again")
	}
}

// Issue 8: reminders at the agency's times, stopped by completion, never
// doubled by two workers.
func TestReminders_Schedule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	reminders := func() int {
		ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
		n := 0
		for _, d := range ds {
			if d.Kind == "reminder" {
				n++
			}
		}
		return n
	}
	// Two workers at once, every time.
	sweep := func() {
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); e.svc.SendReminders(ctx) }()
		}
		wg.Wait()
	}
	e.clock.Add(23*time.Hour + 59*time.Minute)
	sweep()
	if n := reminders(); n != 0 {
		t.Fatalf("%d reminders before 24 h", n)
	}
	e.clock.Add(2 * time.Minute)
	sweep()
	sweep()
	if n := reminders(); n != 1 {
		t.Fatalf("%d reminders at 24 h, want 1", n)
	}
	msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 1)
	if !strings.Contains(msgs[0].Subject, "Recordatorio") {
		t.Errorf("reminder subject %q (the member reads Spanish)", msgs[0].Subject)
	}
	e.clock.Add(24 * time.Hour)
	sweep()
	if n := reminders(); n != 2 {
		t.Fatalf("%d reminders at 48 h, want 2", n)
	}
	// The applicant completes: no more reminders.
	if err := e.em.Complete(o.ProviderOrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	e.drain(t, o.ID, store.StatusCompleted)
	e.clock.Add(72 * time.Hour)
	sweep()
	if n := reminders(); n != 2 {
		t.Fatalf("%d reminders after completion, want 2", n)
	}
}

func TestReminders_AgencyCountAndProviderManaged(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.st.UpdateSettings(ctx, e.user.AgencyID, store.AgencySettings{ReminderFirstHours: 2, ReminderEveryHours: 1,
		ReminderCount: 2, ReminderChannel: "same", DefaultProvider: "truv", DefaultProducts: []string{"income"}, DefaultProgram: "snap"}); err != nil {
		t.Fatal(err)
	}
	agency, _ := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	byProvider, _ := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelProvider})
	for range 10 {
		e.clock.Add(time.Hour)
		e.svc.SendReminders(ctx)
	}
	count := func(o *store.Order) int {
		ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
		n := 0
		for _, d := range ds {
			if d.Kind == "reminder" {
				n++
			}
		}
		return n
	}
	if n := count(agency); n != 2 {
		t.Errorf("agency-managed: %d reminders, want the agency's 2", n)
	}
	if n := count(byProvider); n != 0 {
		t.Errorf("provider-managed: %d reminders, want 0 (the provider reminds)", n)
	}
}

// Issue 8: a new link when the old one expired, and not before.
func TestNewLink_AfterExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	if o.LinkExpiresAt.IsZero() {
		t.Fatal("the order does not say when its link expires")
	}
	var p store.ValidationError
	if _, err := e.svc.NewLink(ctx, e.user, o, verify.ChannelEmail); !errors.As(err, &p) {
		t.Fatalf("new link while the old one works: %v", err)
	}
	e.clock.Add(o.LinkExpiresAt.Sub(e.clock.Now()) + time.Minute)
	n, err := e.svc.NewLink(ctx, e.user, o, verify.ChannelEmail)
	if err != nil {
		t.Fatal(err)
	}
	if n.ID == o.ID || n.Link == o.Link || n.Status != store.StatusSent {
		t.Fatalf("new order %+v", n)
	}
	msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 5)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the first and the new link", len(msgs))
	}
}

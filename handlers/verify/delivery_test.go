package verify_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers/email"
	"caseverify/providers/truuth"
	"caseverify/store"
	"caseverify/store/pgtest"
)

func countKind(t *testing.T, st *store.Store, agencyID, orderID int64, kind store.DeliveryKind) int {
	t.Helper()
	ds, err := st.Deliveries(context.Background(), agencyID, orderID)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range ds {
		if d.Kind == kind {
			n++
		}
	}
	return n
}

// nextReminder reads an order's next_reminder_at straight from the file:
// no store method exposes it.
func (e *env) nextReminder(t *testing.T, orderID int64) sql.NullString {
	t.Helper()
	db := pgtest.Open(t, e.dbPath)
	var next sql.NullString
	if err := db.QueryRow(pgtest.Q(`SELECT next_reminder_at FROM orders WHERE id = ?`), orderID).Scan(&next); err != nil {
		t.Fatal(err)
	}
	return next
}

// A new link replaces the old order: the old one's reminders stop, so the
// applicant is not reminded about both.
func TestNewLink_StopsTheOldOrdersReminders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	if !e.nextReminder(t, o.ID).Valid {
		t.Fatal("the first sending scheduled no reminder")
	}
	e.clock.Add(o.LinkExpiresAt.Sub(e.clock.Now()) + time.Minute)
	n, err := e.svc.NewLink(ctx, e.user, o, verify.ChannelEmail)
	if err != nil {
		t.Fatal(err)
	}
	if next := e.nextReminder(t, o.ID); next.Valid {
		t.Fatalf("the replaced order still has a reminder due at %s", next.String)
	}
	if !e.nextReminder(t, n.ID).Valid {
		t.Fatal("the new order has no reminder")
	}
	e.clock.Add(25 * time.Hour)
	e.svc.SendReminders(ctx)
	if got := countKind(t, e.st, e.user.AgencyID, o.ID, "reminder"); got != 0 {
		t.Errorf("the replaced order sent %d reminders", got)
	}
	if got := countKind(t, e.st, e.user.AgencyID, n.ID, "reminder"); got != 1 {
		t.Errorf("the new order sent %d reminders, want 1", got)
	}
}

// A reminder is never claimed once the order's link has expired: it would
// carry a dead link.
func TestReminders_NotAfterTheLinkExpires(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	// The emulator's links last 72 h; the default reminders are at 24, 48 and
	// 72 h. The one due at 72 h finds the link expired.
	e.clock.Add(o.LinkExpiresAt.Sub(e.clock.Now()) + time.Minute)
	e.svc.SendReminders(ctx)
	if got := countKind(t, e.st, e.user.AgencyID, o.ID, "reminder"); got != 0 {
		t.Fatalf("%d reminders after the link expired", got)
	}
}

// The agency's reminder count is read when a reminder is claimed: lowering
// it stops reminders that were already scheduled.
func TestReminders_LoweredCountStopsScheduledOnes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	set := store.AgencySettings{ReminderFirstHours: 1, ReminderEveryHours: 1, ReminderCount: 3, ReminderChannel: "same",
		DefaultProvider: "truv", DefaultProducts: []string{"income"}, DefaultProgram: "snap"}
	if err := e.st.UpdateSettings(ctx, e.user.AgencyID, set); err != nil {
		t.Fatal(err)
	}
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour + time.Minute)
	e.svc.SendReminders(ctx)
	if got := countKind(t, e.st, e.user.AgencyID, o.ID, "reminder"); got != 1 {
		t.Fatalf("%d reminders after 1 h, want 1", got)
	}
	set.ReminderCount = 1
	if err := e.st.UpdateSettings(ctx, e.user.AgencyID, set); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		e.clock.Add(time.Hour)
		e.svc.SendReminders(ctx)
	}
	if got := countKind(t, e.st, e.user.AgencyID, o.ID, "reminder"); got != 1 {
		t.Fatalf("%d reminders after the count was lowered to 1, want 1", got)
	}
}

// checkingSender is an email sender that, at the moment it sends, looks for
// the delivery row of the tracked link it carries.
type checkingSender struct {
	t       *testing.T
	st      *store.Store
	agency  int64
	orderID func() int64
	seen    []*store.Delivery
}

func (c *checkingSender) Send(ctx context.Context, m email.Message) (string, error) {
	i := strings.Index(m.Text, "/l/")
	if i < 0 {
		c.t.Errorf("no tracked link in %q", m.Text)
		return "", errors.New("no link")
	}
	code := strings.Fields(m.Text[i+3:])[0]
	code = strings.TrimRight(code, ".,)")
	ds, err := c.st.Deliveries(ctx, c.agency, c.orderID())
	if err != nil {
		return "", err
	}
	for _, d := range ds {
		if d.LinkCode == code {
			c.seen = append(c.seen, d)
		}
	}
	return "smtp-42", nil
}

// The delivery (with its tracked-link code) is recorded before the message
// goes out, and its result after: a message SMTP accepted always has a
// working /l/ link, and the message id is stored.
func TestDeliver_RecordsBeforeSending(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The first sending is by QR so the order exists; the email is a resend.
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelQR})
	if err != nil {
		t.Fatal(err)
	}
	cs := &checkingSender{t: t, st: e.st, agency: e.user.AgencyID, orderID: func() int64 { return o.ID }}
	svc := verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url, SMTP: cs,
		Providers: []*verify.Provider{{Name: "truv", Label: "Truv", Verifier: e.truv, Webhooks: e.truv}}})
	if err := svc.Resend(ctx, e.user, o, verify.ChannelEmail); err != nil {
		t.Fatal(err)
	}
	if len(cs.seen) != 1 || cs.seen[0].Result != store.DeliverySending || cs.seen[0].Channel != verify.ChannelEmail {
		t.Fatalf("while sending, the delivery rows of the link were %+v", cs.seen)
	}
	ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
	last := ds[len(ds)-1]
	if len(ds) != 2 || last.ID != cs.seen[0].ID || last.Result != "sent" || last.MessageID != "smtp-42" {
		t.Fatalf("after sending: %+v", last)
	}
	events, _ := e.st.Events(ctx, e.user.AgencyID, o.ID)
	if got := events[len(events)-1].Detail; !strings.HasPrefix(got, "Sent again: link emailed to") {
		t.Fatalf("timeline: %q", got)
	}
}

// The QR channel gets a tracked link too; QRLink reuses the newest QR
// delivery and records one only when there is none.
func TestQRLink_TrackedAndReused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelQR})
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
	if len(ds) != 1 || ds[0].LinkCode == "" {
		t.Fatalf("the QR delivery has no tracked code: %+v", ds)
	}
	link, err := e.svc.QRLink(ctx, e.user, o)
	if err != nil || link != e.url+"/l/"+ds[0].LinkCode {
		t.Fatalf("QR link %q (%v), want the first delivery's", link, err)
	}
	if img, _ := e.svc.QRImageLink(ctx, o); img != link {
		t.Fatalf("the image encodes %q", img)
	}
	if ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID); len(ds) != 1 {
		t.Fatalf("showing the QR again recorded another delivery: %d", len(ds))
	}

	// Sent by email, then shown by QR (the Show QR code button, the
	// handout): one QR delivery is recorded, once.
	o2, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	if img, _ := e.svc.QRImageLink(ctx, o2); img != o2.Link {
		t.Fatalf("with no QR delivery the image encodes %q, want the provider's link", img)
	}
	l1, err := e.svc.QRLink(ctx, e.user, o2)
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := e.svc.QRLink(ctx, e.user, o2)
	ds, _ = e.st.Deliveries(ctx, e.user.AgencyID, o2.ID)
	if l1 != l2 || len(ds) != 2 || ds[1].Channel != verify.ChannelQR || ds[1].Kind != "resend" || l1 != e.url+"/l/"+ds[1].LinkCode {
		t.Fatalf("links %q %q, deliveries %+v", l1, l2, ds)
	}
}

// The provider channel on resend: a provider without a resend call (Truv)
// refuses it in plain words and records nothing.
func TestResend_ProviderChannelRefusedWithoutResendCall(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelProvider})
	if err != nil {
		t.Fatal(err)
	}
	var p store.ValidationError
	if err := e.svc.Resend(ctx, e.user, o, verify.ChannelProvider); !errors.As(err, &p) || !strings.Contains(p["channel"], "Truv cannot send the link again") {
		t.Fatalf("resend by Truv: %v", err)
	}
	if ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID); len(ds) != 1 {
		t.Fatalf("%d deliveries, want only the first", len(ds))
	}
}

// Truuth resends its invite for real: Send Verification Invite when the
// link first went another way, Resend Verification Invite after, and
// Truuth's refusal is recorded as a failed sending in its own words.
func TestResend_TruuthAsksTruuthToSendTheInvite(t *testing.T) {
	e := newTruuthEnv(t, truuth.EmulatorConfig{})
	ctx := context.Background()
	o := e.send(t, "truuth", "identity", verify.ChannelQR)
	// The emulator refuses a resend before a first invite: this succeeds
	// only if the portal sends the first invite.
	if err := e.svc.Resend(ctx, e.user, o, verify.ChannelProvider); err != nil {
		t.Fatalf("first invite: %v", err)
	}
	if err := e.svc.Resend(ctx, e.user, o, verify.ChannelProvider); err != nil {
		t.Fatalf("resend: %v", err)
	}
	ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
	if len(ds) != 3 || ds[1].Channel != verify.ChannelProvider || ds[1].Result != "sent" || ds[2].Result != "sent" {
		t.Fatalf("deliveries %+v", ds)
	}
	events, _ := e.st.Events(ctx, e.user.AgencyID, o.ID)
	if got := events[len(events)-1].Detail; got != "Sent again: asked Truuth to send the link to the applicant again." {
		t.Errorf("timeline: %q", got)
	}
	// Finished at Truuth, not yet known to the portal: Truuth refuses, and
	// staff see why.
	if err := e.em.Complete(o.ProviderOrderID, truuth.ScenarioPass); err != nil {
		t.Fatal(err)
	}
	err := e.svc.Resend(ctx, e.user, o, verify.ChannelProvider)
	var de *verify.DeliveryError
	if !errors.As(err, &de) || !strings.Contains(de.Reason, "Truuth") {
		t.Fatalf("resend of a finished verification: %v", err)
	}
	ds, _ = e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
	if last := ds[len(ds)-1]; len(ds) != 4 || last.Result != "failed" || last.Error != de.Reason {
		t.Fatalf("failed resend recorded as %+v", last)
	}
}

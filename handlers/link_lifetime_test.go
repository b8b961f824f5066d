package handlers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"caseverify/store"
	"caseverify/store/pgtest"
)

// Issue 13 item 6: the agency's link lifetime. The link was sent two days
// ago (its creation moved back in the file, as time passing would); the
// agency now keeps links one day. Truv's own expiry (72 h) has not passed,
// but the applicant's /l/ link says it expired, and when, in their
// language; a resend is refused and the order's expiry is the agency's.
// (The old code forwarded to Truv: the agency had no such setting.)
func TestLink_AgencyLifetimeExpiresIt(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	msgs := l.twilio.Messages()
	i := strings.Index(msgs[0].Body, l.srv.URL+"/l/")
	link := strings.Fields(msgs[0].Body[i:])[0]

	db := pgtest.Open(t, l.dbPath)
	created := time.Now().UTC().Add(-48 * time.Hour).Format("2006-01-02T15:04:05.000000000Z")
	if _, err := db.Exec(pgtest.Q(`UPDATE orders SET created_at = ? WHERE id = ?`), created, l.order.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := l.st.Settings(ctx, l.user.AgencyID)
	if err != nil {
		t.Fatal(err)
	}
	s.LinkLifetimeHours = 24
	if err := l.st.UpdateSettings(ctx, l.user.AgencyID, s); err != nil {
		t.Fatal(err)
	}
	o, _ := l.st.Order(ctx, l.user.AgencyID, l.order.ID)
	if !o.LinkExpired(time.Now()) || o.Status.Final() {
		t.Fatalf("order after the agency's lifetime: expires %v, status %s", o.LinkExpiresAt, o.Status)
	}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "Este enlace venció") ||
		!strings.Contains(string(body), `data-testid="link-expired"`) {
		t.Fatalf("expired link: %d %s", resp.StatusCode, body)
	}
	var problems store.ValidationError
	if err := l.svc.Resend(ctx, l.user, o, "sms"); !errors.As(err, &problems) || !strings.Contains(problems["channel"], "expired") {
		t.Fatalf("resend of an expired link: %v", err)
	}
	// Out of range is refused, naming the field.
	s.LinkLifetimeHours = 31 * 24
	if err := l.st.UpdateSettings(ctx, l.user.AgencyID, s); !errors.As(err, &problems) || problems["link_lifetime_days"] == "" {
		t.Fatalf("31 days: %v", err)
	}
}

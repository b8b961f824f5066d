package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/metrics"
	"caseverify/providers/sms"
	"caseverify/providers/sms/twiliotest"
	"caseverify/providers/truv"
	"caseverify/store"
)

// live is the whole portal on a real HTTP server with the Truv emulator and
// a fake Twilio: what Twilio's callbacks and the applicant's browser reach.
type live struct {
	srv    *httptest.Server
	st     *store.Store
	svc    *verify.Service
	twilio *twiliotest.Server
	user   *store.User
	order  *store.Order
	dbPath string
	e      *echo.Echo
	hp     *httpPortal
	// metrics are the handlers' operations metrics (live renders).
	metrics *metrics.Metrics
}

func newLive(t *testing.T) *live {
	t.Helper()
	ctx := context.Background()
	hp := newHTTPPortal(t)
	st, srv := hp.st, hp.srv
	em := truv.NewEmulator(truv.EmulatorConfig{PublicURL: srv.URL + "/sandbox/truv", WebhookURL: srv.URL + "/webhooks/truv"})
	t.Cleanup(em.Close)
	c, _ := truv.New(truv.Config{BaseURL: srv.URL + "/sandbox/truv", ClientID: truv.SandboxClientID, AccessSecret: truv.SandboxAccessSecret})
	l := &live{srv: srv, st: st, dbPath: hp.dbPath, e: hp.e, hp: hp, metrics: metrics.New(st)}
	l.twilio = twiliotest.NewServer(t, "AC0123456789abcdef0123456789abcdef", "tw-token")
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "tw-token",
		From: "+15550001111", BaseURL: l.twilio.URL})
	if err != nil {
		t.Fatal(err)
	}
	l.svc = verify.New(st, hp.log, verify.Config{Messages: handlers.LinkMessages{}, BaseURL: srv.URL, Twilio: tw,
		Providers: []*verify.Provider{{Name: "truv", Label: "Truv", Verifier: c, Webhooks: c}}})
	hp.register(l.svc, handlers.Config{Sandboxes: map[string]http.Handler{"truv": em}, TwilioAuthToken: "tw-token", Metrics: l.metrics})
	a := mustAgency(t, st, "Live Agency")
	l.user, _ = st.CreateUser(ctx, a.ID, store.NewUser{Email: "w@l.gov", Name: "W", Role: store.RoleCaseworker, Password: testPassword})
	l.user.AgencyName = a.Name
	cs, _ := st.CreateCase(ctx, a.ID, l.user.ID, store.CaseInput{Number: "L-1", Program: "snap"})
	m, _ := st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Rosa", LastName: "M", Relationship: "self",
		Phone: "555-201-0888", Language: "es"})
	if l.order, err = l.svc.Send(ctx, verify.SendRequest{User: l.user, CaseID: cs.ID, MemberID: m.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelSMS}); err != nil {
		t.Fatal(err)
	}
	return l
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}

// The tracked link records the first open and forwards to the provider.
func TestLink_RecordsOpenAndForwards(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	msgs := l.twilio.Messages()
	i := strings.Index(msgs[0].Body, l.srv.URL+"/l/")
	link := strings.Fields(msgs[0].Body[i:])[0]
	if resp, _ := noRedirect.Head(link); resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
	if ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID); !ds[0].OpenedAt.IsZero() {
		t.Fatal("a HEAD (link preview) counted as an open")
	}
	resp, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != l.order.Link {
		t.Fatalf("GET: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID)
	first := ds[0].OpenedAt
	if first.IsZero() {
		t.Fatal("the open was not recorded")
	}
	noRedirect.Get(link)
	if ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID); !ds[0].OpenedAt.Equal(first) {
		t.Fatal("a second open moved the first-open time")
	}
	events, _ := l.st.Events(ctx, l.user.AgencyID, l.order.ID)
	if last := events[len(events)-1]; !strings.Contains(last.Detail, "opened the link from the text message") {
		t.Fatalf("timeline: %q", last.Detail)
	}
	stats, _ := l.st.ChannelStats(ctx, l.user.AgencyID)
	if len(stats) != 1 || stats[0].Channel != "sms" || stats[0].Sent != 1 || stats[0].Opened != 1 {
		t.Fatalf("channel stats: %+v", stats)
	}
	if resp, _ := noRedirect.Get(l.srv.URL + "/l/nosuchcode1"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown code: %d", resp.StatusCode)
	}
	// Once the verification ends, the link says so, in Spanish for Rosa.
	if err := l.svc.Cancel(ctx, l.user, l.order); err != nil {
		t.Fatal(err)
	}
	resp, _ = noRedirect.Get(link)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), `lang="es"`) || !strings.Contains(string(body), "ya no está activo") {
		t.Fatalf("ended link: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "Rosa") || strings.Contains(string(body), "L-1") {
		t.Fatal("the ended-link page shows case details")
	}
}

// Twilio's status callback is accepted only with a valid X-Twilio-Signature.
func TestTwilio_StatusCallback(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	sid := l.twilio.Messages()[0].SID
	if err := l.twilio.Deliver(sid, sms.StatusDelivered); err != nil {
		t.Fatal(err)
	}
	cbs := l.twilio.Callbacks()
	if len(cbs) != 1 || cbs[0].HTTPCode != http.StatusNoContent {
		t.Fatalf("callbacks: %+v", cbs)
	}
	ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID)
	if ds[0].MessageStatus != "delivered" {
		t.Fatalf("message status %q", ds[0].MessageStatus)
	}
	// A forged callback (wrong token) changes nothing.
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"}}
	post := func(sig string) int {
		req, _ := http.NewRequest(http.MethodPost, l.srv.URL+"/webhooks/twilio/status", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(sms.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	if code := post(sms.Signature("wrong-token", l.srv.URL+"/webhooks/twilio/status", form)); code != http.StatusForbidden {
		t.Fatalf("forged: %d", code)
	}
	if code := post(""); code != http.StatusForbidden {
		t.Fatalf("unsigned: %d", code)
	}
	if ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID); ds[0].MessageStatus != "delivered" || ds[0].Result == "failed" {
		t.Fatalf("a forged callback changed the delivery: %+v", ds[0])
	}
	if code := post(sms.Signature("tw-token", l.srv.URL+"/webhooks/twilio/status", form)); code != http.StatusNoContent {
		t.Fatalf("valid undelivered: %d", code)
	}
	ds, _ = l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID)
	if ds[0].Result != "failed" || ds[0].Error == "" {
		t.Fatalf("undelivered not recorded: %+v", ds[0])
	}
	// An inbound STOP opts the number out.
	in := url.Values{"From": {"+15552010888"}, "Body": {" Stop "}, "MessageSid": {"SMx"}}
	req, _ := http.NewRequest(http.MethodPost, l.srv.URL+"/webhooks/twilio/inbound", strings.NewReader(in.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(sms.SignatureHeader, sms.Signature("tw-token", l.srv.URL+"/webhooks/twilio/inbound", in))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("inbound: %v %v", resp, err)
	}
	if out, _ := l.st.OptedOut(ctx, "+15552010888"); !out {
		t.Fatal("STOP not recorded")
	}
}

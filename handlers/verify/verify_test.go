package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/truv"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// env is a store, the Truv emulator on a real HTTP server, and a Service
// whose webhook endpoint stores into the inbox the way the handler does.
type env struct {
	st     *store.Store
	svc    *verify.Service
	em     *truv.Emulator
	user   *store.User
	caseID int64
	member *store.Member
	url    string
	clock  *testClock
	truv   *truv.Client
	dbPath string // the SQLite file, for checks no store method exposes
	// faults sits in front of the Truv emulator (unconfirmed_test.go).
	faults *createFaults
}

// testClock is the store's clock in these tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newEnv(t *testing.T) *env { return newEnvWith(t, truv.EmulatorConfig{}) }

func newEnvWith(t *testing.T, emCfg truv.EmulatorConfig) *env {
	t.Helper()
	ctx := context.Background()
	clk := &testClock{t: time.Now().UTC()}
	dbPath := pgtest.DatabaseURL(t, "v.db")
	st, err := store.Open(ctx, dbPath, store.Options{DataKey: bytes.Repeat([]byte{5}, 32), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{st: st, clock: clk, dbPath: dbPath}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	emCfg.PublicURL, emCfg.WebhookURL = srv.URL+"/sandbox/truv", srv.URL+"/webhooks/truv"
	if emCfg.Now == nil {
		emCfg.Now = clk.Now // the emulator shares the test's clock (refresh limits, connection age)
	}
	e.em = truv.NewEmulator(emCfg)
	t.Cleanup(e.em.Close)
	c, err := truv.New(truv.Config{BaseURL: srv.URL + "/sandbox/truv", ClientID: truv.SandboxClientID,
		AccessSecret: truv.SandboxAccessSecret, ReportRetryDelays: []time.Duration{0, 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	e.truv = c
	e.svc = verify.New(st, log, verify.Config{Messages: handlers.LinkMessages{}, BaseURL: srv.URL, Providers: []*verify.Provider{
		{Name: "truv", Label: "Truv", Verifier: c, Webhooks: c}}})
	e.faults = &createFaults{next: e.em}
	mux.Handle("/sandbox/truv/", http.StripPrefix("/sandbox/truv", e.faults))
	mux.HandleFunc("POST /webhooks/truv", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := providers.Delivery{Header: r.Header, Body: body}
		if c.Authenticate(d) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := st.AddInbox(r.Context(), "truv", c.DedupeKey(d), "", body); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
	})
	a, _ := st.CreateAgency(ctx, "Test Agency")
	e.user, _ = st.CreateUser(ctx, a.ID, store.NewUser{Email: "w@t.gov", Name: "W", Role: store.RoleCaseworker, Password: "long enough passphrase"})
	e.user.AgencyName = a.Name
	cs, _ := st.CreateCase(ctx, a.ID, e.user.ID, store.CaseInput{Number: "T-1", Program: "snap"})
	e.caseID = cs.ID
	e.member, err = st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Ana", LastName: "Diaz", Relationship: "self",
		Email: "ana@example.org", Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// settleWithin bounds how long a test waits for deliveries and postbacks
// to be processed. It is generous on purpose: CI runs on a small shared
// machine, and a test waits for the outcome rather than timing it (timings
// belong in make bench).
const settleWithin = 90 * time.Second

// processUntil works the inbox as the portal's workers do (drainInbox) until
// done holds, or fails after settleWithin with why's account of the state.
// Every test that waits for webhooks to land waits through it.
func processUntil(t *testing.T, svc *verify.Service, done func() bool, why func() string) {
	t.Helper()
	deadline := time.Now().Add(settleWithin)
	for {
		drainInbox(t, svc)
		if done() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(why())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOrder works the inbox until the order reaches want.
func waitOrder(t *testing.T, svc *verify.Service, st *store.Store, agencyID, orderID int64, want store.OrderStatus, why func(*store.Order) string) *store.Order {
	t.Helper()
	var o *store.Order
	processUntil(t, svc, func() bool {
		var err error
		if o, err = st.Order(context.Background(), agencyID, orderID); err != nil {
			t.Fatal(err)
		}
		return o.Status == want
	}, func() string { return why(o) })
	return o
}

// drain processes the inbox until the order reaches want or time runs out.
func (e *env) drain(t *testing.T, orderID int64, want store.OrderStatus) *store.Order {
	t.Helper()
	return waitOrder(t, e.svc, e.st, e.user.AgencyID, orderID, want, func(o *store.Order) string {
		return fmt.Sprintf("order status %s, want %s", o.Status, want)
	})
}

func TestSend_EmailToOutboxThenCompleteAndReport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.StatusSent || o.ProviderOrderID == "" || o.ProviderUserID == "" || o.Link == "" {
		t.Fatalf("order after send: %+v", o)
	}
	msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 10)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, e.url+"/l/") || strings.Contains(msgs[0].Body, o.Link) || !strings.Contains(msgs[0].Subject, "ingresos") {
		t.Fatalf("outbox: %+v", msgs)
	}
	if err := e.em.Complete(o.ProviderOrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	o = e.drain(t, o.ID, store.StatusCompleted)
	r, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	if !bytes.Contains(r.Data, []byte("Paystubs")) {
		t.Fatalf("report data: %.200s", r.Data)
	}
	cs, _ := e.st.Case(ctx, e.user.AgencyID, e.caseID)
	if cs.Status != store.CaseCompleted {
		t.Fatalf("case roll-up %s", cs.Status)
	}
}

func TestSend_Channels(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m2, err := e.st.AddMember(ctx, e.user.AgencyID, e.caseID, store.MemberInput{FirstName: "Luis", LastName: "Diaz",
		Relationship: "spouse", Phone: "(555) 201-0456"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(memberID int64, channel string) (*store.Order, error) {
		return e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: memberID, Provider: "truv",
			Products: []string{"income"}, Channel: channel})
	}
	t.Run("sms uses the portal's short tracked link", func(t *testing.T) {
		o, err := send(m2.ID, verify.ChannelSMS)
		if err != nil {
			t.Fatal(err)
		}
		msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 1)
		if msgs[0].Channel != "sms" || msgs[0].To != "+15552010456" || !strings.Contains(msgs[0].Body, e.url+"/l/") || strings.Contains(msgs[0].Body, o.Link) {
			t.Fatalf("sms: %+v", msgs[0])
		}
		ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
		if len(ds) != 1 || ds[0].RecipientMasked != "(•••) •••-••56" || ds[0].Result != "sent" {
			t.Fatalf("delivery: %+v", ds)
		}
	})
	t.Run("qr and copy are shown, not sent", func(t *testing.T) {
		for _, ch := range []string{verify.ChannelQR, verify.ChannelCopy} {
			o, err := send(m2.ID, ch)
			if err != nil {
				t.Fatal(err)
			}
			ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
			if len(ds) != 1 || ds[0].Channel != ch || ds[0].Result != "shown" || o.Status != store.StatusSent {
				t.Fatalf("%s: %+v %s", ch, ds, o.Status)
			}
		}
	})
	t.Run("the provider sends it", func(t *testing.T) {
		o, err := send(m2.ID, verify.ChannelProvider)
		if err != nil || o.Notify != "provider" {
			t.Fatalf("%v %+v", err, o)
		}
	})
	t.Run("a channel the member cannot use", func(t *testing.T) {
		_, err := send(m2.ID, verify.ChannelEmail)
		var p store.ValidationError
		if !errors.As(err, &p) || !strings.Contains(p["channel"], "no email") {
			t.Fatalf("err = %v", err)
		}
	})
}

// A provider that refuses leaves nothing behind: no order, no delivery, no
// message, and the caseworker reads why in plain words.
func TestSend_ProviderRefusalLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bad, err := truv.New(truv.Config{BaseURL: e.url + "/sandbox/truv", ClientID: "wrong", AccessSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	svc := verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, Providers: []*verify.Provider{
		{Name: "truv", Label: "Truv", Verifier: bad, Webhooks: bad}}})
	_, err = svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	var perr *providers.ProviderError
	if !errors.As(err, &perr) || perr.HTTPStatus != http.StatusUnauthorized || !strings.Contains(perr.Message, "credentials") {
		t.Fatalf("err = %v", err)
	}
	if orders, _ := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID); len(orders) != 0 {
		t.Fatalf("%d orders left behind", len(orders))
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 10); len(msgs) != 0 {
		t.Fatal("a message went out")
	}
	if err := e.st.RemoveMember(ctx, e.user.AgencyID, e.caseID, e.member.ID); err != nil {
		t.Fatalf("a half-created order still blocks the member: %v", err)
	}
}

// W7: every webhook delivered twice changes the state once and writes one
// timeline line per distinct event.
func TestInbox_DuplicatesChangeStateOnce(t *testing.T) {
	e := newEnvWith(t, truv.EmulatorConfig{DuplicateEvery: 1})
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelCopy})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.em.Complete(o.ProviderOrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	e.em.Flush(ctx)
	e.drain(t, o.ID, store.StatusCompleted)
	total, _, _ := e.st.InboxStats(ctx, "truv")
	events, _ := e.st.Events(ctx, e.user.AgencyID, o.ID)
	webhookLines := 0
	for _, ev := range events {
		if ev.Source == "webhook" {
			webhookLines++
		}
	}
	if webhookLines != total {
		t.Fatalf("%d webhook timeline lines for %d distinct deliveries (each sent twice)", webhookLines, total)
	}
	var completed int
	for _, ev := range events {
		if ev.Status == store.StatusCompleted {
			completed++
		}
	}
	if completed != 1 {
		t.Fatalf("the order completed %d times", completed)
	}
}

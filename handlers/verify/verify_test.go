package verify_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/truv"
	"caseverify/store"
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
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "v.db"), store.Options{DataKey: bytes.Repeat([]byte{5}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := &env{st: st}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.em = truv.NewEmulator(truv.EmulatorConfig{PublicURL: srv.URL + "/sandbox/truv", WebhookURL: srv.URL + "/webhooks/truv"})
	t.Cleanup(e.em.Close)
	c, err := truv.New(truv.Config{BaseURL: srv.URL + "/sandbox/truv", ClientID: truv.SandboxClientID,
		AccessSecret: truv.SandboxAccessSecret, ReportRetryDelays: []time.Duration{0, 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = verify.New(st, log, verify.Config{BaseURL: srv.URL, Providers: []*verify.Provider{
		{Name: "truv", Label: "Truv", Verifier: c, Webhooks: c, CanNotify: true}}})
	mux.Handle("/sandbox/truv/", http.StripPrefix("/sandbox/truv", e.em))
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
	e.user, _ = st.CreateUser(ctx, a.ID, store.NewUser{Email: "w@t.gov", Name: "W", Role: store.RoleCaseworker, Password: "long enough pw"})
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

// drain processes the inbox until the order reaches want or time runs out.
func (e *env) drain(t *testing.T, orderID int64, want store.OrderStatus) *store.Order {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for {
			ok, err := e.svc.ProcessNext(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
		}
		o, err := e.st.Order(ctx, e.user.AgencyID, orderID)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status == want {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order status %s, want %s", o.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, o.Link) || !strings.Contains(msgs[0].Subject, "ingresos") {
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

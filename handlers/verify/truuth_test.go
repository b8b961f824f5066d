package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/truuth"
	"caseverify/providers/truv"
	"caseverify/store"
	"caseverify/store/pgtest"
	"caseverify/views"
)

// truuthEnv is a store, the Truuth and Truv emulators on one real HTTP
// server, and a Service with both providers. Webhooks are authenticated by
// the adapters and stored in the inbox the way handlers.webhook does.
type truuthEnv struct {
	st     *store.Store
	svc    *verify.Service
	em     *truuth.Emulator
	truv   *truv.Emulator
	client *truuth.Client
	user   *store.User
	caseID int64
	member *store.Member
	// refused counts webhook deliveries that failed authentication.
	refused chan struct{}
}

func newTruuthEnv(t *testing.T, emCfg truuth.EmulatorConfig) *truuthEnv {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.DatabaseURL(t, "v.db"), store.Options{DataKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &truuthEnv{st: st, refused: make(chan struct{}, 100)}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	emCfg.PublicURL, emCfg.WebhookURL = srv.URL+"/sandbox/truuth", srv.URL+"/webhooks/truuth"
	if emCfg.WebhookAuth == "" {
		emCfg.WebhookAuth = truuth.SandboxWebhookAuth
	}
	emCfg.RetryBackoff = 10 * time.Millisecond
	e.em = truuth.NewEmulator(emCfg)
	t.Cleanup(e.em.Close)
	e.client, err = truuth.New(truuth.Config{BaseURL: srv.URL + "/sandbox/truuth", Tenant: truuth.SandboxTenant,
		APIKey: truuth.SandboxAPIKey, APISecret: truuth.SandboxAPISecret, WebhookAuth: truuth.SandboxWebhookAuth})
	if err != nil {
		t.Fatal(err)
	}
	e.truv = truv.NewEmulator(truv.EmulatorConfig{PublicURL: srv.URL + "/sandbox/truv", WebhookURL: srv.URL + "/webhooks/truv"})
	t.Cleanup(e.truv.Close)
	tc, err := truv.New(truv.Config{BaseURL: srv.URL + "/sandbox/truv", ClientID: truv.SandboxClientID,
		AccessSecret: truv.SandboxAccessSecret, ReportRetryDelays: []time.Duration{0, 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = verify.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: srv.URL, Providers: []*verify.Provider{
		{Name: "truv", Label: "Truv", Verifier: tc, Webhooks: tc},
		{Name: "truuth", Label: "Truuth", Verifier: e.client, Webhooks: e.client}}})
	mux.Handle("/sandbox/truuth/", http.StripPrefix("/sandbox/truuth", e.em))
	mux.Handle("/sandbox/truv/", http.StripPrefix("/sandbox/truv", e.truv))
	receive := func(name string, wr providers.WebhookReceiver) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			// As the portal's handler: the path after /webhooks/{name}
			// (Truuth: one URL per event subscription).
			d := providers.Delivery{Header: r.Header, Body: body, Path: r.PathValue("event")}
			if d.Path != "" {
				d.Path = "/" + d.Path
			}
			if wr.Authenticate(d) != nil {
				if name == "truuth" {
					e.refused <- struct{}{}
				}
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if _, err := st.AddInbox(r.Context(), name, wr.DedupeKey(d), d.Path, body); err != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}
	}
	mux.HandleFunc("POST /webhooks/truuth/{event}", receive("truuth", e.client))
	mux.HandleFunc("POST /webhooks/truv", receive("truv", tc))

	a, _ := st.CreateAgency(ctx, "Test Agency")
	e.user, _ = st.CreateUser(ctx, a.ID, store.NewUser{Email: "w@t.gov", Name: "W", Role: store.RoleCaseworker, Password: "long enough passphrase"})
	e.user.AgencyName = a.Name
	cs, _ := st.CreateCase(ctx, a.ID, e.user.ID, store.CaseInput{Number: "T-ID-1", Program: "snap"})
	e.caseID = cs.ID
	e.member, err = st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Ana", LastName: "Diaz", Relationship: "self",
		Email: "ana@example.org", Phone: "(555) 201-0456", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *truuthEnv) send(t *testing.T, provider, product, channel string) *store.Order {
	t.Helper()
	o, err := e.svc.Send(context.Background(), verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID,
		Provider: provider, Products: []string{product}, Channel: channel})
	if err != nil {
		t.Fatalf("send %s %s: %v", provider, product, err)
	}
	return o
}

// settle waits until the emulators delivered every queued webhook, then
// processes the inbox until nothing is due.
func (e *truuthEnv) settle(t *testing.T) {
	t.Helper()
	e.em.WaitIdle()
	e.truv.Flush(context.Background())
	drainInbox(t, e.svc)
}

func (e *truuthEnv) order(t *testing.T, id int64) *store.Order {
	t.Helper()
	o, err := e.st.Order(context.Background(), e.user.AgencyID, id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestTruuth_OutcomeTable sends an identity check, finishes it at the
// emulator with each sandbox outcome, and runs the webhooks through the
// inbox: the order's status, outcome and detail, the stored report with
// every proofing check, the PDF, and the timeline follow the rules.
func TestTruuth_OutcomeTable(t *testing.T) {
	cases := []struct {
		scenario    string
		status      store.OrderStatus
		outcome     string
		label       string // what the case page shows after the status
		detail      string // in the timeline
		checks      map[string]string
		biopass     bool
		reportSaved bool
	}{
		{truuth.ScenarioPass, store.StatusCompleted, "pass", "approved", "Identity approved",
			map[string]string{"Document": "Pass", "Face match": "Pass", "Liveness": "Pass", "Address": "Pass"}, true, true},
		{truuth.ScenarioWarning, store.StatusCompleted, "review", "needs review", "Needs review: address check warned",
			map[string]string{"Document": "Pass", "Face match": "Pass", "Liveness": "Pass", "Address": "Warning"}, false, true},
		{truuth.ScenarioFail, store.StatusCompleted, "fail", "rejected", "Rejected: document check failed",
			map[string]string{"Document": "Fail", "Face match": "Pass", "Liveness": "Pass", "Address": "Pass"}, false, true},
		{truuth.ScenarioError, store.StatusFailed, "", "", "Truuth could not complete the verification", nil, false, false},
	}
	e := newTruuthEnv(t, truuth.EmulatorConfig{})
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.scenario, func(t *testing.T) {
			o := e.send(t, "truuth", "identity", verify.ChannelQR)
			if o.Status != store.StatusSent || o.ProviderOrderID == "" || !strings.Contains(o.Link, "/sandbox/truuth/verify/") {
				t.Fatalf("after send: status %s, provider id %q, link %q", o.Status, o.ProviderOrderID, o.Link)
			}
			if o.LinkExpiresAt.IsZero() {
				t.Error("the invite's expiry was not kept")
			}
			if err := e.em.Complete(o.ProviderOrderID, tc.scenario); err != nil {
				t.Fatal(err)
			}
			e.settle(t)
			o = e.order(t, o.ID)
			if o.Status != tc.status || string(o.Outcome) != tc.outcome {
				t.Fatalf("order %s/%q, want %s/%q", o.Status, o.Outcome, tc.status, tc.outcome)
			}
			if got := views.OutcomeLabel(o.Outcome); o.Outcome != "" && got != tc.label {
				t.Errorf("outcome label %q, want %q", got, tc.label)
			}
			events, err := e.st.Events(ctx, e.user.AgencyID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			var sawDetail, sawBiopass, sawStarted bool
			for _, ev := range events {
				// The result is applied from Truuth's API, which the webhook
				// only prompts the portal to read (issue 13 item 2).
				sawDetail = sawDetail || (ev.Detail == tc.detail && ev.Status == tc.status && ev.Source == "poll")
				sawBiopass = sawBiopass || ev.RawEvent == truuth.EventBiopass
				sawStarted = sawStarted || (ev.RawStatus == "IN_PROGRESS" && ev.Status == store.StatusInProgress)
			}
			if !sawDetail || !sawStarted {
				t.Errorf("timeline lacks the start or %q: %+v", tc.detail, events)
			}
			if sawBiopass != tc.biopass {
				t.Errorf("Biopass provisioning on the timeline = %v, want %v", sawBiopass, tc.biopass)
			}

			rec, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
			if !tc.reportSaved {
				if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("a failed verification has a report: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("no report: %v", err)
			}
			var r providers.Report
			if err := json.Unmarshal(rec.Data, &r); err != nil {
				t.Fatal(err)
			}
			if r.Kind != providers.ReportIdentity || r.Identity == nil || string(r.Identity.Outcome) != tc.outcome {
				t.Fatalf("report kind %s identity %+v", r.Kind, r.Identity)
			}
			got := map[string]string{}
			for _, c := range r.Identity.Checks {
				got[c.Name] = c.Result
			}
			if len(got) != len(tc.checks) {
				t.Errorf("checks %v, want %v", got, tc.checks)
			}
			for name, want := range tc.checks {
				if got[name] != want {
					t.Errorf("check %s = %q, want %q", name, got[name], want)
				}
			}
			pdf, err := e.svc.ReportPDF(ctx, o, rec.ProviderReportID)
			if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
				t.Fatalf("report PDF: %v (%d bytes)", err, len(pdf))
			}
		})
	}
	// The case rolls up the four identity checks: all are final, but one
	// needs review and one was rejected, so the caseworker must act: the
	// case list says so, as the case page's "1 needs review, 1 rejected" does.
	cs, _ := e.st.Case(ctx, e.user.AgencyID, e.caseID)
	if cs.Status != store.CaseActionRequired {
		t.Errorf("case status %s, want action_required", cs.Status)
	}
}

// TestTruuth_IdentityWithIncome sends a Truv income verification and a
// Truuth identity check to the same member: both are the member's orders,
// and the household roll-up counts both until both are done.
func TestTruuth_IdentityWithIncome(t *testing.T) {
	e := newTruuthEnv(t, truuth.EmulatorConfig{})
	ctx := context.Background()
	income := e.send(t, "truv", "income", verify.ChannelEmail)
	identity := e.send(t, "truuth", "identity", verify.ChannelQR)

	rollUp := func() views.RollUp {
		orders, err := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID)
		if err != nil {
			t.Fatal(err)
		}
		var rows []views.OrderRow
		for _, o := range orders {
			if o.MemberID != e.member.ID {
				t.Errorf("order %d belongs to member %d", o.ID, o.MemberID)
			}
			rows = append(rows, views.NewOrderRow(o, o.Provider, false, false))
		}
		return views.NewRollUp(rows)
	}
	if r := rollUp(); r.Total != 2 || r.Open != 2 {
		t.Fatalf("roll-up before: %+v", r)
	}
	if err := e.em.Complete(identity.ProviderOrderID, truuth.ScenarioPass); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if r := rollUp(); r.Sentence() != "1 of 2 verifications completed, 1 in progress." {
		t.Fatalf("roll-up with identity done: %q", r.Sentence())
	}
	if cs, _ := e.st.Case(ctx, e.user.AgencyID, e.caseID); cs.Status != store.CasePending {
		t.Fatalf("case %s while income is open", cs.Status)
	}
	if err := e.truv.Complete(income.ProviderOrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	processUntil(t, e.svc, func() bool {
		e.settle(t) // the emulators post in the background
		return e.order(t, income.ID).Status == store.StatusCompleted
	},
		func() string { return fmt.Sprintf("income order %s", e.order(t, income.ID).Status) })
	if r := rollUp(); r.Sentence() != "2 of 2 verifications completed." {
		t.Fatalf("roll-up with both done: %q", r.Sentence())
	}
	if cs, _ := e.st.Case(ctx, e.user.AgencyID, e.caseID); cs.Status != store.CaseCompleted {
		t.Fatalf("case %s with both done", cs.Status)
	}
	if o := e.order(t, identity.ID); o.Status != store.StatusCompleted || o.Outcome != "pass" {
		t.Fatalf("identity order %s/%s", o.Status, o.Outcome)
	}
}

// TestTruuth_ProviderSendsInvite: with "the provider sends it", Truuth is
// asked to email the invite and the order starts as sent; a member without
// an email address gets Truuth's refusal in plain words and no order.
func TestTruuth_ProviderSendsInvite(t *testing.T) {
	e := newTruuthEnv(t, truuth.EmulatorConfig{})
	ctx := context.Background()
	o := e.send(t, "truuth", "identity", verify.ChannelProvider)
	if o.Notify != "provider" || o.Status != store.StatusSent {
		t.Fatalf("order notify %q status %s", o.Notify, o.Status)
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 10); len(msgs) != 0 {
		t.Fatalf("the portal sent a message itself: %d", len(msgs))
	}
	// Truuth's invite goes by email only.
	m, err := e.st.AddMember(ctx, e.user.AgencyID, e.caseID, store.MemberInput{FirstName: "Luis", LastName: "Diaz",
		Relationship: "spouse", Phone: "(555) 201-0457"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: m.ID, Provider: "truuth",
		Products: []string{"identity"}, Channel: verify.ChannelProvider})
	var perr *providers.ProviderError
	if !errors.As(err, &perr) || !strings.Contains(perr.Message, "email") {
		t.Fatalf("err = %v", err)
	}
	orders, _ := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID)
	if len(orders) != 1 {
		t.Fatalf("%d orders, want only the first", len(orders))
	}
}

// TestTruuth_Refusals: Truuth verifies identity only, and the send form's
// checks say so before any call.
func TestTruuth_Refusals(t *testing.T) {
	e := newTruuthEnv(t, truuth.EmulatorConfig{})
	_, err := e.svc.Send(context.Background(), verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID,
		Provider: "truuth", Products: []string{"income"}, Channel: verify.ChannelQR})
	var p store.ValidationError
	if !errors.As(err, &p) || p["products"] != "Truuth cannot verify income." {
		t.Fatalf("err = %v", err)
	}
}

// TestTruuth_DuplicateWebhooksChangeOnce: every webhook delivered twice
// (the emulator's knob) changes the order once and fetches one report.
func TestTruuth_DuplicateWebhooksChangeOnce(t *testing.T) {
	e := newTruuthEnv(t, truuth.EmulatorConfig{DuplicateWebhooks: true})
	ctx := context.Background()
	o := e.send(t, "truuth", "identity", verify.ChannelCopy)
	if err := e.em.Complete(o.ProviderOrderID, truuth.ScenarioWarning); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	total, pending, _ := e.st.InboxStats(ctx, "truuth")
	if total != 2 || pending != 0 {
		t.Fatalf("inbox holds %d deliveries (%d pending), want the 2 distinct ones", total, pending)
	}
	events, _ := e.st.Events(ctx, e.user.AgencyID, o.ID)
	completed := 0
	for _, ev := range events {
		if ev.Status == store.StatusCompleted {
			completed++
		}
	}
	if o = e.order(t, o.ID); completed != 1 || o.Outcome != "review" {
		t.Fatalf("completed %d times, outcome %q", completed, o.Outcome)
	}
}

// TestTruuth_WebhooksWithWrongAuthAreRefused: an emulator configured with
// another Authorization value than the adapter gets 401s, and nothing
// moves; reading the result from Truuth's API (Refetch, what the
// reconciler does) still completes the order with its report.
func TestTruuth_WebhooksWithWrongAuthAreRefused(t *testing.T) {
	e := newTruuthEnv(t, truuth.EmulatorConfig{WebhookAuth: "Bearer some-other-token-0123456789"})
	ctx := context.Background()
	o := e.send(t, "truuth", "identity", verify.ChannelQR)
	if err := e.em.Complete(o.ProviderOrderID, truuth.ScenarioPass); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if len(e.refused) == 0 {
		t.Fatal("no webhook was refused")
	}
	if total, _, _ := e.st.InboxStats(ctx, "truuth"); total != 0 {
		t.Fatalf("%d unauthenticated deliveries stored", total)
	}
	if got := e.order(t, o.ID); got.Status != store.StatusSent {
		t.Fatalf("an unauthenticated webhook moved the order to %s", got.Status)
	}
	if err := e.svc.Refetch(ctx, e.order(t, o.ID)); err != nil {
		t.Fatal(err)
	}
	if got := e.order(t, o.ID); got.Status != store.StatusCompleted || got.Outcome != "pass" {
		t.Fatalf("after refetch %s/%s", got.Status, got.Outcome)
	}
	if _, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); err != nil {
		t.Fatalf("no report after refetch: %v", err)
	}
}

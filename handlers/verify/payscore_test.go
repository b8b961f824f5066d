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
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/payscore"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// payscoreEnv is a store, the Payscore emulator over real HTTP posting to a
// webhook endpoint that stores deliveries like the portal does, and a
// Service with Payscore as a household provider.
type payscoreEnv struct {
	st      *store.Store
	svc     *verify.Service
	em      *payscore.Emulator
	clock   *testClock
	user    *store.User
	caseID  int64
	members []*store.Member
	mu      sync.Mutex
	bodies  [][]byte // every delivery the emulator sent, as sent
	// faults sits in front of the emulator (unconfirmed_test.go).
	faults *createFaults
	client *payscore.Client
}

// delivered counts the deliveries with the given code the emulator sent.
func (e *payscoreEnv) delivered(t *testing.T, code string) int {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, b := range e.bodies {
		if bytes.Contains(b, []byte(`"code":"`+code+`"`)) {
			n++
		}
	}
	return n
}

// sent returns copies of the deliveries the emulator sent so far.
func (e *payscoreEnv) sent() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.bodies...)
}

func newPayscoreEnv(t *testing.T) *payscoreEnv {
	return newPayscoreEnvWith(t, payscore.EmulatorConfig{})
}

func newPayscoreEnvWith(t *testing.T, emCfg payscore.EmulatorConfig) *payscoreEnv {
	t.Helper()
	ctx := context.Background()
	clk := &testClock{t: time.Now().UTC()}
	st, err := store.Open(ctx, pgtest.DatabaseURL(t, "p.db"), store.Options{DataKey: bytes.Repeat([]byte{6}, 32), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	emCfg.PublicURL, emCfg.WebhookURL, emCfg.Now = srv.URL+"/sandbox/payscore", srv.URL+"/webhooks/payscore", clk.Now
	if emCfg.Contract == (payscore.Contract{}) {
		emCfg.Contract = payscore.SandboxContract() // as the portal's sandbox
	}
	em := payscore.NewEmulator(emCfg)
	t.Cleanup(em.Close)
	c, err := payscore.New(payscore.Config{BaseURL: srv.URL + "/sandbox/payscore", ClientID: payscore.SandboxClientID,
		SecretKey: payscore.SandboxSecretKey, Now: clk.Now, Contract: emCfg.Contract})
	if err != nil {
		t.Fatal(err)
	}
	e := &payscoreEnv{st: st, em: em, clock: clk, client: c}
	groups := func(method string) func(*http.Request) bool {
		return func(r *http.Request) bool { return r.Method == method && r.URL.Path == "/api/v1/screening_groups" }
	}
	e.faults = &createFaults{next: em, creates: groups(http.MethodPost), lookups: groups(http.MethodGet)}
	mux.Handle("/sandbox/payscore/", http.StripPrefix("/sandbox/payscore", e.faults))
	mux.HandleFunc("POST /webhooks/payscore", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := providers.Delivery{Header: r.Header, Body: body}
		if c.Authenticate(d) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		key := c.DedupeKey(d)
		if key == "" {
			key = "unique:" + store.NewSessionToken()
		}
		if _, err := st.AddInbox(r.Context(), "payscore", key, "", body); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		// Counted as sent once stored: a test that waits for a delivery
		// and then drains the inbox must find it there (on PostgreSQL the
		// commit could otherwise come after the wait).
		e.mu.Lock()
		e.bodies = append(e.bodies, body)
		e.mu.Unlock()
	})
	e.svc = verify.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: srv.URL,
		Providers: []*verify.Provider{{Name: "payscore", Label: "Payscore", Verifier: c, Webhooks: c}}})
	a, _ := st.CreateAgency(ctx, "Housing Authority")
	e.user, _ = st.CreateUser(ctx, a.ID, store.NewUser{Email: "h@h.gov", Name: "H", Role: store.RoleCaseworker, Password: "long enough passphrase"})
	e.user.AgencyName = a.Name
	cs, _ := st.CreateCase(ctx, a.ID, e.user.ID, store.CaseInput{Number: "H-1", Program: "housing"})
	e.caseID = cs.ID
	for _, n := range []string{"Mara", "Leo"} {
		m, err := st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: n, LastName: "Okafor", Relationship: "other",
			Email: n + "@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		e.members = append(e.members, m)
	}
	return e
}

func (e *payscoreEnv) process(t *testing.T) {
	t.Helper()
	drainInbox(t, e.svc)
}

func (e *payscoreEnv) waitStatus(t *testing.T, id int64, want store.OrderStatus) *store.Order {
	t.Helper()
	return waitOrder(t, e.svc, e.st, e.user.AgencyID, id, want, func(o *store.Order) string {
		return fmt.Sprintf("status %s, want %s", o.Status, want)
	})
}

// Issue 5: one request for a two-member household; one member connects a
// bank, the other has no income; the report comes; it expires after 14 days.
func TestPayscore_Household(t *testing.T) {
	e := newPayscoreEnv(t)
	ctx := context.Background()
	o, err := e.svc.SendHousehold(ctx, verify.HouseholdRequest{User: e.user, CaseID: e.caseID,
		MemberIDs: []int64{e.members[0].ID, e.members[1].ID}, Provider: "payscore", Products: []string{"income"},
		Channel: verify.ChannelEmail, MonthlyRentCents: 125000})
	if err != nil {
		t.Fatal(err)
	}
	oms, _ := e.st.OrderMembers(ctx, e.user.AgencyID, o.ID)
	if len(oms) != 2 || oms[0].Link == oms[1].Link || oms[0].SubID == "" || oms[1].SubID == "" {
		t.Fatalf("order members: %+v", oms)
	}
	// Each member's tracked link opens their own screening.
	ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries", len(ds))
	}
	for i, d := range ds {
		lo, err := e.st.OpenLink(ctx, d.LinkCode)
		if err != nil || lo.Order.Link != oms[i].Link {
			t.Fatalf("delivery %d opens %q, want %q (%v)", i, lo.Order.Link, oms[i].Link, err)
		}
	}
	if err := e.em.Act(oms[0].SubID, payscore.ActionConsent); err != nil {
		t.Fatal(err)
	}
	for _, step := range [][]string{{payscore.ActionSelectBank, "Demo Bank"}, {payscore.ActionLogin, "user_good", "pass_good"},
		{payscore.ActionConfirmConnection}, {payscore.ActionContinue}, {payscore.ActionFinalConsent}} {
		if err := e.em.Act(oms[0].SubID, step[0], step[1:]...); err != nil {
			t.Fatalf("%s: %v", step[0], err)
		}
	}
	e.waitStatus(t, o.ID, store.StatusInProgress)
	if err := e.em.Act(oms[1].SubID, payscore.ActionConsent); err != nil {
		t.Fatal(err)
	}
	if err := e.em.Act(oms[1].SubID, payscore.ActionNoIncome); err != nil {
		t.Fatal(err)
	}
	e.em.Act(oms[1].SubID, payscore.ActionFinalConsent)
	o = e.waitStatus(t, o.ID, store.StatusCompleted)
	r, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
	if err != nil || r.Purged || r.ExpiresAt.IsZero() {
		t.Fatalf("report: %+v %v", r, err)
	}
	// R1: readable until 14 days, gone after.
	e.clock.Add(14*24*time.Hour - 2*time.Minute)
	if r, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); r.Purged {
		t.Fatal("report gone before 14 days")
	}
	e.clock.Add(3 * time.Minute)
	if r, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); !r.Purged || r.Data != nil {
		t.Fatal("report still readable after 14 days")
	}
	// REPORT_EXPIRED purges the stored data too.
	if n := e.em.FireExpiryWebhooks(); n == 0 {
		t.Fatal("the emulator had no expiry webhook to send")
	}
	processUntil(t, e.svc, func() bool {
		events, _ := e.st.Events(ctx, e.user.AgencyID, o.ID)
		return slices.ContainsFunc(events, func(ev *store.Event) bool { return ev.RawEvent == "REPORT_EXPIRED" })
	}, func() string { return "REPORT_EXPIRED not on the timeline" })
	if reports, _ := e.st.CaseReports(ctx, e.user.AgencyID, e.caseID); reports[o.ID] {
		t.Fatal("the expired report is still readable")
	}
}

// W8: SCREENING_COMPLETED → RE_OPEN_SCREENING → SCREENING_COMPLETED →
// SCREENING_GROUP_COMPLETED twice (byte-identical) ends completed, with a
// new report for the second completion (the status read finds the group
// completed again), while the second completion's bytes, the same as the
// first's, add no timeline line of their own.
func TestPayscore_RefireSequence(t *testing.T) {
	e := newPayscoreEnvWith(t, payscore.EmulatorConfig{RefireGroupCompleted: 2})
	ctx := context.Background()
	o, err := e.svc.SendHousehold(ctx, verify.HouseholdRequest{User: e.user, CaseID: e.caseID, MemberIDs: []int64{e.members[0].ID},
		Provider: "payscore", Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	oms, _ := e.st.OrderMembers(ctx, e.user.AgencyID, o.ID)
	sid := oms[0].SubID
	finish := func() {
		t.Helper()
		for _, step := range [][]string{{payscore.ActionSelectBank, "Demo Bank"}, {payscore.ActionLogin, "user_good", "pass_good"},
			{payscore.ActionConfirmConnection}, {payscore.ActionContinue}, {payscore.ActionFinalConsent}} {
			if err := e.em.Act(sid, step[0], step[1:]...); err != nil {
				t.Fatalf("%s: %v", step[0], err)
			}
		}
	}
	if err := e.em.Act(sid, payscore.ActionConsent); err != nil {
		t.Fatal(err)
	}
	finish()
	e.waitStatus(t, o.ID, store.StatusCompleted)
	first, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
	if err := e.em.Act(sid, payscore.ActionReopen); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, o.ID, store.StatusInProgress)
	// After a re-open the applicant's connected bank is kept: continue, submit.
	for _, a := range []string{payscore.ActionContinue, payscore.ActionFinalConsent} {
		if err := e.em.Act(sid, a); err != nil {
			t.Fatalf("%s after re-open: %v", a, err)
		}
	}
	o = e.waitStatus(t, o.ID, store.StatusCompleted)
	var total, pending, groups int
	var last *store.Report
	processUntil(t, e.svc, func() bool {
		total, pending, _ = e.st.InboxStats(ctx, "payscore")
		last, _ = e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
		events, _ := e.st.Events(ctx, e.user.AgencyID, o.ID)
		groups = 0
		for _, ev := range events {
			if ev.RawEvent == "SCREENING_GROUP_COMPLETED" {
				groups++
			}
		}
		return groups >= 1 && pending == 0 && last.ID > first.ID
	}, func() string {
		return fmt.Sprintf("group completions %d (inbox %d, pending %d), newest report %d after %d", groups, total, pending, last.ID, first.ID)
	})
	if o, _ := e.st.Order(ctx, e.user.AgencyID, o.ID); o.Status != store.StatusCompleted {
		t.Fatalf("final status %s", o.Status)
	}
}

// A household order reminds each member whose screening is still open, with
// their own link, and not the one who finished.
func TestPayscore_HouseholdReminders(t *testing.T) {
	e := newPayscoreEnv(t)
	ctx := context.Background()
	o, err := e.svc.SendHousehold(ctx, verify.HouseholdRequest{User: e.user, CaseID: e.caseID,
		MemberIDs: []int64{e.members[0].ID, e.members[1].ID}, Provider: "payscore", Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	oms, _ := e.st.OrderMembers(ctx, e.user.AgencyID, o.ID)
	if err := e.em.Act(oms[0].SubID, payscore.ActionConsent); err != nil {
		t.Fatal(err)
	}
	for _, step := range [][]string{{payscore.ActionSelectBank, "Demo Bank"}, {payscore.ActionLogin, "user_good", "pass_good"},
		{payscore.ActionConfirmConnection}, {payscore.ActionContinue}, {payscore.ActionFinalConsent}} {
		if err := e.em.Act(oms[0].SubID, step[0], step[1:]...); err != nil {
			t.Fatalf("%s: %v", step[0], err)
		}
	}
	processUntil(t, e.svc, func() bool {
		oms, _ = e.st.OrderMembers(ctx, e.user.AgencyID, o.ID)
		return oms[0].Status == store.StatusCompleted
	}, func() string { return fmt.Sprintf("Mara's screening: %s", oms[0].Status) })
	e.clock.Add(25 * time.Hour)
	e.svc.SendReminders(ctx)
	ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
	var reminded []int64
	for _, d := range ds {
		if d.Kind == "reminder" {
			reminded = append(reminded, d.MemberID)
		}
	}
	if len(reminded) != 1 || reminded[0] != e.members[1].ID {
		t.Fatalf("reminded members %v, want only Leo (%d)", reminded, e.members[1].ID)
	}
	// Leo's reminder opens Leo's own screening.
	for _, d := range ds {
		if d.Kind == "reminder" {
			lo, err := e.st.OpenLink(ctx, d.LinkCode)
			if err != nil || lo.Order.Link != oms[1].Link {
				t.Fatalf("reminder link opens %q, want Leo's %q (%v)", lo.Order.Link, oms[1].Link, err)
			}
		}
	}
}

// Issue 14: with Payscore's documented contract (no applicant link in any
// answer), a household order goes out with Payscore sending the invitations:
// a channel that needs the portal's own link is refused before anything is
// created, and "the provider sends it" creates the group, records each
// member's screening, and records that Payscore sends the invitation.
func TestPayscore_HouseholdWithoutLinks(t *testing.T) {
	e := newPayscoreEnvWith(t, payscore.EmulatorConfig{Contract: payscore.DefaultContract()})
	ctx := context.Background()
	req := verify.HouseholdRequest{User: e.user, CaseID: e.caseID, MemberIDs: []int64{e.members[0].ID, e.members[1].ID},
		Provider: "payscore", Products: []string{"income"}, Channel: verify.ChannelEmail}
	_, err := e.svc.SendHousehold(ctx, req)
	var problems verify.Problems
	if !errors.As(err, &problems) || !strings.Contains(problems["channel"], "The provider sends it") {
		t.Fatalf("email channel: %v", err)
	}
	req.Channel = verify.ChannelProvider
	o, err := e.svc.SendHousehold(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.StatusSent {
		t.Errorf("status %s, want sent", o.Status)
	}
	oms, _ := e.st.OrderMembers(ctx, e.user.AgencyID, o.ID)
	if len(oms) != 2 || oms[0].SubID == "" || oms[1].SubID == "" || oms[0].Link != "" {
		t.Fatalf("order members: %+v", oms)
	}
	ds, _ := e.st.Deliveries(ctx, e.user.AgencyID, o.ID)
	if len(ds) != 2 || ds[0].Channel != verify.ChannelProvider || ds[0].Result != "sent" {
		t.Fatalf("deliveries %+v", ds)
	}
}

// Issue 13 item 3: the pace of hint-triggered reads (one per order per
// HintInterval) is kept in the database (orders.hint_fetched_at), so it
// holds for a second portal process, or the same one after a restart:
// within the window after the first process read the group, a hint the
// second picks up waits instead of reading again; after the window it is
// read. (The old pace was in each process's memory: the second read at
// once.)
func TestPayscore_HintPaceHoldsAcrossProcesses(t *testing.T) {
	e := newPayscoreEnv(t)
	ctx := context.Background()
	var reads atomic.Int32
	e.faults.onRequest = func(r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/screening_groups/") {
			reads.Add(1)
		}
	}
	o, err := e.svc.SendHousehold(ctx, verify.HouseholdRequest{User: e.user, CaseID: e.caseID,
		MemberIDs: []int64{e.members[0].ID, e.members[1].ID}, Provider: "payscore", Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	oms, _ := e.st.OrderMembers(ctx, e.user.AgencyID, o.ID)
	if err := e.em.Act(oms[0].SubID, payscore.ActionConsent); err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, "a hint from Payscore", func() bool { return len(e.sent()) > 0 })
	const pace = 3 * time.Second
	process := func() *verify.Service { // a portal process, sharing the database
		return verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{},
			HintInterval: pace, Providers: []*verify.Provider{{Name: "payscore", Label: "Payscore", Verifier: e.client, Webhooks: e.client}}})
	}
	drainInbox(t, process())
	before := reads.Load()
	if before == 0 {
		t.Fatal("the hint caused no read")
	}

	// The same hint again (Payscore re-fires), picked up by another process
	// within the window.
	sent := e.sent()
	if _, err := e.st.AddInbox(ctx, "payscore", "unique:"+store.NewSessionToken(), "", sent[len(sent)-1]); err != nil {
		t.Fatal(err)
	}
	second := process()
	within, cancel := context.WithTimeout(ctx, pace/3)
	_, _ = second.ProcessNext(within)
	cancel()
	if n := reads.Load(); n != before {
		t.Fatalf("a second process read the group %d more time(s) within the pace window", n-before)
	}
	// After the window (and the inbox's retry time) it is read.
	e.clock.Add(time.Minute)
	drainInbox(t, second)
	if n := reads.Load(); n != before+1 {
		t.Fatalf("%d reads after the window, want 1", n-before)
	}
}

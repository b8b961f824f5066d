package verify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"caseverify/handlers/verify"
	"caseverify/store"
)

// createFaults sits in front of the Truv emulator, over real HTTP. With
// lose set, the next order create reaches the emulator (which commits the
// order, or not with commit false) and its answer is dropped: the
// connection closes unanswered; from then on the order lookup answers 503
// until lookupDown is cleared, so the adapter's own lookup cannot settle it.
type createFaults struct {
	next       http.Handler
	lose       atomic.Bool
	commit     atomic.Bool
	lookupDown atomic.Bool
	posts      atomic.Int32
	mu         sync.Mutex
	created    []string // order ids the emulator committed behind a lost answer
}

func (f *createFaults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isOrders := strings.TrimSuffix(r.URL.Path, "/") == "/v1/orders"
	if isOrders && r.Method == http.MethodGet && f.lookupDown.Load() {
		http.Error(w, `{"error":{"message":"unavailable"}}`, http.StatusServiceUnavailable)
		return
	}
	if !isOrders || r.Method != http.MethodPost {
		f.next.ServeHTTP(w, r)
		return
	}
	f.posts.Add(1)
	if !f.lose.CompareAndSwap(true, false) {
		f.next.ServeHTTP(w, r)
		return
	}
	if f.commit.Load() {
		rec := httptest.NewRecorder()
		f.next.ServeHTTP(rec, r)
		if id := between(rec.Body.String(), `"id":"`, `"`); id != "" {
			f.mu.Lock()
			f.created = append(f.created, id)
			f.mu.Unlock()
		}
	}
	f.lookupDown.Store(true)
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func between(s, from, to string) string {
	_, after, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, to)
	return v
}

// Issue 13 item 5: Truv commits the order, the answer is lost and the
// lookup fails too. The portal keeps the order, shown as being checked; a
// second send is refused; the applicant's completion webhooks, which name
// an order the portal has no provider id for, make it look the order up by
// its reference as soon as Truv answers, and then apply. One order at
// Truv, the link emailed once confirmed, the order completed. (The old code
// deleted its order, so the webhooks were never matched, and a retry made a
// second order at Truv.)
func TestUnconfirmedCreate_LateWebhooksConfirmAndApply(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.faults.commit.Store(true)
	e.faults.lose.Store(true)
	send := func() (*store.Order, error) {
		return e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
			Products: []string{"income"}, Channel: verify.ChannelEmail})
	}
	o, err := send()
	var uerr *verify.UnconfirmedError
	if !errors.As(err, &uerr) || o == nil {
		t.Fatalf("send with a lost answer: %v (order %v)", err, o)
	}
	if len(e.faults.created) != 1 {
		t.Fatalf("the emulator committed %d orders", len(e.faults.created))
	}
	truvID := e.faults.created[0]
	orders, _ := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID)
	if len(orders) != 1 || !orders[0].Checking() || orders[0].Reference != o.Reference {
		t.Fatalf("case orders after a lost answer: %+v", orders)
	}
	if !strings.Contains(orders[0].Detail, "checking with Truv") {
		t.Fatalf("detail %q", orders[0].Detail)
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 10); len(msgs) != 0 {
		t.Fatal("a link went out for an order nobody has confirmed")
	}

	// A retry while it is being checked makes no second order.
	_, err = send()
	var problems store.ValidationError
	if !errors.As(err, &problems) || !strings.Contains(problems["provider"], "checking with Truv") {
		t.Fatalf("second send: %v", err)
	}
	if n := e.faults.posts.Load(); n != 1 {
		t.Fatalf("%d creates reached Truv", n)
	}

	// The applicant finishes at Truv (Truv sent its own link, or the
	// caseworker read it from Truv's dashboard); Truv's lookup is still down.
	if err := e.em.Complete(truvID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	if err := e.em.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	e.process(t)
	total, pending, _ := e.st.InboxStats(ctx, "truv")
	if total == 0 || pending != total {
		t.Fatalf("deliveries for the unconfirmed order: %d stored, %d waiting; want all waiting", total, pending)
	}
	if cur, _ := e.st.Order(ctx, e.user.AgencyID, o.ID); !cur.Checking() {
		t.Fatalf("settled while Truv could not be asked: %+v", cur)
	}

	// Truv answers again: the waiting deliveries look the order up by its
	// reference, attach it and apply.
	e.faults.lookupDown.Store(false)
	e.clock.Add(time.Minute)
	got := e.drain(t, o.ID, store.StatusCompleted)
	if got.ProviderOrderID != truvID || got.Checking() {
		t.Fatalf("order after confirmation: %+v", got)
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 10); len(msgs) != 1 || !strings.Contains(msgs[0].Body, "/l/") {
		t.Fatalf("the link was not emailed once confirmed: %d messages", len(msgs))
	}
	if _, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); err != nil {
		t.Fatalf("no report: %v", err)
	}
	if n := e.faults.posts.Load(); n != 1 {
		t.Fatalf("%d creates reached Truv", n)
	}
}

// Without any webhook, the reconciler settles an unconfirmed order by its
// reference: found, it is attached and its link goes out; a create that
// never reached Truv ends failed, saying so, and a new send is allowed.
func TestUnconfirmedCreate_ReconcilerLooksUpByReference(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	send := func() (*store.Order, error) {
		return e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
			Products: []string{"income"}, Channel: verify.ChannelEmail})
	}

	e.faults.commit.Store(true)
	e.faults.lose.Store(true)
	found, err := send()
	var uerr *verify.UnconfirmedError
	if !errors.As(err, &uerr) {
		t.Fatalf("send: %v", err)
	}
	e.faults.lookupDown.Store(false)
	e.svc.Reconcile(ctx) // not due yet
	if cur, _ := e.st.Order(ctx, e.user.AgencyID, found.ID); !cur.Checking() {
		t.Fatal("looked up before its first check was due")
	}
	e.clock.Add(2 * time.Minute)
	e.svc.Reconcile(ctx)
	cur, _ := e.st.Order(ctx, e.user.AgencyID, found.ID)
	if cur.Checking() || cur.ProviderOrderID != e.faults.created[0] || cur.Status != store.StatusSent || cur.Link == "" {
		t.Fatalf("after the reconciler's look-up: %+v", cur)
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 10); len(msgs) != 1 {
		t.Fatalf("%d messages once confirmed", len(msgs))
	}

	// A create whose answer was lost before Truv committed it.
	m2, err := e.st.AddMember(ctx, e.user.AgencyID, e.caseID, store.MemberInput{FirstName: "Luis", LastName: "Diaz",
		Relationship: "spouse", Email: "luis@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	e.faults.commit.Store(false)
	e.faults.lose.Store(true)
	lost, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: m2.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if !errors.As(err, &uerr) {
		t.Fatalf("send: %v", err)
	}
	e.faults.lookupDown.Store(false)
	e.clock.Add(2 * time.Minute)
	e.svc.Reconcile(ctx)
	cur, _ = e.st.Order(ctx, e.user.AgencyID, lost.ID)
	if cur.Checking() || cur.Status != store.StatusFailed || !strings.Contains(cur.Detail, "never reached Truv") {
		t.Fatalf("a create Truv never got: %+v", cur)
	}
	if _, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: m2.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail}); err != nil {
		t.Fatalf("a new send after the answer: %v", err)
	}
}

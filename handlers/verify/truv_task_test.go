package verify_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"caseverify/handlers/verify"
	"caseverify/store"
)

// Issue 14: Truv's task-status-updated events carry no order_id (the
// emulator now sends them as Truv does). The portal finds their order by
// the user id Truv gave at create and the link and task ids of earlier
// events, so the timeline shows the sign-in error and the progress before
// the order completes. Before, every task event was dropped.
func TestTruv_TaskEventsWithoutOrderIDReachTheirOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelCopy})
	if err != nil {
		t.Fatal(err)
	}
	// A failed sign-in, then a good one.
	_ = e.em.Complete(o.ProviderOrderID, "error.user", "login_error")
	processUntil(t, e.svc, func() bool { return hasTimeline(t, e, o.ID, "task-status-updated", "login_error") },
		func() string { return "the login_error task event never reached the order" })
	if err := e.em.Complete(o.ProviderOrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	e.drain(t, o.ID, store.StatusCompleted)
	for _, st := range []string{"login", "parse", "done"} {
		if !hasTimeline(t, e, o.ID, "task-status-updated", st) {
			t.Errorf("no task-status-updated %s on the timeline", st)
		}
	}
}

func hasTimeline(t *testing.T, e *env, orderID int64, rawEvent, rawStatus string) bool {
	t.Helper()
	evs, err := e.st.Events(context.Background(), e.user.AgencyID, orderID)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.RawEvent == rawEvent && ev.RawStatus == rawStatus {
			return true
		}
	}
	return false
}

// Issue 14, on Truv's own example body (providers/truv/testdata,
// spec.md §2.4 V05): a task-status-updated with no order_id reaches the
// order whose Truv user it names; a second task event that carries only
// the link id (Truv omits user_id in some task payloads, spec.md §2.4)
// reaches it through the link id the first one recorded.
func TestTruv_VendorTaskEventFindsOrderByUserThenLink(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body, err := os.ReadFile("../../providers/truv/testdata/task-status-updated.json")
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.st.CreateOrder(ctx, e.user.AgencyID, store.NewOrder{CaseID: e.caseID, MemberID: e.member.ID,
		Reference: store.NewOrderReference(), Provider: "truv", Products: []string{"income"}, Notify: "agency", CreatedBy: e.user.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.AttachProviderOrder(ctx, e.user.AgencyID, o.ID, store.ProviderOrder{OrderID: "order-1",
		UserID: "88fef4cea64c40b5ad6727cc9b0b9fdc", Status: store.StatusSent, Link: "https://x.example/l"}, "created"); err != nil {
		t.Fatal(err)
	}
	// The vendor's example says "done": make it a login first, so the
	// order stays open for the second event.
	login := strings.Replace(string(body), `"status":"done"`, `"status":"login"`, 1)
	if _, err := e.st.AddInbox(ctx, "truv", "k1", "", []byte(login)); err != nil {
		t.Fatal(err)
	}
	e.process(t)
	if !hasTimeline(t, e, o.ID, "task-status-updated", "login") {
		t.Fatal("the vendor's task event did not reach the order by its user id")
	}
	linkOnly := strings.Replace(strings.Replace(string(body), `"user_id":"88fef4cea64c40b5ad6727cc9b0b9fdc"`, `"user_id":null`, 1),
		`"task_id":"521442a087604e599c637db310d07402"`, `"task_id":"another-task"`, 1)
	linkOnly = strings.Replace(linkOnly, `"status":"done"`, `"status":"login_error"`, 1)
	if _, err := e.st.AddInbox(ctx, "truv", "k2", "", []byte(linkOnly)); err != nil {
		t.Fatal(err)
	}
	e.process(t)
	if !hasTimeline(t, e, o.ID, "task-status-updated", "login_error") {
		t.Fatal("a task event with only the link id did not reach the order")
	}
}

func (e *env) process(t *testing.T) {
	t.Helper()
	for {
		ok, err := e.svc.ProcessNext(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
	}
}

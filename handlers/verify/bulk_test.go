package verify_test

import (
	"context"
	"testing"
	"time"

	"caseverify/handlers/verify"
	"caseverify/store"
)

// workRuns works every waiting run item.
func (e *env) workRuns(t *testing.T) {
	t.Helper()
	for {
		ok, err := e.svc.RenewNext(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
	}
}

// startBulk starts an email bulk send of Truv income to the members.
func (e *env) startBulk(t *testing.T, memberIDs ...int64) *store.RenewalRun {
	t.Helper()
	run, err := e.st.StartBulkSend(context.Background(), e.user.AgencyID, e.user.ID, store.BulkSend{Provider: "truv",
		Products: []string{"income"}, Channel: "email", MemberIDs: memberIDs})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// A bulk send runs on the renewal engine: each member with an email gets a
// link by email (in the outbox), a member without one is skipped with the
// reason, the run finishes, and the renewals page's run is not it.
func TestBulkSend_SendsAndSkips(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.user.AgencyID
	noEmail, err := e.st.AddMember(ctx, a, e.caseID, store.MemberInput{FirstName: "Leo", LastName: "Diaz", Relationship: "child", Phone: "(555) 201-0199"})
	if err != nil {
		t.Fatal(err)
	}
	run := e.startBulk(t, e.member.ID, noEmail.ID)
	if run.Kind != store.RunBulkSend || run.Counts.Total != 2 || run.Counts.Skipped != 1 || run.Counts.Pending != 1 {
		t.Fatalf("started: %+v", run)
	}
	e.workRuns(t)
	run, _ = e.st.RenewalRun(ctx, a, run.ID)
	if run.Status != "done" || run.Counts.NewLink != 1 || run.Counts.Skipped != 1 {
		t.Fatalf("finished: %+v", run)
	}
	rows, err := e.st.RunItemRows(ctx, a, run.ID, 10)
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows: %v %v", rows, err)
	}
	if rows[0].MemberName != "Leo Diaz" || rows[0].Item.Status != "skipped" || rows[0].Item.Detail == "" {
		t.Fatalf("skipped row first, with the reason: %+v", rows[0].Item)
	}
	sent := rows[1].Item
	o, err := e.st.Order(ctx, a, sent.OrderID)
	if err != nil || o.MemberID != e.member.ID || o.Provider != "truv" || o.ProviderOrderID == "" || o.CreatedBy != e.user.ID {
		t.Fatalf("order: %+v %v", o, err)
	}
	msgs, _ := e.st.Outbox(ctx, a, 10)
	if len(msgs) != 1 || msgs[0].Channel != "email" {
		t.Fatalf("outbox: %+v", msgs)
	}
	// The renewals page shows renewal runs only, and a member sent a link
	// by bulk send is still renewable.
	if _, err := e.st.LatestRun(ctx, a); err == nil {
		t.Fatal("the renewals page would show the bulk send")
	}
	if _, err := e.st.LatestRenewalItem(ctx, a, e.member.ID); err == nil {
		t.Fatal("the bulk send item shows as the member's renewal")
	}
}

// After a crash mid-send, the worker that takes the item over does not send
// a second link when the first went out.
func TestBulkSend_TakeoverNeverSendsTwice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.user.AgencyID
	run := e.startBulk(t, e.member.ID)
	// A worker claims the item and sends, then dies before recording it.
	it, err := e.st.ClaimRenewalItem(ctx, time.Minute)
	if err != nil || it.Kind != store.RunBulkSend {
		t.Fatalf("claim: %+v %v", it, err)
	}
	if err := e.st.ExtendRenewalLease(ctx, it, time.Minute); err != nil {
		t.Fatal(err)
	}
	first, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(3 * time.Minute) // the lease ends
	e.workRuns(t)
	run, _ = e.st.RenewalRun(ctx, a, run.ID)
	rows, _ := e.st.RunItemRows(ctx, a, run.ID, 10)
	if run.Status != "done" || rows[0].Item.Status != "new_link" || rows[0].Item.OrderID != first.ID {
		t.Fatalf("taken over: %+v %+v", run, rows[0].Item)
	}
	if msgs, _ := e.st.Outbox(ctx, a, 10); len(msgs) != 1 {
		t.Fatalf("%d messages, want the first only", len(msgs))
	}
}

// A canceled bulk send sends nothing more: waiting members are skipped.
func TestBulkSend_Cancel(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.user.AgencyID
	run := e.startBulk(t, e.member.ID)
	if err := e.st.CancelRenewal(ctx, a, run.ID); err != nil {
		t.Fatal(err)
	}
	e.workRuns(t)
	run, _ = e.st.RenewalRun(ctx, a, run.ID)
	if run.Status != "canceled" || run.Counts.Skipped != 1 {
		t.Fatalf("canceled: %+v", run)
	}
	if msgs, _ := e.st.Outbox(ctx, a, 10); len(msgs) != 0 {
		t.Fatalf("sent after cancel: %d", len(msgs))
	}
}

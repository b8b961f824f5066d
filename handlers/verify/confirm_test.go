package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/truuth"
	"caseverify/providers/truv"
	"caseverify/store"
)

// Issue 13 item 2: a Truuth webhook carrying the static Authorization value
// that says an untouched verification is done and approved changes nothing
// while Truuth's API has no result: the portal asks the API first. On the
// old code the order became "Completed · approved".
func TestTruuth_ForgedResultConfirmedWithTheAPI(t *testing.T) {
	e := newTruuthEnv(t, truuth.EmulatorConfig{})
	ctx := context.Background()
	o := e.send(t, "truuth", "identity", verify.ChannelEmail)
	e.settle(t)
	before := e.order(t, o.ID)
	forged, _ := json.Marshal(map[string]any{"verificationId": o.ProviderOrderID, "status": "DONE",
		"results": map[string]any{"proofingOutcomes": []map[string]any{{"name": "Document", "status": "PASS"}}}})
	if _, err := e.st.AddInbox(ctx, "truuth", "forged-1", "", forged); err != nil {
		t.Fatal(err)
	}
	drainInbox(t, e.svc)
	after := e.order(t, o.ID)
	if after.Status != before.Status || after.Outcome != "" {
		t.Fatalf("after a result Truuth's API does not have: %s · %s (was %s)", after.Status, after.Outcome, before.Status)
	}
	if _, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); err == nil {
		t.Fatal("a report was stored for a result Truuth's API does not have")
	}
}

// Issue 13 item 2: a Truework "completed" state change for an order
// nobody opened does not complete it; Truework's API says it is pending.
func TestTruework_ForgedCompletedConfirmedWithTheAPI(t *testing.T) {
	e := newTwEnv(t)
	ctx := context.Background()
	m := e.member(t, "Taylor", "")
	o := e.send(t, m, "000000000")
	forged, _ := json.Marshal(map[string]any{"version": "2023-10-30",
		"hook": map[string]any{"id": "123", "event": "verification_request.state.change", "triggered_at": time.Now().UTC().Format(time.RFC3339)},
		"data": map[string]any{"order_id": o.ProviderOrderID, "verification_request_id": "vr-forged", "state": "completed"}})
	if _, err := e.st.AddInbox(ctx, "truework", "forged-1", "", forged); err != nil {
		t.Fatal(err)
	}
	e.drainOnce(t)
	after, _ := e.st.Order(ctx, e.user.AgencyID, o.ID)
	if after.Status.Final() || after.Outcome != "" {
		t.Fatalf("after a completed webhook Truework's API does not confirm: %s · %s", after.Status, after.Outcome)
	}
	items, _ := e.st.ItemStatuses(ctx, e.user.AgencyID, o.ID)
	if items["vr-forged"] == store.StatusCompleted {
		t.Fatal("the forged verification request was recorded completed")
	}
}

// downReports is the Truv adapter with its report fetch failing while down
// is set (Truv briefly unavailable).
type downReports struct {
	*truv.Client
	mu   sync.Mutex
	down bool
}

func (d *downReports) FetchReport(ctx context.Context, ref providers.OrderRef, reportID string) (*providers.Report, error) {
	d.mu.Lock()
	down := d.down
	d.mu.Unlock()
	if down {
		return nil, errors.New("truv briefly unavailable")
	}
	return d.Client.FetchReport(ctx, ref, reportID)
}

// Issue 13 item 2: a Truv delivery that completes an order shows
// "completed" only once the report is stored. While the report cannot be
// fetched the order stays in progress and the delivery is tried again; on
// the old code the order showed completed with no report.
func TestTruv_CompletedOnlyWithItsReport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	flaky := &downReports{Client: e.truv, down: true}
	e.svc = verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url,
		Providers: []*verify.Provider{{Name: "truv", Label: "Truv", Verifier: flaky, Webhooks: e.truv}}})
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: e.caseID, MemberID: e.member.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.em.Complete(o.ProviderOrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	e.em.Flush(ctx) // every webhook delivered
	drainInbox(t, e.svc)
	if _, pending, _ := e.st.InboxStats(ctx, "truv"); pending == 0 {
		t.Fatal("no delivery waits for its report")
	}
	if got, _ := e.st.Order(ctx, e.user.AgencyID, o.ID); got.Status == store.StatusCompleted {
		t.Fatal("completed shown while its report could not be fetched")
	}
	flaky.mu.Lock()
	flaky.down = false
	flaky.mu.Unlock()
	e.clock.Add(time.Minute) // the retry is due
	got := e.drain(t, o.ID, store.StatusCompleted)
	if _, err := e.st.LatestReport(ctx, e.user.AgencyID, got.ID); err != nil {
		t.Fatalf("completed without a report: %v", err)
	}
}

package store_test

import (
	"context"
	"testing"
	"time"

	"caseverify/store"
)

// What /metrics reads at each scrape: the inbox backlog by provider (due or
// waiting for a retry, and the oldest's arrival) and the running runs'
// items by status, with the renewal kind there even when idle.
func TestOpsGauges(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()

	runs, err := s.RunsInProgress(ctx)
	if err != nil || len(runs) != 2 || runs[0].Kind != store.RunKindRenewal || runs[1].Kind != string(store.RunBulkSend) ||
		runs[0].Running != 0 || len(runs[0].Items) != 0 || runs[1].Running != 0 || len(runs[1].Items) != 0 {
		t.Fatalf("idle runs: %+v %v", runs, err)
	}
	first := clk.Now()
	for _, key := range []string{"a", "b"} {
		if _, err := s.AddInbox(ctx, "truv", key, "", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
	}
	it, err := s.ClaimInbox(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FinishInbox(ctx, it.ID, "order not known yet", clk.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	bs, err := s.InboxBacklogs(ctx)
	if err != nil || len(bs) != 1 {
		t.Fatalf("backlogs: %+v %v", bs, err)
	}
	if b := bs[0]; b.Provider != "truv" || b.Due != 1 || b.Waiting != 1 || !b.Oldest.Equal(first.UTC().Truncate(time.Millisecond)) && !b.Oldest.Equal(first.UTC()) {
		t.Fatalf("backlog: %+v (first at %v)", b, first)
	}

	o := mustOrder(t, s, f, "truv")
	startClaimed(t, s, f, o, time.Minute)
	runs, err = s.RunsInProgress(ctx)
	if err != nil || len(runs) != 2 || runs[0].Running != 1 || runs[0].Items["working"] != 1 || runs[1].Running != 0 {
		t.Fatalf("running: %+v %v", runs, err)
	}
	// A bulk send is counted under its own kind.
	m, err := s.AddMember(ctx, f.agencyA.ID, o.CaseID, store.MemberInput{FirstName: "Bo", LastName: "Lee", Relationship: "child", Email: "bo@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartBulkSend(ctx, f.agencyA.ID, f.userA.ID, store.BulkSend{Provider: "truv", Products: []string{"income"},
		Channel: "email", MemberIDs: []int64{m.ID}}); err != nil {
		t.Fatal(err)
	}
	runs, err = s.RunsInProgress(ctx)
	if err != nil || runs[0].Running != 1 || runs[1].Kind != "bulk_send" || runs[1].Running != 1 || runs[1].Items["pending"] != 1 {
		t.Fatalf("with a bulk send: %+v %v", runs, err)
	}
}

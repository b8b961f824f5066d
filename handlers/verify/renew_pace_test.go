package verify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/store"
)

// Issue 17 item 5: a bulk renewal runs across providers in parallel, each
// at its own rate. The run's first members are all one provider's (A,
// paced at 2 calls a second, so its 8 refreshes take at least 3.5 s); the
// two members of another provider (B) behind them in the run must not wait
// for A's rate: they are renewed while A's are still waiting. With one
// worker taking the items in order, B's come after all of A's.
func TestRenew_ProvidersRenewInParallel(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const rate, perA, perB = 2, 8, 2
	svc := verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url, RenewalRate: rate,
		Providers: []*verify.Provider{
			{Name: "truv", Label: "Truv", Verifier: e.truv, Webhooks: e.truv},
			// A second provider, served by the same emulator.
			{Name: "second", Label: "Second", Verifier: e.truv, Webhooks: e.truv}}})
	provider := map[int64]string{}
	for i := range perA + perB {
		name := "truv"
		if i >= perA {
			name = "second"
		}
		m, err := e.st.AddMember(ctx, e.user.AgencyID, e.caseID, store.MemberInput{FirstName: "M", LastName: fmt.Sprintf("N%d", i), Relationship: "other"})
		if err != nil {
			t.Fatal(err)
		}
		o, err := svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: m.CaseID, MemberID: m.ID, Provider: name,
			Products: []string{"income"}, Channel: verify.ChannelCopy})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.em.Complete(o.ProviderOrderID, "goodlogin", "goodpassword"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.st.ApplyUpdate(ctx, e.user.AgencyID, o.ID, store.StatusUpdate{Status: store.StatusCompleted, Source: "system"}); err != nil {
			t.Fatal(err)
		}
		provider[m.ID] = name
	}
	// The env's first member has no verification: not part of this run.
	if err := e.st.RemoveMember(ctx, e.user.AgencyID, e.caseID, e.member.ID); err != nil {
		t.Fatal(err)
	}
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
	if err != nil || run.Counts.Total != perA+perB {
		t.Fatalf("run: %+v %v", run, err)
	}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { svc.RunRenewals(wctx) })
	defer func() { stop(); wg.Wait() }()
	svc.NotifyRenewals()
	deadline := time.Now().Add(60 * time.Second)
	for {
		items, err := e.st.RenewalItems(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		open := map[string]int{}
		for _, it := range items {
			if it.Status == "pending" || it.Status == "working" {
				open[provider[it.MemberID]]++
			}
		}
		if open["second"] == 0 {
			if open["truv"] == 0 {
				t.Fatalf("the second provider's members were renewed only after all %d of the first's: the providers did not renew in parallel", perA)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still open after 60 s: %v", open)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Issue 17 item 5: the new links a renewal falls back to are paced like
// the refreshes: each takes a slot of its provider's rate and of its
// channel's (channel:email), shared by every process on the database. After
// four members renewed by new link by email at 4 a second, the channel's
// next slot is at least four intervals after the run began.
func TestRenew_FallbackMessagesPaced(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const rate, members = 4, 4
	svc := verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url, RenewalRate: rate,
		Providers: []*verify.Provider{{Name: "truv", Label: "Truv", Verifier: e.truv, Webhooks: e.truv}}})
	for i := 1; i < members; i++ {
		if _, err := e.st.AddMember(ctx, e.user.AgencyID, e.caseID, store.MemberInput{FirstName: "M", LastName: fmt.Sprintf("N%d", i),
			Relationship: "other", Email: fmt.Sprintf("m%d@example.org", i)}); err != nil {
			t.Fatal(err)
		}
	}
	began := time.Now()
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
	if err != nil || run.Counts.Total != members {
		t.Fatalf("run: %+v %v", run, err)
	}
	for {
		ok, err := svc.RenewNext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
	}
	run, _ = e.st.RenewalRun(ctx, e.user.AgencyID, run.ID)
	if run.Counts.NewLink != members {
		t.Fatalf("want %d new links: %+v", members, run.Counts)
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 10); len(msgs) != members {
		t.Fatalf("%d messages, want %d", len(msgs), members)
	}
	interval := time.Second / rate
	for _, name := range []string{"channel:email", "provider:truv"} {
		next, err := e.st.TakeRateSlot(ctx, name, rate)
		if err != nil {
			t.Fatal(err)
		}
		if want := began.Add(members * interval); next.Before(want) {
			t.Errorf("%s: next slot %v after the run began, want at least %v: the new links were not all paced", name, next.Sub(began), members*interval)
		}
	}
}

package verify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/truv"
	"caseverify/store"
)

// completedTruv sends a member a Truv link and completes it as goodlogin,
// returning the completed order (with its report).
func (e *env) completedTruv(t *testing.T, m *store.Member) *store.Order {
	t.Helper()
	ctx := context.Background()
	o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: m.CaseID, MemberID: m.ID, Provider: "truv",
		Products: []string{"income"}, Channel: verify.ChannelCopy})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.em.Complete(o.ProviderOrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	return e.drain(t, o.ID, store.StatusCompleted)
}

// renewCase starts a renewal of the env's case and works it through.
func (e *env) renewCase(t *testing.T) *store.RenewalItem {
	t.Helper()
	ctx := context.Background()
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ok, err := e.svc.RenewNext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
	}
	items, _ := e.st.RenewalItems(ctx, run.ID)
	return items[0]
}

// settle processes webhooks until the member's renewal item leaves
// "refreshing".
func (e *env) settle(t *testing.T, itemID int64) *store.RenewalItem {
	t.Helper()
	var it *store.RenewalItem
	processUntil(t, e.svc, func() bool {
		var err error
		if it, err = e.st.LatestRenewalItem(context.Background(), e.user.AgencyID, e.member.ID); err != nil {
			t.Fatal(err)
		}
		return it.ID == itemID && it.Status != "refreshing"
	}, func() string { return fmt.Sprintf("renewal still %s", it.Status) })
	return it
}

func TestRenew_TruvRefreshSucceeds(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prev := e.completedTruv(t, e.member)
	it := e.renewCase(t)
	if it.Status != "refreshing" || it.PrevOrderID != prev.ID || it.OrderID == 0 {
		t.Fatalf("after the refresh call: %+v", it)
	}
	it = e.settle(t, it.ID)
	if it.Status != "refreshed" || it.Path != "refresh" {
		t.Fatalf("refresh outcome: %+v", it)
	}
	n, _ := e.st.Order(ctx, e.user.AgencyID, it.OrderID)
	if n.RefreshOf != prev.ID || n.Status != store.StatusCompleted {
		t.Fatalf("refresh order: %+v", n)
	}
	if _, err := e.st.LatestReport(ctx, e.user.AgencyID, n.ID); err != nil {
		t.Fatalf("refreshed report: %v", err)
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 5); len(msgs) != 0 {
		t.Fatal("a successful refresh sent the applicant a message")
	}
}

func TestRenew_TruvRefreshFailsThenNewLink(t *testing.T) {
	for _, failure := range []string{"login_error", "mfa_error"} {
		t.Run(failure, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			prev := e.completedTruv(t, e.member)
			e.em.SetRefreshFailure(prev.ProviderOrderID, failure)
			it := e.settle(t, e.renewCase(t).ID)
			if it.Status != "new_link" || it.Path != "new_link" || !strings.Contains(it.Detail, "refresh failed") {
				t.Fatalf("after %s: %+v", failure, it)
			}
			n, _ := e.st.Order(ctx, e.user.AgencyID, it.OrderID)
			if n.RefreshOf != 0 || n.Status != store.StatusSent {
				t.Fatalf("the new link's order: %+v", n)
			}
			msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 5)
			if len(msgs) != 1 || msgs[0].Channel != "email" {
				t.Fatalf("new link messages: %+v", msgs)
			}
		})
	}
	t.Run("expired connection", func(t *testing.T) {
		e := newEnv(t)
		e.completedTruv(t, e.member)
		e.clock.Add(181 * 24 * time.Hour) // OAuth payroll connections last about 180 days
		it := e.settle(t, e.renewCase(t).ID)
		if it.Status != "new_link" {
			t.Fatalf("after 181 days: %+v", it)
		}
	})
}

// P4: the 4th Truv refresh of a connection within 24 hours is never sent;
// the caseworker reads why; after 24 hours refreshing works again.
func TestRenew_TruvFourthRefreshRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prev := e.completedTruv(t, e.member)
	for i := range 3 {
		it := e.settle(t, e.renewCase(t).ID)
		if it.Status != "refreshed" {
			t.Fatalf("refresh %d: %+v", i+1, it)
		}
		e.clock.Add(time.Hour)
	}
	if n, _ := e.st.RefreshesSince(ctx, e.user.AgencyID, prev.ID, e.clock.Now().Add(-24*time.Hour)); n != 3 {
		t.Fatalf("%d refreshes counted, want 3", n)
	}
	it := e.renewCase(t)
	if it.Status != "new_link" || !strings.Contains(it.Detail, "3 refreshes per connection in 24 hours") {
		t.Fatalf("4th refresh: %+v", it)
	}
	if n, _ := e.st.RefreshesSince(ctx, e.user.AgencyID, prev.ID, e.clock.Now().Add(-24*time.Hour)); n != 3 {
		t.Fatalf("a 4th refresh was sent: %d", n)
	}
	e.clock.Add(22 * time.Hour) // 25 h after the first refresh
	if it := e.settle(t, e.renewCase(t).ID); it.Status != "refreshed" {
		t.Fatalf("refresh after the window: %+v", it)
	}
}

// Nothing to refresh (no completed verification): with the agency's "send
// a new link" setting, a new link from the agency's default provider by the
// member's channel (it was queued whatever the setting); with "queue",
// queued.
func TestRenew_FallbackWithoutHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	it := e.renewCase(t)
	if it.Status != "new_link" || !strings.Contains(it.Detail, "No completed verification") || it.OrderID == 0 {
		t.Fatalf("no history, setting 'send a new link': %+v", it)
	}
	if o, err := e.st.Order(ctx, e.user.AgencyID, it.OrderID); err != nil || o.Provider != "truv" {
		t.Fatalf("the new link's order: %+v %v", o, err)
	}
	e.completedTruv(t, e.member)
	if err := e.st.SetRenewalFallback(ctx, e.user.AgencyID, "queue"); err != nil {
		t.Fatal(err)
	}
	e.em.SetRefreshFailure(e.mustLast(t).ProviderOrderID, "login_error")
	it = e.settle(t, e.renewCase(t).ID)
	if it.Status != "queued" || !strings.Contains(it.Detail, "Queued for the caseworker") {
		t.Fatalf("queue setting: %+v", it)
	}
}

func (e *env) mustLast(t *testing.T) *store.Order {
	o, err := e.st.LastCompleted(context.Background(), e.user.AgencyID, e.member.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// Bulk: 500 members due, a restart in the middle (a worker dies holding an
// item), two processes finishing together: every member renewed exactly
// once, and exactly one refresh per connection.
func TestRenew_Bulk500WithRestart(t *testing.T) {
	e := newEnvWith(t, truv.EmulatorConfig{})
	ctx := context.Background()
	const cases, perCase = 100, 5
	due := e.clock.Now().AddDate(0, 0, 10).Format("2006-01-02")
	var members []*store.Member
	for c := range cases {
		cs, err := e.st.CreateCase(ctx, e.user.AgencyID, e.user.ID, store.CaseInput{Number: fmt.Sprintf("B-%03d", c), Program: "snap", RecertDue: due})
		if err != nil {
			t.Fatal(err)
		}
		for m := range perCase {
			mem, err := e.st.AddMember(ctx, e.user.AgencyID, cs.ID, store.MemberInput{FirstName: fmt.Sprintf("M%d", m), LastName: cs.Number, Relationship: "other"})
			if err != nil {
				t.Fatal(err)
			}
			members = append(members, mem)
		}
	}
	// Each member has a completed Truv verification (completed at the
	// emulator; the portal marks it completed without waiting for webhooks).
	for _, m := range members {
		o, err := e.svc.Send(ctx, verify.SendRequest{User: e.user, CaseID: m.CaseID, MemberID: m.ID, Provider: "truv",
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
	}
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, 0, 30)
	if err != nil || run.Counts.Total != cases*perCase {
		t.Fatalf("run: %+v %v", run, err)
	}
	if _, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, 0, 30); err == nil {
		t.Fatal("a second bulk run started while one runs")
	}
	// Each process has its own store handle on the same file, as two portal
	// processes do: the claim is contended across connections, not inside
	// one handle's single writer.
	openStore := func() *store.Store {
		st, err := store.Open(ctx, e.dbPath, store.Options{DataKey: bytes.Repeat([]byte{5}, 32), Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	newProcess := func(st *store.Store) *verify.Service {
		return verify.New(st, slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url, RenewalRate: 10000,
			Providers: []*verify.Provider{{Name: "truv", Label: "Truv", Verifier: e.truv, Webhooks: e.truv}}})
	}
	first := newProcess(openStore())
	for range 200 {
		if _, err := first.RenewNext(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The process dies holding one item (claimed, never finished).
	if _, err := e.st.ClaimRenewalItem(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	// After the restart, two processes share the rest; the dead worker's
	// item comes back when its lease ends.
	e.clock.Add(3 * time.Minute)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		p := newProcess(openStore())
		go func() {
			defer wg.Done()
			for {
				ok, err := p.RenewNext(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
			}
		}()
	}
	wg.Wait()
	run, _ = e.st.RenewalRun(ctx, e.user.AgencyID, run.ID)
	if run.Status != "done" || run.Counts.Remaining() != 0 || run.Counts.Refreshing+run.Counts.Refreshed != cases*perCase {
		items, _ := e.st.RenewalItems(ctx, run.ID)
		for _, it := range items {
			if it.Status != "refreshing" && it.Status != "refreshed" {
				t.Logf("member %d: %s: %s", it.MemberID, it.Status, it.Detail)
			}
		}
		t.Fatalf("run after restart: %s %+v", run.Status, run.Counts)
	}
	items, _ := e.st.RenewalItems(ctx, run.ID)
	seen := map[int64]bool{}
	for _, it := range items {
		if seen[it.MemberID] {
			t.Fatalf("member %d renewed twice", it.MemberID)
		}
		seen[it.MemberID] = true
		if n, _ := e.st.RefreshesSince(ctx, e.user.AgencyID, it.PrevOrderID, time.Time{}); n != 1 {
			t.Fatalf("member %d: %d refreshes, want 1", it.MemberID, n)
		}
	}
	if len(seen) != cases*perCase {
		t.Fatalf("%d members renewed, want %d", len(seen), cases*perCase)
	}
}

// A worker that stopped after reserving a refresh (so possibly after the
// provider billed it) is taken over without a second refresh: the member is
// queued for the caseworker with the reason.
func TestRenew_TakeoverNeverRefreshesTwice(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	prev := e.completedTruv(t, e.member)
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
	if err != nil {
		t.Fatal(err)
	}
	it, err := e.st.ClaimRenewalItem(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	reserved, err := e.st.CreateOrder(ctx, e.user.AgencyID, store.NewOrder{CaseID: e.caseID, MemberID: e.member.ID,
		Reference: store.NewOrderReference(), Provider: "truv", Products: []string{"income"}, Notify: "agency", RefreshOf: prev.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetRenewalOrder(ctx, it.ID, reserved.ID); err != nil {
		t.Fatal(err)
	}
	// The worker is gone; its lease ends; another takes over.
	e.clock.Add(2 * time.Minute)
	if ok, err := e.svc.RenewNext(ctx); !ok || err != nil {
		t.Fatalf("takeover: %v %v", ok, err)
	}
	items, _ := e.st.RenewalItems(ctx, run.ID)
	if items[0].Status != "queued" || !strings.Contains(items[0].Detail, "avoid a second billed refresh") {
		t.Fatalf("takeover: %+v", items[0])
	}
	if orders, _ := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID); len(orders) != 1 {
		t.Fatalf("%d orders: a refresh was sent again", len(orders))
	}
}

// Issue 9 (audit item 3): a refresh is billed, so a member is not renewed
// again while their refresh is waiting for Truv ("Renew this case" clicked
// twice), nor after being renewed for the case's current recertification
// due date (a second "Renew all due" once the first run ended). A new due
// date is a new recertification.
func TestRenew_NeverTwiceForOneRecertification(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	due := e.clock.Now().AddDate(0, 0, 10).Format("2006-01-02")
	if err := e.st.UpdateCase(ctx, e.user.AgencyID, e.caseID, store.CaseInput{Number: "T-1", Program: "snap", RecertDue: due}); err != nil {
		t.Fatal(err)
	}
	prev := e.completedTruv(t, e.member)
	it := e.renewCase(t)
	if it.Status != "refreshing" {
		t.Fatalf("first renewal: %+v", it)
	}
	refreshes := func() int {
		n, err := e.st.RefreshesSince(ctx, e.user.AgencyID, prev.ID, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// "Renew this case" again while Truv has not answered.
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
	if err != nil || run.Counts.Total != 0 {
		t.Fatalf("renewal while refreshing: %+v %v", run, err)
	}
	e.settle(t, it.ID)
	// "Renew all due" after the member was refreshed for this due date.
	run, err = e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, 0, 30)
	if err != nil || run.Counts.Total != 0 {
		t.Fatalf("bulk renewal after the refresh: %+v %v", run, err)
	}
	for {
		ok, err := e.svc.RenewNext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
	}
	if n := refreshes(); n != 1 {
		t.Fatalf("%d refreshes sent, want 1", n)
	}
	// The next recertification renews again.
	next := e.clock.Now().AddDate(0, 0, 20).Format("2006-01-02")
	if err := e.st.UpdateCase(ctx, e.user.AgencyID, e.caseID, store.CaseInput{Number: "T-1", Program: "snap", RecertDue: next}); err != nil {
		t.Fatal(err)
	}
	if it := e.settle(t, e.renewCase(t).ID); it.Status != "refreshed" || it.RecertDue != next {
		t.Fatalf("renewal for the next due date: %+v", it)
	}
	if n := refreshes(); n != 2 {
		t.Fatalf("%d refreshes sent, want 2", n)
	}
}

// Issue 9 (audit item 4): the refresh's webhook can be processed while the
// item is still "working" (between storing Truv's order id and recording
// "refreshing"). Its outcome is not lost: the webhook finishes an item
// whose worker is gone, and a worker that still holds the item looks at the
// order itself once it records "refreshing" (here: after a takeover).
func TestRenew_WebhookWhileWorking(t *testing.T) {
	for _, tc := range []struct {
		name       string
		workerDead bool // the worker's lease ran out before the webhook
	}{
		{"worker holds the item", false},
		{"worker gone", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			prev := e.completedTruv(t, e.member)
			run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
			if err != nil {
				t.Fatal(err)
			}
			// A worker gets as far as storing Truv's order id, and stops.
			it, err := e.st.ClaimRenewalItem(ctx, 2*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			ref := store.NewOrderReference()
			o, err := e.st.CreateOrder(ctx, e.user.AgencyID, store.NewOrder{CaseID: e.caseID, MemberID: e.member.ID, Reference: ref,
				Provider: "truv", Products: []string{"income"}, Notify: "agency", RefreshOf: prev.ID})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.SetRenewalOrder(ctx, it.ID, o.ID); err != nil {
				t.Fatal(err)
			}
			po, err := e.truv.Refresh(ctx, providers.OrderRef{OrderID: prev.ProviderOrderID, UserID: prev.ProviderUserID},
				providers.RefreshRequest{Reference: ref, Product: providers.ProductIncome, Now: e.clock.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.st.AttachProviderOrder(ctx, e.user.AgencyID, o.ID, store.ProviderOrder{OrderID: po.OrderID, UserID: po.UserID,
				Status: store.StatusInProgress}, "Refresh requested."); err != nil {
				t.Fatal(err)
			}
			if tc.workerDead {
				e.clock.Add(3 * time.Minute)
			}
			// The refresh's webhooks arrive and are processed.
			e.drain(t, o.ID, store.StatusCompleted)
			items, _ := e.st.RenewalItems(ctx, run.ID)
			if tc.workerDead {
				if items[0].Status != "refreshed" {
					t.Fatalf("webhook for a dead worker's item: %+v", items[0])
				}
				return
			}
			if items[0].Status != "working" {
				t.Fatalf("webhook took an item its worker holds: %+v", items[0])
			}
			// The worker is gone after all; the one that takes over records
			// "refreshing" and finds the outcome already there.
			e.clock.Add(3 * time.Minute)
			if ok, err := e.svc.RenewNext(ctx); !ok || err != nil {
				t.Fatalf("takeover: %v %v", ok, err)
			}
			items, _ = e.st.RenewalItems(ctx, run.ID)
			if items[0].Status != "refreshed" || items[0].OrderID != o.ID {
				t.Fatalf("after the takeover: %+v", items[0])
			}
			if n, _ := e.st.RefreshesSince(ctx, e.user.AgencyID, prev.ID, time.Time{}); n != 1 {
				t.Fatalf("%d refreshes, want 1", n)
			}
		})
	}
}

// slowTruv is the Truv adapter whose refresh runs stall first (while the
// test lets the worker's lease run out), then fails.
type slowTruv struct {
	*truv.Client
	stall func()
}

func (s *slowTruv) Refresh(ctx context.Context, ref providers.OrderRef, req providers.RefreshRequest) (*providers.Order, error) {
	s.stall()
	return nil, errors.New("connection reset")
}

// Issue 9 (audit item 4): a worker whose refresh call outlived its lease,
// while another worker took the member over, does not go on to send the
// member a new link (a second one) nor overwrite what the other recorded.
func TestRenew_SlowWorkerLostItsLease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.completedTruv(t, e.member)
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var other *store.RenewalItem
	slow := &slowTruv{Client: e.truv, stall: func() {
		e.clock.Add(3 * time.Minute) // past the lease
		if ok, err := e.svc.RenewNext(ctx); !ok || err != nil {
			t.Errorf("takeover: %v %v", ok, err)
		}
		items, _ := e.st.RenewalItems(ctx, run.ID)
		other = items[0]
	}}
	first := verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url,
		Providers: []*verify.Provider{{Name: "truv", Label: "Truv", Verifier: slow, Webhooks: e.truv}}})
	if ok, err := first.RenewNext(ctx); !ok || err != nil {
		t.Fatalf("slow worker: %v %v", ok, err)
	}
	items, _ := e.st.RenewalItems(ctx, run.ID)
	if other == nil || items[0].Status != other.Status || items[0].Detail != other.Detail || items[0].Status != "queued" {
		t.Fatalf("the slow worker overwrote the takeover: %+v, recorded %+v", items[0], other)
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 5); len(msgs) != 0 {
		t.Fatalf("%d new links sent", len(msgs))
	}
	if orders, _ := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID); len(orders) != 1 {
		t.Fatalf("%d orders, want the original only", len(orders))
	}
}

// tlog writes a service's warnings into the test's log.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

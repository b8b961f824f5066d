package store_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"caseverify/store"
)

func TestTransition(t *testing.T) {
	const (
		cr = store.StatusCreated
		se = store.StatusSent
		ip = store.StatusInProgress
		ar = store.StatusActionRequired
		co = store.StatusCompleted
		ca = store.StatusCanceled
		ex = store.StatusExpired
		fa = store.StatusFailed
	)
	tests := []struct {
		cur, next store.OrderStatus
		reopen    bool
		want      store.OrderStatus
		changed   bool
	}{
		{cr, se, false, se, true},
		{cr, co, false, co, true}, // a skip forward is fine
		{se, ip, false, ip, true},
		{ip, ar, false, ar, true}, // ⇄
		{ar, ip, false, ip, true}, // ⇄
		{ip, co, false, co, true},
		{ar, fa, false, fa, true},
		{ip, se, false, ip, false}, // late "sent" after progress
		{ip, cr, false, ip, false},
		{co, ip, false, co, false}, // late progress after completion
		{co, ar, false, co, false},
		{co, fa, false, co, false}, // final is final
		{ex, co, false, ex, false},
		{co, ip, true, ip, true}, // documented way back
		{co, ar, true, ar, true},
		{ca, ip, true, ip, true},
		{co, se, true, co, false}, // a way back goes to in progress, not further
		{ip, ip, false, ip, false},
		{ip, "bogus", false, ip, false}, // unknown keeps the status
		{ip, "", false, ip, false},
	}
	for _, tt := range tests {
		got, changed := store.Transition(tt.cur, tt.next, tt.reopen)
		if got != tt.want || changed != tt.changed {
			t.Errorf("Transition(%s, %s, reopen=%v) = %s, %v; want %s, %v", tt.cur, tt.next, tt.reopen, got, changed, tt.want, tt.changed)
		}
	}
}

func TestDeriveAndRollUp(t *testing.T) {
	S := func(ss ...store.OrderStatus) []store.OrderStatus { return ss }
	derive := []struct {
		items []store.OrderStatus
		want  store.OrderStatus
	}{
		{S(store.StatusCompleted), store.StatusCompleted},
		{S(store.StatusCompleted, store.StatusInProgress), store.StatusInProgress},
		{S(store.StatusCompleted, store.StatusActionRequired), store.StatusActionRequired},
		{S(store.StatusCompleted, store.StatusFailed), store.StatusCompleted},
		{S(store.StatusFailed, store.StatusExpired), store.StatusFailed},
		{S(store.StatusExpired, store.StatusCanceled), store.StatusExpired},
		{S(store.StatusCanceled), store.StatusCanceled},
		{S(store.StatusSent, store.StatusCreated), store.StatusSent},
		{S(store.StatusCreated), store.StatusCreated},
		{S(), ""},
	}
	for _, tt := range derive {
		if got := store.Derive(tt.items); got != tt.want {
			t.Errorf("Derive(%v) = %s, want %s", tt.items, got, tt.want)
		}
	}
	O := func(ss ...store.OrderStatus) []store.OrderState {
		out := make([]store.OrderState, len(ss))
		for i, s := range ss {
			out[i] = store.OrderState{Status: s}
		}
		return out
	}
	rejected := store.OrderState{Status: store.StatusCompleted, Outcome: "fail"}
	review := store.OrderState{Status: store.StatusCompleted, Outcome: "review"}
	rollup := []struct {
		orders []store.OrderState
		want   store.CaseStatus
	}{
		{O(), store.CaseNew},
		{O(store.StatusSent), store.CasePending},
		{O(store.StatusCompleted, store.StatusInProgress), store.CasePending},
		{O(store.StatusCompleted, store.StatusActionRequired), store.CaseActionRequired},
		{O(store.StatusCompleted, store.StatusFailed), store.CaseCompleted},
		// A rejected or needs-review identity is not a finished case: the
		// caseworker must act (the case page says "1 rejected" too).
		{append(O(store.StatusCompleted), rejected), store.CaseActionRequired},
		{[]store.OrderState{review}, store.CaseActionRequired},
		{[]store.OrderState{{Status: store.StatusCompleted, Outcome: "verified"}}, store.CaseCompleted},
	}
	for _, tt := range rollup {
		if got := store.RollUp(tt.orders); got != tt.want {
			t.Errorf("RollUp(%v) = %s, want %s", tt.orders, got, tt.want)
		}
	}
}

func TestApplyUpdate_RulesAndTimeline(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	apply := func(o *store.Order, u store.StatusUpdate) (*store.Order, bool) {
		t.Helper()
		if u.Source == "" {
			u.Source = "webhook"
		}
		got, changed, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, u)
		if err != nil {
			t.Fatal(err)
		}
		return got, changed
	}
	o := mustOrder(t, s, f, "truv")
	sub := s.Feed.Subscribe(f.agencyA.ID, o.CaseID)
	defer sub.Close()

	o, ch := apply(o, store.StatusUpdate{RawEvent: "task-status-updated", RawStatus: "login", Status: store.StatusInProgress})
	if !ch || o.Status != store.StatusInProgress {
		t.Fatalf("in progress: %s %v", o.Status, ch)
	}
	select {
	case c := <-sub.C:
		if c.OrderID != o.ID {
			t.Fatalf("change for %d", c.OrderID)
		}
	case <-time.After(time.Second):
		t.Fatal("no change published")
	}
	// Sub-items: the order completes only when every employer is done.
	o, _ = apply(o, store.StatusUpdate{SubID: "emp2", RawStatus: "pending", Status: store.StatusInProgress})
	o, _ = apply(o, store.StatusUpdate{SubID: "emp1", RawStatus: "completed", Status: store.StatusCompleted, Outcome: "verified"})
	if o.Status != store.StatusInProgress {
		t.Fatalf("with one employer pending: %s", o.Status)
	}
	o, ch = apply(o, store.StatusUpdate{SubID: "emp2", RawStatus: "completed", Status: store.StatusCompleted, Outcome: "verified"})
	if !ch || o.Status != store.StatusCompleted || o.Outcome != "verified" || o.CompletedAt.IsZero() {
		t.Fatalf("both employers done: %+v", o)
	}
	cs, _ := s.Case(ctx, f.agencyA.ID, o.CaseID)
	if cs.Status != store.CaseCompleted {
		t.Fatalf("case roll-up %s", cs.Status)
	}
	// A late progress event and a late failure change nothing.
	o, ch = apply(o, store.StatusUpdate{RawEvent: "task-status-updated", Status: store.StatusInProgress})
	if ch || o.Status != store.StatusCompleted {
		t.Fatalf("late progress moved the order: %s", o.Status)
	}
	o, ch = apply(o, store.StatusUpdate{SubID: "emp1", Status: store.StatusFailed})
	if ch || o.Status != store.StatusCompleted {
		t.Fatalf("late failure moved the order: %s", o.Status)
	}
	// A documented way back (Truv order-refresh-failed, marked Reopen from its
	// provider's Capabilities) reopens it.
	o, ch = apply(o, store.StatusUpdate{Reopen: true, RawEvent: "order-refresh-failed", RawStatus: "login_error", Status: store.StatusActionRequired,
		Detail: "The refresh needs the applicant to sign in again."})
	if !ch || o.Status != store.StatusActionRequired || o.Outcome != "" {
		t.Fatalf("refresh failure: %+v", o)
	}
	if cs, _ := s.Case(ctx, f.agencyA.ID, o.CaseID); cs.Status != store.CaseActionRequired {
		t.Fatalf("case roll-up after reopen: %s", cs.Status)
	}
	// A poll that finds nothing new writes no timeline line.
	before, _ := s.Events(ctx, f.agencyA.ID, o.ID)
	apply(o, store.StatusUpdate{Status: store.StatusActionRequired, Source: "poll"})
	after, _ := s.Events(ctx, f.agencyA.ID, o.ID)
	if len(after) != len(before) {
		t.Fatalf("an idle poll wrote %d timeline lines", len(after)-len(before))
	}
	if _, _, err := s.ApplyUpdate(ctx, f.agencyB.ID, o.ID, store.StatusUpdate{Status: store.StatusCompleted, Source: "webhook"}); err == nil {
		t.Fatal("another agency updated the order")
	}
}

// W9: any order of the same events ends in the same state.
func TestApplyUpdate_OutOfOrder(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	events := []store.StatusUpdate{
		{RawEvent: "order-created", Status: store.StatusCreated, At: base},
		{RawEvent: "task-status-updated", RawStatus: "login", Status: store.StatusInProgress, At: base.Add(time.Minute)},
		{RawEvent: "task-status-updated", RawStatus: "parse", Status: store.StatusInProgress, At: base.Add(2 * time.Minute)},
		{SubID: "emp1", RawEvent: "order-status-updated", RawStatus: "completed", Status: store.StatusCompleted, Outcome: "verified", At: base.Add(3 * time.Minute)},
		{RawEvent: "order-finalized", At: base.Add(4 * time.Minute)},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 50 {
		o := mustOrder(t, s, f, "truv")
		perm := rng.Perm(len(events))
		for _, i := range perm {
			u := events[i]
			u.Source = "webhook"
			if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, u); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := s.Order(ctx, f.agencyA.ID, o.ID)
		if got.Status != store.StatusCompleted || got.Outcome != "verified" {
			t.Fatalf("run %d (order %v): %s/%s", run, perm, got.Status, got.Outcome)
		}
	}
}

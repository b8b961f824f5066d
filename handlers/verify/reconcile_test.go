package verify_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"caseverify/providers/accountchek"
	"caseverify/store"
)

// dropSeed fixes the emulator's random drops. With it, 30% of the
// postbacks of the run below are lost and, for some orders, every postback
// after their last change (so they are stuck short of their final state
// until the reconciler asks). Any seed works for the final assertion; this
// one makes sure the reconciler has work to do.
const dropSeed = 11

// W17: the emulator drops 30% of postbacks. The applicants all finish; the
// postbacks that arrive move most orders; one Reconcile pass once the orders
// have been quiet for RECONCILE_QUIET (15 minutes, the default; the store's
// clock is pushed ahead) brings every remaining order to its final state,
// through the same apply path, with every report fetched exactly once.
func TestReconcile_DroppedPostbacksAllOrdersFinish(t *testing.T) {
	e := newACEnv(t, acOptions{dropRate: 0.3, seed: dropSeed})
	ctx := context.Background()
	type job struct {
		o         *store.Order
		voa, voie bool
	}
	var jobs []job
	for i := range 24 {
		var products []string
		j := job{voa: i%3 != 1, voie: i%3 != 0}
		if j.voa {
			products = append(products, "assets")
		}
		if j.voie {
			products = append(products, "income")
		}
		j.o = e.send(t, products...)
		jobs = append(jobs, j)
	}
	// The applicants work through the borrower site in rounds, the portal
	// hearing (or missing) each round's postbacks before the next.
	rounds := []func(j job) []accountchek.BorrowerStep{
		func(job) []accountchek.BorrowerStep { return []accountchek.BorrowerStep{accountchek.Arrive()} },
		func(j job) []accountchek.BorrowerStep {
			if !j.voa {
				return nil
			}
			return []accountchek.BorrowerStep{accountchek.ChooseInstitution("Sandbox Credit Union")}
		},
		func(j job) []accountchek.BorrowerStep {
			if !j.voa {
				return nil
			}
			return []accountchek.BorrowerStep{accountchek.BankLogin("user_good", "pass_good")}
		},
		func(j job) []accountchek.BorrowerStep {
			if !j.voie {
				return nil
			}
			return []accountchek.BorrowerStep{accountchek.PayrollLogin("payroll_good", "any")}
		},
	}
	for _, round := range rounds {
		for _, j := range jobs {
			if steps := round(j); len(steps) > 0 {
				if err := e.em.Borrower(j.o.ProviderOrderID, steps...); err != nil {
					t.Fatal(err)
				}
			}
		}
		e.settle(t)
	}
	dropped := e.emLog.count("accountchek emulator: postback dropped on purpose")
	_, sent := e.postbacks.state()
	t.Logf("postbacks: %d dropped, %d requests sent", dropped, sent)
	if dropped == 0 {
		t.Fatal("DropRate 0.3 dropped nothing")
	}

	var stuck []string
	for _, j := range jobs {
		voa, voe, _, _ := e.em.ServiceStatus(j.o.ProviderOrderID)
		if (j.voa && voa != "507") || (j.voie && voe != "607") {
			t.Fatalf("the applicant did not finish order %d at the emulator: VOA %q VOIE %q", j.o.ID, voa, voe)
		}
		if o := e.order(t, j.o.ID); o.Status != store.StatusCompleted {
			stuck = append(stuck, j.o.ProviderOrderID)
		}
	}
	t.Logf("%d of %d orders stuck after the postbacks", len(stuck), len(jobs))
	if len(stuck) == 0 {
		t.Fatal("no order was left short of its final state: the test would not show the reconciler's work (change dropSeed)")
	}

	// Nothing is polled before the orders have been quiet long enough.
	rctx := context.WithValue(ctx, reconcileKey{}, true)
	e.svc.Reconcile(rctx)
	if _, r, _ := e.ac.counts(); len(r) != 0 {
		t.Fatalf("Reconcile polled %d orders that were not quiet yet", len(r))
	}
	e.clock.Advance(15*time.Minute + time.Second)
	e.svc.Reconcile(rctx)

	_, polled, _ := e.ac.counts()
	for _, j := range jobs {
		o := e.order(t, j.o.ID)
		if o.Status != store.StatusCompleted {
			t.Errorf("order %d is %s after Reconcile", o.ID, o.Status)
		}
		want := 0
		if slices.Contains(stuck, j.o.ProviderOrderID) {
			want = 1 // only open orders are polled, once
		}
		if got := polled[j.o.ProviderOrderID]; got != want {
			t.Errorf("order %d polled %d times by Reconcile, want %d", o.ID, got, want)
		}
		services := 0
		if j.voa {
			services++
		}
		if j.voie {
			services++
		}
		if got := e.reportsReceived(t, o.ID); got != services {
			t.Errorf("order %d has %d reports, want %d (one per service)", o.ID, got, services)
		}
	}
}

// Two portal processes (two Services on two handles of one database) running
// Reconcile at the same time never poll the same order twice: every quiet
// order is polled exactly once, and no two polls of one order overlap. A
// pass right after polls nothing (backoff); one quiet period later each
// order is polled once more.
func TestReconcile_TwoProcessesNeverPollTwice(t *testing.T) {
	e := newACEnv(t, acOptions{})
	ctx := context.Background()
	const n = 30
	var orders []*store.Order
	for range n {
		orders = append(orders, e.send(t, "income"))
	}
	st2, err := store.Open(ctx, e.dbPath, store.Options{DataKey: testDataKey(), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st2.Close() })
	second := e.service(st2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rctx := context.WithValue(ctx, reconcileKey{}, true)

	run := func() {
		var wg sync.WaitGroup
		for _, svc := range []interface{ Reconcile(context.Context) }{e.svc, second, e.svc, second} {
			wg.Go(func() { svc.Reconcile(rctx) })
		}
		wg.Wait()
	}
	check := func(when string, want int) {
		t.Helper()
		_, polled, overlaps := e.ac.counts()
		if overlaps != 0 {
			t.Fatalf("%s: %d overlapping polls of one order", when, overlaps)
		}
		for _, o := range orders {
			if got := polled[o.ProviderOrderID]; got != want {
				t.Errorf("%s: order %d polled %d times, want %d", when, o.ID, got, want)
			}
		}
	}
	run()
	check("before the quiet time", 0)
	e.clock.Advance(15*time.Minute + time.Second)
	run()
	check("first pass", 1)
	run()
	check("pass right after", 1)
	e.clock.Advance(15*time.Minute + time.Second)
	run()
	check("one quiet period later", 2)
	e.clock.Advance(15*time.Minute + time.Second)
	run()
	check("every quiet period during the first day", 3) // no backoff yet (issue 13 item 6)
	e.clock.Advance(store.PollSteadyFor)
	run()
	check("after the first day", 4)
	e.clock.Advance(15*time.Minute + time.Second)
	run()
	check("backoff doubled", 4)
	for _, o := range orders {
		if got := e.order(t, o.ID); got.Status != store.StatusSent {
			t.Fatalf("order %d is %s after polls that found nothing new", o.ID, got.Status)
		}
		if evs := e.events(t, o.ID); len(evs) != 2 {
			t.Fatalf("polls that found nothing new wrote %d timeline lines", len(evs)-2)
		}
	}
}

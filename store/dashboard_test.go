package store_test

import (
	"context"
	"testing"
	"time"

	"caseverify/store"
)

// The dashboard counts only its agency's orders sent in the period, takes
// the median and 90th percentile by nearest rank, and lists (capped, with
// the full count) the open orders waiting past the threshold.
func TestDashboard_ScopedCountedAndRanked(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	start := clk.Now()
	at := func(t time.Time) { clk.Add(t.Sub(clk.Now())) }
	var orders []*store.Order
	for i, open := range []time.Duration{40 * time.Minute, 10 * time.Minute, 20 * time.Minute, 0} {
		at(start.Add(time.Duration(i) * time.Hour))
		o := mustOrder(t, s, f, "truv")
		orders = append(orders, o)
		code := store.NewLinkCode()
		if _, err := s.AddDelivery(ctx, f.agencyA.ID, store.Delivery{OrderID: o.ID, Channel: "sms", Kind: "first", Result: "sent",
			LinkCode: code}, "sent"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, store.StatusUpdate{Status: store.StatusSent, Source: "system"}); err != nil {
			t.Fatal(err)
		}
		if open > 0 {
			at(start.Add(time.Duration(i)*time.Hour + open))
			if _, err := s.OpenLink(ctx, code); err != nil {
				t.Fatal(err)
			}
		}
	}
	at(start.Add(6 * time.Hour))
	if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, orders[0].ID, store.StatusUpdate{Status: store.StatusCompleted, Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	// Another agency's order, sent in the same period.
	cb, err := s.CreateCase(ctx, f.agencyB.ID, f.userB.ID, store.CaseInput{Number: "B-9", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := s.AddMember(ctx, f.agencyB.ID, cb.ID, store.MemberInput{FirstName: "B", LastName: "B", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrder(ctx, f.agencyB.ID, store.NewOrder{CaseID: cb.ID, MemberID: mb.ID, Reference: store.NewOrderReference(),
		Provider: "truv", Products: []string{"income"}, Notify: "agency"}); err != nil {
		t.Fatal(err)
	}

	at(start.Add(10 * 24 * time.Hour))
	d, err := s.Dashboard(ctx, f.agencyA.ID, store.DashboardFilter{From: start.Add(-time.Hour), To: start.Add(24 * time.Hour),
		WaitingDays: 7, WaitingLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.DashCounts{Sent: 4, Opened: 3, Completed: 1}); d.Totals != want {
		t.Errorf("totals %+v, want %+v", d.Totals, want)
	}
	// Opens after 10, 20 and 40 minutes: the median is the 2nd, the 90th
	// percentile the 3rd; one completion after 6 hours.
	if want := (store.DashDurations{N: 3, Median: 20 * time.Minute, P90: 40 * time.Minute}); d.ToOpen != want {
		t.Errorf("to open %+v, want %+v", d.ToOpen, want)
	}
	if want := (store.DashDurations{N: 1, Median: 6 * time.Hour, P90: 6 * time.Hour}); d.ToComplete != want {
		t.Errorf("to complete %+v, want %+v", d.ToComplete, want)
	}
	if len(d.ByChannel) != 1 || d.ByChannel[0].Key != "sms" || len(d.ByProvider) != 1 || d.ByProvider[0].Sent != 4 {
		t.Errorf("breakdowns: %+v %+v", d.ByChannel, d.ByProvider)
	}
	if d.WaitingTotal != 3 || len(d.Waiting) != 2 || d.Waiting[0].OrderID != orders[1].ID {
		t.Errorf("waiting: %d %+v", d.WaitingTotal, d.Waiting)
	}
	// A period before the orders: nothing sent, the waiting list unchanged.
	d, err = s.Dashboard(ctx, f.agencyA.ID, store.DashboardFilter{From: start.Add(-48 * time.Hour), To: start.Add(-24 * time.Hour), WaitingDays: 7})
	if err != nil || d.Totals != (store.DashCounts{}) || d.ToOpen.N != 0 || d.WaitingTotal != 3 {
		t.Errorf("empty period: %+v %v", d, err)
	}
	// Agency B sees only its own.
	d, err = s.Dashboard(ctx, f.agencyB.ID, store.DashboardFilter{From: start.Add(-time.Hour), To: start.Add(24 * time.Hour), WaitingDays: 7})
	if err != nil || d.Totals.Sent != 1 || d.WaitingTotal != 0 {
		t.Errorf("agency B: %+v %v", d, err)
	}
}

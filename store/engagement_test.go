package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"caseverify/store"
	"caseverify/store/engagement"
)

func TestEngagementSettings(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	got, err := s.EngagementSettings(ctx, f.agencyA.ID)
	if err != nil || got != engagement.Defaults() {
		t.Fatalf("new agency: %+v, %v; want the defaults %+v", got, err, engagement.Defaults())
	}
	want := engagement.Settings{Shown: false, HoursPerMonth: 100, RateCents: 1500, LookbackApplication: 3, LookbackRenewal: 6}
	if err := s.SetEngagementSettings(ctx, f.agencyA.ID, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.EngagementSettings(ctx, f.agencyA.ID); got != want {
		t.Errorf("saved %+v, read %+v", want, got)
	}
	if got, _ := s.EngagementSettings(ctx, f.agencyB.ID); got != engagement.Defaults() {
		t.Errorf("another agency changed: %+v", got)
	}
	err = s.SetEngagementSettings(ctx, f.agencyA.ID, engagement.Settings{HoursPerMonth: 80, RateCents: 725, LookbackApplication: 7, LookbackRenewal: 1})
	var v store.ValidationError
	if !errors.As(err, &v) || v["engagement_lookback_application"] == "" {
		t.Fatalf("7 months accepted: %v", err)
	}
}

func TestIncomeReports(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	order := func(agencyID, userID int64, program string) *store.Order {
		t.Helper()
		c, err := s.CreateCase(ctx, agencyID, userID, store.CaseInput{Number: "E-" + store.NewOrderReference(), Program: program})
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.AddMember(ctx, agencyID, c.ID, store.MemberInput{FirstName: "E", LastName: "M", Relationship: "self"})
		if err != nil {
			t.Fatal(err)
		}
		o, err := s.CreateOrder(ctx, agencyID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
			Provider: "truv", Products: []string{"income"}, Notify: "agency", CreatedBy: userID})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	save := func(agencyID int64, o *store.Order, kind, data string, expires time.Time) {
		t.Helper()
		if _, err := s.SaveReport(ctx, agencyID, o.ID, store.Report{Kind: kind, Data: []byte(data), ExpiresAt: expires}); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
	}
	med := order(f.agencyA.ID, f.userA.ID, "medicaid")
	save(f.agencyA.ID, med, "income", `{"first":1}`, time.Time{})
	save(f.agencyA.ID, med, "income", `{"refreshed":1}`, time.Time{}) // refreshed in place: only this one
	save(f.agencyA.ID, med, "assets", `{"assets":1}`, time.Time{})
	gone := order(f.agencyA.ID, f.userA.ID, "medicaid")
	save(f.agencyA.ID, gone, "income", `{"expires":1}`, clk.Now().Add(time.Hour))
	snap := order(f.agencyA.ID, f.userA.ID, "snap")
	save(f.agencyA.ID, snap, "income", `{"snap":1}`, time.Time{})
	other := order(f.agencyB.ID, f.userB.ID, "medicaid")
	save(f.agencyB.ID, other, "income", `{"agency_b":1}`, time.Time{})
	clk.Add(2 * time.Hour)

	all, err := s.IncomeReports(ctx, f.agencyA.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || string(all[0].Data) != `{"refreshed":1}` || all[0].MemberID != med.MemberID || all[0].CaseID != med.CaseID || all[0].Provider != "truv" {
		t.Fatalf("agency A income reports = %+v; want only the Medicaid order's refreshed report", all)
	}
	if got, _ := s.IncomeReports(ctx, f.agencyA.ID, snap.CaseID); len(got) != 0 {
		t.Errorf("a SNAP case has %d reports for the Medicaid check", len(got))
	}
	if got, _ := s.IncomeReports(ctx, f.agencyA.ID, other.CaseID); len(got) != 0 {
		t.Errorf("agency A reads agency B's case: %d reports", len(got))
	}
	if got, _ := s.IncomeReports(ctx, f.agencyB.ID, 0); len(got) != 1 || string(got[0].Data) != `{"agency_b":1}` {
		t.Errorf("agency B: %+v", got)
	}
}

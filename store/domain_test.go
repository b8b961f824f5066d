package store_test

import (
	"context"
	"strings"
	"testing"

	"caseverify/store"
)

// The store refuses a source, delivery kind or result that is not one of
// its values, instead of storing a typo that no page or query recognises.
func TestVocabulary_RefusedAtTheBoundary(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "truv")
	if err := s.AddEvent(ctx, f.agencyA.ID, o.ID, "Webhook", "x"); err == nil || !strings.Contains(err.Error(), "source") {
		t.Errorf("AddEvent with an unknown source: %v", err)
	}
	if _, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, store.StatusUpdate{Status: store.StatusSent, Source: "hook"}); err == nil {
		t.Error("ApplyUpdate with an unknown source was accepted")
	}
	if _, err := s.AddDelivery(ctx, f.agencyA.ID, store.Delivery{OrderID: o.ID, Channel: "qr", Kind: "again",
		Result: store.DeliveryShown}, "x"); err == nil {
		t.Error("AddDelivery with an unknown kind was accepted")
	}
	if _, err := s.AddDelivery(ctx, f.agencyA.ID, store.Delivery{OrderID: o.ID, Channel: "qr", Kind: store.DeliveryFirst,
		Result: "ok"}, "x"); err == nil {
		t.Error("AddDelivery with an unknown result was accepted")
	}
	if _, err := s.CreateOrder(ctx, f.agencyA.ID, store.NewOrder{CaseID: o.CaseID, MemberID: o.MemberID, Reference: store.NewOrderReference(),
		Provider: "truv", Products: []string{"income"}, Notify: "portal"}); err == nil {
		t.Error("CreateOrder with an unknown notify was accepted")
	}
	// The known values go through.
	if err := s.AddEvent(ctx, f.agencyA.ID, o.ID, store.SourceSystem, "x"); err != nil {
		t.Error(err)
	}
	if _, err := s.AddDelivery(ctx, f.agencyA.ID, store.Delivery{OrderID: o.ID, Channel: "qr", Kind: store.DeliveryFirst,
		Result: store.DeliveryShown}, "x"); err != nil {
		t.Error(err)
	}
}

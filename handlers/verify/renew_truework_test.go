package verify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"caseverify/providers/truework"
	"caseverify/store"
)

// Issue 9: renewals reverify Truework verifications: 000-23-0000 refreshes
// by itself; 000-22-0000 needs the applicant, who gets the reverification's
// own page (not a new order, which would need the full SSN again).
func TestRenew_TrueworkReverification(t *testing.T) {
	for _, tc := range []struct {
		ssn, last4, wantStatus string
	}{
		{"000230000", "", "refreshed"},
		{"000220000", "", "new_link"},
	} {
		t.Run(tc.ssn, func(t *testing.T) {
			e := newTwEnv(t)
			ctx := context.Background()
			m := e.member(t, "Taylor", tc.last4)
			prev := e.complete(t, m, tc.ssn)
			run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := e.svc.RenewNext(ctx); !ok || err != nil {
				t.Fatalf("renew: %v %v", ok, err)
			}
			var it *store.RenewalItem
			processUntil(t, e.svc, func() bool {
				items, _ := e.st.RenewalItems(ctx, run.ID)
				it = items[0]
				return it.Status != "refreshing" && it.Status != "working"
			}, func() string { return fmt.Sprintf("renewal stuck at %s: %s", it.Status, it.Detail) })
			if it.Status != tc.wantStatus || it.PrevOrderID != prev.ID {
				t.Fatalf("renewal: %+v", it)
			}
			n, _ := e.st.Order(ctx, e.user.AgencyID, it.OrderID)
			if n.RefreshOf != prev.ID {
				t.Fatalf("the renewal's order does not link to the original: %+v", n)
			}
			if tc.wantStatus == "new_link" {
				if !strings.Contains(it.Detail, "needs the applicant") || !strings.Contains(n.Link, "/v/") {
					t.Fatalf("000-22: %q, link %q", it.Detail, n.Link)
				}
				msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 1)
				if len(msgs) == 0 || !strings.Contains(msgs[0].Body, "/l/") {
					t.Fatalf("the applicant got no link: %+v", msgs)
				}
			}
		})
	}
}

// Issue 9 (audit item 2): past Truework's 90-day reverification window a
// renewal cannot refresh, and a new Truework order needs the full SSN,
// which the portal never keeps: the member is queued for the caseworker
// with the reason, even with the agency's "send a new link" setting, and no
// order is attempted.
func TestRenew_TrueworkPast90DaysQueued(t *testing.T) {
	e := newTwEnv(t)
	ctx := context.Background()
	m := e.member(t, "Taylor", "")
	prev := e.complete(t, m, "000230000")
	e.clock.Add(truework.ReverifyWindow + 24*time.Hour)
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.svc.RenewNext(ctx); !ok || err != nil {
		t.Fatalf("renew: %v %v", ok, err)
	}
	items, _ := e.st.RenewalItems(ctx, run.ID)
	it := items[0]
	if it.Status != "queued" || it.Path != "queue" || it.PrevOrderID != prev.ID ||
		!strings.Contains(it.Detail, "A new Truework verification needs the full SSN: send it from the case page.") {
		t.Fatalf("renewal past 90 days: %+v", it)
	}
	if orders, _ := e.st.CaseOrders(ctx, e.user.AgencyID, e.caseID); len(orders) != 1 {
		t.Fatalf("%d orders, want only the original", len(orders))
	}
	if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 5); len(msgs) != 1 { // the original link only
		t.Fatalf("%d messages, want the original link only", len(msgs))
	}
}

package verify_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/accountchek"
	"caseverify/store"
)

// completedAC sends the member an AccountChek order for products and runs
// the borrower through every service, until the order is completed with
// one report per service and the emulator has stopped posting.
func (e *acEnv) completedAC(t *testing.T, products ...string) *store.Order {
	t.Helper()
	o := e.send(t, products...)
	steps := []accountchek.BorrowerStep{accountchek.Arrive()}
	if slices.Contains(products, "assets") {
		steps = append(steps, accountchek.ChooseInstitution("Sandbox Bank"), accountchek.BankLogin("user_good", "pass_good"))
	}
	if slices.Contains(products, "income") {
		steps = append(steps, accountchek.PayrollLogin("payroll_good", "x"))
	}
	if err := e.em.Borrower(o.ProviderOrderID, steps...); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, o.ID, store.StatusCompleted)
	e.processUntil(t, "one report per service", func() bool { return e.reportsReceived(t, o.ID) == len(products) })
	e.settle(t)
	return e.order(t, o.ID)
}

// renewOnce renews the env's case with svc and returns the member's item.
func (e *acEnv) renewOnce(t *testing.T, svc *verify.Service) *store.RenewalItem {
	t.Helper()
	ctx := context.Background()
	run, err := e.st.StartRenewal(ctx, e.user.AgencyID, e.user.ID, e.caseID, 0)
	if err != nil {
		t.Fatal(err)
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
	items, err := e.st.RenewalItems(ctx, run.ID)
	if err != nil || len(items) != 1 {
		t.Fatalf("items: %v %v", items, err)
	}
	return items[0]
}

// reportIDs returns the provider report ids of reports.
func reportIDs(rs []*store.Report) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ProviderReportID)
	}
	return out
}

// refreshCalls counts the adapter's "Generate Report" calls per service.
func (e *acEnv) refreshCalls(orderID string) (voa, voie int) {
	paths, _ := e.rec.snapshot()
	for _, p := range paths {
		switch p {
		case "POST /sandbox/accountchek/v1/accountchekorders/" + orderID + "/voa/reports":
			voa++
		case "POST /sandbox/accountchek/v1/accountchekorders/" + orderID + "/voe/reports":
			voie++
		}
	}
	return voa, voie
}

// Issue 9: AccountChek refreshes in place while account monitoring lasts.
// Every service of the order is refreshed (VOA and VOIE), the new reports
// are the ones AccountChek's status call names, they are stored on the same
// order, and the renewal keeps the report it started from, so that "before"
// and "after" are different reports. The refresh's own postbacks store
// nothing twice, and the applicant gets no message.
func TestRenew_AccountChekRefreshInPlace(t *testing.T) {
	for _, products := range [][]string{{"assets", "income"}, {"income"}, {"assets"}} {
		t.Run(strings.Join(products, "+"), func(t *testing.T) {
			e := newACEnv(t, acOptions{})
			ctx := context.Background()
			o := e.completedAC(t, products...)
			base, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			old, err := e.st.LatestReports(ctx, e.user.AgencyID, o.ID)
			if err != nil {
				t.Fatal(err)
			}

			it := e.renewOnce(t, e.svc)
			if it.Status != "refreshed" || it.Path != "refresh" || it.PrevOrderID != o.ID || it.OrderID != o.ID || it.PrevReportID != base.ID {
				t.Fatalf("renewal: %+v (baseline report %d)", it, base.ID)
			}
			voa, voie := e.refreshCalls(o.ProviderOrderID)
			wantVOA, wantVOIE := 0, 0
			if slices.Contains(products, "assets") {
				wantVOA = 1
			}
			if slices.Contains(products, "income") {
				wantVOIE = 1
			}
			if voa != wantVOA || voie != wantVOIE {
				t.Fatalf("refresh calls: VOA %d, VOIE %d; want %d, %d", voa, voie, wantVOA, wantVOIE)
			}
			if n := e.reportsReceived(t, o.ID); n != 2*len(products) {
				t.Fatalf("%d reports stored, want %d", n, 2*len(products))
			}
			before, after, err := e.st.RenewalReports(ctx, e.user.AgencyID, it)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(reportIDs(before), reportIDs(old)) {
				t.Fatalf("before = %v, want the reports the renewal started from %v", reportIDs(before), reportIDs(old))
			}
			if len(after) != len(products) {
				t.Fatalf("after = %v, want one new report per service", reportIDs(after))
			}
			for _, r := range after {
				if slices.Contains(reportIDs(old), r.ProviderReportID) {
					t.Fatalf("after holds an old report: %s", r.ProviderReportID)
				}
			}

			// The refresh's postbacks: nothing stored twice, the renewal stays.
			e.settle(t)
			if n := e.reportsReceived(t, o.ID); n != 2*len(products) {
				t.Fatalf("after the postbacks, %d reports stored, want %d", n, 2*len(products))
			}
			if got, _ := e.st.LatestRenewalItem(ctx, e.user.AgencyID, e.member.ID); got.Status != "refreshed" {
				t.Fatalf("after the postbacks: %+v", got)
			}
			if orders := e.allOrders(t); len(orders) != 1 {
				t.Fatalf("%d orders: the renewal made a new one", len(orders))
			}
			if msgs, _ := e.st.Outbox(ctx, e.user.AgencyID, 5); len(msgs) != 0 {
				t.Fatalf("the applicant got %d messages", len(msgs))
			}
		})
	}
}

// slowStatusAC is the AccountChek adapter whose status call fails while
// failures is above zero: AccountChek is briefly unreachable right after
// the refresh was asked for.
type slowStatusAC struct {
	*countingAC
	failures atomic.Int32
}

func (c *slowStatusAC) FetchStatus(ctx context.Context, ref providers.OrderRef) ([]providers.Update, error) {
	if c.failures.Add(-1) >= 0 {
		return nil, errors.New("accountchek unreachable")
	}
	return c.countingAC.FetchStatus(ctx, ref)
}

// Issue 9: when the new report cannot be confirmed right after the refresh,
// the member waits in "refreshing" (no new link: the refresh was asked for)
// and the refresh's postback finishes it.
func TestRenew_AccountChekPostbackFinishesRefresh(t *testing.T) {
	e := newACEnv(t, acOptions{})
	ctx := context.Background()
	o := e.completedAC(t, "assets", "income")
	ac := &slowStatusAC{countingAC: e.ac}
	ac.failures.Store(1)
	svc := verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url,
		Providers: []*verify.Provider{{Name: accountchek.Name, Label: "AccountChek", Verifier: ac, Webhooks: e.ac.Client,
			Sandbox: true}}})
	it := e.renewOnce(t, svc)
	if it.Status != "refreshing" || it.OrderID != o.ID || !strings.Contains(it.Detail, "waiting for AccountChek") {
		t.Fatalf("renewal: %+v", it)
	}
	var got *store.RenewalItem
	// The emulator posts in the background.
	processUntil(t, svc, func() bool {
		got, _ = e.st.LatestRenewalItem(ctx, e.user.AgencyID, e.member.ID)
		return got.Status != "refreshing"
	}, func() string { return fmt.Sprintf("still refreshing: %+v", got) })
	if got.Status != "refreshed" || got.PrevReportID != it.PrevReportID {
		t.Fatalf("after the postback: %+v", got)
	}
	_, after, err := e.st.RenewalReports(ctx, e.user.AgencyID, got)
	if err != nil || len(after) != 2 {
		t.Fatalf("new reports: %v %v", reportIDs(after), err)
	}
	if orders := e.allOrders(t); len(orders) != 1 {
		t.Fatalf("%d orders: a new link was made", len(orders))
	}
}

package verify_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/accountchek"
)

// flakyReports is the counting AccountChek adapter whose report fetches
// fail while down is set (AccountChek briefly unavailable), recording the
// report ids asked for.
type flakyReports struct {
	*countingAC
	mu   sync.Mutex
	down bool
	ids  []string
}

func (f *flakyReports) FetchReport(ctx context.Context, ref providers.OrderRef, reportID string) (*providers.Report, error) {
	f.mu.Lock()
	f.ids = append(f.ids, reportID)
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, errors.New("accountchek briefly unavailable")
	}
	return f.countingAC.FetchReport(ctx, ref, reportID)
}

func (f *flakyReports) setDown(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *flakyReports) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids...)
}

// The report sweep on an income-only (VOIE) AccountChek order whose report
// fetch failed at completion: it reads the status and fetches the VOIE
// report the status names (not "the newest VOA report", which 404s forever
// on such an order); while it cannot, it backs off and says so on the
// timeline once.
func TestReportSweep_VOIEOnlyUsesStatusIDsAndBacksOff(t *testing.T) {
	e := newACEnv(t, acOptions{})
	ctx := context.Background()
	flaky := &flakyReports{countingAC: e.ac}
	e.svc = verify.New(e.st, slog.New(slog.NewTextHandler(io.Discard, nil)), verify.Config{Messages: handlers.LinkMessages{}, BaseURL: e.url,
		Providers: []*verify.Provider{{Name: accountchek.Name, Label: "AccountChek", Verifier: flaky, Webhooks: e.ac.Client,
			Sandbox: true}}})
	o := e.send(t, "income")
	flaky.setDown(true)
	if err := e.em.Borrower(o.ProviderOrderID, accountchek.Arrive(), accountchek.PayrollLogin("payroll_good", "x")); err != nil {
		t.Fatal(err)
	}
	e.waitStatus(t, o.ID, "completed")
	e.settle(t)
	if n := e.reportsReceived(t, o.ID); n != 0 {
		t.Fatalf("%d reports while AccountChek was down", n)
	}
	notes := func() int {
		n := 0
		for _, ev := range e.events(t, o.ID) {
			if strings.Contains(ev.Detail, "could not be fetched yet") {
				n++
			}
		}
		return n
	}
	tries := func() int { return len(flaky.asked()) }

	// Still down: each due sweep tries once; the timeline says so once.
	e.clock.Advance(31 * time.Second)
	before := tries()
	e.svc.SweepReports(ctx)
	if tries() != before+1 || notes() != 1 {
		t.Fatalf("first sweep: %d tries, %d notes; want 1 try, 1 note", tries()-before, notes())
	}
	e.svc.SweepReports(ctx) // within the backoff: no call at all
	if tries() != before+1 {
		t.Fatalf("a sweep inside the backoff tried again (%d tries)", tries()-before)
	}
	e.clock.Advance(31 * time.Second)
	e.svc.SweepReports(ctx)
	if tries() != before+2 || notes() != 1 {
		t.Fatalf("second due sweep: %d tries, %d notes; want 2 tries, still 1 note", tries()-before, notes())
	}
	e.clock.Advance(31 * time.Second) // the backoff is now 60 s
	e.svc.SweepReports(ctx)
	if tries() != before+2 {
		t.Fatal("the backoff did not double")
	}

	// Back up: the next due sweep stores the VOIE report the status names.
	flaky.setDown(false)
	e.clock.Advance(31 * time.Second)
	e.svc.SweepReports(ctx)
	if n := e.reportsReceived(t, o.ID); n != 1 {
		t.Fatalf("%d reports after AccountChek came back, want 1", n)
	}
	rep, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
	if err != nil || !strings.HasPrefix(rep.ProviderReportID, "voe:") {
		t.Fatalf("report %+v %v: want the VOIE report", rep, err)
	}
	for _, id := range flaky.asked() {
		if !strings.HasPrefix(id, "voe:") {
			t.Fatalf("a report was asked for by %q, not by the id the status names (%v)", id, flaky.asked())
		}
	}
	if notes() != 1 {
		t.Fatalf("%d 'could not be fetched' notes, want 1", notes())
	}
	e.clock.Advance(time.Hour)
	n := tries()
	e.svc.SweepReports(ctx)
	if tries() != n {
		t.Fatal("the sweep fetched again for an order that has its report")
	}
}

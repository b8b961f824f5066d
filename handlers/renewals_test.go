package handlers_test

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// renewedInPlace makes a member whose completed AccountChek order had the
// reports old and, after a renewal refreshed it in place, the reports fresh.
func (s *server) renewedInPlace(t *testing.T, caseID int64, first string, old, fresh []providers.Report) {
	t.Helper()
	ctx := context.Background()
	a := s.agencyA.ID
	m, err := s.store.AddMember(ctx, a, caseID, store.MemberInput{FirstName: first, LastName: "Renew", Relationship: "other"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.store.CreateOrder(ctx, a, store.NewOrder{CaseID: caseID, MemberID: m.ID, Reference: store.NewOrderReference(),
		Provider: "accountchek", Products: []string{"assets", "income"}, Notify: "agency", CreatedBy: s.workerA.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.AttachProviderOrder(ctx, a, o.ID, store.ProviderOrder{OrderID: "ac-" + o.Reference, Status: store.StatusInProgress}, "created"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.store.ApplyUpdate(ctx, a, o.ID, store.StatusUpdate{Status: store.StatusCompleted, Source: "system"}); err != nil {
		t.Fatal(err)
	}
	save := func(r providers.Report) *store.Report {
		data, _ := json.Marshal(r)
		rec, err := s.store.SaveReport(ctx, a, o.ID, store.Report{ProviderReportID: r.ReportID, Kind: string(r.Kind), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	var base *store.Report
	for _, r := range old {
		base = save(r)
	}
	run, err := s.store.StartRenewal(ctx, a, s.workerA.ID, caseID, 0)
	if err != nil || run.Counts.Total != 1 {
		t.Fatalf("renewal: %+v %v", run, err)
	}
	it, err := s.store.ClaimRenewalItem(ctx, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.SetRenewalBaseline(ctx, it.ID, o.ID, base.ID); err != nil {
		t.Fatal(err)
	}
	for _, r := range fresh {
		save(r)
	}
	if err := s.store.FinishRenewalItem(ctx, it, "refreshed", "refresh", "AccountChek refreshed the data without the applicant.", o.ID, o.ID); err != nil {
		t.Fatal(err)
	}
}

func voa(id string, monthly providers.Cents) providers.Report {
	return providers.Report{ReportID: id, Kind: providers.ReportAssets, Accounts: []providers.BankAccount{
		{Institution: "Sandbox Bank", Name: "Checking", Type: "checking", Balance: 100000, MonthlyIncome: monthly},
		{Institution: "Sandbox Bank", Name: "Savings", Type: "savings", Balance: 500000},
	}}
}

func voie(id string, gross providers.Cents) providers.Report {
	return providers.Report{ReportID: id, Kind: providers.ReportIncome, Employments: []providers.Employment{{
		Employer: "Lakeside Schools", Active: true, PayFrequency: "monthly",
		Paystubs: []providers.Paystub{{Gross: gross}, {Gross: gross}, {Gross: gross}},
	}}}
}

// Issue 9: the renewals page compares an AccountChek refresh in place with
// the report it replaced (before, the order's newest report was compared
// with itself: never a change), and counts the income AccountChek's VOA
// finds in the accounts, as deposits, not as gross pay. With a VOIE too,
// pay is compared and the deposits (the same pay, seen from the bank) are
// not added to it.
func TestRenewals_ComparesRefreshInPlace(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	due := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	c1, err := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "RN-1", Program: "snap", RecertDue: due})
	if err != nil {
		t.Fatal(err)
	}
	s.renewedInPlace(t, c1.ID, "Vera", []providers.Report{voa("voa:1", 300000)}, []providers.Report{voa("voa:2", 325000)})
	c2, err := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "RN-2", Program: "snap", RecertDue: due})
	if err != nil {
		t.Fatal(err)
	}
	s.renewedInPlace(t, c2.ID, "Omar", []providers.Report{voa("voa:3", 300000), voie("voe:3", 200000)},
		[]providers.Report{voa("voa:4", 300000), voie("voe:4", 180000)})

	cl := s.client(t)
	cl.signIn("worker@a.gov")
	rec := cl.get("/renewals?window=30")
	if rec.Code != 200 {
		t.Fatalf("renewals: %d", rec.Code)
	}
	tags := regexp.MustCompile(`<[^>]+>`)
	var got []string
	for _, m := range regexp.MustCompile(`(?s)<div class="cv-compare"[^>]*>(.*?)</div>`).FindAllStringSubmatch(rec.Body.String(), -1) {
		got = append(got, strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(m[1], " "))), " "))
	}
	want := []string{
		"Monthly deposits: $3,000.00 → $3,250.00 (+$250.00)",
		"Monthly gross: $2,000.00 → $1,800.00 (−$200.00) Same employer: Lakeside Schools",
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("comparisons:\n%q\nwant\n%q", got, want)
	}

	// Both members were renewed for this due date: "Renew all due" again
	// renews (and bills) nobody, and says so.
	if rec := cl.post("/renewals/run", url.Values{"window": {"30"}}); rec.Code != 303 {
		t.Fatalf("renew all: %d", rec.Code)
	}
	if body := cl.get("/renewals?window=30").Body.String(); !strings.Contains(body, "already renewed for this recertification") {
		t.Fatal("no word that every member was already renewed")
	}
	run, err := s.store.LatestBulkRun(ctx, s.agencyA.ID)
	if err != nil || run.Counts.Total != 0 {
		t.Fatalf("second run: %+v %v", run, err)
	}
}

// Issue 15: "Renew this case" keeps the list the caseworker chose (it
// switched to 90 days, so the next "Renew all due" took more, billed,
// members), shows the case run's progress at once, and the progress and
// the rows ask for themselves while the run goes, so nobody reloads.
func TestRenewals_RenewCaseKeepsWindowAndShowsProgress(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	due := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	cs, err := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "R-15", Program: "snap", RecertDue: due})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.AddMember(ctx, s.agencyA.ID, cs.ID, store.MemberInput{FirstName: "Wen", LastName: "Li", Relationship: "self"}); err != nil {
		t.Fatal(err)
	}
	c := s.client(t)
	c.signIn("worker@a.gov")
	page := c.get("/renewals?window=30").Body.String()
	if !strings.Contains(page, `name="window" value="30"`) {
		t.Fatal("the renewals page does not carry its window in its forms")
	}
	rec := c.post("/renewals/cases/"+itoa(cs.ID), url.Values{"window": {"30"}})
	if loc := rec.Header().Get("Location"); loc != "/renewals?window=30" {
		t.Fatalf("after Renew this case: %d to %q, want the 30-day list", rec.Code, loc)
	}
	page = c.get("/renewals?window=30").Body.String()
	if !strings.Contains(page, `data-testid="renewal-progress" data-status="running"`) {
		t.Fatal("the case's renewal shows no progress")
	}
	if !strings.Contains(page, `hx-get="/renewals?window=30"`) || !strings.Contains(page, `hx-select="#renewals-live"`) {
		t.Fatal("the progress and rows do not update by themselves while the run goes")
	}
}

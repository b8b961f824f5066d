package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
	"caseverify/store"
	"caseverify/store/engagement"
)

// completedOrder makes a member with a completed order and its reports, and
// returns the order.
func (s *server) completedOrder(t *testing.T, caseID int64, first, provider string, reports ...providers.Report) *store.Order {
	t.Helper()
	ctx := context.Background()
	a := s.agencyA.ID
	m, err := s.store.AddMember(ctx, a, caseID, store.MemberInput{FirstName: first, LastName: "Worker", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	return s.orderFor(t, caseID, m.ID, provider, reports...)
}

func (s *server) orderFor(t *testing.T, caseID, memberID int64, provider string, reports ...providers.Report) *store.Order {
	t.Helper()
	ctx := context.Background()
	a := s.agencyA.ID
	o, err := s.store.CreateOrder(ctx, a, store.NewOrder{CaseID: caseID, MemberID: memberID, Reference: store.NewOrderReference(),
		Provider: provider, Products: []string{"income"}, Notify: "agency", CreatedBy: s.workerA.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.store.AttachProviderOrder(ctx, a, o.ID, store.ProviderOrder{OrderID: "p-" + o.Reference, Status: store.StatusInProgress}, "created"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.store.ApplyUpdate(ctx, a, o.ID, store.StatusUpdate{Status: store.StatusCompleted, Source: "system"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		data, _ := json.Marshal(r)
		if _, err := s.store.SaveReport(ctx, a, o.ID, store.Report{ProviderReportID: r.ReportID, Kind: string(r.Kind), Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// lastMonth is the calendar month before this one: the look-back of a case
// opened now, at application.
func lastMonth() time.Time {
	now := time.Now()
	return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
}

func ymd(t time.Time) string { return t.Format("2006-01-02") }

// biweeklyAcross makes biweekly paystubs whose periods cover month m and
// run into the months around it: the first period starts 5 days before m.
func biweeklyAcross(m time.Time, hours float64, gross providers.Cents) []providers.Paystub {
	var out []providers.Paystub
	for s := m.AddDate(0, 0, -5); s.Before(m.AddDate(0, 1, 0)); s = s.AddDate(0, 0, 14) {
		e := s.AddDate(0, 0, 13)
		out = append([]providers.Paystub{{PayDate: ymd(e.AddDate(0, 0, 6)), PeriodStart: ymd(s), PeriodEnd: ymd(e), Hours: hours, Gross: gross, Net: gross * 78 / 100}}, out...)
	}
	return out
}

var tagsRE = regexp.MustCompile(`<[^>]+>`)

func text(body string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagsRE.ReplaceAllString(body, " "))), " ")
}

func TestReportPage_CommunityEngagement(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	m := lastMonth()
	cs, err := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "CE-1", Program: "medicaid"})
	if err != nil {
		t.Fatal(err)
	}
	// Two employers: a clinic that reports hours, and a salaried job whose
	// payroll reports none.
	o := s.completedOrder(t, cs.ID, "Mara", "truv", providers.Report{ReportID: "r1", Kind: providers.ReportIncome, Employments: []providers.Employment{
		{Employer: "County Clinic", Active: true, StartDate: "2020-01-06", PayFrequency: "biweekly", Paystubs: biweeklyAcross(m, 30, 45000)},
		{Employer: "Lakeside Schools", Active: true, StartDate: "2019-08-15", PayFrequency: "monthly", Paystubs: []providers.Paystub{
			{PayDate: ymd(m.AddDate(0, 1, -1)), PeriodStart: ymd(m), PeriodEnd: ymd(m.AddDate(0, 1, -1)), Gross: 40000}}},
	}})
	c := s.client(t)
	c.signIn("worker@a.gov")
	rec := c.get(fmt.Sprintf("/cases/%d/orders/%d/report", cs.ID, o.ID))
	if rec.Code != http.StatusOK {
		t.Fatalf("report page: %d", rec.Code)
	}
	page := text(rec.Body.String())
	month := m.Format("January 2006")
	for _, want := range []string{
		"Community engagement",
		"Result Met At application: the month before the case was opened in " + time.Now().Format("January 2006") + " (" + month + ").",
		"A month meets the requirement with at least 80 hours of work or at least $580.00 of gross income (80 hours at $7.25 an hour), and pay for a period that runs into another month counts in each month by its days there.",
		"At least ", "Some hours not reported: only the hours reported count.",
		"split by days",
		"County Clinic", "Lakeside Schools",
		"From the truv report of ",
		"This is a decision aid, not an eligibility determination: the caseworker decides and records the decision.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the panel lacks %q\n%s", want, page)
		}
	}
	// 30 hours a fortnight is short of 80 hours; the income is not.
	if !strings.Contains(rec.Body.String(), `data-testid="engagement-test">Income<`) {
		t.Errorf("the month does not meet the income test alone")
	}
	if got := strings.Count(rec.Body.String(), `data-testid="engagement-split"`); got != 2 {
		t.Errorf("%d paystubs split by days, want the first and the last", got)
	}

	// The printable page has the panel too, without the navigation.
	print := c.get(fmt.Sprintf("/cases/%d/orders/%d/report/print", cs.ID, o.ID))
	if body := print.Body.String(); print.Code != http.StatusOK || !strings.Contains(body, `data-testid="engagement"`) ||
		strings.Contains(body, "usa-nav") || !strings.Contains(text(body), "printed") {
		t.Errorf("printable page: %d\n%s", print.Code, text(body))
	}
	// And the portal's own PDF of the check.
	pdf := c.get(fmt.Sprintf("/cases/%d/orders/%d/engagement.pdf", cs.ID, o.ID))
	if pdf.Code != http.StatusOK || pdf.Header().Get("Content-Type") != "application/pdf" || !strings.HasPrefix(pdf.Body.String(), "%PDF-") {
		t.Fatalf("engagement.pdf: %d %s", pdf.Code, pdf.Header().Get("Content-Type"))
	}
	b := s.client(t)
	b.signIn("worker@b.gov")
	if rec := b.get(fmt.Sprintf("/cases/%d/orders/%d/engagement.pdf", cs.ID, o.ID)); rec.Code != http.StatusNotFound {
		t.Errorf("another agency's worker gets the PDF: %d", rec.Code)
	}

	// A SNAP case has no Medicaid check.
	snap, _ := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "CE-2", Program: "snap"})
	o2 := s.completedOrder(t, snap.ID, "Leo", "truv", providers.Report{ReportID: "r2", Kind: providers.ReportIncome,
		Employments: []providers.Employment{{Employer: "County Clinic", Paystubs: biweeklyAcross(m, 80, 200000)}}})
	if body := c.get(fmt.Sprintf("/cases/%d/orders/%d/report", snap.ID, o2.ID)).Body.String(); strings.Contains(body, "Community engagement") {
		t.Error("a SNAP case shows the Medicaid check")
	}
	if rec := c.get(fmt.Sprintf("/cases/%d/orders/%d/engagement.pdf", snap.ID, o2.ID)); rec.Code != http.StatusNotFound {
		t.Errorf("a SNAP case's check PDF: %d", rec.Code)
	}
	// Turned off by the agency: gone.
	set := engagement.Defaults()
	set.Shown = false
	if err := s.store.SetEngagementSettings(ctx, s.agencyA.ID, set); err != nil {
		t.Fatal(err)
	}
	if body := c.get(fmt.Sprintf("/cases/%d/orders/%d/report", cs.ID, o.ID)).Body.String(); strings.Contains(body, "Community engagement") {
		t.Error("the check shows though the agency turned it off")
	}
}

func TestSettings_CommunityEngagement(t *testing.T) {
	s := newServer(t, false)
	c := s.client(t)
	c.signIn("admin@a.gov")
	page := c.get("/admin/settings").Body.String()
	for _, want := range []string{`name="engagement_hours" type="number" value="80"`, `name="engagement_rate" type="text" value="7.25"`, `id="engagement_shown" type="checkbox" name="engagement_shown" value="1" checked`} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page lacks %s", want)
		}
	}
	form := url.Values{"reminder_first_hours": {"24"}, "reminder_every_hours": {"48"}, "reminder_count": {"3"}, "reminder_channel": {"same"},
		"default_program": {"medicaid"}, "default_products": {"income"}, "renewal_fallback": {"send"},
		"engagement_shown": {"1"}, "engagement_hours": {"90"}, "engagement_rate": {"$8.50"},
		"engagement_lookback_application": {"3"}, "engagement_lookback_renewal": {"6"}}
	if rec := c.post("/admin/settings", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", rec.Code, text(rec.Body.String()))
	}
	got, _ := s.store.EngagementSettings(context.Background(), s.agencyA.ID)
	if want := (engagement.Settings{Shown: true, HoursPerMonth: 90, RateCents: 850, LookbackApplication: 3, LookbackRenewal: 6}); got != want {
		t.Errorf("saved %+v, want %+v", got, want)
	}
	form.Set("engagement_lookback_renewal", "7")
	form.Set("engagement_rate", "seven")
	form.Set("reminder_count", "2")
	rec := c.post("/admin/settings", form)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "Use a number of months from 1 to 6.") ||
		!strings.Contains(rec.Body.String(), "Enter an hourly rate in dollars") {
		t.Fatalf("bad values: %d", rec.Code)
	}
	if st, _ := s.store.Settings(context.Background(), s.agencyA.ID); st.ReminderCount != 3 {
		t.Errorf("a refused form saved the reminders: %d", st.ReminderCount)
	}
}

func income(id string, jobs ...providers.Employment) providers.Report {
	return providers.Report{ReportID: id, Kind: providers.ReportIncome, Employments: jobs}
}

func TestCasePages_CommunityEngagement(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	a := s.agencyA.ID
	m := lastMonth()
	newCase := func(number, program, due string) *store.Case {
		t.Helper()
		cs, err := s.store.CreateCase(ctx, a, s.workerA.ID, store.CaseInput{Number: number, Program: program, RecertDue: due})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	clinic := func(stubs []providers.Paystub) providers.Employment {
		return providers.Employment{Employer: "County Clinic", Active: true, StartDate: "2018-06-04", PayFrequency: "biweekly", Paystubs: stubs}
	}
	due := time.Now().AddDate(0, 0, 20).Format("2006-01-02")
	met := newCase("CE-MET", "medicaid", due)
	first := s.completedOrder(t, met.ID, "Mara", "truv", income("a1", clinic(biweeklyAcross(m, 80, 200000)[1:])))
	// A second verification of the same job repeats the paystubs.
	s.orderFor(t, met.ID, first.MemberID, "truv", income("a2", clinic(biweeklyAcross(m, 80, 200000))))
	if _, err := s.store.AddMember(ctx, a, met.ID, store.MemberInput{FirstName: "Leo", LastName: "Worker", Relationship: "child"}); err != nil {
		t.Fatal(err)
	}
	notMet := newCase("CE-NOT", "medicaid", "")
	s.completedOrder(t, notMet.ID, "Ana", "truework", income("b1", clinic(biweeklyAcross(m, 20, 20000))))
	short := newCase("CE-SHORT", "medicaid", "")
	stubs := biweeklyAcross(m, 20, 20000)
	s.completedOrder(t, short.ID, "Ben", "truv", income("c1", clinic(stubs[len(stubs)-1:])))
	snap := newCase("CE-SNAP", "snap", "")
	s.completedOrder(t, snap.ID, "Sam", "truv", income("d1", clinic(biweeklyAcross(m, 80, 200000))))

	c := s.client(t)
	c.signIn("worker@a.gov")
	page := text(c.get(fmt.Sprintf("/cases/%d", met.ID)).Body.String())
	for _, want := range []string{"Community engagement", "Mara Worker Met At renewal:", "Leo Worker – No income report yet", "This is a decision aid, not an eligibility determination"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q:\n%s", want, page)
		}
	}
	report := text(c.get(fmt.Sprintf("/cases/%d/orders/%d/report", met.ID, first.ID)).Body.String())
	if n := len(biweeklyAcross(m, 80, 200000)) - 1; !strings.Contains(report, "Combines 2 income reports for this member") ||
		!strings.Contains(report, fmt.Sprintf("%d paystubs were in more than one report and count once.", n)) {
		t.Errorf("the combined check does not say so:\n%s", report)
	}
	// Each paystub once: 30 days of $2,000 a fortnight.
	if want := providers.Cents((200000*30 + 7) / 14).String(); !strings.Contains(report, want) {
		t.Errorf("November gross is not %s (each paystub once):\n%s", want, report)
	}
	if body := c.get(fmt.Sprintf("/cases/%d", snap.ID)).Body.String(); strings.Contains(body, "Community engagement") {
		t.Error("a SNAP case shows the Medicaid check")
	}

	list := func(filter string) []string {
		t.Helper()
		body := c.get("/cases?engagement=" + filter).Body.String()
		return regexp.MustCompile(`>Case? ?(CE-[A-Z]+)<|>(CE-[A-Z]+)<`).FindAllString(body, -1)
	}
	for filter, want := range map[string]string{"met": "CE-MET", "not_met": "CE-NOT", "not_enough_data": "CE-SHORT"} {
		if got := list(filter); len(got) != 1 || !strings.Contains(got[0], want) {
			t.Errorf("filter %s lists %v, want %s only", filter, got, want)
		}
	}
	if got := list("bogus"); len(got) != 4 {
		t.Errorf("an unknown filter value lists %v, want every case", got)
	}
	if loc := c.post("/cases/search", url.Values{"q": {""}, "engagement": {"met"}}).Header().Get("Location"); loc != "/cases?engagement=met" {
		t.Errorf("search form keeps the filter in %q", loc)
	}
	// Another agency's filter sees none of these cases.
	b := s.client(t)
	b.signIn("worker@b.gov")
	if body := b.get("/cases?engagement=met").Body.String(); strings.Contains(body, "CE-MET") {
		t.Error("agency B's filter lists agency A's case")
	}

	// A contact-center agent opens cases but reads no reports: no result.
	mustUser(t, s.store, a, "agent@a.gov", store.RoleAgent)
	agent := s.client(t)
	agent.signIn("agent@a.gov")
	if rec := agent.get(fmt.Sprintf("/cases/%d", met.ID)); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "Community engagement") {
		t.Errorf("agent's case page: %d, shows the check: %v", rec.Code, strings.Contains(rec.Body.String(), "Community engagement"))
	}

	renewals := text(c.get("/renewals?window=30").Body.String())
	if !strings.Contains(renewals, "Community engagement: Met See the months") {
		t.Errorf("renewals page lacks the member's result:\n%s", renewals)
	}
}

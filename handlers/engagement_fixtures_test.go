package handlers

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	"caseverify/providers"
	"caseverify/store/engagement"
)

// The check on normalized report fixtures (testdata/engagement/README.md):
// each pay frequency, a period across two months, missing hours, two
// employers, a seasonal worker. It runs the same path as the pages:
// engagementJobs over the stored report, then engagement.Evaluate.
func TestEngagement_Fixtures(t *testing.T) {
	type month struct {
		hours    float64
		missing  bool
		gross    int64
		test     engagement.Test
		complete bool
		result   engagement.Result
	}
	mar25, dec26 := engagement.Month{Year: 2025, Month: time.March}, engagement.Month{Year: 2026, Month: time.December}
	noSeasonal := engagement.Defaults()
	noSeasonal.SeasonalAverage = false
	twoMonths := engagement.Defaults()
	twoMonths.LookbackApplication = 2
	for _, tc := range []struct {
		file     string
		set      engagement.Settings
		anchor   engagement.Month
		months   []month
		result   engagement.Result
		seasonal bool // met only on the seasonal average
		splits   int  // paystubs split across months, in the look-back
	}{
		{"truv-biweekly", twoMonths, mar25, []month{
			{80 + 80*6/14.0, false, 200000 + 85714, engagement.TestBoth, false, engagement.Met},
			{80*8/14.0 + 80, false, 114286 + 215050, engagement.TestBoth, false, engagement.Met},
		}, engagement.Met, false, 2},
		{"truework-biweekly", engagement.Defaults(), mar25, []month{
			{80 + 80*9/14.0, false, 461538 + 296703, engagement.TestBoth, false, engagement.Met},
		}, engagement.Met, false, 1},
		{"weekly-hourly", engagement.Defaults(), dec26, []month{
			{25 * 30 / 7.0, false, 39643 + 3*46250 + 19821, engagement.TestBoth, true, engagement.Met},
		}, engagement.Met, false, 2},
		{"semimonthly-no-hours", engagement.Defaults(), dec26, []month{
			{0, true, 650000, engagement.TestIncome, true, engagement.Met},
		}, engagement.Met, false, 0},
		{"monthly", engagement.Defaults(), dec26, []month{
			{173.33, false, 600000, engagement.TestBoth, true, engagement.Met},
		}, engagement.Met, false, 0},
		{"two-employers", engagement.Defaults(), dec26, []month{
			{8 * 30 / 7.0, true, 10286 + 36000 + 5143 + 30000, engagement.TestIncome, true, engagement.Met},
		}, engagement.Met, false, 2},
		{"seasonal", engagement.Defaults(), dec26, []month{
			{0, false, 0, engagement.TestNeither, true, engagement.NotMet},
		}, engagement.Met, true, 0},
		{"seasonal", noSeasonal, dec26, []month{
			{0, false, 0, engagement.TestNeither, true, engagement.NotMet},
		}, engagement.NotMet, false, 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile("testdata/engagement/" + tc.file + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var r providers.Report
			if err := json.Unmarshal(data, &r); err != nil {
				t.Fatal(err)
			}
			c := engagement.Evaluate(tc.set, false, tc.anchor, engagementJobs(&r, "fixture", time.Time{}))
			if len(c.Months) != len(tc.months) {
				t.Fatalf("%d months, want %d", len(c.Months), len(tc.months))
			}
			splits := 0
			for i, w := range tc.months {
				m := c.Months[i]
				if math.Abs(m.Hours-w.hours) > 0.01 || m.HoursMissing != w.missing || m.Gross != w.gross || m.Test != w.test ||
					m.Complete != w.complete || m.Result != w.result {
					t.Errorf("%s: hours %.2f missing %v gross %d test %s complete %v result %s; want %+v",
						m.Month, m.Hours, m.HoursMissing, m.Gross, m.Test, m.Complete, m.Result, w)
				}
				for _, sh := range m.Shares {
					if sh.Split() {
						splits++
					}
				}
			}
			if c.Result != tc.result || c.BySeasonal != tc.seasonal || splits != tc.splits {
				t.Errorf("result %s by seasonal %v, %d split paystubs; want %s %v %d", c.Result, c.BySeasonal, splits, tc.result, tc.seasonal, tc.splits)
			}
		})
	}
}

// The check reads the report's JSON as the providers package writes it: a
// round trip through the stored shape loses no paystub field.
func TestEngagementJobs_ReadsEveryField(t *testing.T) {
	r := providers.Report{Kind: providers.ReportIncome, Employments: []providers.Employment{{Employer: "Acme", StartDate: "2020-01-01",
		EndDate: "2026-10-31", Paystubs: []providers.Paystub{{PayDate: "2026-10-30", PeriodStart: "2026-10-11", PeriodEnd: "2026-10-24", Hours: 72.5, Gross: 123456}}}}}
	data, _ := json.Marshal(r)
	var back providers.Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	jobs := engagementJobs(&back, "Truv report of Nov 2, 2026", asOf)
	want := engagement.Job{Employer: "Acme", Source: "Truv report of Nov 2, 2026", AsOf: asOf, StartDate: "2020-01-01", EndDate: "2026-10-31",
		Paystubs: []engagement.Paystub{{PayDate: "2026-10-30", PeriodStart: "2026-10-11", PeriodEnd: "2026-10-24", Hours: 72.5, Gross: 123456}}}
	if len(jobs) != 1 || jobs[0].Employer != want.Employer || jobs[0].StartDate != want.StartDate || jobs[0].EndDate != want.EndDate ||
		jobs[0].Source != want.Source || !jobs[0].AsOf.Equal(asOf) || len(jobs[0].Paystubs) != 1 || jobs[0].Paystubs[0] != want.Paystubs[0] {
		t.Errorf("jobs = %+v, want %+v", jobs, want)
	}
}

package engagement

import (
	"math"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// periods makes paystubs of a regular pay frequency: periods of step days
// from first until after last, each paid payLag days after it ends.
func periods(first, last string, step, payLag int, hours float64, gross int64) []Paystub {
	var out []Paystub
	for s := day(first); !s.After(day(last)); s = s.AddDate(0, 0, step) {
		e := s.AddDate(0, 0, step-1)
		out = append(out, Paystub{PayDate: e.AddDate(0, 0, payLag).Format("2006-01-02"), PeriodStart: s.Format("2006-01-02"),
			PeriodEnd: e.Format("2006-01-02"), Hours: hours, Gross: gross})
	}
	return out
}

// semimonthly makes paystubs for the 1st–15th and 16th–end of each month
// from first through last (months as "2026-09").
func semimonthly(first, last string, hours float64, gross int64) []Paystub {
	var out []Paystub
	for m := day(first + "-01"); !m.After(day(last + "-01")); m = m.AddDate(0, 1, 0) {
		mid, end := m.AddDate(0, 0, 14), m.AddDate(0, 1, -1)
		out = append(out,
			Paystub{PayDate: mid.Format("2006-01-02"), PeriodStart: m.Format("2006-01-02"), PeriodEnd: mid.Format("2006-01-02"), Hours: hours, Gross: gross},
			Paystub{PayDate: end.Format("2006-01-02"), PeriodStart: mid.AddDate(0, 0, 1).Format("2006-01-02"), PeriodEnd: end.Format("2006-01-02"), Hours: hours, Gross: gross})
	}
	return out
}

func monthly(first, last string, hours float64, gross int64) []Paystub {
	var out []Paystub
	for m := day(first + "-01"); !m.After(day(last + "-01")); m = m.AddDate(0, 1, 0) {
		end := m.AddDate(0, 1, -1)
		out = append(out, Paystub{PayDate: end.Format("2006-01-02"), PeriodStart: m.Format("2006-01-02"), PeriodEnd: end.Format("2006-01-02"), Hours: hours, Gross: gross})
	}
	return out
}

var nov2026 = Month{2026, time.November}

func TestAttribute(t *testing.T) {
	type want struct {
		month      Month
		days, of   int
		hours      float64
		gross      int64
		hoursKnown bool
	}
	oct, nov, dec := Month{2026, time.October}, nov2026, Month{2026, time.December}
	for _, tc := range []struct {
		name string
		p    Paystub
		want []want
	}{
		{"within one month", Paystub{"2026-11-20", "2026-11-02", "2026-11-15", 80, 140000},
			[]want{{nov, 14, 14, 80, 140000, true}}},
		{"biweekly period spanning two months, split by days", Paystub{"2026-11-13", "2026-10-25", "2026-11-07", 80, 200000},
			[]want{{oct, 7, 14, 40, 100000, true}, {nov, 7, 14, 40, 100000, true}}},
		{"odd cents add up exactly", Paystub{"2026-11-13", "2026-10-25", "2026-11-07", 0, 100001},
			[]want{{oct, 7, 14, 0, 50001, false}, {nov, 7, 14, 0, 50000, false}}},
		{"weekly period, 3 of 7 days in the first month", Paystub{"2026-12-04", "2026-11-28", "2026-12-04", 35, 70000},
			[]want{{nov, 3, 7, 15, 30000, true}, {dec, 4, 7, 20, 40000, true}}},
		{"semimonthly second half", Paystub{"2026-11-30", "2026-11-16", "2026-11-30", 86.67, 325000},
			[]want{{nov, 15, 15, 86.67, 325000, true}}},
		{"monthly in a short February", Paystub{"2027-02-28", "2027-02-01", "2027-02-28", 160, 300000},
			[]want{{Month{2027, time.February}, 28, 28, 160, 300000, true}}},
		{"no period: all in the pay date's month", Paystub{"2026-11-05", "", "", 40, 50000},
			[]want{{nov, 0, 0, 40, 50000, true}}},
		{"period ends before it starts: the pay date's month", Paystub{"2026-12-01", "2026-11-20", "2026-11-10", 0, 50000},
			[]want{{dec, 0, 0, 0, 50000, false}}},
		{"nothing dated: left out", Paystub{"", "", "", 10, 50000}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Attribute(tc.p)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d shares %+v, want %d", len(got), got, len(tc.want))
			}
			var sum int64
			for i, w := range tc.want {
				g := got[i]
				sum += g.Gross
				if g.Month != w.month || g.DaysInMonth != w.days || g.PeriodDays != w.of || g.Gross != w.gross ||
					math.Abs(g.Hours-w.hours) > 1e-9 || g.HoursKnown != w.hoursKnown {
					t.Errorf("share %d = %+v, want %+v", i, g, w)
				}
				if g.Split() != (w.of > 0 && w.days < w.of) {
					t.Errorf("share %d Split() = %v", i, g.Split())
				}
			}
			if len(got) > 0 && sum != tc.p.Gross {
				t.Errorf("shares add to %d, paystub says %d", sum, tc.p.Gross)
			}
		})
	}
}

func TestEvaluate_Month(t *testing.T) {
	s := Defaults() // 80 hours, $7.25: $580.00
	s.SeasonalAverage = false
	for _, tc := range []struct {
		name     string
		jobs     []Job
		hours    float64
		missing  bool
		gross    int64
		test     Test
		complete bool
		result   Result
	}{
		{"weekly pay, both tests", []Job{{Employer: "Corner Market", StartDate: "2022-02-14",
			Paystubs: periods("2026-10-03", "2026-12-05", 7, 6, 25, 46250)}},
			25 * 30.0 / 7, false, 198214, TestBoth, true, Met},
		{"biweekly pay across month ends, both tests", []Job{{Employer: "County Clinic", StartDate: "2018-06-04",
			Paystubs: periods("2026-10-11", "2026-12-06", 14, 6, 80, 200000)}},
			80 * 30.0 / 14, false, 428571, TestBoth, true, Met},
		{"semimonthly salaried, hours not reported: income only", []Job{{Employer: "State Agency", StartDate: "2016-09-12",
			Paystubs: semimonthly("2026-10", "2026-12", 0, 325000)}},
			0, true, 650000, TestIncome, true, Met},
		{"monthly pay, hours only (tipped wage)", []Job{{Employer: "Diner", StartDate: "2025-01-01",
			Paystubs: monthly("2026-10", "2026-12", 90, 19170)}},
			90, false, 19170, TestHours, true, Met},
		{"weekly part-time, neither", []Job{{Employer: "Library", StartDate: "2024-01-01",
			Paystubs: periods("2026-10-03", "2026-12-05", 7, 6, 10, 10000)}},
			10 * 30.0 / 7, false, 42857, TestNeither, true, NotMet},
		{"hours not reported and income short: not met on income, no hours invented", []Job{{Employer: "Library", StartDate: "2024-01-01",
			Paystubs: monthly("2026-10", "2026-12", 0, 40000)}},
			0, true, 40000, TestNeither, true, NotMet},
		{"pay stops mid-month: not enough data", []Job{{Employer: "Library", StartDate: "2024-01-01",
			Paystubs: periods("2026-10-03", "2026-11-13", 7, 6, 10, 10000)}},
			10 * 13.0 / 7, false, 18571, TestNeither, false, NotEnoughData},
		{"pay stops mid-month but already meets income", []Job{{Employer: "County Clinic", StartDate: "2018-06-04",
			Paystubs: periods("2026-10-11", "2026-11-07", 14, 6, 80, 200000)}},
			40, false, 100000, TestIncome, false, Met},
		{"two employers, each short alone, together both tests", []Job{
			{Employer: "Corner Market", StartDate: "2022-02-14", Paystubs: periods("2026-10-03", "2026-12-05", 7, 6, 10, 20000)},
			{Employer: "Library", StartDate: "2024-01-01", Paystubs: semimonthly("2026-10", "2026-12", 20, 15000)}},
			10*30.0/7 + 40, false, 85714 + 30000, TestBoth, true, Met},
		{"job ended before the month: a covered month of no pay", []Job{{Employer: "Cannery", StartDate: "2026-06-01", EndDate: "2026-09-30",
			Paystubs: monthly("2026-06", "2026-09", 170, 300000)}},
			0, false, 0, TestNeither, true, NotMet},
		{"job started mid-month: the days before count as covered", []Job{{Employer: "Library", StartDate: "2026-11-16",
			Paystubs: semimonthly("2026-11", "2026-12", 0, 20000)[1:]}},
			0, true, 20000, TestNeither, true, NotMet},
		{"no jobs at all: not enough data", nil, 0, false, 0, TestNeither, false, NotEnoughData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Evaluate(s, false, Month{2026, time.December}, tc.jobs)
			if len(c.Months) != 1 || c.Months[0].Month != nov2026 {
				t.Fatalf("months = %+v, want November 2026 only", c.Months)
			}
			m := c.Months[0]
			if math.Abs(m.Hours-tc.hours) > 1e-6 || m.HoursMissing != tc.missing || m.Gross != tc.gross || m.Test != tc.test ||
				m.Complete != tc.complete || m.Result != tc.result {
				t.Errorf("got hours %.4f missing %v gross %d test %s complete %v result %s\nwant hours %.4f missing %v gross %d test %s complete %v result %s",
					m.Hours, m.HoursMissing, m.Gross, m.Test, m.Complete, m.Result, tc.hours, tc.missing, tc.gross, tc.test, tc.complete, tc.result)
			}
			if c.Result != tc.result {
				t.Errorf("check result %s, want %s", c.Result, tc.result)
			}
		})
	}
}

func TestEvaluate_Lookback(t *testing.T) {
	s := Defaults()
	s.LookbackApplication, s.LookbackRenewal, s.SeasonalAverage = 3, 2, false
	// Biweekly pay until the job ended on October 24.
	jobs := []Job{{Employer: "County Clinic", StartDate: "2018-06-04", EndDate: "2026-10-24",
		Paystubs: periods("2026-07-05", "2026-10-11", 14, 6, 80, 200000)}}
	app := Evaluate(s, false, Month{2027, time.January}, jobs)
	if got := []Month{app.Months[0].Month, app.Months[1].Month, app.Months[2].Month}; got[0] != (Month{2026, time.October}) || got[2] != (Month{2026, time.December}) {
		t.Fatalf("application look-back = %v, want October to December 2026", got)
	}
	if app.Result != NotMet || app.Months[0].Result != Met || app.Months[1].Result != NotMet {
		t.Errorf("application: %s (%s, %s), want not met (met, not met)", app.Result, app.Months[0].Result, app.Months[1].Result)
	}
	ren := Evaluate(s, true, Month{2026, time.December}, jobs)
	if len(ren.Months) != 2 || ren.Months[0].Month != (Month{2026, time.October}) {
		t.Fatalf("renewal look-back = %+v, want October and November", ren.Months)
	}
	if ren.Result != NotMet {
		t.Errorf("renewal result %s, want not met", ren.Result)
	}
}

func TestEvaluate_Seasonal(t *testing.T) {
	// A seasonal cannery worker: June to September, nothing since.
	jobs := []Job{{Employer: "Cannery", StartDate: "2026-06-01", EndDate: "2026-09-27",
		Paystubs: periods("2026-06-01", "2026-09-21", 7, 5, 45, 75000)}}
	s := Defaults()
	c := Evaluate(s, false, Month{2026, time.December}, jobs)
	if c.Months[0].Result != NotMet {
		t.Fatalf("November = %s, want not met", c.Months[0].Result)
	}
	if c.Seasonal == nil || c.Seasonal.From != (Month{2026, time.June}) || c.Seasonal.To != nov2026 || !c.Seasonal.Complete {
		t.Fatalf("seasonal = %+v, want June to November, complete", c.Seasonal)
	}
	if c.Seasonal.Total != 17*75000 || c.Seasonal.Average != c.Seasonal.Total/6 || c.Seasonal.Result != Met {
		t.Errorf("seasonal total %d average %d result %s", c.Seasonal.Total, c.Seasonal.Average, c.Seasonal.Result)
	}
	if c.Result != Met || !c.BySeasonal {
		t.Errorf("result %s by seasonal %v, want met on the seasonal average", c.Result, c.BySeasonal)
	}
	s.SeasonalAverage = false
	if c := Evaluate(s, false, Month{2026, time.December}, jobs); c.Result != NotMet || c.Seasonal != nil || c.BySeasonal {
		t.Errorf("rule off: result %s seasonal %+v", c.Result, c.Seasonal)
	}
	// Too little history for the average: not enough data, never met.
	short := []Job{{Employer: "Cannery", Paystubs: periods("2026-11-01", "2026-11-14", 7, 5, 10, 10000)}}
	if c := Evaluate(Defaults(), false, Month{2026, time.December}, short); c.Seasonal.Result != NotEnoughData || c.Result != NotEnoughData {
		t.Errorf("short history: seasonal %s, result %s", c.Seasonal.Result, c.Result)
	}
}

func TestMerge_SamePaystubOnce(t *testing.T) {
	first := periods("2026-10-11", "2026-11-22", 14, 6, 0, 200000) // an older report, no hours
	refresh := periods("2026-10-25", "2026-12-06", 14, 6, 80, 200000)
	jobs := []Job{
		{Employer: "ACME, Inc.", Source: "Truv report of Nov 30", AsOf: day("2026-11-30"), StartDate: "2018-06-04", Paystubs: first},
		{Employer: "Acme Inc", Source: "Truv report of Dec 12", AsOf: day("2026-12-12"), StartDate: "2018-06-04", Paystubs: refresh},
		{Employer: "Library", Source: "Truework report of Dec 10", AsOf: day("2026-12-10"), StartDate: "2024-01-01",
			Paystubs: semimonthly("2026-11", "2026-11", 10, 15000)},
	}
	merged, dups := Merge(jobs)
	if len(merged) != 2 || merged[0].Employer != "ACME, Inc." || merged[1].Employer != "Library" {
		t.Fatalf("merged = %+v, want ACME and Library", merged)
	}
	if dups != 3 || len(merged[0].Paystubs) != 5 {
		t.Errorf("dups %d, ACME paystubs %d; want 3 repeated, 5 distinct", dups, len(merged[0].Paystubs))
	}
	for _, p := range merged[0].Paystubs {
		if p.PayDate >= "2026-10-31" && p.Hours != 80 {
			t.Errorf("paystub %s kept without hours though the refresh reported them", p.PayDate)
		}
	}
	c := Evaluate(Defaults(), false, Month{2026, time.December}, jobs)
	m := c.Months[0]
	if want := int64(200000*30/14) + 30000; m.Gross != want+1 && m.Gross != want {
		t.Errorf("November gross %d, want %d (each paystub once)", m.Gross, want)
	}
	if c.Duplicates != 3 {
		t.Errorf("Duplicates = %d", c.Duplicates)
	}
}

func TestAtRenewal(t *testing.T) {
	for _, tc := range []struct {
		due, got string
		want     bool
	}{
		{"", "2026-12-04", false},
		{"2027-11-30", "2026-12-04", false}, // at application, renewal a year away
		{"2027-01-31", "2026-12-04", true},  // within 90 days of the due date
		{"2026-11-30", "2026-12-04", true},  // overdue
		{"not a date", "2026-12-04", false},
	} {
		if got := AtRenewal(tc.due, day(tc.got)); got != tc.want {
			t.Errorf("AtRenewal(%q, %s) = %v, want %v", tc.due, tc.got, got, tc.want)
		}
	}
}

func TestSettings_Validate(t *testing.T) {
	if p := Defaults().Validate(); len(p) != 0 {
		t.Fatalf("defaults invalid: %v", p)
	}
	if Defaults().IncomeCents() != 58000 {
		t.Errorf("income threshold %d, want 58000", Defaults().IncomeCents())
	}
	bad := Settings{HoursPerMonth: 0, RateCents: 0, LookbackApplication: 7, LookbackRenewal: 0}
	if p := bad.Validate(); len(p) != 4 {
		t.Errorf("problems = %v, want 4", p)
	}
}

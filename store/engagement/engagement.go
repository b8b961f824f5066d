// Package engagement is the Medicaid community engagement check (Social
// Security Act §1902(xx), added by Public Law 119-21; CMS-2454-IFC): in a
// calendar month, at least the agency's hours (80) of work, or gross income
// of at least the agency's hourly rate (the federal minimum wage, $7.25)
// times those hours; at application over the months before it, at renewal
// over the months before the redetermination; optionally, for seasonal
// workers, the average monthly income over the prior six months.
//
// It is a pure computation over paystubs: no database, no clock, no
// provider types. The caller turns its normalized reports into Jobs. The
// result is a decision aid; the caseworker makes the determination.
package engagement

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Settings are an agency's choices for the check.
type Settings struct {
	Shown               bool  // the check appears on report, case and renewal pages
	HoursPerMonth       int   // the hours test, and the hours of the income test (80)
	RateCents           int64 // hourly rate of the income test, in cents (725)
	LookbackApplication int   // months before the application (1..MaxLookback)
	LookbackRenewal     int   // months before the redetermination (1..MaxLookback)
	SeasonalAverage     bool  // judge on the prior six months' average income too
}

// MaxLookback is the most months a look-back may cover.
const MaxLookback = 6

// SeasonalMonths is how many months the seasonal-worker average covers.
const SeasonalMonths = 6

// Defaults are the statute's figures: 80 hours, the federal minimum wage,
// one month at application and at renewal, and the seasonal rule on.
func Defaults() Settings {
	return Settings{Shown: true, HoursPerMonth: 80, RateCents: 725, LookbackApplication: 1, LookbackRenewal: 1, SeasonalAverage: true}
}

// Validate returns a message per field name that is out of range.
func (s Settings) Validate() map[string]string {
	p := map[string]string{}
	if s.HoursPerMonth < 1 || s.HoursPerMonth > 300 {
		p["engagement_hours"] = "Use a number of hours from 1 to 300."
	}
	if s.RateCents < 1 || s.RateCents > 100_00 {
		p["engagement_rate"] = "Enter an hourly rate in dollars, from 0.01 to 100.00, for example 7.25."
	}
	if s.LookbackApplication < 1 || s.LookbackApplication > MaxLookback {
		p["engagement_lookback_application"] = "Use a number of months from 1 to 6."
	}
	if s.LookbackRenewal < 1 || s.LookbackRenewal > MaxLookback {
		p["engagement_lookback_renewal"] = "Use a number of months from 1 to 6."
	}
	return p
}

// IncomeCents is the monthly income that meets the income test: the rate
// times the hours.
func (s Settings) IncomeCents() int64 { return s.RateCents * int64(s.HoursPerMonth) }

// Job is one employer's pay history as one report saw it. Several Jobs
// with the same employer (two reports, a refresh) are merged into one.
type Job struct {
	Employer  string
	Source    string    // where it came from, e.g. "Truv report of Dec 4, 2026"
	AsOf      time.Time // when the report was made: the newest report's end date wins
	StartDate string    // YYYY-MM-DD; empty if unknown
	EndDate   string    // YYYY-MM-DD; empty while employed
	Paystubs  []Paystub
}

// Paystub is one pay statement. Hours of 0 mean the payroll did not report
// hours: the check never invents them.
type Paystub struct {
	PayDate     string // YYYY-MM-DD
	PeriodStart string // YYYY-MM-DD; empty if unknown
	PeriodEnd   string
	Hours       float64
	Gross       int64 // cents
}

// Month is a calendar month.
type Month struct {
	Year  int
	Month time.Month
}

// MonthOf is the calendar month of t, in t's location.
func MonthOf(t time.Time) Month { return Month{t.Year(), t.Month()} }

func (m Month) first() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// Days is the number of days in the month.
func (m Month) Days() int { return m.first().AddDate(0, 1, -1).Day() }

// Add returns the month n months later (earlier for negative n).
func (m Month) Add(n int) Month { return MonthOf(m.first().AddDate(0, n, 0)) }

// Before reports whether m comes before o.
func (m Month) Before(o Month) bool {
	return m.Year < o.Year || (m.Year == o.Year && m.Month < o.Month)
}

// String is "November 2026".
func (m Month) String() string { return m.first().Format("January 2006") }

// Lookback lists the n calendar months before the month of anchor, oldest
// first: the months the check covers.
func Lookback(anchor Month, n int) []Month {
	out := make([]Month, 0, n)
	for i := n; i >= 1; i-- {
		out = append(out, anchor.Add(-i))
	}
	return out
}

// Result is the outcome of a month or of a whole check.
type Result string

// Results.
const (
	Met           Result = "met"
	NotMet        Result = "not_met"
	NotEnoughData Result = "not_enough_data"
)

// Results lists the outcomes with their labels (for filters).
var Results = []struct{ Value, Label string }{
	{string(Met), "Met"}, {string(NotMet), "Not met"}, {string(NotEnoughData), "Not enough data"},
}

// Label names a result.
func (r Result) Label() string {
	for _, o := range Results {
		if o.Value == string(r) {
			return o.Label
		}
	}
	return string(r)
}

// Test names the test a month meets.
type Test string

// Tests.
const (
	TestBoth    Test = "both"
	TestHours   Test = "hours"
	TestIncome  Test = "income"
	TestNeither Test = "neither"
)

// Share is the part of one paystub attributed to one month.
type Share struct {
	Month       Month
	Employer    string
	Source      string
	PayDate     string
	PeriodStart string
	PeriodEnd   string
	DaysInMonth int // days of the pay period in this month
	PeriodDays  int // days of the whole pay period; 0 when the period is unknown
	Hours       float64
	HoursKnown  bool
	Gross       int64
}

// Split says the pay period runs into another month, so only part of the
// paystub counts here.
func (s Share) Split() bool { return s.PeriodDays > 0 && s.DaysInMonth < s.PeriodDays }

// MonthCheck is one month of the look-back.
type MonthCheck struct {
	Month        Month
	Hours        float64 // reported hours attributed to the month
	HoursMissing bool    // some paystub of the month has no hours: Hours is a floor
	Gross        int64   // gross income attributed to the month, in cents
	Test         Test
	// Complete says the paystubs cover every day of the month for every
	// job (days before a job started or after it ended count as covered).
	// An incomplete month that meets no test may still meet one.
	Complete bool
	Result   Result
	Shares   []Share
}

// HoursKnown says every paystub of the month reported hours.
func (m MonthCheck) HoursKnown() bool { return !m.HoursMissing && len(m.Shares) > 0 }

// Seasonal is the seasonal-worker average over the months before the anchor.
type Seasonal struct {
	From, To Month
	Total    int64 // gross over the months
	Average  int64 // Total / SeasonalMonths
	Complete bool
	Result   Result
}

// Check is the community engagement check of one member.
type Check struct {
	Settings Settings
	Renewal  bool // at renewal (else at application)
	Anchor   Month
	Months   []MonthCheck
	Seasonal *Seasonal // when the agency applies the seasonal rule
	// Result is the check's outcome: met when every month meets a test (or,
	// failing that, the seasonal average meets the income test), not met
	// when a fully covered month meets neither, else not enough data.
	Result Result
	// BySeasonal says the result is met only on the seasonal average.
	BySeasonal bool
	Employers  []string // the employers whose pay counted
	Duplicates int      // paystubs found in more than one report, counted once
}

// Evaluate runs the check over jobs for the look-back before anchor.
func Evaluate(s Settings, renewal bool, anchor Month, jobs []Job) Check {
	n := s.LookbackApplication
	if renewal {
		n = s.LookbackRenewal
	}
	n = max(1, min(n, MaxLookback))
	merged, dups := Merge(jobs)
	c := Check{Settings: s, Renewal: renewal, Anchor: anchor, Duplicates: dups}
	for _, j := range merged {
		c.Employers = append(c.Employers, j.Employer)
	}
	c.Months = make([]MonthCheck, 0, n)
	for _, m := range Lookback(anchor, n) {
		c.Months = append(c.Months, checkMonth(s, m, merged))
	}
	c.Result = combine(c.Months)
	if s.SeasonalAverage {
		c.Seasonal = seasonal(s, anchor, merged)
		if c.Result != Met && c.Seasonal.Result == Met {
			c.Result, c.BySeasonal = Met, true
		}
	}
	return c
}

func combine(months []MonthCheck) Result {
	r := Met
	for _, m := range months {
		switch m.Result {
		case NotMet:
			return NotMet
		case NotEnoughData:
			r = NotEnoughData
		}
	}
	return r
}

func checkMonth(s Settings, m Month, jobs []Job) MonthCheck {
	mc := MonthCheck{Month: m, Complete: true}
	for _, j := range jobs {
		for _, p := range j.Paystubs {
			sh, ok := attributeTo(p, m)
			if !ok {
				continue
			}
			sh.Employer, sh.Source = j.Employer, j.Source
			mc.Shares = append(mc.Shares, sh)
			mc.Gross += sh.Gross
			if sh.HoursKnown {
				mc.Hours += sh.Hours
			} else if sh.Gross > 0 {
				mc.HoursMissing = true
			}
		}
		if !covers(j, m) {
			mc.Complete = false
		}
	}
	if len(jobs) == 0 {
		mc.Complete = false
	}
	slices.SortStableFunc(mc.Shares, func(a, b Share) int { return strings.Compare(a.PayDate, b.PayDate) })
	// Hours only count as reported: a floor when some are missing, which
	// can still meet the hours test but never fails it on its own.
	hoursMet := mc.Hours+1e-9 >= float64(s.HoursPerMonth)
	incomeMet := mc.Gross >= s.IncomeCents()
	switch {
	case hoursMet && incomeMet:
		mc.Test = TestBoth
	case hoursMet:
		mc.Test = TestHours
	case incomeMet:
		mc.Test = TestIncome
	default:
		mc.Test = TestNeither
	}
	switch {
	case mc.Test != TestNeither:
		mc.Result = Met
	case mc.Complete:
		mc.Result = NotMet
	default:
		mc.Result = NotEnoughData
	}
	return mc
}

func seasonal(s Settings, anchor Month, jobs []Job) *Seasonal {
	months := Lookback(anchor, SeasonalMonths)
	out := &Seasonal{From: months[0], To: months[len(months)-1], Complete: true}
	for _, m := range months {
		mc := checkMonth(s, m, jobs)
		out.Total += mc.Gross
		out.Complete = out.Complete && mc.Complete
	}
	out.Average = out.Total / SeasonalMonths
	switch {
	case out.Average >= s.IncomeCents():
		out.Result = Met
	case out.Complete:
		out.Result = NotMet
	default:
		out.Result = NotEnoughData
	}
	return out
}

// Attribute splits a paystub over the calendar months of its pay period, by
// the days of the period in each month (a period of Oct 25 – Nov 7 puts 7
// of its 14 days, and so half its gross and hours, in October). The shares'
// gross adds up to the paystub's exactly. A paystub without a usable period
// counts wholly in the month of its pay date; one without a pay date either
// is left out.
func Attribute(p Paystub) []Share {
	start, e1 := parseDay(p.PeriodStart)
	end, e2 := parseDay(p.PeriodEnd)
	known := p.Hours > 0
	if e1 != nil || e2 != nil || end.Before(start) {
		pay, err := parseDay(p.PayDate)
		if err != nil {
			return nil
		}
		return []Share{{PayDate: p.PayDate, PeriodStart: p.PeriodStart, PeriodEnd: p.PeriodEnd, DaysInMonth: 0,
			Hours: hoursIf(known, p.Hours), HoursKnown: known, Gross: p.Gross, Month: MonthOf(pay)}}
	}
	total := days(start, end)
	var out []Share
	cum, prevGross := 0, int64(0)
	for d := start; !d.After(end); {
		m := MonthOf(d)
		monthEnd := m.first().AddDate(0, 1, -1)
		last := end
		if monthEnd.Before(end) {
			last = monthEnd
		}
		n := days(d, last)
		cum += n
		// Cumulative rounding: the shares add up to the gross exactly.
		g := roundDiv(p.Gross*int64(cum), int64(total))
		out = append(out, Share{PayDate: p.PayDate, PeriodStart: p.PeriodStart, PeriodEnd: p.PeriodEnd,
			DaysInMonth: n, PeriodDays: total, Hours: hoursIf(known, p.Hours*float64(n)/float64(total)), HoursKnown: known,
			Gross: g - prevGross, Month: m})
		prevGross = g
		d = last.AddDate(0, 0, 1)
	}
	return out
}

func hoursIf(known bool, h float64) float64 {
	if !known {
		return 0
	}
	return h
}

func attributeTo(p Paystub, m Month) (Share, bool) {
	for _, sh := range Attribute(p) {
		if sh.Month == m {
			return sh, true
		}
	}
	return Share{}, false
}

// covers says the job's paystub periods, with the days before it started
// and after it ended, cover every day of month m.
func covers(j Job, m Month) bool {
	first := m.first()
	last := first.AddDate(0, 1, -1)
	covered := make([]bool, m.Days())
	mark := func(from, to time.Time) {
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			if !d.Before(first) && !d.After(last) {
				covered[d.Day()-1] = true
			}
		}
	}
	if start, err := parseDay(j.StartDate); err == nil && start.After(first) {
		mark(first, start.AddDate(0, 0, -1))
	}
	if end, err := parseDay(j.EndDate); err == nil && end.Before(last) {
		mark(end.AddDate(0, 0, 1), last)
	}
	for _, p := range j.Paystubs {
		s, e1 := parseDay(p.PeriodStart)
		e, e2 := parseDay(p.PeriodEnd)
		if e1 == nil && e2 == nil && !e.Before(s) && !e.Before(first) && !s.After(last) {
			mark(s, e)
		}
	}
	return !slices.Contains(covered, false)
}

// Merge combines jobs of the same employer (by name, ignoring case, spaces
// and punctuation) and drops paystubs already seen: two reports of the same
// payroll (a refresh, a second verification) repeat paystubs, which must
// count once. Two paystubs are the same when employer, pay date, pay period
// and gross agree; of the two, the one with hours is kept. It returns the
// merged jobs, in order of first appearance, and how many paystubs were
// dropped.
func Merge(jobs []Job) ([]Job, int) {
	var out []Job
	index := map[string]int{}
	dups := 0
	for _, j := range jobs {
		key := employerKey(j.Employer)
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			out = append(out, Job{Employer: j.Employer, Source: j.Source, AsOf: j.AsOf, StartDate: j.StartDate, EndDate: j.EndDate})
			i = len(out) - 1
		} else {
			m := &out[i]
			if j.StartDate != "" && (m.StartDate == "" || j.StartDate < m.StartDate) {
				m.StartDate = j.StartDate
			}
			// The newer report knows best whether the job has ended.
			if !j.AsOf.Before(m.AsOf) {
				m.EndDate, m.AsOf = j.EndDate, j.AsOf
			}
			if !strings.Contains(m.Source, j.Source) {
				m.Source += "; " + j.Source
			}
		}
		m := &out[i]
	stubs:
		for _, p := range j.Paystubs {
			for k, q := range m.Paystubs {
				if p.PayDate == q.PayDate && p.PeriodStart == q.PeriodStart && p.PeriodEnd == q.PeriodEnd && p.Gross == q.Gross {
					dups++
					if q.Hours <= 0 && p.Hours > 0 {
						m.Paystubs[k].Hours = p.Hours
					}
					continue stubs
				}
			}
			m.Paystubs = append(m.Paystubs, p)
		}
	}
	return out, dups
}

func employerKey(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func parseDay(s string) (time.Time, error) { return time.Parse("2006-01-02", s) }

func days(from, to time.Time) int { return int(to.Sub(from).Hours()/24+0.5) + 1 }

func roundDiv(a, b int64) int64 { return int64(math.Round(float64(a) / float64(b))) }

// RenewalWindow is how long before a case's recertification due date a
// report counts as the renewal's, as on the renewals page (its widest list,
// 90 days). Reports received earlier are the application's.
const RenewalWindow = 90 * 24 * time.Hour

// AtRenewal says whether a report received at received is for the case's
// renewal: the case has a recertification due date (YYYY-MM-DD) and the
// report came within RenewalWindow before it, or after it.
func AtRenewal(recertDue string, received time.Time) bool {
	due, err := parseDay(recertDue)
	if err != nil {
		return false
	}
	return !received.Before(due.Add(-RenewalWindow))
}

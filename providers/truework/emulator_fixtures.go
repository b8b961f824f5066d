package truework

import (
	"fmt"
	"time"
)

// Sandbox scenarios of the emulator, chosen by the target's SSN (spec.md
// §1.9, [T08], [S00]); every other fixture SSN completes after the widget,
// and its reverification completes by itself like 000-23-0000.
const (
	scenarioReverifyLost  = "reverify-lost"     // 000-22-0000: reverification loses the connection
	scenarioReverifyAlive = "reverify-seamless" // 000-23-0000: reverification completes by itself
	payAnchorFriday       = "2015-01-02"        // weekly/biweekly pay dates fall on this Friday's cycle
	netShareNumerator     = 78                  // net pay is 78% of gross in the fixtures
)

// sandboxJob is one employment of a sandbox person, with the values the
// T08 table gives (title, status, type, start, end). The employers, pay and
// the cut-off cells of the table are the emulator's own inventions,
// documented here so nobody mistakes them for Truework data.
type sandboxJob struct {
	Employer      string
	Title         string
	Status        string // employee.status canonical: active, inactive
	StatusRaw     string
	StatusDetail  string // e.g. on-leave
	EmploymentTyp string // regular-full-time, regular-part-time
	EmploymentRaw string
	Start, End    string // YYYY-MM-DD; End empty while employed
	OnLeave       string // on_leave_date
	PayRate       string // pay_rate.amount
	PayUnit       string // annually or hourly
	PayFrequency  string // weekly, biweekly, semimonthly, monthly
	HoursPerWeek  float64
}

// sandboxPerson is one fixture SSN.
type sandboxPerson struct {
	SSN       string
	FirstName string
	LastName  string
	Scenario  string
	Jobs      []sandboxJob // one report per job
}

// sandboxPeople returns the emulator's fixture SSNs. 000-00-0000 …
// 000-00-0005 and 000-00-0007 follow the T08 table; 000-00-0005's start day
// and end date were cut off in the capture (the emulator uses 2019-03-04 and
// 2023-06-30), and 000-00-0007 has no name in it (the emulator uses Morgan
// Ellis, with two employers for "several reports"). 000-22-0000 and
// 000-23-0000 are the S00 reverification scenarios; their people are the
// emulator's.
func sandboxPeople() []sandboxPerson {
	return []sandboxPerson{
		{SSN: "000-00-0000", FirstName: "Taylor", LastName: "Curtis", Jobs: []sandboxJob{{
			Employer: "Northwind Software Inc.", Title: "Software Engineer", Status: "active", StatusRaw: "Active",
			EmploymentTyp: "regular-full-time", EmploymentRaw: "Full Time", Start: "2019-01-01",
			PayRate: "120000.00", PayUnit: "annually", PayFrequency: "biweekly", HoursPerWeek: 40,
		}}},
		{SSN: "000-00-0001", FirstName: "Sarah", LastName: "Cortez", Jobs: []sandboxJob{{
			Employer: "Blue Harbor Logistics", Title: "Program Manager", Status: "inactive", StatusRaw: "Inactive",
			EmploymentTyp: "regular-full-time", EmploymentRaw: "Full Time", Start: "2015-05-01", End: "2022-01-01",
			PayRate: "95000.00", PayUnit: "annually", PayFrequency: "semimonthly", HoursPerWeek: 40,
		}}},
		{SSN: "000-00-0002", FirstName: "Jerome", LastName: "Fischer", Jobs: []sandboxJob{{
			Employer: "Cedar Accounting Group", Title: "Accountant", Status: "active", StatusRaw: "On Leave",
			StatusDetail: "on-leave", OnLeave: "2024-11-01",
			EmploymentTyp: "regular-part-time", EmploymentRaw: "Part Time", Start: "2017-02-03",
			PayRate: "28.50", PayUnit: "hourly", PayFrequency: "weekly", HoursPerWeek: 24,
		}}},
		{SSN: "000-00-0003", FirstName: "Kyle", LastName: "Baker", Jobs: []sandboxJob{{
			Employer: "Summit Health Partners", Title: "Product Manager", Status: "active", StatusRaw: "Active",
			EmploymentTyp: "regular-full-time", EmploymentRaw: "Full Time", Start: "2022-01-01",
			PayRate: "110000.00", PayUnit: "annually", PayFrequency: "biweekly", HoursPerWeek: 40,
		}}},
		{SSN: "000-00-0004", FirstName: "Brianna", LastName: "Hernandez", Jobs: []sandboxJob{{
			Employer: "Lakeside Retail Co.", Title: "Customer Service Rep.", Status: "active", StatusRaw: "Active",
			EmploymentTyp: "regular-part-time", EmploymentRaw: "Part Time", Start: "2021-05-19",
			PayRate: "17.25", PayUnit: "hourly", PayFrequency: "biweekly", HoursPerWeek: 25,
		}}},
		{SSN: "000-00-0005", FirstName: "Diane", LastName: "Parker", Jobs: []sandboxJob{{
			Employer: "Granite Media Group", Title: "Account Executive", Status: "inactive", StatusRaw: "Inactive",
			EmploymentTyp: "regular-full-time", EmploymentRaw: "Full Time", Start: "2019-03-04", End: "2023-06-30",
			PayRate: "72000.00", PayUnit: "annually", PayFrequency: "monthly", HoursPerWeek: 40,
		}}},
		{SSN: "000-00-0007", FirstName: "Morgan", LastName: "Ellis", Jobs: []sandboxJob{
			{
				Employer: "Northwind Software Inc.", Title: "Engineering Manager", Status: "active", StatusRaw: "Active",
				EmploymentTyp: "regular-full-time", EmploymentRaw: "Full Time", Start: "2021-02-01",
				PayRate: "165000.00", PayUnit: "annually", PayFrequency: "semimonthly", HoursPerWeek: 40,
			},
			{
				Employer: "Riverbend Systems LLC", Title: "Senior Software Engineer", Status: "inactive", StatusRaw: "Inactive",
				EmploymentTyp: "regular-full-time", EmploymentRaw: "Full Time", Start: "2016-08-15", End: "2021-01-29",
				PayRate: "132000.00", PayUnit: "annually", PayFrequency: "biweekly", HoursPerWeek: 40,
			},
		}},
		{SSN: "000-22-0000", FirstName: "Alex", LastName: "Rivera", Scenario: scenarioReverifyLost, Jobs: []sandboxJob{{
			Employer: "Harborview Warehousing", Title: "Warehouse Supervisor", Status: "active", StatusRaw: "Active",
			EmploymentTyp: "regular-full-time", EmploymentRaw: "Full Time", Start: "2020-06-15",
			PayRate: "24.75", PayUnit: "hourly", PayFrequency: "weekly", HoursPerWeek: 40,
		}}},
		{SSN: "000-23-0000", FirstName: "Jamie", LastName: "Chen", Scenario: scenarioReverifyAlive, Jobs: []sandboxJob{{
			Employer: "Mercy Valley Hospital", Title: "Registered Nurse", Status: "active", StatusRaw: "Active",
			EmploymentTyp: "regular-full-time", EmploymentRaw: "Full Time", Start: "2018-09-10",
			PayRate: "88000.00", PayUnit: "annually", PayFrequency: "biweekly", HoursPerWeek: 36,
		}}},
	}
}

// findSandboxPerson returns the fixture for a dashed SSN.
func findSandboxPerson(ssn string) (sandboxPerson, bool) {
	for _, p := range sandboxPeople() {
		if p.SSN == ssn {
			return p, true
		}
	}
	return sandboxPerson{}, false
}

// periodsPerYear is the number of pay periods for a frequency.
func periodsPerYear(freq string) int {
	switch freq {
	case "weekly":
		return 52
	case "biweekly":
		return 26
	case "semimonthly":
		return 24
	default:
		return 12
	}
}

// grossPerPeriod is a job's gross pay per period, in cents.
func (j sandboxJob) grossPerPeriod() int64 {
	n := int64(periodsPerYear(j.PayFrequency))
	rate := int64(parseCents(j.PayRate))
	if j.PayUnit == "hourly" {
		// hours per period × hourly rate, rounded to the cent
		hours := j.HoursPerWeek * 52 / float64(n)
		return int64(float64(rate)*hours + 0.5)
	}
	return (rate + n/2) / n
}

// hoursPerPeriod is a job's paid hours per period.
func (j sandboxJob) hoursPerPeriod() float64 {
	return j.HoursPerWeek * 52 / float64(periodsPerYear(j.PayFrequency))
}

// prevPayDate returns the latest pay date strictly before t (a UTC day).
// Weekly and biweekly pay falls on Fridays of a fixed cycle, semimonthly
// on the 15th and the last day of the month, monthly on the last day.
func prevPayDate(freq string, t time.Time) time.Time {
	switch freq {
	case "weekly", "biweekly":
		step := 7
		if freq == "biweekly" {
			step = 14
		}
		anchor, _ := time.Parse(time.DateOnly, payAnchorFriday)
		days := int(t.Sub(anchor).Hours() / 24)
		k := floorDiv(days-1, step)
		return anchor.AddDate(0, 0, k*step)
	default:
		d := t.AddDate(0, 0, -1)
		for {
			last := d.AddDate(0, 0, 1).Day() == 1
			if last || (freq == "semimonthly" && d.Day() == 15) {
				return d
			}
			d = d.AddDate(0, 0, -1)
		}
	}
}

// floorDiv divides rounding toward negative infinity.
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// day truncates t to its UTC date.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// fixturePay is one generated pay statement.
type fixturePay struct {
	PayDate, PeriodStart, PeriodEnd time.Time
	Hours                           float64
	Gross, Net                      int64
}

// payHistory returns the job's pay statements from the job's start up to
// asOf (or its end or leave date), newest first.
func (j sandboxJob) payHistory(asOf time.Time) []fixturePay {
	start, _ := time.Parse(time.DateOnly, j.Start)
	limit := day(asOf)
	// Pay stops at the end of the job, or when a leave began.
	for _, stop := range []string{j.End, j.OnLeave} {
		if end, err := time.Parse(time.DateOnly, stop); err == nil && end.Before(limit) {
			limit = end
		}
	}
	gross := j.grossPerPeriod()
	net := gross * netShareNumerator / 100
	var out []fixturePay
	d := prevPayDate(j.PayFrequency, limit.AddDate(0, 0, 1))
	// Three years back is more than the two years of earnings needs.
	for i := 0; i < 160 && !d.Before(start); i++ {
		prev := prevPayDate(j.PayFrequency, d)
		end := d.AddDate(0, 0, -3)
		out = append(out, fixturePay{
			PayDate:     d,
			PeriodStart: prev.AddDate(0, 0, -2),
			PeriodEnd:   end,
			Hours:       j.hoursPerPeriod(),
			Gross:       gross,
			Net:         net,
		})
		d = prev
	}
	return out
}

// fmtAmount formats cents as Truework's amount strings ("1234.56").
func fmtAmount(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

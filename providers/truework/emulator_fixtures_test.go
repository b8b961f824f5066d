package truework

import (
	"testing"
	"time"
)

// TestFixturePay checks every sandbox person's generated report: at least
// six paystubs newest first, on pay dates of the job's frequency, never
// after the job ended or a leave began, and two years of earnings that add
// up the paystubs of those years.
func TestFixturePay(t *testing.T) {
	asOf := time.Date(2025, 3, 14, 16, 0, 0, 0, time.UTC)
	for _, p := range sandboxPeople() {
		for _, j := range p.Jobs {
			t.Run(p.SSN+"/"+j.Employer, func(t *testing.T) {
				out := reportOut(&emReport{id: "r", typ: "employment-income", created: asOf, person: p, job: j})
				if len(out.Paystubs) < 6 {
					t.Fatalf("%d paystubs; want at least 6", len(out.Paystubs))
				}
				stop := asOf.Format(time.DateOnly)
				for _, s := range []string{j.End, j.OnLeave} {
					if s != "" && s < stop {
						stop = s
					}
				}
				for i, ps := range out.Paystubs {
					if ps.PayDate > stop || ps.PayDate < j.Start || ps.PeriodStart > ps.PeriodEnd || ps.PeriodEnd > ps.PayDate {
						t.Errorf("paystub %d = %+v (job %s to %s)", i, ps, j.Start, stop)
					}
					if i > 0 && ps.PayDate >= out.Paystubs[i-1].PayDate {
						t.Errorf("paystub %d not older than the one before", i)
					}
					d, _ := time.Parse(time.DateOnly, ps.PayDate)
					switch j.PayFrequency {
					case "weekly", "biweekly":
						if d.Weekday() != time.Friday {
							t.Errorf("%s pay date %s is not a Friday", j.PayFrequency, ps.PayDate)
						}
					case "semimonthly":
						if d.Day() != 15 && d.AddDate(0, 0, 1).Day() != 1 {
							t.Errorf("semimonthly pay date %s", ps.PayDate)
						}
					case "monthly":
						if d.AddDate(0, 0, 1).Day() != 1 {
							t.Errorf("monthly pay date %s", ps.PayDate)
						}
					}
				}
				if len(out.Employee.Earnings) != 2 || out.Employee.Earnings[0].Year != out.Employee.Earnings[1].Year+1 {
					t.Fatalf("earnings = %+v", out.Employee.Earnings)
				}
				var ytd int64
				for _, h := range j.payHistory(asOf) {
					if h.PayDate.Year() == out.Employee.Earnings[0].Year {
						ytd += h.Gross
					}
				}
				if got := int64(parseCents(out.Employee.Earnings[0].Total)); got != ytd {
					t.Errorf("latest year total = %d; paystubs add up to %d", got, ytd)
				}
			})
		}
	}
}

func TestFixtureEmploymentOnly(t *testing.T) {
	p, _ := findSandboxPerson("000-00-0000")
	out := reportOut(&emReport{id: "r", typ: "employment", created: time.Now(), person: p, job: p.Jobs[0]})
	if out.Employee.Salary != nil || len(out.Paystubs) != 0 || len(out.Employee.Earnings) != 0 || out.Employee.Positions[0].Title != "Software Engineer" {
		t.Errorf("employment-only report = %+v", out)
	}
}

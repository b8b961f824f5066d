package handlers

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/providers"
	"caseverify/store"
	"caseverify/store/engagement"
	"caseverify/views"
)

// memberCheck is one member's community engagement check and the reports
// it read.
type memberCheck struct {
	engagement.Check
	Sources         []string // "Truv report of Dec 4, 2026", oldest first
	CaseID, OrderID int64    // the newest report's order
}

// ReportURL is the page of the member's newest income report.
func (mc *memberCheck) ReportURL() string {
	return fmt.Sprintf("/cases/%d/orders/%d/report", mc.CaseID, mc.OrderID)
}

// engagementJobs turns one normalized income report into the check's jobs:
// each employment with its paystubs, named after the report they came from.
func engagementJobs(r *providers.Report, source string, asOf time.Time) []engagement.Job {
	var jobs []engagement.Job
	for _, e := range r.Employments {
		j := engagement.Job{Employer: e.Employer, Source: source, AsOf: asOf, StartDate: e.StartDate, EndDate: e.EndDate}
		for _, p := range e.Paystubs {
			j.Paystubs = append(j.Paystubs, engagement.Paystub{PayDate: p.PayDate, PeriodStart: p.PeriodStart,
				PeriodEnd: p.PeriodEnd, Hours: p.Hours, Gross: int64(p.Gross)})
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// engagementChecks runs the check for each member among recs (readable
// income reports, oldest first), combining all of a member's reports. At
// renewal (engagement.AtRenewal on the newest report) the look-back ends
// before the month of the newest report; at application, before the month
// the case was opened.
func (h *Handler) engagementChecks(set engagement.Settings, recs []*store.MemberReport) (map[int64]*memberCheck, error) {
	byMember := map[int64][]*store.MemberReport{}
	var order []int64
	for _, rec := range recs {
		if _, ok := byMember[rec.MemberID]; !ok {
			order = append(order, rec.MemberID)
		}
		byMember[rec.MemberID] = append(byMember[rec.MemberID], rec)
	}
	out := map[int64]*memberCheck{}
	for _, id := range order {
		var jobs []engagement.Job
		var sources []string
		for _, rec := range byMember[id] {
			r, err := providers.DecodeReport(rec.Data)
			if err != nil {
				return nil, fmt.Errorf("decode report %d: %w", rec.ID, err)
			}
			src := h.providerLabel(rec.Provider) + " report of " + rec.FetchedAt.In(h.cfg.Zone).Format("Jan 2, 2006")
			sources = append(sources, src)
			jobs = append(jobs, engagementJobs(r, src, rec.FetchedAt)...)
		}
		newest := byMember[id][len(byMember[id])-1]
		renewal := engagement.AtRenewal(newest.RecertDue, newest.FetchedAt)
		anchor := engagement.MonthOf(newest.CaseOpened.In(h.cfg.Zone))
		if renewal {
			anchor = engagement.MonthOf(newest.FetchedAt.In(h.cfg.Zone))
		}
		out[id] = &memberCheck{Check: engagement.Evaluate(set, renewal, anchor, jobs), Sources: sources,
			CaseID: newest.CaseID, OrderID: newest.OrderID}
	}
	return out, nil
}

// caseEngagement returns the agency's settings and the check of each member
// of a case with a readable income report. ok is false when the check is
// not shown: the agency turned it off, or the case is not Medicaid.
func (h *Handler) caseEngagement(ctx context.Context, agencyID int64, cs *store.Case) (set engagement.Settings, checks map[int64]*memberCheck, ok bool, err error) {
	if set, err = h.store.EngagementSettings(ctx, agencyID); err != nil || !set.Shown || cs.Program != "medicaid" {
		return set, nil, false, err
	}
	checks, err = h.casesEngagement(ctx, agencyID, set, cs.ID)
	return set, checks, err == nil, err
}

// casesEngagement runs the check for the members of one case, or of every
// Medicaid case of the agency when caseID is 0.
func (h *Handler) casesEngagement(ctx context.Context, agencyID int64, set engagement.Settings, caseID int64) (map[int64]*memberCheck, error) {
	recs, err := h.store.IncomeReports(ctx, agencyID, caseID)
	if err != nil {
		return nil, err
	}
	return h.engagementChecks(set, recs)
}

// engagementCaseIDs lists the agency's cases with a member whose result is
// result: the case list's community engagement filter.
func (h *Handler) engagementCaseIDs(ctx context.Context, agencyID int64, result engagement.Result) ([]int64, error) {
	set, err := h.store.EngagementSettings(ctx, agencyID)
	if err != nil || !set.Shown {
		return nil, err
	}
	checks, err := h.casesEngagement(ctx, agencyID, set, 0)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, mc := range checks {
		if mc.Result == result && !seen[mc.CaseID] {
			seen[mc.CaseID] = true
			ids = append(ids, mc.CaseID)
		}
	}
	return ids, nil
}

// caseEngagementView is the case page's community engagement section: each
// member's result, or that no income report has come yet.
func caseEngagementView(members []*store.Member, checks map[int64]*memberCheck) *views.CaseEngagementView {
	v := &views.CaseEngagementView{}
	for _, m := range members {
		row := views.CaseEngagementRow{Member: m.FullName()}
		if mc := checks[m.ID]; mc != nil {
			row.Result, row.ReportURL = engagementResult(mc), mc.ReportURL()
			row.Context = engagementContext(mc)
		}
		v.Rows = append(v.Rows, row)
	}
	return v
}

// engagementResult is a member's result for a list; empty without a check.
func engagementResult(mc *memberCheck) views.EngagementResult {
	if mc == nil {
		return views.EngagementResult{}
	}
	label := mc.Result.Label()
	if mc.BySeasonal {
		label = "Met (seasonal average)"
	}
	return views.EngagementResult{Result: string(mc.Result), Label: label, URL: mc.ReportURL()}
}

func money(c int64) string { return providers.Cents(c).String() }

func hours(h float64) string {
	s := strconv.FormatFloat(h, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

func monthSpan(ms []engagement.Month) string {
	if len(ms) == 1 {
		return ms[0].String()
	}
	return ms[0].String() + " to " + ms[len(ms)-1].String()
}

// engagementContext says which look-back the check covers, in one sentence.
func engagementContext(mc *memberCheck) string {
	months := make([]engagement.Month, len(mc.Months))
	for i, m := range mc.Months {
		months[i] = m.Month
	}
	n := oneOrMany(len(months), "the month", fmt.Sprintf("the %d months", len(months)))
	if mc.Renewal {
		return fmt.Sprintf("At renewal: %s before the renewal's report of %s (%s).", n, mc.Anchor, monthSpan(months))
	}
	return fmt.Sprintf("At application: %s before the case was opened in %s (%s).", n, mc.Anchor, monthSpan(months))
}

// engagementView words a member's check for the panel.
func engagementView(mc *memberCheck) views.EngagementView {
	s := mc.Settings
	v := views.EngagementView{Result: string(mc.Result), ResultLabel: engagementResult(mc).Label}
	v.Context = engagementContext(mc)
	v.Rule = fmt.Sprintf("A month meets the requirement with at least %d hours of work or at least %s of gross income (%d hours at %s an hour), and pay for a period that runs into another month counts in each month by its days there.",
		s.HoursPerMonth, money(s.IncomeCents()), s.HoursPerMonth, money(s.RateCents))
	empty := true
	for _, m := range mc.Months {
		mv := views.EngagementMonth{Month: m.Month.String(), Gross: money(m.Gross), Result: string(m.Result), ResultLabel: m.Result.Label()}
		var notes []string
		switch {
		case m.HoursMissing && m.Hours == 0:
			mv.Hours = "Hours not reported"
			notes = append(notes, "Hours not reported: judged on income only.")
		case m.HoursMissing:
			mv.Hours = "At least " + hours(m.Hours)
			notes = append(notes, "Some hours not reported: only the hours reported count.")
		default:
			mv.Hours = hours(m.Hours)
		}
		mv.Test = map[engagement.Test]string{engagement.TestBoth: "Hours and income", engagement.TestHours: "Hours",
			engagement.TestIncome: "Income", engagement.TestNeither: "Neither"}[m.Test]
		switch {
		case len(m.Shares) == 0 && m.Complete:
			notes = append(notes, "No pay in this month.")
		case len(m.Shares) == 0:
			notes = append(notes, "No pay data for this month.")
		case !m.Complete && m.Result == engagement.NotEnoughData:
			notes = append(notes, "The pay data covers only part of this month.")
		}
		mv.Note = strings.Join(notes, " ")
		v.Months = append(v.Months, mv)
		for _, sh := range m.Shares {
			empty = false
			sv := views.EngagementShare{Month: m.Month.String(), Employer: sh.Employer, Gross: money(sh.Gross), Split: sh.Split()}
			sv.Paystub = "Paid " + views.Date(sh.PayDate)
			if sh.PeriodDays > 0 {
				sv.Paystub += ", for " + shortDate(sh.PeriodStart) + " – " + shortDate(sh.PeriodEnd)
				sv.Days = fmt.Sprintf("%d of %d", sh.DaysInMonth, sh.PeriodDays)
			} else {
				sv.Paystub += " (pay period not reported: counted in the month paid)"
				sv.Days = "–"
			}
			if sh.HoursKnown {
				sv.Hours = hours(sh.Hours)
			} else {
				sv.Hours = "Not reported"
			}
			v.Shares = append(v.Shares, sv)
		}
	}
	v.Empty = empty
	switch {
	case mc.BySeasonal:
		v.ResultWhy = "Met only on the seasonal-worker average below: it applies if the member is a seasonal worker."
	case mc.Result == engagement.Met:
		v.ResultWhy = oneOrMany(len(mc.Months), "The month meets", "Every month meets") + " the hours test, the income test or both."
	case mc.Result == engagement.NotMet:
		for _, m := range mc.Months {
			if m.Result == engagement.NotMet {
				v.ResultWhy = m.Month.String() + " meets neither test, and the pay data covers the whole month."
				break
			}
		}
	default:
		for _, m := range mc.Months {
			if m.Result == engagement.NotEnoughData {
				v.ResultWhy = "The pay data does not cover all of " + m.Month.String() + ", and what it covers meets neither test yet."
				break
			}
		}
	}
	// The seasonal average matters only when the months alone do not meet
	// the requirement.
	if se := mc.Seasonal; se != nil && (mc.BySeasonal || mc.Result != engagement.Met) {
		span := se.From.String() + " to " + se.To.String()
		switch se.Result {
		case engagement.Met:
			v.Seasonal = fmt.Sprintf("Seasonal workers: average monthly income from %s is %s, which meets the %s income test.", span, money(se.Average), money(s.IncomeCents()))
		case engagement.NotMet:
			v.Seasonal = fmt.Sprintf("Seasonal workers: average monthly income from %s is %s, below the %s income test.", span, money(se.Average), money(s.IncomeCents()))
		default:
			v.Seasonal = fmt.Sprintf("Seasonal workers: the pay data does not cover all of %s, so the six-month average (%s so far) cannot be judged.", span, money(se.Average))
		}
	}
	if len(mc.Sources) == 1 {
		v.Sources = "From the " + mc.Sources[0] + ". Only the jobs in the report count."
	} else {
		v.Sources = fmt.Sprintf("Combines %d income reports for this member: %s. Only the jobs in these reports count.", len(mc.Sources), strings.Join(mc.Sources, "; "))
	}
	if mc.Duplicates > 0 {
		v.Duplicates = oneOrMany(mc.Duplicates, "1 paystub was in more than one report and counts once.",
			fmt.Sprintf("%d paystubs were in more than one report and count once.", mc.Duplicates))
	}
	return v
}

// oneOrMany picks the words for one or for many.
func oneOrMany(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// reportEngagement adds the member's community engagement check to a report
// page when the report is a readable income report.
func (h *Handler) reportEngagement(ctx context.Context, v *views.ReportView, cs *store.Case, recs []*store.Report) error {
	income := false
	for _, rec := range recs {
		income = income || (rec.Kind == string(providers.ReportIncome) && !rec.Purged)
	}
	if !income {
		return nil
	}
	_, checks, ok, err := h.caseEngagement(ctx, v.Order.AgencyID, cs)
	if err != nil || !ok {
		return err
	}
	if mc := checks[v.Order.MemberID]; mc != nil {
		ev := engagementView(mc)
		ev.PDFURL = v.EngagementPDFURL()
		v.Engagement = &ev
	}
	return nil
}

// parseDollars reads an amount typed in dollars ("$1,250", "7.25") as
// cents; ok is false for anything else or a negative amount.
func parseDollars(s string) (cents int64, ok bool) {
	s = strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(s), "$"), ",", "")
	d, err := strconv.ParseFloat(s, 64)
	if err != nil || d < 0 || math.IsInf(d, 0) || math.IsNaN(d) {
		return 0, false
	}
	return int64(math.Round(d * 100)), true
}

// engagementForm shows the agency's settings in the settings form.
func engagementForm(s engagement.Settings) views.EngagementForm {
	return views.EngagementForm{Shown: s.Shown, Seasonal: s.SeasonalAverage, Hours: strconv.Itoa(s.HoursPerMonth),
		Rate: fmt.Sprintf("%d.%02d", s.RateCents/100, s.RateCents%100), LookbackApplication: strconv.Itoa(s.LookbackApplication),
		LookbackRenewal: strconv.Itoa(s.LookbackRenewal)}
}

// engagementSettings reads the settings form; a value that is not a number
// becomes one Validate refuses.
func engagementSettings(f views.EngagementForm) engagement.Settings {
	num := func(s string) int {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return -1
		}
		return n
	}
	rate, ok := parseDollars(f.Rate)
	if !ok {
		rate = -1
	}
	return engagement.Settings{Shown: f.Shown, SeasonalAverage: f.Seasonal, HoursPerMonth: num(f.Hours), RateCents: rate,
		LookbackApplication: num(f.LookbackApplication), LookbackRenewal: num(f.LookbackRenewal)}
}

// engagementFilter keeps a case list filter value only if it names a result.
func engagementFilter(v string) string {
	for _, r := range engagement.Results {
		if r.Value == v {
			return v
		}
	}
	return ""
}

// renewalsEngagement is each due member's result on the renewals page (by
// member id), for the Medicaid cases; nil when the agency hides the check.
func (h *Handler) renewalsEngagement(ctx context.Context, agencyID int64, cases []*store.DueCase) (map[int64]views.EngagementResult, error) {
	set, err := h.store.EngagementSettings(ctx, agencyID)
	if err != nil || !set.Shown {
		return nil, err
	}
	out := map[int64]views.EngagementResult{}
	for _, dc := range cases {
		if dc.Case.Program != "medicaid" {
			continue
		}
		checks, err := h.casesEngagement(ctx, agencyID, set, dc.Case.ID)
		if err != nil {
			return nil, err
		}
		for id, mc := range checks {
			out[id] = engagementResult(mc)
		}
	}
	return out, nil
}

// printKey marks a report request as the printable page.
const printKey = "report_print"

// reportPrint is the report's printable page: the same report (and
// community engagement check), audited as a view, without the navigation.
func (h *Handler) reportPrint(c echo.Context) error {
	c.Set(printKey, true)
	return h.reportShow(c)
}

// engagementPDF is the portal's own PDF of a member's community engagement
// check (the provider's report PDF is passed through as the provider made
// it). Audited like a report PDF.
func (h *Handler) engagementPDF(c echo.Context) error {
	ctx := c.Request().Context()
	o, err := h.caseOrder(c)
	if err != nil {
		return err
	}
	cs, err := h.store.Case(ctx, o.AgencyID, o.CaseID)
	if err != nil {
		return err
	}
	_, checks, ok, err := h.caseEngagement(ctx, o.AgencyID, cs)
	if err != nil {
		return err
	}
	mc := checks[o.MemberID]
	if !ok || mc == nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	pdf, err := views.EngagementPDF(views.EngagementPDFHead{Agency: currentUser(c).AgencyName, CaseNumber: cs.Number,
		Member: o.MemberName, Generated: h.store.Now().In(h.cfg.Zone).Format("Jan 2, 2006, 3:04 PM")}, engagementView(mc))
	if err != nil {
		return err
	}
	if err := h.audit(c, store.AuditReportPDF, o.CaseID, o.MemberID, fmt.Sprintf("order %d engagement", o.ID)); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="engagement-%s.pdf"`, o.Reference))
	return c.Blob(http.StatusOK, "application/pdf", pdf)
}

// sendEngagement writes the case page's community engagement rows to the
// live stream, so a member's result appears when their report arrives. Only
// for a user who may read reports, and only where the page shows the check.
func (h *Handler) sendEngagement(ctx context.Context, w io.Writer, agencyID int64, cs *store.Case) error {
	if u, _ := ctx.Value(userKey).(*store.User); !u.Can(store.PermReports) {
		return nil
	}
	_, checks, ok, err := h.caseEngagement(ctx, agencyID, cs)
	if err != nil || !ok {
		return err
	}
	members, err := h.store.Members(ctx, agencyID, cs.ID)
	if err != nil || len(members) == 0 {
		return err
	}
	return writeEvent(ctx, w, "case-engagement", views.CaseEngagementRows(*caseEngagementView(members, checks)))
}

// engagementStore is what engagement.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type engagementStore interface {
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	EngagementSettings(ctx context.Context, agencyID int64) (engagement.Settings, error)
	IncomeReports(ctx context.Context, agencyID, caseID int64) ([]*store.MemberReport, error)
	Members(ctx context.Context, agencyID, caseID int64) ([]*store.Member, error)
	Now() time.Time
}

package handlers

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"caseverify/store"
	"caseverify/views"
)

// dashboardDays is the default period: the last 30 days, today included.
const dashboardDays = 30

// dashboardView reads the filters from the URL (dates are days in the
// agency's zone, both included; days is the waiting threshold) and builds
// the dashboard. A filter it cannot read falls back to its default and
// says so.
func (h *Handler) dashboardView(c echo.Context) (views.DashboardView, error) {
	today := time.Now().In(h.cfg.Zone)
	v := views.DashboardView{To: today.Format(time.DateOnly), From: today.AddDate(0, 0, 1-dashboardDays).Format(time.DateOnly),
		WaitingDays: 7, ProviderLabels: map[string]string{}}
	from, errFrom := time.ParseInLocation(time.DateOnly, c.QueryParam("from"), h.cfg.Zone)
	to, errTo := time.ParseInLocation(time.DateOnly, c.QueryParam("to"), h.cfg.Zone)
	switch {
	case c.QueryParam("from") == "" && c.QueryParam("to") == "":
	case errFrom != nil || errTo != nil:
		v.Problem = "The dates could not be read, so the last 30 days are shown."
	case to.Before(from):
		v.Problem = "The period ends before it starts, so the last 30 days are shown."
	default:
		v.From, v.To = from.Format(time.DateOnly), to.Format(time.DateOnly)
	}
	if d := c.QueryParam("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 365 {
			v.Problem += " Days waiting must be a number from 1 to 365, so 7 is used."
		} else {
			v.WaitingDays = n
		}
	}
	from, _ = time.ParseInLocation(time.DateOnly, v.From, h.cfg.Zone)
	to, _ = time.ParseInLocation(time.DateOnly, v.To, h.cfg.Zone)
	for _, p := range h.verify.Providers() {
		v.ProviderLabels[p.Name] = p.Label
	}
	var err error
	v.D, err = h.store.Dashboard(c.Request().Context(), currentUser(c).AgencyID,
		store.DashboardFilter{From: from, To: to.AddDate(0, 0, 1), WaitingDays: v.WaitingDays})
	return v, err
}

// dashboard is the supervisor dashboard (supervisors and administrators).
func (h *Handler) dashboard(c echo.Context) error {
	v, err := h.dashboardView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.DashboardPage(v))
}

// dashboardExport is one of the dashboard's tables as CSV, with the same
// filters. Cells a spreadsheet would run as formulas are neutralised, and
// the export is audited (the waiting list names applicants).
func (h *Handler) dashboardExport(c echo.Context) error {
	v, err := h.dashboardView(c)
	if err != nil {
		return err
	}
	t, ok := v.Table(c.QueryParam("table"))
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := h.audit(c, store.AuditExport, 0, 0, "dashboard "+t.ID); err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.Header().Set(echo.HeaderContentDisposition, `attachment; filename="dashboard-`+t.ID+`-`+v.From+`-to-`+v.To+`.csv"`)
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	row := make([]string, 0, len(t.Header))
	for _, h := range t.Header {
		row = append(row, views.CSVCell(h))
	}
	_ = cw.Write(row)
	for _, r := range t.Rows {
		row = row[:0]
		for _, cell := range r {
			row = append(row, views.CSVCell(cell.Text))
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// dashboardStore is what dashboard.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type dashboardStore interface {
	Dashboard(ctx context.Context, agencyID int64, f store.DashboardFilter) (*store.Dashboard, error)
}

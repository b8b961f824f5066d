package views

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"caseverify/store"
)

// DashboardView is the supervisor dashboard's state: the filters (as typed
// and as applied) and the store's figures.
type DashboardView struct {
	From, To    string // YYYY-MM-DD, days in the agency's zone, both included
	WaitingDays int
	Problem     string // a filter that could not be read, in words
	D           *store.Dashboard
	// ProviderLabels names the providers ("truv" → "Truv").
	ProviderLabels map[string]string
}

// Query is the filters as a URL query, for the export links.
func (v DashboardView) Query() url.Values {
	return url.Values{"from": {v.From}, "to": {v.To}, "days": {strconv.Itoa(v.WaitingDays)}}
}

// ExportURL is the CSV export of one table with the same filters.
func (v DashboardView) ExportURL(table string) string {
	q := v.Query()
	q.Set("table", table)
	return "/dashboard/export?" + q.Encode()
}

// DashCell is one cell of a dashboard table; Href makes it a link on the
// page (the CSV has the text only).
type DashCell struct {
	Text, Href string
}

// DashTable is one of the dashboard's tables: the page shows it beside its
// chart, and the CSV export writes the same rows.
type DashTable struct {
	ID      string // the export's name: totals, provider, channel, …
	Title   string
	Caption string
	Header  []string
	Rows    [][]DashCell
	Empty   string // what to say when there are no rows
}

// Tables are the dashboard's tables in page order.
func (v DashboardView) Tables() []DashTable {
	d := v.D
	counts := []string{"Sent", "Opened", "Completed", "Expired", "Completion rate"}
	countCells := func(c store.DashCounts) []DashCell {
		return cells(strconv.Itoa(c.Sent), strconv.Itoa(c.Opened), strconv.Itoa(c.Completed), strconv.Itoa(c.Expired),
			Percent(c.CompletionRate(), c.Sent))
	}
	breakdown := func(id, title, first string, groups []store.DashGroup, label func(string) string) DashTable {
		t := DashTable{ID: id, Title: title, Caption: title + ", orders sent " + v.period(),
			Header: append([]string{first}, counts...), Empty: "No orders were sent in this period."}
		for _, g := range groups {
			t.Rows = append(t.Rows, append(cells(label(g.Key)), countCells(g.DashCounts)...))
		}
		return t
	}
	totals := DashTable{ID: "totals", Title: "Orders sent", Caption: "Orders sent " + v.period() + " and what became of them",
		Header: counts, Rows: [][]DashCell{countCells(d.Totals)}}
	times := DashTable{ID: "times", Title: "Time to open and to complete", Caption: "Time from sending, orders sent " + v.period(),
		Header: []string{"From sending to", "Orders", "Median", "90th percentile"},
		Rows: [][]DashCell{
			cells("First open", strconv.Itoa(d.ToOpen.N), Duration(d.ToOpen.Median, d.ToOpen.N), Duration(d.ToOpen.P90, d.ToOpen.N)),
			cells("Completion", strconv.Itoa(d.ToComplete.N), Duration(d.ToComplete.Median, d.ToComplete.N), Duration(d.ToComplete.P90, d.ToComplete.N)),
		}}
	waiting := DashTable{ID: "waiting", Title: "Waiting on the applicant",
		Caption: fmt.Sprintf("Open orders sent more than %s ago, oldest first", Plural(v.WaitingDays, "day", "days")),
		Header:  []string{"Case", "Member", "Provider", "Status", "Sent", "Days waiting", "Worker"},
		Empty:   "No order has waited that long."}
	now := time.Now()
	for _, w := range d.Waiting {
		waiting.Rows = append(waiting.Rows, []DashCell{
			{Text: w.CaseNumber, Href: fmt.Sprintf("/cases/%d", w.CaseID)},
			{Text: w.FirstName + " " + w.LastName, Href: fmt.Sprintf("/cases/%d/orders/%d", w.CaseID, w.OrderID)},
			{Text: v.providerLabel(w.Provider)}, {Text: StatusLabel(w.Status)}, {Text: w.SentAt.Format(time.DateOnly)},
			{Text: strconv.Itoa(int(now.Sub(w.SentAt).Hours() / 24))}, {Text: cmpOr(w.WorkerName, "Nobody")},
		})
	}
	workload := DashTable{ID: "workload", Title: "Workload by caseworker", Caption: "Each worker's cases and verifications",
		Header: []string{"Worker", "Open cases", "Open verifications", fmt.Sprintf("Waiting over %s", Plural(v.WaitingDays, "day", "days")),
			"Sent in period", "Completed of those"},
		Empty: "No cases yet."}
	for _, w := range d.Workload {
		workload.Rows = append(workload.Rows, cells(cmpOr(w.Name, "No worker assigned"), strconv.Itoa(w.OpenCases),
			strconv.Itoa(w.OpenOrders), strconv.Itoa(w.Waiting), strconv.Itoa(w.Sent), strconv.Itoa(w.Completed)))
	}
	return []DashTable{
		totals, times,
		breakdown("provider", "By provider", "Provider", d.ByProvider, v.providerLabel),
		breakdown("channel", "By channel", "Channel", d.ByChannel, dashChannelLabel),
		breakdown("language", "By language", "Language", d.ByLanguage, LanguageLabel),
		breakdown("reminders", "By number of reminders", "Reminders", d.ByReminders, func(k string) string { return k }),
		waiting, workload,
	}
}

// Table returns the table with that id, or false.
func (v DashboardView) Table(id string) (DashTable, bool) {
	for _, t := range v.Tables() {
		if t.ID == id {
			return t, true
		}
	}
	return DashTable{}, false
}

func (v DashboardView) period() string {
	if v.From == v.To {
		return "on " + Date(v.From)
	}
	return "from " + Date(v.From) + " to " + Date(v.To)
}

func (v DashboardView) providerLabel(name string) string {
	if l := v.ProviderLabels[name]; l != "" {
		return l
	}
	return name
}

// dashChannelLabel names the channel an order's link first went by.
func dashChannelLabel(c string) string {
	switch c {
	case "copy":
		return "Read out"
	case "":
		return "Not sent"
	}
	return ChannelLabel(c)
}

func cells(texts ...string) []DashCell {
	out := make([]DashCell, len(texts))
	for i, t := range texts {
		out[i] = DashCell{Text: t}
	}
	return out
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Percent is a share as a whole percentage, or "–" when there was nothing
// to take a share of.
func Percent(share float64, of int) string {
	if of == 0 {
		return "–"
	}
	return strconv.Itoa(int(math.Round(share*100))) + "%"
}

// Duration is a turnaround in words a supervisor reads at a glance
// ("45 min", "3.5 h", "2.1 days"), or "–" over no orders.
func Duration(d time.Duration, n int) string {
	switch {
	case n == 0:
		return "–"
	case d < time.Hour:
		return strconv.Itoa(int(d.Round(time.Minute).Minutes())) + " min"
	case d < 48*time.Hour:
		return strconv.FormatFloat(math.Round(d.Hours()*10)/10, 'f', -1, 64) + " h"
	default:
		return strconv.FormatFloat(math.Round(d.Hours()/24*10)/10, 'f', -1, 64) + " days"
	}
}

// CSVCell neutralises a cell a spreadsheet would run as a formula (OWASP
// "CSV injection"): one starting with = + - @, a tab or a carriage return
// gets a leading apostrophe, so it shows as the text it is.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// A chart is drawn server-side as SVG: horizontal bars, each with its
// value written beside it, so the chart reads without colour and the table
// beside it holds the same figures.

// ChartBar is one bar.
type ChartBar struct {
	Group string  // the row's label ("Truv", "Email")
	Label string  // the value in words, written beside the bar ("12 sent")
	Value float64 // its length, against the chart's largest
	Kind  string  // the series: sent, completed, rate, … (its fill)
}

// Chart is one chart's bars and words.
type Chart struct {
	ID, Title, Desc string
	Bars            []ChartBar
}

// Chart geometry (SVG user units).
const (
	chartWidth    = 420
	chartLabelW   = 120
	chartValueW   = 100
	chartBarH     = 20
	chartBarGap   = 4
	chartGroupGap = 14
)

// BarGeom is a bar placed in the chart: its box, and where its group's
// label and its value are written.
type BarGeom struct {
	ChartBar
	X, Y, W, H   int
	TextY, TextX int
	FirstOfGroup bool
}

// Geometry places the bars: one row per group, its bars under each other.
func (c Chart) Geometry() (bars []BarGeom, height int) {
	var top float64
	for _, b := range c.Bars {
		top = max(top, b.Value)
	}
	y := 0
	for i, b := range c.Bars {
		first := i == 0 || c.Bars[i-1].Group != b.Group
		if first && i > 0 {
			y += chartGroupGap
		}
		w := 0
		if top > 0 {
			w = int(math.Round(b.Value / top * (chartWidth - chartLabelW - chartValueW)))
		}
		if b.Value > 0 {
			w = max(w, 2)
		}
		bars = append(bars, BarGeom{ChartBar: b, X: chartLabelW, Y: y, W: w, H: chartBarH, TextY: y + chartBarH - 5,
			TextX: chartLabelW + w + 6, FirstOfGroup: first})
		y += chartBarH + chartBarGap
	}
	return bars, max(y, chartBarH)
}

// ViewBox is the SVG viewBox for a chart of that height.
func ViewBox(height int) string { return fmt.Sprintf("0 0 %d %d", chartWidth, height) }

// Charts are the dashboard's charts, by the id of the table they draw.
func (v DashboardView) Charts() map[string]Chart {
	d := v.D
	sentCompleted := func(id, title, what string, groups []store.DashGroup, label func(string) string) Chart {
		c := Chart{ID: id, Title: title, Desc: "Orders sent and completed " + what + ", " + v.period() + ". The table beside it has the same figures."}
		for _, g := range groups {
			l := label(g.Key)
			c.Bars = append(c.Bars, ChartBar{Group: l, Label: fmt.Sprintf("%d sent", g.Sent), Value: float64(g.Sent), Kind: "sent"},
				ChartBar{Group: l, Label: fmt.Sprintf("%d completed", g.Completed), Value: float64(g.Completed), Kind: "completed"})
		}
		return c
	}
	rate := func(id, title, what string, groups []store.DashGroup, label func(string) string) Chart {
		c := Chart{ID: id, Title: title, Desc: "Share of the orders sent " + v.period() + " that completed, " + what + ". The table beside it has the same figures."}
		for _, g := range groups {
			c.Bars = append(c.Bars, ChartBar{Group: label(g.Key), Label: Percent(g.CompletionRate(), g.Sent) + " of " + strconv.Itoa(g.Sent),
				Value: g.CompletionRate(), Kind: "rate"})
		}
		return c
	}
	t := d.Totals
	totals := Chart{ID: "totals", Title: "What became of the orders sent",
		Desc: "Orders sent " + v.period() + ": how many were opened, completed and expired. The table beside it has the same figures.",
		Bars: []ChartBar{
			{Group: "Sent", Label: strconv.Itoa(t.Sent), Value: float64(t.Sent), Kind: "sent"},
			{Group: "Opened", Label: strconv.Itoa(t.Opened), Value: float64(t.Opened), Kind: "opened"},
			{Group: "Completed", Label: strconv.Itoa(t.Completed), Value: float64(t.Completed), Kind: "completed"},
			{Group: "Expired", Label: strconv.Itoa(t.Expired), Value: float64(t.Expired), Kind: "expired"},
		}}
	times := Chart{ID: "times", Title: "Time from sending", Desc: "Median and 90th percentile of the time from sending to the first open and to completion, in hours. The table beside it has the same figures."}
	for _, x := range []struct {
		group string
		d     store.DashDurations
	}{{"First open", d.ToOpen}, {"Completion", d.ToComplete}} {
		times.Bars = append(times.Bars,
			ChartBar{Group: x.group, Label: "median " + Duration(x.d.Median, x.d.N), Value: x.d.Median.Hours(), Kind: "median"},
			ChartBar{Group: x.group, Label: "90% " + Duration(x.d.P90, x.d.N), Value: x.d.P90.Hours(), Kind: "p90"})
	}
	workload := Chart{ID: "workload", Title: "Open verifications by worker", Desc: "Each worker's open verifications now, and how many of them have waited too long. The table beside it has the same figures."}
	for _, w := range d.Workload {
		l := cmpOr(w.Name, "No worker assigned")
		workload.Bars = append(workload.Bars, ChartBar{Group: l, Label: fmt.Sprintf("%d open", w.OpenOrders), Value: float64(w.OpenOrders), Kind: "sent"},
			ChartBar{Group: l, Label: fmt.Sprintf("%d waiting", w.Waiting), Value: float64(w.Waiting), Kind: "expired"})
	}
	return map[string]Chart{
		"totals": totals, "times": times,
		"provider":  sentCompleted("provider", "Sent and completed by provider", "by provider", d.ByProvider, v.providerLabel),
		"channel":   rate("channel", "Completion rate by channel", "by the channel the link first went by", d.ByChannel, dashChannelLabel),
		"language":  sentCompleted("language", "Sent and completed by language", "by the member's language", d.ByLanguage, LanguageLabel),
		"reminders": rate("reminders", "Completion rate by number of reminders", "by how many reminders were sent", d.ByReminders, func(k string) string { return Plural(atoi(k), "reminder", "reminders") }),
		"workload":  workload,
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

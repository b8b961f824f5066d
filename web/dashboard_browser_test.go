package main

import (
	"context"
	"encoding/csv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"caseverify/store"
)

// seedClock is the seeding store's clock: each step happens "at" a time.
type seedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *seedClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *seedClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// seedDashboard writes known orders into the running portal's database
// (the demo agency, assigned to the demo caseworker), each step at a chosen
// time, and one order of another agency that must not count.
func seedDashboard(t *testing.T, p *portal) {
	t.Helper()
	ctx := context.Background()
	clk := &seedClock{t: time.Now()}
	st := p.openStore(t, store.Options{Now: clk.Now})
	demo, worker := demoWorker(t, st)
	other, err := st.CreateAgency(ctx, "Elsewhere County")
	if err != nil {
		t.Fatal(err)
	}
	otherUser, err := st.CreateUser(ctx, other.ID, store.NewUser{Email: "w@elsewhere.gov", Name: "Other Worker",
		Role: store.RoleCaseworker, Password: "a long passphrase nobody guesses"})
	if err != nil {
		t.Fatal(err)
	}
	day := func(n int) time.Time { return time.Now().UTC().Truncate(time.Hour).AddDate(0, 0, -n) }
	type seeded struct {
		agency              int64
		number, first, lang string
		provider, channel   string
		sent                time.Time
		opened, done        time.Duration // after sending; 0: never
		final               store.OrderStatus
		reminders           int
	}
	for _, o := range []seeded{
		{demo.ID, "DB-1", "Ana", "en", "truv", "email", day(10), time.Hour, 5 * time.Hour, store.StatusCompleted, 0},
		{demo.ID, "DB-2", "Beto", "es", "truv", "sms", day(9), 2 * time.Hour, 25 * time.Hour, store.StatusCompleted, 1},
		{demo.ID, "DB-3", "Cleo", "en", "truuth", "email", day(8), 0, 8 * 24 * time.Hour, store.StatusExpired, 2},
		{demo.ID, "DB-4", "=SUM(1+1)", "en", "truv", "copy", day(12), 30 * time.Minute, 0, store.StatusInProgress, 0},
		{demo.ID, "DB-5", "Eli", "es", "truuth", "qr", day(3), 10 * time.Minute, 0, "", 0},
		{other.ID, "XX-1", "Zed", "en", "truv", "email", day(11), time.Hour, 2 * time.Hour, store.StatusCompleted, 0},
	} {
		clk.Set(o.sent)
		assigned := worker.ID
		if o.agency != demo.ID {
			assigned = otherUser.ID
		}
		c, err := st.CreateCase(ctx, o.agency, assigned, store.CaseInput{Number: o.number, Program: "snap", AssignedUserID: assigned})
		if err != nil {
			t.Fatal(err)
		}
		m, err := st.AddMember(ctx, o.agency, c.ID, store.MemberInput{FirstName: o.first, LastName: "Seeded", Relationship: "self", Language: o.lang})
		if err != nil {
			t.Fatal(err)
		}
		ord, err := st.CreateOrder(ctx, o.agency, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
			Provider: o.provider, Products: []string{"income"}, Notify: "agency"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AttachProviderOrder(ctx, o.agency, ord.ID, store.ProviderOrder{OrderID: "seed-" + ord.Reference,
			Link: "https://example.test/" + ord.Reference}, "created"); err != nil {
			t.Fatal(err)
		}
		code := store.NewLinkCode()
		if _, err := st.AddDelivery(ctx, o.agency, store.Delivery{OrderID: ord.ID, Channel: o.channel, Language: o.lang, Kind: "first",
			Result: "sent", LinkCode: code}, "Link sent."); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.ApplyUpdate(ctx, o.agency, ord.ID, store.StatusUpdate{Status: store.StatusSent, Source: "system"}); err != nil {
			t.Fatal(err)
		}
		for i := range o.reminders {
			clk.Set(o.sent.Add(time.Duration(i+1) * 24 * time.Hour))
			if _, err := st.AddDelivery(ctx, o.agency, store.Delivery{OrderID: ord.ID, Channel: o.channel, Language: o.lang,
				Kind: "reminder", Result: "sent"}, "Reminder sent."); err != nil {
				t.Fatal(err)
			}
		}
		if o.opened > 0 {
			clk.Set(o.sent.Add(o.opened))
			if _, err := st.OpenLink(ctx, code); err != nil {
				t.Fatal(err)
			}
		}
		if o.final != "" {
			clk.Set(o.sent.Add(max(o.done, o.opened+time.Minute)))
			if _, _, err := st.ApplyUpdate(ctx, o.agency, ord.ID, store.StatusUpdate{Status: o.final, Source: "webhook"}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Issue 20: the supervisor dashboard over seeded orders shows the counts,
// turnaround, rates by channel and reminders, the waiting list with links
// and the workload, each chart an accessible SVG beside its table; the
// filters live in the URL; a CSV export neutralises formulas; caseworkers
// do not get it. axe finds nothing.
func TestBrowser_Dashboard(t *testing.T) {
	p := startPortal(t, nil)
	seedDashboard(t, p)
	ctx := newBrowser(t)

	signInCaseworker(t, ctx, p.URL)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('a[href="/dashboard"]').length`)); n != 0 {
		t.Error("a caseworker's navigation offers the dashboard")
	}
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))

	signIn(t, ctx, p.URL, "supervisor@demo.caseverify.test", "demo-supervisor-2026")
	do(t, ctx, "open the dashboard", chromedp.Click(chromedp.CSS(`nav a[href="/dashboard"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=dash-totals]`)))
	checkA11y(t, ctx, "dashboard")
	screenshot(t, ctx, "01_dashboard")

	rows := func(table string) [][]string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`[...document.querySelectorAll('[data-testid=table-`+table+`] tbody tr')]
			.map(r => [...r.children].map(c => c.textContent.trim()))`))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := func(table string, exp [][]string) {
		t.Helper()
		got := rows(table)
		if len(got) != len(exp) {
			t.Errorf("%s: %q, want %q", table, got, exp)
			return
		}
		for i := range exp {
			if strings.Join(got[i], "|") != strings.Join(exp[i], "|") {
				t.Errorf("%s row %d: %q, want %q", table, i, got[i], exp[i])
			}
		}
	}
	// Five orders of this agency in the last 30 days: four opened (three
	// tracked opens, one in progress), two completed, one expired.
	want("totals", [][]string{{"5", "4", "2", "1", "40%"}})
	// Opens after 10 min, 30 min, 1 h, 2 h; completions after 5 h, 25 h.
	want("times", [][]string{{"First open", "4", "30 min", "2 h"}, {"Completion", "2", "5 h", "25 h"}})
	want("provider", [][]string{{"Truv", "3", "3", "2", "0", "67%"}, {"Truuth", "2", "1", "0", "1", "0%"}})
	want("channel", [][]string{{"Email", "2", "1", "1", "1", "50%"}, {"Read out", "1", "1", "0", "0", "0%"},
		{"QR code", "1", "1", "0", "0", "0%"}, {"Text message", "1", "1", "1", "0", "100%"}})
	want("language", [][]string{{"English", "3", "2", "1", "1", "33%"}, {"Spanish (Español)", "2", "2", "1", "0", "50%"}})
	want("reminders", [][]string{{"0", "3", "3", "1", "0", "33%"}, {"1", "1", "1", "1", "0", "100%"}, {"2", "1", "0", "0", "1", "0%"}})
	waiting := rows("waiting")
	if len(waiting) != 1 || waiting[0][0] != "DB-4" || waiting[0][1] != "=SUM(1+1) Seeded" || waiting[0][3] != "In progress" ||
		waiting[0][5] != "12" || waiting[0][6] != "Casey Worker" {
		t.Errorf("waiting: %q", waiting)
	}
	// Two cases still open (DB-4, DB-5), with one verification each.
	want("workload", [][]string{{"Casey Worker", "2", "2", "1", "5", "2"}})
	for _, id := range []string{"totals", "times", "provider", "channel", "language", "reminders", "workload"} {
		svg, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => { const s = document.querySelector('[data-testid=chart-`+id+`] svg');
			return s ? {role: s.getAttribute('role'), title: s.querySelector('title')?.textContent, desc: s.querySelector('desc')?.textContent,
				texts: s.querySelectorAll('text').length} : {} })()`))
		if err != nil || svg["role"] != "img" || svg["title"] == "" || svg["desc"] == "" || svg["texts"].(float64) < 2 {
			t.Errorf("chart %s: %v %v", id, svg, err)
		}
	}
	// The waiting order links to its case.
	if href, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=table-waiting] tbody a').getAttribute('href')`)); !strings.HasPrefix(href, "/cases/") {
		t.Errorf("waiting link: %q", href)
	}

	// Filters in the URL: a period before the oldest order shows nothing,
	// and days=11 leaves the 12-day-old order waiting, days=13 not.
	old := time.Now().AddDate(0, 0, -60).Format(time.DateOnly)
	do(t, ctx, "an empty period", chromedp.Navigate(p.URL+"/dashboard?from="+old+"&to="+old+"&days=13"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=dash-totals]`)))
	want("totals", [][]string{{"0", "0", "0", "0", "–"}})
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid=table-waiting] tbody tr').length`)); n != 0 {
		t.Errorf("waiting over 13 days: %d rows", n)
	}
	checkA11y(t, ctx, "dashboard, empty period")
	do(t, ctx, "submit the filter form", chromedp.SetValue(chromedp.CSS(`#from`), time.Now().AddDate(0, 0, -10).Format(time.DateOnly)),
		chromedp.SetValue(chromedp.CSS(`#to`), time.Now().Format(time.DateOnly)), chromedp.SetValue(chromedp.CSS(`#days`), "11"),
		chromedp.Submit(chromedp.CSS(`[data-testid=dashboard-filter]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=dash-totals]`)))
	loc, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.search`))
	if !strings.Contains(loc, "days=11") || !strings.Contains(loc, "from=") {
		t.Errorf("filters not in the URL: %q", loc)
	}
	want("totals", [][]string{{"4", "3", "2", "1", "50%"}}) // DB-1 (10 days ago), DB-2, DB-3, DB-5
	if got := rows("waiting"); len(got) != 1 {
		t.Errorf("waiting over 11 days: %q", got)
	}
	screenshot(t, ctx, "02_dashboard_filtered")

	// The CSV export, fetched by the page with the supervisor's session.
	fetchCSV := func(table string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`(async () => {
			const r = await fetch(document.querySelector('[data-testid=export-`+table+`]').getAttribute('href'));
			return {status: String(r.status), type: r.headers.get('Content-Type') || '', disposition: r.headers.get('Content-Disposition') || '',
				body: await r.text()};
		})()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if out["status"] != "200" || !strings.HasPrefix(out["type"], "text/csv") || !strings.Contains(out["disposition"], "attachment") {
			t.Fatalf("export %s: %v", table, out)
		}
		return out["body"]
	}
	body := fetchCSV("waiting")
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 2 || recs[0][0] != "Case" || recs[1][0] != "DB-4" {
		t.Fatalf("export: %q %v", recs, err)
	}
	if recs[1][1] != "'=SUM(1+1) Seeded" {
		t.Errorf("the member cell is %q: a formula must be neutralised with a leading '", recs[1][1])
	}
	body2 := fetchCSV("channel")
	if !strings.Contains(body2, "Channel,Sent,Opened,Completed,Expired,Completion rate\n") || !strings.Contains(body2, "Email,2,1,1,1,50%\n") || !strings.Contains(body2, "Text message,1,1,1,0,100%\n") {
		t.Errorf("channel export:\n%s", body2)
	}
	do(t, ctx, "audit shows the export", chromedp.Navigate(p.URL+"/audit"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=audit-table]`)))
	if got := textOf(t, ctx, `[data-testid=audit-table]`); !strings.Contains(got, "Exported data") {
		t.Errorf("the export is not in the audit log:\n%s", got)
	}

	// An administrator has it too, in a navigation that still fits.
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid=sign-out]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login-form]`)))
	signIn(t, ctx, p.URL, "admin@demo.caseverify.test", "demo-admin-2026")
	do(t, ctx, "the administrator's dashboard", chromedp.Click(chromedp.CSS(`nav a[href="/dashboard"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=dash-totals]`)))
	want("totals", [][]string{{"5", "4", "2", "1", "40%"}})
	screenshot(t, ctx, "03_admin_dashboard")
}

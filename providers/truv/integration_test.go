package truv

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/providers"
)

// parsedUpdates authenticates every recorded delivery with the adapter and
// returns the parsed updates, failing on any bad one.
func parsedUpdates(t *testing.T, s *stack) []providers.Update {
	t.Helper()
	var out []providers.Update
	for _, d := range s.rec.deliveries() {
		if err := s.client.Authenticate(d); err != nil {
			t.Fatalf("emulator webhook does not authenticate: %v", err)
		}
		ups, err := s.client.Parse(d)
		if err != nil {
			t.Fatalf("emulator webhook does not parse: %v", err)
		}
		out = append(out, ups...)
	}
	return out
}

func hasEvent(s *stack, t *testing.T, orderID, eventType, status string) bool {
	for _, ev := range s.rec.events(t) {
		if string(ev.OrderID) == orderID && ev.EventType == eventType && string(ev.Status) == status {
			return true
		}
	}
	return false
}

// The whole flow: create, link, the applicant finishes Bridge, webhooks
// arrive signed and in order, status, report and PDF.
func TestAdapterAgainstEmulator_IncomeFlow(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	req := orderRequest("REF-100")
	req.ProviderNotifies = true // Truv emails the link, so the order is "sent"
	o, err := s.client.CreateOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if o.OrderID == "" || o.UserID == "" || o.Status != providers.StatusSent || len(o.Links) != 1 {
		t.Fatalf("order = %+v", o)
	}
	link := o.Links[0]
	if !strings.HasPrefix(link.URL, s.base+"/bridge?bridge_token=") || !strings.Contains(link.URL, "order_group_id=") ||
		!strings.HasPrefix(link.ShortURL, s.base+"/s/") || link.ApplicantRef != "m1" {
		t.Errorf("link = %+v", link)
	}
	if want := s.clock.Now().Add(72 * time.Hour); !o.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", o.ExpiresAt, want)
	}

	if err := s.em.Complete(o.OrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "order-status-updated completed", func() bool {
		return hasEvent(s, t, o.OrderID, EventOrderStatusUpdated, "completed")
	})

	// Every delivery authenticates with the adapter, and the sequence is
	// the real one: created, then the task, then the suborder result.
	ups := parsedUpdates(t, s)
	var seq []string
	for _, u := range ups {
		seq = append(seq, u.RawEvent+":"+u.RawStatus)
		// Task events carry no order_id, as Truv's own (issue 14): they
		// name the order's user and link instead.
		if u.RawEvent == EventTaskStatusUpdated {
			if u.OrderID != "" || u.Also.User != o.UserID || u.Also.Link == "" || u.Also.Task == "" {
				t.Errorf("task update %+v, want no order id and the user %q, a link and a task", u, o.UserID)
			}
		} else if u.OrderID != o.OrderID {
			t.Errorf("update for order %q, want %q", u.OrderID, o.OrderID)
		}
	}
	want := []string{"order-created:pending", "task-status-updated:login", "task-status-updated:parse",
		"task-status-updated:full_parse", "task-status-updated:done", "order-status-updated:completed"}
	if !slices.Equal(seq, want) {
		t.Fatalf("sequence %v, want %v", seq, want)
	}
	last := ups[len(ups)-1]
	if last.Status != providers.StatusCompleted || !last.ReportReady || last.SubID == "" {
		t.Errorf("last update = %+v", last)
	}
	for _, u := range ups[1:5] {
		if u.SubID != last.SubID {
			t.Errorf("task update for sub %q, want %q", u.SubID, last.SubID)
		}
	}
	d := s.rec.deliveries()[0]
	if d.Header.Get("User-Agent") != "Truv-Webhook-Service/2.0" || d.Header.Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(d.Header.Get("X-Webhook-Sign"), "v1=") {
		t.Errorf("webhook headers: %v", d.Header)
	}

	ref := providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}
	st, err := s.client.FetchStatus(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].SubID != last.SubID || st[0].Status != providers.StatusCompleted || !st[0].ReportReady ||
		st[1].SubID != "" || st[1].Status != providers.StatusCompleted || st[0].RawEvent != RawEventPoll {
		t.Fatalf("status = %+v", st)
	}
	if !strings.Contains(st[0].Detail, "Acme Health Services") {
		t.Errorf("sub detail %q lacks the employer", st[0].Detail)
	}

	rep, err := s.client.FetchReport(ctx, ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != providers.ReportIncome || rep.ReportID == "" || len(rep.Raw) == 0 || len(rep.Employments) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	e := rep.Employments[0]
	if e.Employer != "Acme Health Services" || e.JobTitle != "Care Coordinator" || !e.Active || e.StartDate != "2018-06-04" ||
		e.PayRate != 5200000 || e.PayUnit != "yearly" || e.PayFrequency != "biweekly" {
		t.Errorf("employment = %+v", e)
	}
	if len(e.Paystubs) < 6 {
		t.Fatalf("%d paystubs, want 6+", len(e.Paystubs))
	}
	for i, p := range e.Paystubs {
		if p.Gross != 200000 || p.Net != 156000 || p.Hours != 80 || p.PeriodStart == "" || p.PeriodEnd < p.PeriodStart {
			t.Errorf("paystub %d = %+v", i, p)
		}
		if i > 0 && p.PayDate >= e.Paystubs[i-1].PayDate {
			t.Errorf("paystubs not newest first at %d", i)
		}
	}
	if e.Paystubs[0].PayDate > "2025-03-03" {
		t.Errorf("newest paystub %s is after the connection", e.Paystubs[0].PayDate)
	}
	if len(e.AnnualIncome) != 2 || e.AnnualIncome[0].Year != 2025 || e.AnnualIncome[1].Year != 2024 ||
		e.AnnualIncome[1].Gross != 26*200000 {
		t.Errorf("annual income = %+v", e.AnnualIncome)
	}

	pdf, err := s.client.FetchReportPDF(ctx, ref, rep.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("PDF starts with %q", pdf[:8])
	}
}

// TestFetchReport_FirstWebhookSayingReadySucceeds: the first update that
// says the report is ready (the task's "done") lets the portal create and
// read the report right then, as it does, with no 400 "no completed
// connections" (issue 15 item 9: the emulator made the connection only on
// the later order-status-updated).
func TestFetchReport_FirstWebhookSayingReadySucceeds(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	var (
		mu      sync.Mutex
		order   *providers.Order
		fetched []string
		report  *providers.Report
	)
	s.rec.onDelivery = func(d providers.Delivery) {
		ups, err := s.client.Parse(d)
		if err != nil {
			t.Errorf("parse: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, u := range ups {
			if !u.ReportReady || report != nil || order == nil {
				continue
			}
			r, err := s.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID, UserID: order.UserID}, "")
			fetched = append(fetched, u.RawEvent+":"+u.RawStatus)
			if err != nil {
				t.Errorf("fetch on %s:%s: %v", u.RawEvent, u.RawStatus, err)
				continue
			}
			report = r
		}
	}
	o, err := s.client.CreateOrder(ctx, orderRequest("REF-FIRST"))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	order = o
	mu.Unlock()
	if err := s.em.Complete(o.OrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "order-status-updated completed", func() bool {
		return hasEvent(s, t, o.OrderID, EventOrderStatusUpdated, "completed")
	})
	mu.Lock()
	defer mu.Unlock()
	if len(fetched) != 1 || fetched[0] != "task-status-updated:done" || report == nil || len(report.Employments) == 0 {
		t.Fatalf("fetches on %v (report stored: %v); want one successful fetch on the task's done", fetched, report != nil)
	}
}

func TestAdapterAgainstEmulator_AssetsReport(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	o, err := s.client.CreateOrder(ctx, orderRequest("REF-A", providers.ProductAssets))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.em.Complete(o.OrderID, "goodlogin", "goodpassword"); err != nil {
		t.Fatal(err)
	}
	if err := s.em.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ref := providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}
	st, err := s.client.FetchStatus(ctx, ref)
	if err != nil || len(st) != 2 || st[0].Status != providers.StatusCompleted {
		t.Fatalf("status = %+v, %v", st, err)
	}
	rep, err := s.client.FetchReport(ctx, ref, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != providers.ReportAssets || !strings.HasPrefix(rep.ReportID, AssetsReportPrefix) || len(rep.Accounts) != 2 {
		t.Fatalf("report = %+v", rep)
	}
	a := rep.Accounts[0]
	if a.Institution != "Truv Bank" || a.Type != "checking" || a.Mask != "4321" || a.Balance != 234567 ||
		a.AvailableBalance != 230012 || a.BalanceDate != "2025-03-03" {
		t.Errorf("account = %+v", a)
	}
	// The id round-trips into a re-read and the PDF.
	again, err := s.client.FetchReport(ctx, ref, rep.ReportID)
	if err != nil || again.ReportID != rep.ReportID || len(again.Accounts) != 2 {
		t.Errorf("re-read: %+v, %v", again, err)
	}
	pdf, err := s.client.FetchReportPDF(ctx, ref, rep.ReportID)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("assets PDF: %v", err)
	}
}

// A new report can briefly answer 404; the adapter retries per
// ReportRetryDelays and gives up with ErrNotFound when they run out.
func TestFetchReport_RetriesBrief404(t *testing.T) {
	s := newStack(t, func(c *EmulatorConfig) { c.ReportNotFoundGets = 2 })
	ctx := context.Background()
	o, err := s.client.CreateOrder(ctx, orderRequest("REF-404"))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.em.Complete(o.OrderID, "fulltime", "goodpassword")
	if err := s.em.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	ref := providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}
	rep, err := s.client.FetchReport(ctx, ref, ReportIncome)
	if err != nil {
		t.Fatalf("with 3 attempts: %v", err)
	}
	if e := rep.Employments[0]; e.PayFrequency != "semimonthly" || e.PayRate != 7800000 || e.JobTitle != "Operations Analyst" {
		t.Errorf("salaried profile: %+v", e)
	}
	short, err := New(Config{BaseURL: s.base, ClientID: SandboxClientID, AccessSecret: SandboxAccessSecret,
		ReportRetryDelays: []time.Duration{0, time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.FetchReport(ctx, ref, ReportIncome); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("with 2 attempts: got %v, want ErrNotFound", err)
	}
}

// W17-style: with every webhook dropped, polling still finds the outcome.
func TestFetchStatus_ReconcilesDroppedWebhooks(t *testing.T) {
	s := newStack(t, func(c *EmulatorConfig) { c.DropRate = 1 })
	ctx := context.Background()
	o, err := s.client.CreateOrder(ctx, orderRequest("REF-DROP"))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.em.Complete(o.OrderID, "nodata", "goodpassword")
	if err := s.em.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(s.rec.deliveries()); n != 0 {
		t.Fatalf("%d webhooks sent with DropRate 1", n)
	}
	st, err := s.client.FetchStatus(ctx, providers.OrderRef{OrderID: o.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Status != providers.StatusFailed || st[0].Outcome != providers.OutcomeNoData ||
		st[1].RawStatus != "no_data" || st[1].Outcome != providers.OutcomeNoData {
		t.Errorf("status = %+v", st)
	}
}

func TestCancel_AgainstEmulator(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	o, err := s.client.CreateOrder(ctx, orderRequest("REF-C"))
	if err != nil {
		t.Fatal(err)
	}
	ref := providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}
	if err := s.client.Cancel(ctx, ref); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "cancel webhook", func() bool { return hasEvent(s, t, o.OrderID, EventOrderStatusUpdated, "canceled") })
	ups := parsedUpdates(t, s)
	if u := ups[len(ups)-1]; u.Status != providers.StatusCanceled || u.SubID != "" {
		t.Errorf("cancel update = %+v", u)
	}
	if err := s.client.Cancel(ctx, ref); err != nil {
		t.Errorf("second cancel: %v", err)
	}
	if err := s.client.Cancel(ctx, providers.OrderRef{OrderID: "nope"}); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("unknown order: got %v", err)
	}
}

// completedOrder creates an order and takes it through Bridge.
func completedOrder(t *testing.T, s *stack, ref, user, pass string) *providers.Order {
	t.Helper()
	o, err := s.client.CreateOrder(context.Background(), orderRequest(ref))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.em.Complete(o.OrderID, user, pass); err != nil {
		t.Fatal(err)
	}
	if pass == "mfa" {
		if err := s.em.SubmitMFA(o.OrderID, MFACode); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "completion", func() bool { return hasEvent(s, t, o.OrderID, EventOrderStatusUpdated, "completed") })
	return o
}

func refreshReq(ref string) providers.RefreshRequest {
	return providers.RefreshRequest{Reference: ref, Product: providers.ProductIncome}
}

func TestRefresh_Success(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	o := completedOrder(t, s, "REF-R1", "goodlogin", "goodpassword")
	ref := providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}
	s.clock.Advance(30 * 24 * time.Hour)
	n, err := s.client.Refresh(ctx, ref, refreshReq("REF-R1-1"))
	if err != nil {
		t.Fatal(err)
	}
	if n.OrderID == "" || n.OrderID == o.OrderID || n.RefreshOf != o.OrderID || n.UserID != o.UserID {
		t.Fatalf("refresh order = %+v", n)
	}
	waitFor(t, "refresh completed", func() bool { return hasEvent(s, t, n.OrderID, EventOrderStatusUpdated, "completed") })
	for _, u := range parsedUpdates(t, s) {
		if u.OrderID == n.OrderID && u.RawEvent == EventOrderRefreshFailed {
			t.Errorf("unexpected refresh failure: %+v", u)
		}
	}
	// The fresh report is as of the refresh.
	rep, err := s.client.FetchReport(ctx, providers.OrderRef{OrderID: n.OrderID, UserID: n.UserID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Employments[0].Paystubs[0].PayDate; got < "2025-03-19" {
		t.Errorf("newest paystub %s predates the refresh", got)
	}
	// The documented path and the demo path both reach the emulator.
	demo, err := New(Config{BaseURL: s.base, ClientID: SandboxClientID, AccessSecret: SandboxAccessSecret, RefreshPath: DemoRefreshPath})
	if err != nil {
		t.Fatal(err)
	}
	if n2, err := demo.Refresh(ctx, ref, refreshReq("REF-R1-2")); err != nil || n2.RefreshOf != o.OrderID {
		t.Errorf("demo path: %+v, %v", n2, err)
	}
	// A retried refresh with the same reference does not refresh twice.
	if n3, err := s.client.Refresh(ctx, ref, refreshReq("REF-R1-1")); err != nil || n3.OrderID != n.OrderID {
		t.Errorf("repeat refresh: %+v, %v", n3, err)
	}
}

// refreshFailure refreshes o and returns the order-refresh-failed update.
func refreshFailure(t *testing.T, s *stack, o *providers.Order, reference string) providers.Update {
	t.Helper()
	n, err := s.client.Refresh(context.Background(), providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}, refreshReq(reference))
	if err != nil {
		t.Fatal(err)
	}
	var got providers.Update
	waitFor(t, "order-refresh-failed", func() bool {
		for _, ev := range s.rec.events(t) {
			if string(ev.OrderID) == n.OrderID && ev.EventType == EventOrderRefreshFailed {
				return true
			}
		}
		return false
	})
	for _, u := range parsedUpdates(t, s) {
		if u.OrderID == n.OrderID && u.RawEvent == EventOrderRefreshFailed {
			got = u
		}
		if u.OrderID == n.OrderID && u.RawEvent == EventOrderStatusUpdated && u.RawStatus == "completed" {
			t.Errorf("failed refresh also completed")
		}
	}
	if got.Status != providers.StatusActionRequired || got.SubID == "" || got.Detail == "" {
		t.Errorf("refresh failure update = %+v", got)
	}
	// Polling agrees with the webhook.
	st, err := s.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: n.OrderID})
	if err != nil || st[0].Status != providers.StatusActionRequired || st[0].RawStatus != got.RawStatus {
		t.Errorf("polled refresh order = %+v, %v", st, err)
	}
	return got
}

func TestRefresh_ForcedLoginError(t *testing.T) {
	s := newStack(t, nil)
	o := completedOrder(t, s, "REF-R2", "goodlogin", "goodpassword")
	s.em.SetRefreshFailure(o.OrderID, "login_error")
	if u := refreshFailure(t, s, o, "REF-R2-1"); u.RawStatus != "login_error" {
		t.Errorf("raw status %q", u.RawStatus)
	}
	// Cleared, the good login refreshes fine again.
	s.em.SetRefreshFailure(o.OrderID, "")
	n, err := s.client.Refresh(context.Background(), providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}, refreshReq("REF-R2-2"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "refresh completed", func() bool { return hasEvent(s, t, n.OrderID, EventOrderStatusUpdated, "completed") })
}

func TestRefresh_MFAConnectionFails(t *testing.T) {
	s := newStack(t, nil)
	o := completedOrder(t, s, "REF-R3", "goodlogin", "mfa")
	if u := refreshFailure(t, s, o, "REF-R3-1"); u.RawStatus != "mfa_error" || !strings.Contains(u.Detail, "verification code") {
		t.Errorf("update = %+v", u)
	}
}

func TestRefresh_ExpiredConnection(t *testing.T) {
	s := newStack(t, nil)
	o := completedOrder(t, s, "REF-R4", "goodlogin", "goodpassword")
	s.clock.Advance(181 * 24 * time.Hour)
	if u := refreshFailure(t, s, o, "REF-R4-1"); u.RawStatus != "login_error" {
		t.Errorf("update = %+v", u)
	}
}

// P4: 3 refreshes per connection per 24 h; the 4th is refused with
// ErrLimitReached and allowed again once the window has passed.
func TestRefresh_Limit(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	o := completedOrder(t, s, "REF-R5", "goodlogin", "goodpassword")
	ref := providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}
	for i := 1; i <= 3; i++ {
		if _, err := s.client.Refresh(ctx, ref, refreshReq("")); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		s.clock.Advance(time.Hour)
	}
	_, err := s.client.Refresh(ctx, ref, refreshReq(""))
	var pe *providers.ProviderError
	if !errors.Is(err, providers.ErrLimitReached) || !errors.As(err, &pe) {
		t.Fatalf("4th refresh: got %v, want ErrLimitReached", err)
	}
	if pe.HTTPStatus != 429 || pe.Code != DefaultRefreshLimitCode || pe.Retryable || !strings.Contains(pe.Message, "3 refreshes") ||
		pe.RetryAfter != 21*time.Hour {
		t.Errorf("limit error = %+v", pe)
	}
	s.clock.Advance(21*time.Hour - time.Second)
	if _, err := s.client.Refresh(ctx, ref, refreshReq("")); !errors.Is(err, providers.ErrLimitReached) {
		t.Errorf("1 s before the window ends: got %v", err)
	}
	s.clock.Advance(time.Second)
	if _, err := s.client.Refresh(ctx, ref, refreshReq("")); err != nil {
		t.Errorf("after 24 h: %v", err)
	}
}

func TestRefresh_Refusals(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	open, err := s.client.CreateOrder(ctx, orderRequest("REF-R6"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.client.Refresh(ctx, providers.OrderRef{OrderID: open.OrderID}, refreshReq(""))
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != 400 {
		t.Errorf("refresh of an open order: %v", err)
	}
	done := completedOrder(t, s, "REF-R7", "goodlogin", "goodpassword")
	_, err = s.client.Refresh(ctx, providers.OrderRef{OrderID: done.OrderID}, providers.RefreshRequest{Product: providers.ProductAssets})
	if !errors.As(err, &pe) || pe.HTTPStatus != 400 || pe.Fields["products"] == "" {
		t.Errorf("refresh as another product: %v", err)
	}
	_, err = s.client.Refresh(ctx, providers.OrderRef{OrderID: done.OrderID}, providers.RefreshRequest{Product: providers.ProductIncome, Employers: []string{"nope"}})
	if !errors.As(err, &pe) || pe.Fields["employers"] == "" {
		t.Errorf("refresh of an unknown employer: %v", err)
	}
	// An income order may refresh as employment (spec §2.7).
	if _, err := s.client.Refresh(ctx, providers.OrderRef{OrderID: done.OrderID}, providers.RefreshRequest{Product: providers.ProductEmployment}); err != nil {
		t.Errorf("income as employment: %v", err)
	}
}

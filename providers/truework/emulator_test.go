package truework

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

// TestEmulator_DirectOrderEndToEnd runs the whole Truework Direct flow with
// the adapter against the emulator over HTTP: create for 000-00-0000, the
// widget, the webhooks (authenticated by Authenticate), the status, the
// normalized report and the PDF.
func TestEmulator_DirectOrderEndToEnd(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx := context.Background()

	order, err := sb.client.CreateOrder(ctx, incomeRequest("CV-100", "000000000"))
	if err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	if order.OrderID == "" || order.Status != providers.StatusCreated || len(order.Links) != 1 {
		t.Fatalf("Order = %+v", order)
	}
	link := order.Links[0]
	if link.ApplicantRef != "member-1" || link.SubID == "" || link.WidgetToken == "" || link.URL != "" {
		t.Fatalf("link = %+v; want a widget token and no URL", link)
	}
	ups, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: order.OrderID})
	if err != nil || len(ups) != 1 || ups[0].Status != providers.StatusCreated || ups[0].SubID != link.SubID {
		t.Fatalf("FetchStatus before the widget = %+v, %v", ups, err)
	}

	// Idempotent create: the same reference gives the same order.
	again, err := sb.client.CreateOrder(ctx, incomeRequest("CV-100", "000000000"))
	if err != nil || again.OrderID != order.OrderID {
		t.Fatalf("second CreateOrder = %+v, %v; want order %s", again, err, order.OrderID)
	}

	if err := sb.em.CompleteWidget(link.WidgetToken); err != nil {
		t.Fatalf("CompleteWidget: %v", err)
	}
	want := []string{"verification_request.state.change/processing", "verification_request.state.change/completed", "order.completed"}
	waitFor(t, "three webhooks", func() bool { return len(sb.recv.events(order.OrderID)) >= 3 })
	if got := sb.recv.events(order.OrderID); !slices.Equal(got, want) {
		t.Fatalf("webhooks = %v; want %v in this order", got, want)
	}
	if sb.recv.rejected != 0 {
		t.Fatalf("%d webhooks failed authentication", sb.recv.rejected)
	}
	dels := sb.recv.forOrder(order.OrderID)
	for _, d := range dels {
		if d.Header.Get("Content-Type") != "application/json" || d.Header.Get(TokenHeader) != DefaultSandboxWebhookToken {
			t.Errorf("webhook headers = %v", d.Header)
		}
		var env struct {
			Version string `json:"version"`
			Hook    struct {
				ID          any    `json:"id"`
				Target      string `json:"target"`
				TriggeredAt string `json:"triggered_at"`
			} `json:"hook"`
			Data struct {
				Metadata map[string]string `json:"metadata"`
			} `json:"data"`
		}
		if err := json.Unmarshal(d.Body, &env); err != nil {
			t.Fatal(err)
		}
		if _, isNumber := env.Hook.ID.(float64); !isNumber || env.Version != "2023-10-30" || !strings.HasSuffix(env.Hook.Target, "/webhooks/truework") ||
			env.Hook.TriggeredAt != "2025-03-14T16:00:00Z" || env.Data.Metadata["reference"] != "CV-100" {
			t.Errorf("envelope = %s", d.Body)
		}
	}
	if dels[0].Key == dels[1].Key {
		t.Error("two state changes share a dedupe key")
	}
	if u := dels[1].Updates[0]; u.Status != providers.StatusCompleted || u.SubID != link.SubID {
		t.Errorf("completed webhook update = %+v", u)
	}
	if u := dels[2].Updates[0]; !u.Refetch || u.OrderID != order.OrderID {
		t.Errorf("order.completed update = %+v", u)
	}

	ups, err = sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: order.OrderID})
	if err != nil || len(ups) != 1 {
		t.Fatalf("FetchStatus = %+v, %v", ups, err)
	}
	if u := ups[0]; u.Status != providers.StatusCompleted || !u.ReportReady || u.ReportID == "" || u.Outcome != providers.OutcomeVerified {
		t.Fatalf("status after the widget = %+v", u)
	}

	rep, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, ups[0].ReportID)
	if err != nil {
		t.Fatalf("FetchReport: %v", err)
	}
	if len(rep.Employments) != 1 {
		t.Fatalf("employments = %+v", rep.Employments)
	}
	e := rep.Employments[0]
	if e.Employer != "Northwind Software Inc." || e.JobTitle != "Software Engineer" || !e.Active || e.StartDate != "2019-01-01" ||
		e.EndDate != "" || e.PayRate != 12000000 || e.PayUnit != "yearly" || e.PayFrequency != "biweekly" {
		t.Errorf("employment = %+v", e)
	}
	if len(e.Paystubs) < 6 {
		t.Fatalf("paystubs = %d; want at least 6", len(e.Paystubs))
	}
	for i, p := range e.Paystubs {
		if p.Gross != 461538 || p.Net <= 0 || p.Hours != 80 || p.PeriodStart > p.PeriodEnd || p.PayDate > "2025-03-14" {
			t.Errorf("paystub %d = %+v", i, p)
		}
		if i > 0 && p.PayDate >= e.Paystubs[i-1].PayDate {
			t.Errorf("paystubs not newest first: %s after %s", p.PayDate, e.Paystubs[i-1].PayDate)
		}
	}
	if len(e.AnnualIncome) != 2 || e.AnnualIncome[0].Year != 2025 || e.AnnualIncome[1].Year != 2024 || e.AnnualIncome[1].Gross != 26*461538 {
		t.Errorf("annual income = %+v", e.AnnualIncome)
	}

	// The whole order's reports, merged, equal the single report here.
	merged, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil || len(merged.Employments) != 1 || merged.ReportID != rep.ReportID {
		t.Errorf("FetchReport(order) = %+v, %v", merged, err)
	}

	pdf, err := sb.client.FetchReportPDF(ctx, providers.OrderRef{OrderID: order.OrderID}, rep.ReportID)
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF-") || len(pdf) < 1000 {
		t.Fatalf("FetchReportPDF = %d bytes, %v", len(pdf), err)
	}

	// A finished session cannot be used again.
	if err := sb.em.CompleteWidget(link.WidgetToken); !errors.Is(err, ErrInvalidSession) {
		t.Errorf("CompleteWidget twice = %v; want ErrInvalidSession", err)
	}
}

func TestEmulator_SeveralReports(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx := context.Background()
	order, err := sb.client.CreateOrder(ctx, incomeRequest("CV-7", "000000007"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.em.CompleteWidget(order.Links[0].WidgetToken); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "order.completed", func() bool { return len(sb.recv.events(order.OrderID)) >= 3 })
	ups, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: order.OrderID})
	if err != nil || len(ups) != 2 || ups[0].ReportID == ups[1].ReportID || !ups[1].ReportReady {
		t.Fatalf("FetchStatus = %+v, %v; want one update per report", ups, err)
	}
	rep, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil || len(rep.Employments) != 2 {
		t.Fatalf("merged report = %+v, %v", rep, err)
	}
	if rep.Employments[0].JobTitle != "Engineering Manager" || rep.Employments[1].EndDate != "2021-01-29" || rep.Employments[1].Active {
		t.Errorf("employments = %+v", rep.Employments)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(rep.Raw, &raws); err != nil || len(raws) != 2 {
		t.Errorf("Raw = %d reports, %v", len(raws), err)
	}
}

func TestEmulator_EmploymentOnlyHasNoPay(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx := context.Background()
	req := incomeRequest("CV-8", "000000001")
	req.Products = []providers.Product{providers.ProductEmployment}
	order, err := sb.client.CreateOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.em.CompleteWidget(order.Links[0].WidgetToken); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "order.completed", func() bool { return len(sb.recv.events(order.OrderID)) >= 3 })
	rep, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil {
		t.Fatal(err)
	}
	e := rep.Employments[0]
	if e.JobTitle != "Program Manager" || e.Active || e.EndDate != "2022-01-01" || e.PayRate != 0 || len(e.Paystubs) != 0 {
		t.Errorf("employment-only report = %+v", e)
	}
}

func TestEmulator_RefusesUnlistedSSN(t *testing.T) {
	sb := newSandbox(t, nil)
	_, err := sb.client.CreateOrder(context.Background(), incomeRequest("CV-9", "123456789"))
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != http.StatusBadRequest || pe.Code != CodeInvalidRequest {
		t.Fatalf("err = %v; want a 400 ProviderError", err)
	}
	if pe.Fields["ssn"] == "" || !strings.Contains(pe.Message, "sandbox test SSN") || strings.Contains(pe.Error(), "123") {
		t.Errorf("ProviderError = %+v", pe)
	}
}

func TestEmulator_APIChecks(t *testing.T) {
	sb := newSandbox(t, nil)
	base := sb.srv.URL + "/sandbox/truework"
	do := func(method, path, key, accept, body string, extra http.Header) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		for k, v := range extra {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const v = "application/json; version=2023-10-30"
	valid := `{"targets":[{"first_name":"A","last_name":"B","social_security_number":"000-00-0003","contact_email":"a@b.test","date_of_birth":"1990-01-01","permissible_purpose":"employee-eligibility","use_case":"government","type":"employment"}]}`
	key := DefaultSandboxAPIKey
	tests := []struct {
		name, method, path, key, accept, body string
		extra                                 http.Header
		status                                int
		msg                                   string
	}{
		{name: "no key", method: "GET", path: "/orders", accept: v, status: 401, msg: "Invalid credentials"},
		{name: "wrong key", method: "GET", path: "/orders", key: "tw_sk_test_wrong", accept: v, status: 401, msg: "Invalid credentials"},
		{name: "basic auth", method: "GET", path: "/orders", accept: v, extra: http.Header{"Authorization": {"Basic " + key}}, status: 401, msg: "Invalid credentials"},
		{name: "old API version", method: "GET", path: "/orders", key: key, accept: "application/json; version=2019-10-15", status: 406},
		{name: "HTML only", method: "GET", path: "/orders", key: key, accept: "text/html", status: 406},
		{name: "PDF of an order", method: "GET", path: "/orders/x", key: key, accept: "application/pdf", status: 406},
		{name: "unknown order", method: "GET", path: "/orders/nope", key: key, accept: v, status: 404, msg: "Order not found"},
		{name: "unknown report", method: "GET", path: "/reports/nope", key: key, accept: v, status: 404, msg: "Report not found"},
		{name: "no targets", method: "POST", path: "/orders/truework-direct", key: key, accept: v, body: `{"targets":[]}`, status: 400, msg: "Invalid field values provided"},
		{name: "bad date", method: "POST", path: "/orders/truework-direct", key: key, accept: v, body: strings.Replace(valid, "1990-01-01", "01/01/1990", 1), status: 400, msg: "date_of_birth"},
		{name: "bad purpose", method: "POST", path: "/orders/truework-direct", key: key, accept: v, body: strings.Replace(valid, "employee-eligibility", "fun", 1), status: 400, msg: "permissible_purpose"},
		{name: "undashed SSN", method: "POST", path: "/orders/truework-direct", key: key, accept: v, body: strings.Replace(valid, "000-00-0003", "000000003", 1), status: 400, msg: "social_security_number"},
		{name: "not JSON", method: "POST", path: "/orders/truework-direct", key: key, accept: v, body: `{`, status: 400, msg: "Invalid field values provided"},
		{name: "valid order, plain JSON accept", method: "POST", path: "/orders/truework-direct", key: key, accept: "application/json", body: valid, status: 201},
		{name: "valid order, no accept", method: "POST", path: "/orders/truework-direct", key: key, body: valid, status: 201},
		{name: "cancel without reason", method: "PUT", path: "/orders/x/cancel", key: key, accept: v, body: `{}`, status: 400, msg: "cancellation_reason"},
		{name: "cancel unknown order", method: "PUT", path: "/orders/x/cancel", key: key, accept: v, body: `{"cancellation_reason":"other"}`, status: 404, msg: "Order not found"},
		{name: "reverify without report", method: "POST", path: "/orders/reverification", key: key, accept: v, body: `{}`, status: 400, msg: "report_id"},
		{name: "reverify unknown report", method: "POST", path: "/orders/reverification", key: key, accept: v, body: `{"report_id":"nope"}`, status: 404, msg: "Report not found"},
		{name: "reverify sync", method: "POST", path: "/orders/reverification", key: key, accept: v, body: `{"report_id":"nope"}`,
			extra: http.Header{"Request-Sync": {"sync"}}, status: 400, msg: "Request-Sync"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(tt.method, tt.path, tt.key, tt.accept, tt.body, tt.extra)
			if status != tt.status {
				t.Fatalf("status = %d; want %d (%s)", status, tt.status, body)
			}
			if status >= 400 {
				var eb errorBody
				if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error.Message == "" {
					t.Fatalf("error body %q is not {\"error\":{\"message\"}}", body)
				}
				if !strings.Contains(eb.Error.Message, tt.msg) {
					t.Errorf("message = %q; want it to contain %q", eb.Error.Message, tt.msg)
				}
			}
		})
	}
}

func TestEmulator_RateLimit(t *testing.T) {
	sb := newSandbox(t, func(c *EmulatorConfig) { c.RateLimit = 2 })
	var statuses []int
	var retryAfter []string
	for range 4 {
		req, _ := http.NewRequest("GET", sb.srv.URL+"/sandbox/truework/orders?search_key=x", nil)
		req.Header.Set("Authorization", "Bearer "+DefaultSandboxAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		retryAfter = append(retryAfter, resp.Header.Get("Retry-After"))
	}
	// A burst of four against a limit of two per second: the first two
	// pass, then 429 with Retry-After in whole seconds.
	if statuses[0] != 200 || statuses[1] != 200 || !slices.Contains(statuses[2:], 429) {
		t.Fatalf("statuses = %v; want 200, 200, then 429", statuses)
	}
	if i := slices.Index(statuses, 429); retryAfter[i] != "1" {
		t.Errorf("Retry-After = %q; want 1", retryAfter[i])
	}
}

func TestEmulator_ReverifyConnectionLost(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx := context.Background()
	parent, reportID := completedOrder(t, sb, "CV-22", "000220000")

	child, err := sb.client.Refresh(ctx, providers.OrderRef{OrderID: parent}, providers.RefreshRequest{ReportID: reportID, Now: sb.clock.Now()})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if child.RefreshOf != parent || child.OrderID == parent || len(child.Links) != 1 || child.Links[0].WidgetToken == "" {
		t.Fatalf("reverification order = %+v", child)
	}
	want := []string{"verification_request.state.change/processing", "verification_request.state.change/action-required", "order.applicant_action_required"}
	waitFor(t, "applicant action required", func() bool { return len(sb.recv.events(child.OrderID)) >= 3 })
	if got := sb.recv.events(child.OrderID); !slices.Equal(got, want) {
		t.Fatalf("webhooks = %v; want %v", got, want)
	}
	u := sb.recv.forOrder(child.OrderID)[2].Updates[0]
	if u.Status != providers.StatusActionRequired || u.Detail != "The applicant must sign in again to finish" || u.OrderID != child.OrderID {
		t.Errorf("applicant action update = %+v", u)
	}
	ups, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: child.OrderID})
	if err != nil || ups[0].Status != providers.StatusActionRequired {
		t.Fatalf("FetchStatus = %+v, %v", ups, err)
	}

	fresh, err := sb.client.SessionToken(ctx, providers.OrderRef{OrderID: child.OrderID}, 0)
	if err != nil || fresh == "" || fresh == child.Links[0].WidgetToken {
		t.Fatalf("SessionToken = %q, %v; want a new token", fresh, err)
	}
	if err := sb.em.CompleteWidget(fresh); err != nil {
		t.Fatalf("CompleteWidget: %v", err)
	}
	waitFor(t, "order.completed", func() bool { return slices.Contains(sb.recv.events(child.OrderID), "order.completed") })
	ups, err = sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: child.OrderID})
	if err != nil || ups[0].Status != providers.StatusCompleted || ups[0].ReportID == "" || ups[0].ReportID == reportID {
		t.Fatalf("FetchStatus after the widget = %+v, %v", ups, err)
	}
}

func TestEmulator_ReverifySeamless(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx := context.Background()
	parent, reportID := completedOrder(t, sb, "CV-23", "000230000")

	child, err := sb.client.Refresh(ctx, providers.OrderRef{OrderID: parent}, providers.RefreshRequest{ReportID: reportID, Now: sb.clock.Now()})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if child.RefreshOf != parent || child.Status != providers.StatusInProgress {
		t.Fatalf("reverification order = %+v", child)
	}
	want := []string{"verification_request.state.change/processing", "verification_request.state.change/completed", "order.completed"}
	waitFor(t, "order.completed", func() bool { return len(sb.recv.events(child.OrderID)) >= 3 })
	if got := sb.recv.events(child.OrderID); !slices.Equal(got, want) {
		t.Fatalf("webhooks = %v; want %v (no applicant action)", got, want)
	}
	ups, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: child.OrderID})
	if err != nil || ups[0].Status != providers.StatusCompleted || !ups[0].ReportReady {
		t.Fatalf("FetchStatus = %+v, %v", ups, err)
	}
	rep, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: child.OrderID}, ups[0].ReportID)
	if err != nil || rep.Employments[0].Employer != "Mercy Valley Hospital" {
		t.Fatalf("reverified report = %+v, %v", rep, err)
	}
}

func TestEmulator_ReverifySeamlessSilent(t *testing.T) {
	sb := newSandbox(t, func(c *EmulatorConfig) { c.SilentSeamlessReverification = true })
	ctx := context.Background()
	parent, reportID := completedOrder(t, sb, "CV-23S", "000230000")
	child, err := sb.client.Refresh(ctx, providers.OrderRef{OrderID: parent}, providers.RefreshRequest{ReportID: reportID, Now: sb.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// Polling is the only way to see it complete.
	waitFor(t, "the reverification to complete", func() bool {
		ups, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: child.OrderID})
		return err == nil && ups[0].Status == providers.StatusCompleted
	})
	// The sender works in order: a later order's webhook arriving means
	// nothing more is coming for the reverification.
	other, err := sb.client.CreateOrder(ctx, incomeRequest("CV-23T", "000000000"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.client.Cancel(ctx, providers.OrderRef{OrderID: other.OrderID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the later order's webhook", func() bool { return len(sb.recv.events(other.OrderID)) >= 1 })
	if got := sb.recv.events(child.OrderID); len(got) != 0 {
		t.Fatalf("webhooks = %v; want none", got)
	}
}

// TestEmulator_ReverifyWindow uses the injected clock: 91 days after
// completion the adapter refuses, and so does the emulator itself.
func TestEmulator_ReverifyWindow(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx := context.Background()
	parent, reportID := completedOrder(t, sb, "CV-90", "000230000")
	sb.clock.Advance(91 * 24 * time.Hour)

	_, err := sb.client.Refresh(ctx, providers.OrderRef{OrderID: parent}, providers.RefreshRequest{ReportID: reportID, Now: sb.clock.Now()})
	var pe *providers.ProviderError
	if !errors.Is(err, providers.ErrLimitReached) || !errors.As(err, &pe) || pe.Message != MsgReverificationWindow {
		t.Fatalf("Refresh = %v; want ErrLimitReached", err)
	}
	// With the portal's clock behind, the emulator's own check answers 400.
	_, err = sb.client.Refresh(ctx, providers.OrderRef{OrderID: parent}, providers.RefreshRequest{ReportID: reportID, Now: sb.clock.Now().Add(-30 * 24 * time.Hour)})
	if !errors.As(err, &pe) || pe.HTTPStatus != http.StatusBadRequest || pe.Fields["report_id"] == "" {
		t.Fatalf("emulator answer = %v; want 400 naming report_id", err)
	}
}

// completedOrder creates an order for ssn, finishes the widget, waits for
// order.completed and returns the order id and its report id.
func completedOrder(t *testing.T, sb *sandbox, ref, ssn string) (string, string) {
	t.Helper()
	ctx := context.Background()
	order, err := sb.client.CreateOrder(ctx, incomeRequest(ref, ssn))
	if err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	if err := sb.em.CompleteWidget(order.Links[0].WidgetToken); err != nil {
		t.Fatalf("CompleteWidget: %v", err)
	}
	waitFor(t, "order.completed", func() bool { return slices.Contains(sb.recv.events(order.OrderID), "order.completed") })
	ups, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: order.OrderID})
	if err != nil || !ups[0].ReportReady {
		t.Fatalf("FetchStatus = %+v, %v", ups, err)
	}
	return order.OrderID, ups[0].ReportID
}

func TestEmulator_Cancel(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx := context.Background()
	order, err := sb.client.CreateOrder(ctx, incomeRequest("CV-C", "000000003"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.client.Cancel(ctx, providers.OrderRef{OrderID: order.OrderID}); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	want := []string{"verification_request.state.change/canceled", "order.completed"}
	waitFor(t, "cancel webhooks", func() bool { return len(sb.recv.events(order.OrderID)) >= 2 })
	if got := sb.recv.events(order.OrderID); !slices.Equal(got, want) {
		t.Fatalf("webhooks = %v; want %v", got, want)
	}
	if u := sb.recv.forOrder(order.OrderID)[0].Updates[0]; u.Status != "" || !u.Refetch {
		t.Errorf("canceled webhook update = %+v; want a refetch", u)
	}
	ups, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: order.OrderID})
	if err != nil || ups[0].Status != providers.StatusCanceled {
		t.Fatalf("FetchStatus = %+v, %v; want canceled (reason other)", ups, err)
	}
	if err := sb.em.CompleteWidget(order.Links[0].WidgetToken); !errors.Is(err, ErrInvalidSession) {
		t.Errorf("widget after cancel = %v; want ErrInvalidSession", err)
	}
	if _, err := sb.client.SessionToken(ctx, providers.OrderRef{OrderID: order.OrderID}, 0); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("SessionToken after cancel = %v; want ErrNotFound", err)
	}
}

func TestEmulator_SessionExpires(t *testing.T) {
	sb := newSandbox(t, nil)
	order, err := sb.client.CreateOrder(context.Background(), incomeRequest("CV-E", "000000004"))
	if err != nil {
		t.Fatal(err)
	}
	sb.clock.Advance(24*time.Hour - time.Second)
	status, _ := getPage(t, sb.srv.URL+"/sandbox/truework/widget?token="+order.Links[0].WidgetToken)
	if status != http.StatusOK {
		t.Fatalf("widget just before expiry = %d", status)
	}
	sb.clock.Advance(time.Second)
	if err := sb.em.CompleteWidget(order.Links[0].WidgetToken); !errors.Is(err, ErrInvalidSession) {
		t.Fatalf("CompleteWidget after 24 h = %v; want ErrInvalidSession", err)
	}
	status, page := getPage(t, sb.srv.URL+"/sandbox/truework/widget?token="+order.Links[0].WidgetToken)
	if status != http.StatusGone || !strings.Contains(page, `data-truework-code="invalid_session"`) || !strings.Contains(page, `data-testid="widget-error"`) {
		t.Fatalf("expired widget = %d:\n%s", status, page)
	}
	// A fresh token from the API works again.
	fresh, err := sb.client.SessionToken(context.Background(), providers.OrderRef{OrderID: order.OrderID}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.em.CompleteWidget(fresh); err != nil {
		t.Fatalf("CompleteWidget with a fresh token: %v", err)
	}
}

func TestEmulator_WebhookMisbehaviour(t *testing.T) {
	t.Run("duplicates share a dedupe key", func(t *testing.T) {
		sb := newSandbox(t, func(c *EmulatorConfig) { c.DuplicateWebhooks = true })
		id, _ := completedOrder(t, sb, "CV-D", "000000000")
		waitFor(t, "six deliveries", func() bool { return len(sb.recv.forOrder(id)) >= 6 })
		dels := sb.recv.forOrder(id)
		keys := map[string]int{}
		for _, d := range dels {
			keys[d.Key]++
		}
		if len(dels) != 6 || len(keys) != 3 {
			t.Fatalf("%d deliveries with %d keys; want 6 with 3", len(dels), len(keys))
		}
	})
	t.Run("dropped events are not sent", func(t *testing.T) {
		sb := newSandbox(t, func(c *EmulatorConfig) { c.DropWebhookEvents = []string{EventOrderCompleted} })
		order, err := sb.client.CreateOrder(context.Background(), incomeRequest("CV-X", "000000000"))
		if err != nil {
			t.Fatal(err)
		}
		if err := sb.em.CompleteWidget(order.Links[0].WidgetToken); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the completed state", func() bool { return len(sb.recv.events(order.OrderID)) >= 2 })
		// The sender works in order: once a later order's webhook arrives,
		// this order's dropped order.completed would have been sent before it.
		other, err := sb.client.CreateOrder(context.Background(), incomeRequest("CV-Y", "000000000"))
		if err != nil {
			t.Fatal(err)
		}
		if err := sb.client.Cancel(context.Background(), providers.OrderRef{OrderID: other.OrderID}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the later order's webhook", func() bool { return len(sb.recv.events(other.OrderID)) >= 1 })
		if got := sb.recv.events(order.OrderID); slices.Contains(got, EventOrderCompleted) {
			t.Fatalf("webhooks = %v; order.completed was dropped on purpose", got)
		}
	})
	t.Run("retried after a 500", func(t *testing.T) {
		sb := newSandbox(t, nil)
		sb.recv.mu.Lock()
		sb.recv.failNext = 2
		sb.recv.mu.Unlock()
		id, _ := completedOrder(t, sb, "CV-R", "000000000")
		if got := sb.recv.events(id); len(got) != 3 {
			t.Fatalf("webhooks after retries = %v", got)
		}
	})
}

func TestEmulator_CloseStopsSender(t *testing.T) {
	sb := newSandbox(t, func(c *EmulatorConfig) { c.WebhookDelay = time.Hour })
	order, err := sb.client.CreateOrder(context.Background(), incomeRequest("CV-Z", "000000000"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.em.CompleteWidget(order.Links[0].WidgetToken); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { sb.em.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not stop a sender waiting on WebhookDelay")
	}
}

// The emulator serves every agency of a portal: its order list answers only
// for the search_key asked for, never with everyone's orders.
func TestEmulator_ListOnlyBySearchKey(t *testing.T) {
	sb := newSandbox(t, nil)
	ctx := context.Background()
	for _, ref := range []string{"ref-agency-a", "ref-agency-b"} {
		if _, err := sb.client.CreateOrder(ctx, incomeRequest(ref, "000000003")); err != nil {
			t.Fatal(err)
		}
	}
	get := func(path string) (int, emListOut) {
		req, _ := http.NewRequest("GET", sb.srv.URL+"/sandbox/truework"+path, nil)
		req.Header.Set("Authorization", "Bearer "+DefaultSandboxAPIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out emListOut
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if st, out := get("/orders"); st != http.StatusBadRequest || len(out.Results) != 0 {
		t.Fatalf("list without search_key = %d, %d orders; want 400 and none", st, len(out.Results))
	}
	if st, out := get("/orders?search_key=ref-agency-a"); st != 200 || len(out.Results) != 1 {
		t.Fatalf("list by search_key = %d, %d orders; want the one order", st, len(out.Results))
	}
}

package accountchek

import (
	"bytes"
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

func TestEndToEndVOA(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	order := e.create(t, e.orderReq("R-1", providers.ProductAssets))
	if !isGUID(order.OrderID) || order.Status != providers.StatusSent {
		t.Fatalf("order = %+v", order)
	}
	if len(order.Links) != 1 || order.Links[0].ApplicantRef != "m1" || !strings.HasPrefix(order.Links[0].URL, e.publicURL+"/borrower/") {
		t.Fatalf("links = %+v", order.Links)
	}
	if want := e.clock.Now().Add(60 * 24 * time.Hour); !order.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt = %v, want %v", order.ExpiresAt, want)
	}

	st := e.status(t, order.OrderID)
	if u := st["voa"]; u.RawStatus != "500" || u.Status != providers.StatusSent || u.RawEvent != RawEventVOAStatus {
		t.Fatalf("voa before arrival = %+v", u)
	}
	if _, ok := st["voe"]; ok {
		t.Fatal("an assets-only order reported a VOIE service")
	}
	if u := st[""]; u.RawStatus != "opened" || u.Status != providers.StatusSent {
		t.Fatalf("order before arrival = %+v", u)
	}

	if err := e.em.Borrower(order.OrderID, Arrive(), ChooseInstitution("Sandbox Bank"), BankLogin("user_good", "pass_good")); err != nil {
		t.Fatal(err)
	}
	ds := e.rcv.wait(t, 7)
	if got, want := statusesOf(t, ds), []string{"500", "501", "503", "505", "5061", "510", "507"}; !slices.Equal(got, want) {
		t.Fatalf("postbacks %v, want %v", got, want)
	}
	for _, d := range ds {
		if d.Header.Get("User-Agent") != "AccountChek Webhook" || d.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Fatalf("postback headers %v", d.Header)
		}
		if d.Path != "/tok-R-1" {
			t.Fatalf("postback went to %q", d.Path)
		}
		ups, err := e.client.Parse(d)
		if err != nil || len(ups) != 1 || !ups[0].Refetch || ups[0].Status != "" || ups[0].OrderID != order.OrderID {
			t.Fatalf("Parse = %+v, %v", ups, err)
		}
	}
	last, _ := ParsePostback(ds[6].Body)

	st = e.status(t, order.OrderID)
	voa := st["voa"]
	if voa.Status != providers.StatusCompleted || voa.RawStatus != "507" || !voa.ReportReady || voa.ReportID != "voa:"+last.ReportID {
		t.Fatalf("voa after completion = %+v (postback report %s)", voa, last.ReportID)
	}
	if u := st[""]; u.Status != providers.StatusInProgress || u.RawStatus != "inprogress" {
		t.Fatalf("order after completion = %+v", u)
	}

	ref := providers.OrderRef{OrderID: order.OrderID}
	rep, err := e.client.FetchReport(e.ctx, ref, voa.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != providers.ReportAssets || rep.ReportID != voa.ReportID || !rep.CreatedAt.Equal(e.clock.Now()) || len(rep.Raw) == 0 {
		t.Fatalf("report header = %+v", rep)
	}
	wantAccounts := []providers.BankAccount{
		{Institution: "Sandbox Bank", Name: "Everyday Checking", Type: "checking", Mask: "4321", Balance: 215042, AvailableBalance: 210042,
			BalanceDate: "2025-03-12", MonthlyIncome: 325000, IncomeStreams: []providers.IncomeStream{{Name: "PAYROLL SANDBOX EMPLOYER", Recurring: true, Monthly: 325000}}},
		{Institution: "Sandbox Bank", Name: "Rainy Day Savings", Type: "savings", Mask: "8765", Balance: 540000, AvailableBalance: 540000, BalanceDate: "2025-03-12"},
	}
	if len(rep.Accounts) != 2 {
		t.Fatalf("accounts = %+v", rep.Accounts)
	}
	for i, a := range rep.Accounts {
		w := wantAccounts[i]
		if a.Institution != w.Institution || a.Name != w.Name || a.Type != w.Type || a.Mask != w.Mask || a.Balance != w.Balance ||
			a.AvailableBalance != w.AvailableBalance || a.BalanceDate != w.BalanceDate || a.MonthlyIncome != w.MonthlyIncome ||
			!slices.EqualFunc(a.IncomeStreams, w.IncomeStreams, func(x, y providers.IncomeStream) bool {
				return x.Name == y.Name && x.Recurring == y.Recurring && x.Monthly == y.Monthly
			}) {
			t.Errorf("account %d = %+v, want %+v", i, a, w)
		}
	}
	latest, err := e.client.FetchReport(e.ctx, ref, "")
	if err != nil || latest.ReportID != voa.ReportID {
		t.Fatalf("FetchReport(\"\") = %v, %v; want the newest report", latest, err)
	}
	pdf, err := e.client.FetchReportPDF(e.ctx, ref, voa.ReportID)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 500 {
		t.Fatalf("PDF: %d bytes, %v", len(pdf), err)
	}
}

func TestEndToEndVOAAndVOIE(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	req := e.orderReq("R-2", providers.ProductAssets, providers.ProductIncome)
	req.Employers = []string{"Acme Foods"}
	order := e.create(t, req)
	st := e.status(t, order.OrderID)
	if u := st["voe"]; u.RawStatus != "created" || u.Status != providers.StatusSent {
		t.Fatalf("voe before arrival = %+v", u)
	}
	err := e.em.Borrower(order.OrderID, Arrive(), ChooseInstitution("Platypus Savings"),
		BankLogin("user_mfa", "anything"), EnterMFA("0000"), EnterMFA("1234"),
		PayrollLogin("payroll_good", "pw"))
	if err != nil {
		t.Fatal(err)
	}
	ds := e.rcv.wait(t, 11)
	want := []string{"500", "501", "503", "505", "506", "5061", "510", "507", "601", "610", "607"}
	if got := statusesOf(t, ds); !slices.Equal(got, want) {
		t.Fatalf("postbacks %v, want %v", got, want)
	}
	p607, _ := ParsePostback(ds[10].Body)
	if p607.VOEReportID == "" || p607.ReportID != "" {
		t.Fatalf("607 postback = %+v", p607)
	}
	p507, _ := ParsePostback(ds[7].Body)
	if p507.ReportID == "" || p507.VOEReportID != "" {
		t.Fatalf("507 postback = %+v", p507)
	}

	st = e.status(t, order.OrderID)
	voe := st["voe"]
	if voe.Status != providers.StatusCompleted || voe.RawStatus != "607" || !voe.ReportReady || voe.ReportID != "voe:"+p607.VOEReportID {
		t.Fatalf("voe = %+v", voe)
	}
	if voa := st["voa"]; voa.Status != providers.StatusCompleted || voa.ReportID != "voa:"+p507.ReportID {
		t.Fatalf("voa = %+v", voa)
	}

	ref := providers.OrderRef{OrderID: order.OrderID}
	rep, err := e.client.FetchReport(e.ctx, ref, voe.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != providers.ReportIncome || rep.ReportID != voe.ReportID || len(rep.Employments) != 1 {
		t.Fatalf("report = %+v", rep)
	}
	emp := rep.Employments[0]
	if emp.Employer != "Acme Foods" || !emp.Active || emp.PayRate != 2150 || emp.PayUnit != "hourly" || emp.PayFrequency != "biweekly" ||
		emp.StartDate != "2019-04-01" || emp.EndDate != "" || emp.JobTitle != "Eligibility Clerk" {
		t.Fatalf("employment = %+v", emp)
	}
	if len(emp.Paystubs) != 3 || emp.Paystubs[0].PayDate != "2025-03-07" || emp.Paystubs[0].Gross != 172000 || emp.Paystubs[0].Net != 135040 ||
		emp.Paystubs[0].Hours != 80 || emp.Paystubs[1].PayDate != "2025-02-21" || emp.Paystubs[0].PeriodEnd != "2025-03-01" {
		t.Fatalf("paystubs = %+v", emp.Paystubs)
	}
	if len(emp.AnnualIncome) != 2 || emp.AnnualIncome[1].Year != 2024 || emp.AnnualIncome[1].Gross != 172000*26 {
		t.Fatalf("annual = %+v", emp.AnnualIncome)
	}
	pdf, err := e.client.FetchReportPDF(e.ctx, ref, voe.ReportID)
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("VOIE PDF: %v", err)
	}
}

// TestForgedPostback is W13: a forged 607 for an order still at 601 is
// refused by the allowlist, and even when it gets through, the status and
// the report come only from the API.
func TestForgedPostback(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.AllowedSourceCIDRs = []string{"203.0.113.0/24"} }, nil)
	order := e.create(t, e.orderReq("R-3", providers.ProductIncome))
	if err := e.em.Borrower(order.OrderID, Arrive()); err != nil {
		t.Fatal(err)
	}
	forgedID := newGUID()
	body := "orderId=" + order.OrderID + "&orderStatus=607&voeReportId=" + forgedID

	resp, err := http.Post(e.rcv.srv.URL+"/webhooks/accountchek/tok-R-3", "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged postback from outside the allowlist got %d", resp.StatusCode)
	}

	// Suppose it got through anyway (no allowlist, leaked token).
	ups, err := e.client.Parse(providers.Delivery{Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	if ups[0].Status != "" || ups[0].ReportReady || ups[0].ReportID != "" || !ups[0].Refetch {
		t.Fatalf("forged postback parsed into %+v", ups[0])
	}
	st := e.status(t, order.OrderID)
	voe := st["voe"]
	if voe.Status != providers.StatusInProgress || voe.RawStatus != "601" || voe.ReportReady || voe.ReportID != "" {
		t.Fatalf("voe after forged postback = %+v", voe)
	}
	if st[""].Status != providers.StatusInProgress {
		t.Fatalf("order after forged postback = %+v", st[""])
	}
	paths, hosts := e.rec.snapshot()
	for _, p := range paths {
		if strings.Contains(p, forgedID) || strings.Contains(p, "/reports") {
			t.Fatalf("the adapter asked for %s", p)
		}
	}
	emuHost := strings.TrimPrefix(strings.TrimSuffix(e.publicURL, "/sandbox/accountchek"), "http://")
	for _, h := range hosts {
		if h != emuHost {
			t.Fatalf("the adapter called %s, not only %s", h, emuHost)
		}
	}
}

func TestCreateIsIdempotentOnReference(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	req := e.orderReq("R-4", providers.ProductAssets)
	first := e.create(t, req)
	again := e.create(t, req)
	if again.OrderID != first.OrderID || again.Links[0].URL != first.Links[0].URL || again.Status != providers.StatusSent {
		t.Fatalf("retry created %+v, first %+v", again, first)
	}

	// An attempt that died before opening leaves a "building" order: the
	// retry cancels it and starts clean.
	req = e.orderReq("R-5", providers.ProductAssets)
	var stale wireOrder
	err := e.client.callJSON(e.ctx, apiRequest{method: http.MethodPost, path: "/v1/accountchekorders", body: createBody{
		Email: "ana@example.org", Last4SSN: "6789", ReferenceNumber: ReferenceNumber(req), FirstName: "Ana", LastName: "Lopez"}}, &stale)
	if err != nil {
		t.Fatal(err)
	}
	fresh := e.create(t, req)
	if fresh.OrderID == stale.ID {
		t.Fatal("the half-created order was reused")
	}
	if _, _, st, _ := e.em.ServiceStatus(stale.ID); st != "canceled" {
		t.Fatalf("half-created order is %q, want canceled", st)
	}
	if ReferenceNumber(req) != "C-100/R-5" {
		t.Fatalf("ReferenceNumber = %q", ReferenceNumber(req))
	}

	// With the lookup disabled, every call creates.
	e2 := newEnv(t, nil, func(c *Config) { c.DisableReferenceLookup = true }, nil)
	req = e2.orderReq("R-6", providers.ProductAssets)
	if a, b := e2.create(t, req), e2.create(t, req); a.OrderID == b.OrderID {
		t.Fatal("DisableReferenceLookup still deduplicated")
	}
}

func TestCreateCancelsWhenALaterStepFails(t *testing.T) {
	failVOE := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/voe") {
				w.Header().Set("Retry-After", "3")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, nil, nil, failVOE)
	_, err := e.client.CreateOrder(e.ctx, e.orderReq("R-7", providers.ProductAssets, providers.ProductIncome))
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != 503 || !pe.Retryable || pe.RetryAfter != 3*time.Second {
		t.Fatalf("err = %#v", err)
	}
	e.em.mu.Lock()
	var states []string
	for _, o := range e.em.orders {
		states = append(states, o.Status)
	}
	e.em.mu.Unlock()
	if !slices.Equal(states, []string{"canceled"}) {
		t.Fatalf("orders left behind: %v", states)
	}
}

func TestCreateValidationErrors(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	req := e.orderReq("R-8", providers.ProductAssets)
	req.Applicants[0].Email = ""
	req.Applicants[0].FirstName = ""
	req.Applicants[0].SSNLast4 = "12a4"
	req.WebhookURL = "http://example.com/webhooks/accountchek/x"
	_, err := e.client.CreateOrder(e.ctx, req)
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != http.StatusUnprocessableEntity || pe.Retryable {
		t.Fatalf("err = %v", err)
	}
	for _, f := range []string{"email", "first_name", "ssn_last4", "webhook_url"} {
		if pe.Fields[f] == "" {
			t.Errorf("Fields[%q] missing: %v", f, pe.Fields)
		}
	}
	if len(pe.Fields) != 4 {
		t.Errorf("Fields = %v", pe.Fields)
	}
	if strings.Contains(err.Error(), "12a4") || pe.Message == "" {
		t.Fatalf("message %q", err.Error())
	}

	// Local checks never reach the API.
	for name, mut := range map[string]func(*providers.OrderRequest){
		"identity":            func(r *providers.OrderRequest) { r.Products = []providers.Product{providers.ProductIdentity} },
		"no product":          func(r *providers.OrderRequest) { r.Products = nil },
		"two applicants":      func(r *providers.OrderRequest) { r.Applicants = append(r.Applicants, r.Applicants[0]) },
		"monitoring 45":       func(r *providers.OrderRequest) { r.Options = map[string]string{"account_monitoring": "45"} },
		"bad request type":    func(r *providers.OrderRequest) { r.Options = map[string]string{"voa_request_type": "medium"} },
		"days back not int":   func(r *providers.OrderRequest) { r.Options = map[string]string{"days_back": "ninety"} },
		"no reference at all": func(r *providers.OrderRequest) { r.Reference, r.CaseNumber = "", "" },
	} {
		r := e.orderReq("R-9", providers.ProductAssets)
		mut(&r)
		if _, err := e.client.CreateOrder(e.ctx, r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := e.client.CreateOrder(e.ctx, providers.OrderRequest{Products: []providers.Product{providers.ProductIdentity},
		Applicants: []providers.Applicant{{}}}); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("identity: %v, want ErrNotSupported", err)
	}
}

func TestCreateSendsDocumentedFields(t *testing.T) {
	var got map[string]any
	var voa map[string]any
	capture := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
				switch {
				case r.URL.Path == "/v1/accountchekorders":
					_ = json.Unmarshal(buf.Bytes(), &got)
				case strings.HasSuffix(r.URL.Path, "/voa"):
					_ = json.Unmarshal(buf.Bytes(), &voa)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, nil, nil, capture)
	req := e.orderReq("R-10", providers.ProductAssets)
	req.Options = map[string]string{"voa_request_type": "lite", "days_back": "60", "account_monitoring": "90"}
	e.create(t, req)
	want := map[string]any{
		"email": "ana@example.org", "last4SSN": "6789", "referenceNumber": "C-100/R-10", "firstName": "Ana", "lastName": "Lopez",
		"notificationUrl": req.WebhookURL, "phoneNumber": "5555550123", "dateOfBirth": "1990-02-03",
	}
	if len(got) != len(want) {
		t.Fatalf("create body %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("create %s = %v, want %v", k, got[k], v)
		}
	}
	if voa["requestType"] != "lite" || voa["daysBack"] != float64(60) || voa["accountMonitoring"] != float64(90) || voa["reportType"] != "voa" {
		t.Fatalf("voa body %v", voa)
	}
}

func TestSSOLinkExpiry(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	order := e.create(t, e.orderReq("R-11", providers.ProductAssets))
	oldURL := order.Links[0].URL
	e.clock.Advance(72*time.Hour + time.Second)
	if err := e.em.Borrower(order.OrderID, Arrive()); !errors.Is(err, errLinkExpired) {
		t.Fatalf("arrival after 72 h: %v", err)
	}
	resp, body := get(t, oldURL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="page-expired"`) {
		t.Fatalf("expired link page: %d", resp.StatusCode)
	}
	if got := statusesOf(t, e.rcv.wait(t, 2)); !slices.Equal(got, []string{"500", "5010"}) {
		t.Fatalf("postbacks %v", got)
	}
	voa := e.status(t, order.OrderID)["voa"]
	if voa.Status != providers.StatusActionRequired || voa.RawStatus != "5010" || voa.Detail != "The applicant's link expired; send a new link" {
		t.Fatalf("voa = %+v", voa)
	}

	newURL, err := e.client.NewSSOURL(e.ctx, providers.OrderRef{OrderID: order.OrderID})
	if err != nil || newURL == oldURL || !strings.HasPrefix(newURL, e.publicURL+"/borrower/") {
		t.Fatalf("NewSSOURL = %q, %v", newURL, err)
	}
	if resp, _ := get(t, oldURL); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("old link after a new one: %d", resp.StatusCode)
	}
	resp, body = get(t, newURL)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="page-bank"`) {
		t.Fatalf("new link: %d", resp.StatusCode)
	}
	if voa := e.status(t, order.OrderID)["voa"]; voa.RawStatus != "501" || voa.Status != providers.StatusInProgress {
		t.Fatalf("voa after new link = %+v", voa)
	}
}

func TestRefresh(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	order := e.create(t, e.orderReq("R-12", providers.ProductAssets, providers.ProductIncome))
	ref := providers.OrderRef{OrderID: order.OrderID}
	if _, err := e.client.Refresh(e.ctx, ref, providers.RefreshRequest{Product: providers.ProductAssets}); !errors.Is(err, providers.ErrLimitReached) {
		t.Fatalf("refresh before completion: %v", err)
	}
	if err := e.em.Borrower(order.OrderID, Arrive(), ChooseInstitution("Sandbox Bank"), BankLogin("user_good", "pass_good"), PayrollLogin("payroll_good", "x")); err != nil {
		t.Fatal(err)
	}
	before := e.status(t, order.OrderID)
	e.clock.Advance(10 * 24 * time.Hour)

	for _, p := range []providers.Product{providers.ProductAssets, providers.ProductIncome} {
		got, err := e.client.Refresh(e.ctx, ref, providers.RefreshRequest{Product: p})
		if err != nil {
			t.Fatalf("Refresh(%s): %v", p, err)
		}
		if got.OrderID != order.OrderID || got.RefreshOf != order.OrderID || got.Status != providers.StatusInProgress || len(got.Links) != 0 {
			t.Fatalf("Refresh(%s) = %+v", p, got)
		}
	}
	after := e.status(t, order.OrderID)
	for _, sub := range []string{"voa", "voe"} {
		if !after[sub].ReportReady || after[sub].ReportID == before[sub].ReportID || after[sub].Status != providers.StatusCompleted {
			t.Fatalf("%s after refresh = %+v, before %+v", sub, after[sub], before[sub])
		}
	}
	rep, err := e.client.FetchReport(e.ctx, ref, after["voa"].ReportID)
	if err != nil || rep.Accounts[0].Balance != 215042+12500 {
		t.Fatalf("refreshed report %+v, %v", rep, err)
	}
	ds := e.rcv.wait(t, 12)
	if got := statusesOf(t, ds); !slices.Equal(got[10:], []string{"507", "607"}) {
		t.Fatalf("refresh postbacks %v", got)
	}

	e.clock.Advance(21 * 24 * time.Hour) // 31 days after the first report: monitoring (30) has ended
	_, err = e.client.Refresh(e.ctx, ref, providers.RefreshRequest{Product: providers.ProductAssets})
	var pe *providers.ProviderError
	if !errors.Is(err, providers.ErrLimitReached) || !errors.As(err, &pe) || !strings.Contains(pe.Message, "new link") {
		t.Fatalf("refresh after monitoring: %v", err)
	}
	if u := e.status(t, order.OrderID)[""]; u.RawStatus != "closed" || u.Status != providers.StatusCompleted {
		t.Fatalf("order after monitoring = %+v", u)
	}
	if _, err := e.client.Refresh(e.ctx, ref, providers.RefreshRequest{Product: providers.ProductIdentity}); !errors.Is(err, providers.ErrNotSupported) {
		t.Fatalf("identity refresh: %v", err)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	opened := e.create(t, e.orderReq("R-13", providers.ProductAssets))
	started := e.create(t, e.orderReq("R-14", providers.ProductAssets))
	if err := e.em.Borrower(started.OrderID, Arrive()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want string
		st   providers.Status
	}{{opened.OrderID, "canceled", providers.StatusCanceled}, {started.OrderID, "closed", providers.StatusExpired}} {
		ref := providers.OrderRef{OrderID: tc.id}
		if err := e.client.Cancel(e.ctx, ref); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if _, _, st, _ := e.em.ServiceStatus(tc.id); st != tc.want {
			t.Fatalf("order is %q, want %q", st, tc.want)
		}
		if err := e.client.Cancel(e.ctx, ref); err != nil {
			t.Fatalf("second Cancel: %v", err)
		}
		if u := e.status(t, tc.id)[""]; u.Status != tc.st {
			t.Fatalf("order update %+v, want %s", u, tc.st)
		}
	}
	err := e.client.Cancel(e.ctx, providers.OrderRef{OrderID: newGUID()})
	if !errors.Is(err, providers.ErrNotFound) {
		t.Fatalf("cancel unknown: %v", err)
	}
}

func TestActionRequiredScenarios(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	order := e.create(t, e.orderReq("R-15", providers.ProductAssets, providers.ProductEmployment))
	steps := []struct {
		step   BorrowerStep
		sub    string
		raw    string
		status providers.Status
	}{
		{Arrive(), "voa", "501", providers.StatusInProgress},
		{ChooseInstitution("Sandbox Credit Union"), "voa", "503", providers.StatusInProgress},
		{BankLogin("someone", "wrong"), "voa", "505", providers.StatusInProgress},
		{BankLogin("user_update", "x"), "voa", "509", providers.StatusActionRequired},
		{BankLogin("user_good", "pass_good"), "voa", "507", providers.StatusCompleted},
		{PayrollLogin("payroll_bad", "x"), "voe", "634", providers.StatusActionRequired},
		{PayrollLogin("payroll_update", "x"), "voe", "609", providers.StatusActionRequired},
		{PayrollLogin("payroll_good", "x"), "voe", "607", providers.StatusCompleted},
	}
	for i, s := range steps {
		if err := e.em.Borrower(order.OrderID, s.step); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		u := e.status(t, order.OrderID)[s.sub]
		if u.RawStatus != s.raw || u.Status != s.status {
			t.Fatalf("step %d: %s = %+v, want %s %s", i, s.sub, u, s.raw, s.status)
		}
		if s.status == providers.StatusActionRequired && u.Detail == "" {
			t.Fatalf("step %d: no detail", i)
		}
	}
	if err := e.em.Borrower(order.OrderID, EnterMFA("1234")); !errors.Is(err, errStep) {
		t.Fatalf("MFA when nothing asks for it: %v", err)
	}
	if err := e.em.Borrower(newGUID(), Arrive()); err == nil {
		t.Fatal("unknown order accepted")
	}
}

func TestPostbackDropsAndDuplicates(t *testing.T) {
	t.Run("drop all", func(t *testing.T) {
		e := newEnv(t, func(c *EmulatorConfig) { c.DropRate = 1 }, nil, nil)
		order := e.create(t, e.orderReq("R-16", providers.ProductAssets))
		if err := e.em.Borrower(order.OrderID, Arrive(), ChooseInstitution("Sandbox Bank"), BankLogin("user_good", "pass_good")); err != nil {
			t.Fatal(err)
		}
		if u := e.status(t, order.OrderID)["voa"]; u.Status != providers.StatusCompleted {
			t.Fatalf("polling did not see completion: %+v", u)
		}
		e.em.Close() // waits for any sender
		if n := len(e.rcv.deliveries()); n != 0 {
			t.Fatalf("%d postbacks with DropRate 1", n)
		}
	})
	t.Run("duplicate all", func(t *testing.T) {
		e := newEnv(t, func(c *EmulatorConfig) { c.DuplicateRate = 1 }, nil, nil)
		order := e.create(t, e.orderReq("R-17", providers.ProductAssets))
		if err := e.em.Borrower(order.OrderID, Arrive()); err != nil {
			t.Fatal(err)
		}
		if got := statusesOf(t, e.rcv.wait(t, 4)); !slices.Equal(got, []string{"500", "500", "501", "501"}) {
			t.Fatalf("postbacks %v", got)
		}
	})
	t.Run("no VOIE opt-in", func(t *testing.T) {
		e := newEnv(t, func(c *EmulatorConfig) { c.NoVOIEPostbacks = true }, nil, nil)
		order := e.create(t, e.orderReq("R-18", providers.ProductAssets, providers.ProductIncome))
		if err := e.em.Borrower(order.OrderID, Arrive(), ChooseInstitution("Sandbox Bank"), BankLogin("user_good", "pass_good"), PayrollLogin("payroll_good", "x")); err != nil {
			t.Fatal(err)
		}
		e.em.Close()
		for _, s := range statusesOf(t, e.rcv.deliveries()) {
			if strings.HasPrefix(s, "6") {
				t.Fatalf("VOIE postback %s without opt-in", s)
			}
		}
		if u := e.status(t, order.OrderID)["voe"]; u.Status != providers.StatusCompleted {
			t.Fatalf("voe = %+v", u)
		}
	})
}

func TestPostbackRetries(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	e.rcv.mu.Lock()
	e.rcv.failNext = 2
	e.rcv.mu.Unlock()
	e.create(t, e.orderReq("R-19", providers.ProductAssets))
	if got := statusesOf(t, e.rcv.wait(t, 1)); !slices.Equal(got, []string{"500"}) {
		t.Fatalf("postbacks %v", got)
	}
	e.rcv.mu.Lock()
	attempts := e.rcv.attempts
	e.rcv.mu.Unlock()
	if attempts != 3 {
		t.Fatalf("%d attempts, want 3", attempts)
	}

	// A receiver that always fails gets 1 + 3 attempts, then nothing.
	e2 := newEnv(t, nil, nil, nil)
	e2.rcv.mu.Lock()
	e2.rcv.failNext = 100
	e2.rcv.mu.Unlock()
	e2.create(t, e2.orderReq("R-20", providers.ProductAssets))
	deadline := time.Now().Add(5 * time.Second)
	for {
		e2.rcv.mu.Lock()
		n := e2.rcv.attempts
		e2.rcv.mu.Unlock()
		if n >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e2.em.Close()
	e2.rcv.mu.Lock()
	defer e2.rcv.mu.Unlock()
	if e2.rcv.attempts != 4 {
		t.Fatalf("%d attempts, want 4", e2.rcv.attempts)
	}
}

func TestWrongCredentials(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.Password = "wrong" }, nil)
	_, err := e.client.CreateOrder(e.ctx, e.orderReq("R-21", providers.ProductAssets))
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != 401 || pe.Retryable ||
		!strings.Contains(pe.Message, "ACCOUNTCHEK_USERNAME") || !strings.Contains(pe.Message, "ACCOUNTCHEK_PASSWORD") {
		t.Fatalf("err = %v", err)
	}
}

func TestVOIEReportIDFallback(t *testing.T) {
	// When the status answer has no report id under the configured name,
	// the adapter lists the VOIE reports instead.
	e := newEnv(t, nil, func(c *Config) { c.VOIEReportIDField = "reportIdThatIsNotThere" }, nil)
	order := e.create(t, e.orderReq("R-22", providers.ProductIncome))
	if err := e.em.Borrower(order.OrderID, Arrive(), PayrollLogin("payroll_good", "x")); err != nil {
		t.Fatal(err)
	}
	ds := e.rcv.wait(t, 3)
	p, _ := ParsePostback(ds[2].Body)
	if u := e.status(t, order.OrderID)["voe"]; u.ReportID != "voe:"+p.VOEReportID {
		t.Fatalf("voe = %+v, want report %s", u, p.VOEReportID)
	}
	if _, ok := e.status(t, order.OrderID)["voa"]; ok {
		t.Fatal("income-only order reported VOA")
	}
}

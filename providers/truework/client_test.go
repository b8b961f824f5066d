package truework

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/providers"
)

func TestNew_Validation(t *testing.T) {
	ok := Config{APIKey: "tw_sk_test_x", WebhookTokens: []string{"t"}}
	tests := []struct {
		name  string
		mod   func(*Config)
		field string // named in the error; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"missing API key", func(c *Config) { c.APIKey = " " }, "APIKey"},
		{"no webhook token", func(c *Config) { c.WebhookTokens = nil }, "WebhookTokens"},
		{"empty webhook token", func(c *Config) { c.WebhookTokens = []string{"a", ""} }, "WebhookTokens[1]"},
		{"relative base URL", func(c *Config) { c.BaseURL = "/orders" }, "BaseURL"},
		{"unknown purpose", func(c *Config) { c.PermissiblePurpose = "curiosity" }, "PermissiblePurpose"},
		{"unknown use case", func(c *Config) { c.UseCase = "snap" }, "UseCase"},
		{"negative rate", func(c *Config) { c.RequestsPerSecond = -1 }, "RequestsPerSecond"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			c, err := New(cfg)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if c.baseURL != DefaultBaseURL || c.purpose != DefaultPermissiblePurpose || c.useCase != DefaultUseCase ||
					c.maxRetries != DefaultMaxRetries || c.http.Timeout != DefaultHTTPTimeout || c.limit.interval != 100*time.Millisecond {
					t.Errorf("defaults not applied: %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("New err = %v; want it to name %s", err, tt.field)
			}
		})
	}
}

func TestClient_NameProductsWidget(t *testing.T) {
	c := newTestClient(t, "", nil)
	if c.Name() != "truework" {
		t.Errorf("Name = %q", c.Name())
	}
	if got := c.Products(); !reflect.DeepEqual(got, []providers.Product{providers.ProductIncome, providers.ProductEmployment}) {
		t.Errorf("Products = %v", got)
	}
	w := c.Widget()
	if w.ScriptURL != DefaultScriptURL || w.PublishableKey != DefaultSandboxPublishableKey || w.Env != "sandbox" {
		t.Errorf("Widget = %+v", w)
	}
	prod := newTestClient(t, "", func(cfg *Config) { cfg.APIKey, cfg.PublishableKey = "tw_sk_live", "tw_pk_live" })
	if prod.Widget().Env != "production" {
		t.Errorf("production keys give Env %q", prod.Widget().Env)
	}
}

// recordingServer records requests and answers from a handler.
type recordingServer struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

func (rs *recordingServer) serve(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.reqs = append(rs.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), b})
		rs.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (rs *recordingServer) all() []recorded {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]recorded(nil), rs.reqs...)
}

const createdOrder = `{"id":"ord_1","search_key":"CV-1","truework_direct":{"targets":[{"truework_direct_session_token":"tok_1"}]},
"truework_direct_session_link":null,"reverification":null,
"verification_requests":[{"id":"vr_1","state":{"canonical_value":"pending-approval","raw_value":"pending-approval"},"reports":[]}]}`

func TestCreateOrder_RequestShape(t *testing.T) {
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"count":0,"next":null,"previous":null,"results":[]}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(createdOrder))
	})
	c := newTestClient(t, srv.URL, nil)
	req := incomeRequest("CV-1", "000000000")
	req.Employers = []string{"Northwind Software Inc.", " ", "Riverbend Systems LLC"}
	got, err := c.CreateOrder(context.Background(), req)
	if err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	want := &providers.Order{OrderID: "ord_1", Status: providers.StatusCreated,
		Links: []providers.ApplicantLink{{ApplicantRef: "member-1", SubID: "vr_1", WidgetToken: "tok_1"}}}
	// Issue 14: Truework's orders never expire on their own; the
	// contract's lifetime (7 days by default) ends an unopened one.
	if d := time.Until(got.ExpiresAt); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour {
		t.Errorf("ExpiresAt %v, want 7 days from now", got.ExpiresAt)
	}
	got.ExpiresAt = time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Order = %+v; want %+v", got, want)
	}

	reqs := rs.all()
	if len(reqs) != 2 {
		t.Fatalf("calls = %d; want lookup then create", len(reqs))
	}
	if reqs[0].Method != "GET" || reqs[0].Path != "/orders" || !strings.Contains(reqs[0].Query, "search_key=CV-1") {
		t.Errorf("lookup = %s %s?%s", reqs[0].Method, reqs[0].Path, reqs[0].Query)
	}
	post := reqs[1]
	if post.Method != "POST" || post.Path != "/orders/truework-direct" {
		t.Fatalf("create = %s %s", post.Method, post.Path)
	}
	for _, r := range reqs {
		if r.Header.Get("Authorization") != "Bearer "+DefaultSandboxAPIKey || r.Header.Get("Accept") != "application/json; version=2023-10-30" {
			t.Errorf("headers = %v", r.Header)
		}
	}
	var body map[string]any
	if err := json.Unmarshal(post.Body, &body); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]any{
		"search_key": "CV-1",
		"targets": []any{map[string]any{
			"first_name": "Pat", "last_name": "Doe", "social_security_number": "000-00-0000",
			"contact_email": "pat@example.test", "date_of_birth": "1990-04-01", "phone_number": "+15555550123",
			"permissible_purpose": "employee-eligibility", "use_case": "government", "type": "employment-income",
			"companies": []any{
				map[string]any{"name": "Northwind Software Inc.", "action": "verify"},
				map[string]any{"name": "Riverbend Systems LLC", "action": "verify"},
			},
			"metadata": map[string]any{"reference": "CV-1"},
		}},
	}
	if !reflect.DeepEqual(body, wantBody) {
		t.Errorf("body =\n%v\nwant\n%v", body, wantBody)
	}
}

func TestCreateOrder_EmploymentOnlyType(t *testing.T) {
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(createdOrder))
	})
	c := newTestClient(t, srv.URL, nil)
	req := incomeRequest("", "000-00-0000")
	req.Products = []providers.Product{providers.ProductEmployment}
	if _, err := c.CreateOrder(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	reqs := rs.all()
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"type":"employment"`) {
		t.Fatalf("without a reference there is no lookup, and the type is employment: %+v", reqs)
	}
}

func TestCreateOrder_IdempotentOnReference(t *testing.T) {
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) {
		// search_key is not unique at Truework: a near match must be skipped.
		_, _ = w.Write([]byte(`{"count":2,"results":[{"id":"ord_other","search_key":"CV-10","verification_requests":[]},` +
			strings.Replace(createdOrder, `"tok_1"`, `"tok_fresh"`, 1) + `]}`))
	})
	c := newTestClient(t, srv.URL, nil)
	got, err := c.CreateOrder(context.Background(), incomeRequest("CV-1", "000000000"))
	if err != nil {
		t.Fatal(err)
	}
	if got.OrderID != "ord_1" || got.Links[0].WidgetToken != "tok_fresh" {
		t.Errorf("Order = %+v; want the existing ord_1", got)
	}
	for _, r := range rs.all() {
		if r.Method == http.MethodPost {
			t.Fatal("a second order was created")
		}
	}
}

func TestCreateOrder_RefusedLocally(t *testing.T) {
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	c := newTestClient(t, srv.URL, nil)

	bad := incomeRequest("CV-1", "12345")
	bad.Applicants[0].Email = ""
	bad.Applicants[0].DateOfBirth = "04/01/1990"
	_, err := c.CreateOrder(context.Background(), bad)
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.Code != CodeValidation {
		t.Fatalf("err = %v; want a validation ProviderError", err)
	}
	for _, f := range []string{"ssn", "email", "date_of_birth"} {
		if pe.Fields[f] == "" {
			t.Errorf("Fields lacks %q: %v", f, pe.Fields)
		}
	}
	if strings.Contains(pe.Error(), "12345") || strings.Contains(pe.Error(), "04/01/1990") {
		t.Errorf("error echoes a value: %v", pe)
	}

	assets := incomeRequest("CV-2", "000000000")
	assets.Products = []providers.Product{providers.ProductAssets}
	if _, err := c.CreateOrder(context.Background(), assets); !errors.Is(err, providers.ErrNotSupported) {
		t.Errorf("assets err = %v; want ErrNotSupported", err)
	}
	nobody := incomeRequest("CV-3", "000000000")
	nobody.Applicants = nil
	if _, err := c.CreateOrder(context.Background(), nobody); !errors.As(err, &pe) || pe.Fields["applicants"] == "" {
		t.Errorf("no applicants err = %v", err)
	}
	if n := len(rs.all()); n != 0 {
		t.Errorf("%d calls made for refused requests", n)
	}
}

func TestFormatSSN(t *testing.T) {
	tests := map[string]string{"000000000": "000-00-0000", "123-45-6789": "123-45-6789", "123 45 6789": "123-45-6789",
		"12345678": "", "1234567890": "", "12345678x": "", "": ""}
	for in, want := range tests {
		got, ok := formatSSN(in)
		if got != want || ok != (want != "") {
			t.Errorf("formatSSN(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestFetchStatus_MixedStates maps every §7.1 case from one order answer.
func TestFetchStatus_MixedStates(t *testing.T) {
	body := readFixture(t, "order_mixed_states.json")
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	c := newTestClient(t, srv.URL, nil)
	const id = "AAAAAAAAQnIAAYd5YHFVOm8PNX2ecFbEjqV__upOKUE8YE_IK2GwSQTP"
	got, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: id})
	if err != nil {
		t.Fatal(err)
	}
	if p := rs.all()[0].Path; p != "/orders/"+id {
		t.Errorf("path = %s", p)
	}
	done := time.Date(2025, 1, 2, 11, 0, 0, 0, time.UTC)
	ended := time.Date(2025, 1, 3, 9, 0, 0, 0, time.UTC)
	completed := providers.Update{OrderID: id, SubID: "vr_completed", RawStatus: "completed", Status: providers.StatusCompleted,
		Outcome: providers.OutcomeVerified, At: done, ReportReady: true, ReportID: "rep_a"}
	second := completed
	second.ReportID = "rep_b"
	want := []providers.Update{
		completed, second,
		{OrderID: id, SubID: "vr_processing", RawStatus: "processing", Status: providers.StatusInProgress},
		{OrderID: id, SubID: "vr_pending", RawStatus: "pending-approval", Status: providers.StatusCreated},
		{OrderID: id, SubID: "vr_typo", RawStatus: "action-requred", Status: providers.StatusActionRequired, Detail: detailActionRequired},
		{OrderID: id, SubID: "vr_nomatch", RawStatus: "canceled", Status: providers.StatusFailed, Detail: detailNoMatch, At: ended},
		{OrderID: id, SubID: "vr_verifier_cancel", RawStatus: "canceled", Status: providers.StatusCanceled, Detail: detailVerifierCancel + " Reason: other.", At: ended},
		{OrderID: id, SubID: "vr_truework_cancel", RawStatus: "canceled", Status: providers.StatusFailed, Detail: detailTrueworkCancel, At: ended},
		{OrderID: id, SubID: "vr_invalid", RawStatus: "invalid", Status: providers.StatusFailed, Detail: detailInvalid, At: ended},
		{OrderID: id, SubID: "vr_other", RawStatus: "other", Detail: "Truework status: Awaiting employer callback"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d updates; want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("update %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestFetchReport_Normalizes(t *testing.T) {
	body := readFixture(t, "report_income.json")
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	c := newTestClient(t, srv.URL, nil)
	rep, err := c.FetchReport(context.Background(), providers.OrderRef{OrderID: "o1"}, "rep_a")
	if err != nil {
		t.Fatal(err)
	}
	if p := rs.all()[0].Path; p != "/reports/rep_a" {
		t.Errorf("path = %s", p)
	}
	want := providers.Employment{
		Employer: "Northwind Software Inc.", JobTitle: "Software Engineer", Active: true, StartDate: "2019-01-01",
		PayRate: 12000000, PayUnit: "yearly", PayFrequency: "biweekly",
		AnnualIncome: []providers.AnnualIncome{{Year: 2025, Gross: 2307690}, {Year: 2024, Gross: 12100005}},
		Paystubs: []providers.Paystub{
			{PayDate: "2025-03-07", PeriodStart: "2025-02-20", PeriodEnd: "2025-03-05", Hours: 80, Gross: 461538, Net: 360000},
			{PayDate: "2025-02-21", PeriodStart: "2025-02-06", PeriodEnd: "2025-02-19", Hours: 80, Gross: 461538, Net: 360000},
		},
	}
	if rep.ReportID != "rep_a" || rep.Kind != providers.ReportIncome || !rep.CreatedAt.Equal(time.Date(2025, 3, 14, 16, 25, 0, 0, time.UTC)) {
		t.Errorf("report header = %s %s %v", rep.ReportID, rep.Kind, rep.CreatedAt)
	}
	if len(rep.Employments) != 1 || !reflect.DeepEqual(rep.Employments[0], want) {
		t.Errorf("employment =\n%+v\nwant\n%+v", rep.Employments, want)
	}
	if string(rep.Raw) != string(body) {
		t.Error("Raw is not the provider's JSON")
	}
}

func TestParseCents(t *testing.T) {
	tests := map[string]providers.Cents{
		"1234.56": 123456, "1,234.56": 123456, "$12": 1200, "0.5": 50, "-12.5": -1250, "3599.995": 360000,
		"3599.994": 359999, "": 0, "abc": 0, "12.3x": 0, ".75": 75,
	}
	for in, want := range tests {
		if got := parseCents(in); got != want {
			t.Errorf("parseCents(%q) = %d; want %d", in, got, want)
		}
	}
}

func TestFetchReportPDF_ChecksTheAnswer(t *testing.T) {
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") == "application/pdf" {
			_, _ = w.Write([]byte("%PDF-1.4 fake"))
			return
		}
		_, _ = w.Write([]byte(`{"id":"rep_a"}`))
	})
	c := newTestClient(t, srv.URL, nil)
	b, err := c.FetchReportPDF(context.Background(), providers.OrderRef{}, "rep_a")
	if err != nil || !strings.HasPrefix(string(b), "%PDF-") {
		t.Fatalf("FetchReportPDF = %q, %v", b, err)
	}
	jsonOnly := rs.serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"id":"rep_a"}`)) })
	c2 := newTestClient(t, jsonOnly.URL, nil)
	var pe *providers.ProviderError
	if _, err := c2.FetchReportPDF(context.Background(), providers.OrderRef{}, "rep_a"); !errors.As(err, &pe) || pe.Code != CodeBadResponse {
		t.Fatalf("non-PDF answer err = %v; want bad_response", err)
	}
}

// TestRefresh_NinetyDayWindow refuses an old report without calling the
// reverification endpoint.
func TestRefresh_NinetyDayWindow(t *testing.T) {
	completed := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"id":"rep_a","completed":"` + completed.Format(time.RFC3339) + `"}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"ord_2","truework_direct":null,"reverification":{"parent_order_id":"ord_1","targets":[{"first_name":"Pat","last_name":"Doe","truework_direct_session_token":"tok_r"}]},"verification_requests":[{"id":"vr_2","state":{"canonical_value":"processing"},"reports":[]}]}`))
	})
	c := newTestClient(t, srv.URL, nil)

	_, err := c.Refresh(context.Background(), providers.OrderRef{OrderID: "ord_1"}, providers.RefreshRequest{ReportID: "rep_a", Now: completed.Add(91 * 24 * time.Hour)})
	var pe *providers.ProviderError
	if !errors.Is(err, providers.ErrLimitReached) || !errors.As(err, &pe) || pe.Message != MsgReverificationWindow {
		t.Fatalf("Refresh after 91 days = %v; want ErrLimitReached with the 90-day message", err)
	}
	for _, r := range rs.all() {
		if r.Method == http.MethodPost {
			t.Fatal("reverification was requested for a report outside the window")
		}
	}

	got, err := c.Refresh(context.Background(), providers.OrderRef{OrderID: "ord_1"}, providers.RefreshRequest{ReportID: "rep_a", Now: completed.Add(89 * 24 * time.Hour)})
	if err != nil {
		t.Fatalf("Refresh within 89 days: %v", err)
	}
	want := &providers.Order{OrderID: "ord_2", Status: providers.StatusInProgress, RefreshOf: "ord_1",
		Links: []providers.ApplicantLink{{SubID: "vr_2", WidgetToken: "tok_r"}}}
	got.ExpiresAt = time.Time{} // checked in TestCreateOrder_RequestShape
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Order = %+v; want %+v", got, want)
	}
	last := rs.all()[len(rs.all())-1]
	if last.Method != http.MethodPost || last.Path != "/orders/reverification" || string(last.Body) != `{"report_id":"rep_a"}` {
		t.Errorf("reverification call = %s %s %s", last.Method, last.Path, last.Body)
	}
	if _, err := c.Refresh(context.Background(), providers.OrderRef{}, providers.RefreshRequest{}); !errors.As(err, &pe) || pe.Fields["report_id"] == "" {
		t.Errorf("Refresh without a report = %v", err)
	}
}

func TestCancel_SendsReason(t *testing.T) {
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"id":"ord_1"}`)) })
	c := newTestClient(t, srv.URL, nil)
	if err := c.Cancel(context.Background(), providers.OrderRef{OrderID: "ord_1"}); err != nil {
		t.Fatal(err)
	}
	r := rs.all()[0]
	if r.Method != http.MethodPut || r.Path != "/orders/ord_1/cancel" || string(r.Body) != `{"cancellation_reason":"other"}` ||
		r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("cancel call = %s %s %s %v", r.Method, r.Path, r.Body, r.Header)
	}
}

func TestSessionToken_FromOrder(t *testing.T) {
	var rs recordingServer
	srv := rs.serve(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"id":"ord_2","truework_direct":null,"reverification":{"parent_order_id":"ord_1","targets":[{"truework_direct_session_token":"tok_new"},{"truework_direct_session_token":null}]},"verification_requests":[]}`))
	})
	c := newTestClient(t, srv.URL, nil)
	ref := providers.OrderRef{OrderID: "ord_2"}
	if tok, err := c.SessionToken(context.Background(), ref, 0); err != nil || tok != "tok_new" {
		t.Errorf("SessionToken(0) = %q, %v", tok, err)
	}
	for _, i := range []int{1, 2, -1} {
		if _, err := c.SessionToken(context.Background(), ref, i); !errors.Is(err, providers.ErrNotFound) {
			t.Errorf("SessionToken(%d) err = %v; want ErrNotFound", i, err)
		}
	}
}

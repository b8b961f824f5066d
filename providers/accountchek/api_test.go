package accountchek

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"caseverify/providers"
)

// stub answers every request with a fixed status, headers and body.
func stub(t *testing.T, status int, header http.Header, body string) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return newTestClient(t, Config{BaseURL: srv.URL})
}

func TestErrorShapes(t *testing.T) {
	vendor422, err := os.ReadFile("testdata/error_422.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		message    string // substring
		fields     map[string]string
		retryable  bool
		retryAfter time.Duration
		is         error
	}{
		{name: "422 vendor example", status: 422, body: string(vendor422),
			message: "AccountChek did not accept the request: The order could not be created.",
			// Issue 14: in the portal's words, on the portal's field.
			fields: map[string]string{"email": "The email address field is required.", "ssn_last4": "The last 4 digits of the SSN field must be exactly 4 digits.",
				"webhook_url": "The notification URL must include https://."}},
		{name: "422 properties only", status: 422, body: `{"general":[],"properties":[{"property":"firstName","message":"Required."},{"property":"Address.Zip","message":"Bad zip."}]}`,
			message: "check the fields marked", fields: map[string]string{"first_name": "Required.", "address": "Bad zip."}},
		{name: "422 general echoes pii", status: 422, body: `{"general":["Borrower ana@example.org with SSN 123-45-6789 exists"],"properties":[]}`,
			message: "Borrower [redacted] with SSN [redacted] exists"},
		{name: "422 vendor property names in the portal's words", status: 422,
			body:    `{"general":[],"properties":[{"property":"last4SSN","message":"'last4SSN' must not be empty."},{"property":"model.email","message":"'Email' is not a valid email address."}]}`,
			message: "check the fields marked",
			fields:  map[string]string{"ssn_last4": "Last 4 digits of the SSN must not be empty.", "email": "Email address is not a valid email address."}},
		{name: "422 not json", status: 422, body: `<html>oops</html>`, message: "AccountChek did not accept the request."},
		{name: "400", status: 400, body: `{"general":["The request is invalid."]}`, message: "The request is invalid."},
		{name: "401", status: 401, body: `{"message":"Authorization has been denied for this request."}`, message: "ACCOUNTCHEK_USERNAME and ACCOUNTCHEK_PASSWORD"},
		{name: "403", status: 403, body: ``, message: "role"},
		{name: "404", status: 404, body: `{"message":"nope"}`, message: "no such order", is: providers.ErrNotFound},
		{name: "409", status: 409, body: ``, message: "refused"},
		{name: "429 retry-after seconds", status: 429, header: http.Header{"Retry-After": {"7"}}, message: "too many requests", retryable: true, retryAfter: 7 * time.Second},
		{name: "500", status: 500, body: `{"message":"An error has occurred."}`, message: "having a problem", retryable: true},
		{name: "502", status: 502, message: "having a problem", retryable: true},
		{name: "503 retry-after date", status: 503, header: http.Header{"Retry-After": {time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat)}},
			message: "having a problem", retryable: true, retryAfter: 2 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := stub(t, tc.status, tc.header, tc.body)
			_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: testOrderID})
			var pe *providers.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ProviderError", err)
			}
			if pe.Provider != "accountchek" || pe.HTTPStatus != tc.status || pe.Retryable != tc.retryable {
				t.Fatalf("got %+v", pe)
			}
			if !strings.Contains(pe.Message, tc.message) {
				t.Fatalf("Message %q does not contain %q", pe.Message, tc.message)
			}
			if strings.Contains(pe.Message, "ana@example.org") || strings.Contains(pe.Message, "6789") || strings.Contains(pe.Message, "<html>") {
				t.Fatalf("Message leaks: %q", pe.Message)
			}
			if len(pe.Fields) != len(tc.fields) {
				t.Fatalf("Fields = %v, want %v", pe.Fields, tc.fields)
			}
			for k, v := range tc.fields {
				if pe.Fields[k] != v {
					t.Fatalf("Fields[%s] = %q, want %q", k, pe.Fields[k], v)
				}
			}
			if tc.retryAfter > 0 && (pe.RetryAfter < tc.retryAfter-2*time.Second || pe.RetryAfter > tc.retryAfter) {
				t.Fatalf("RetryAfter = %v, want about %v", pe.RetryAfter, tc.retryAfter)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("errors.Is(%v) false", tc.is)
			}
		})
	}
}

func TestTransportErrors(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newTestClient(t, Config{BaseURL: srv.URL, HTTPClient: &http.Client{Timeout: 50 * time.Millisecond}})
	_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: testOrderID})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || !pe.Retryable || pe.HTTPStatus != 0 || !strings.Contains(pe.Message, "did not answer in time") {
		t.Fatalf("timeout: %#v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.FetchStatus(ctx, providers.OrderRef{OrderID: testOrderID})
	if !errors.As(err, &pe) || pe.Retryable {
		t.Fatalf("canceled: %#v", err)
	}

	down := newTestClient(t, Config{BaseURL: "http://127.0.0.1:1"})
	_, err = down.FetchStatus(context.Background(), providers.OrderRef{OrderID: testOrderID})
	if !errors.As(err, &pe) || !pe.Retryable || !strings.Contains(pe.Message, "could not reach") {
		t.Fatalf("refused: %#v", err)
	}
}

func TestBodyLimits(t *testing.T) {
	big := strings.Repeat(" ", maxJSONBody+10) + `{"id":"x"}`
	c := stub(t, 200, nil, big)
	_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: testOrderID})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "larger answer") {
		t.Fatalf("oversized answer: %v", err)
	}
	c = stub(t, 200, nil, "<html>not a pdf</html>")
	if _, err := c.FetchReportPDF(context.Background(), providers.OrderRef{OrderID: testOrderID}, "voa:"+testReportID); err == nil {
		t.Fatal("a non-PDF answer was accepted as PDF")
	}
}

func TestVendorCreateResponse(t *testing.T) {
	data, err := os.ReadFile("testdata/create_order_response_201.json")
	if err != nil {
		t.Fatal(err)
	}
	var o wireOrder
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	c := newTestClient(t, Config{Now: clock.Now})
	got := c.orderFrom(o, "m1")
	if got.OrderID != testOrderID || got.Status != providers.StatusCreated || got.Links[0].ApplicantRef != "m1" ||
		got.Links[0].URL != "https://s-borrower.accountchek.net/Account/Login?vodkey=b943cae2a8f5e911b5e90003ff4f1b49" {
		t.Fatalf("order = %+v", got)
	}
	if d := got.ExpiresAt.Sub(clock.Now()); d < 58*24*time.Hour || d > 59*24*time.Hour {
		t.Fatalf("ExpiresAt in %v", d)
	}

	// The emulator's 201 answer has exactly the vendor's fields.
	e := newEnv(t, func(c *EmulatorConfig) { c.WebhookURL = "" }, nil, nil)
	req, err := os.ReadFile("testdata/create_order_request.json")
	if err != nil {
		t.Fatal(err)
	}
	var vendorReq map[string]any
	_ = json.Unmarshal(req, &vendorReq)
	var mine map[string]any
	if err := e.client.callJSON(e.ctx, apiRequest{method: http.MethodPost, path: "/v1/accountchekorders", body: vendorReq}, &mine); err != nil {
		t.Fatal(err)
	}
	var vendor map[string]any
	_ = json.Unmarshal(data, &vendor)
	for k := range vendor {
		if _, ok := mine[k]; !ok {
			t.Errorf("emulator answer lacks %q", k)
		}
	}
	for k := range mine {
		if _, ok := vendor[k]; !ok {
			t.Errorf("emulator answer has extra %q", k)
		}
	}
	if mine["ssn"] != "***-**-6789" || mine["dateOfBirth"] != "1983-05-24T00:00:00Z" || mine["status"] != "building" || mine["last4SSN"] != "6789" {
		t.Fatalf("emulator answer %v", mine)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	ok := Config{Username: "u", Password: "p"}
	c, err := New(ok)
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != DefaultBaseURL || c.cfg.VOARequestType != "full" || c.cfg.DaysBack != 90 || c.cfg.AccountMonitoring != 30 ||
		c.cfg.HTTPClient.Timeout != 15*time.Second || c.cfg.VOAStatusPath != DefaultVOAStatusPath {
		t.Fatalf("defaults: %+v", c.cfg)
	}
	cases := []struct {
		name string
		mut  func(*Config)
		want string
	}{
		{"no username", func(c *Config) { c.Username = "" }, "ACCOUNTCHEK_USERNAME"},
		{"no password", func(c *Config) { c.Password = "" }, "ACCOUNTCHEK_PASSWORD"},
		{"relative base", func(c *Config) { c.BaseURL = "verifierapi.accountchek.com" }, "BaseURL"},
		{"ftp base", func(c *Config) { c.BaseURL = "ftp://x" }, "BaseURL"},
		{"monitoring", func(c *Config) { c.AccountMonitoring = 45 }, "AccountMonitoring"},
		{"request type", func(c *Config) { c.VOARequestType = "mid" }, "VOARequestType"},
		{"days back", func(c *Config) { c.DaysBack = -1 }, "DaysBack"},
		{"cidr", func(c *Config) { c.AllowedSourceCIDRs = []string{"10.0.0.0/33"} }, "AllowedSourceCIDRs"},
		{"path without id", func(c *Config) { c.VOAStatusPath = "/v1/voa" }, "VOAStatusPath"},
		{"report path without report", func(c *Config) { c.VOIEReportPath = "/v1/accountchekorders/{orderId}/voe" }, "VOIEReportPath"},
	}
	for _, tc := range cases {
		cfg := ok
		tc.mut(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %s", tc.name, err, tc.want)
		}
	}
	if c.Name() != "accountchek" || len(c.Products()) != 3 {
		t.Fatalf("Name/Products: %s %v", c.Name(), c.Products())
	}
}

func TestPortalFieldNames(t *testing.T) {
	cases := map[string]string{
		"email": "email", "Email": "email", "firstName": "first_name", "lastName": "last_name", "last4SSN": "ssn_last4",
		"ssn": "ssn_last4", "referenceNumber": "case_number", "phoneNumber": "phone", "dateOfBirth": "date_of_birth",
		"notificationUrl": "webhook_url", "employerName": "employer", "address": "address", "address.zip": "address",
		"model.Email": "email", "requestType": "voa_request_type", "daysBack": "days_back", "accountMonitoring": "account_monitoring",
		"somethingNew": "somethingNew",
	}
	for in, want := range cases {
		if got := portalField(in); got != want {
			t.Errorf("portalField(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCents(t *testing.T) {
	cases := map[string]providers.Cents{
		"0": 0, "1": 100, "1234.5": 123450, "1234.56": 123456, "12.345": 1235, "12.344": 1234, "-5.5": -550,
		"0.005": 1, "1e2": 10000, "": 0, "abc": 0, "-0.01": -1,
	}
	for in, want := range cases {
		if got := cents(json.Number(in)); got != want {
			t.Errorf("cents(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestReportIDs(t *testing.T) {
	c := newTestClient(t, Config{})
	ref := providers.OrderRef{OrderID: testOrderID}
	cases := []struct {
		in, sub, path string
	}{
		{"voa:" + testReportID, "voa", "/v1/accountchekorders/" + testOrderID + "/voa/reports/" + testReportID + "/summary"},
		{testReportID, "voa", "/v1/accountchekorders/" + testOrderID + "/voa/reports/" + testReportID + "/summary"},
		{"voe:" + testReportID, "voe", "/v1/accountchekorders/" + testOrderID + "/voe/reports/" + testReportID},
	}
	for _, tc := range cases {
		sub, id, path, err := c.reportTarget(context.Background(), ref, tc.in)
		if err != nil || sub != tc.sub || id != testReportID || path != tc.path {
			t.Errorf("reportTarget(%q) = %s %s %s %v", tc.in, sub, id, path, err)
		}
	}
	for _, bad := range []string{"voe:", "voe:../../x", "voa:%2e%2e", "../secrets"} {
		if _, _, _, err := c.reportTarget(context.Background(), ref, bad); err == nil {
			t.Errorf("reportTarget(%q) accepted", bad)
		}
	}
}

// TestOrderRefMustBeAGUID: nothing but an AccountChek GUID is ever put in
// a request path.
func TestOrderRefMustBeAGUID(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	c := newTestClient(t, Config{BaseURL: srv.URL})
	ctx := context.Background()
	for _, id := range []string{"", "../../v1/accountchekorders", "https://evil.example/", testOrderID + "/voa"} {
		ref := providers.OrderRef{OrderID: id}
		errs := []error{}
		_, err := c.FetchStatus(ctx, ref)
		errs = append(errs, err)
		_, err = c.FetchReport(ctx, ref, "voa:"+testReportID)
		errs = append(errs, err)
		_, err = c.FetchReportPDF(ctx, ref, "voa:"+testReportID)
		errs = append(errs, err)
		_, err = c.Refresh(ctx, ref, providers.RefreshRequest{})
		errs = append(errs, err)
		errs = append(errs, c.Cancel(ctx, ref))
		_, err = c.NewSSOURL(ctx, ref)
		errs = append(errs, err)
		for i, err := range errs {
			if err == nil {
				t.Errorf("%q: call %d accepted", id, i)
			}
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("%d requests made with a bad order id", n)
	}
}

// TestServiceStatusEdgeCases: odd status answers never move a status.
func TestServiceStatusEdgeCases(t *testing.T) {
	cases := []struct {
		name      string
		order     string
		voa, voe  string // raw JSON of "status"; "" = service absent (404)
		wantVOA   providers.Update
		wantVOE   providers.Update
		wantOrder providers.Status
	}{
		{name: "building, attached", order: "building", voa: `"created"`, voe: `"created"`,
			wantVOA: providers.Update{RawStatus: "created", Status: providers.StatusCreated}, wantVOE: providers.Update{RawStatus: "created", Status: providers.StatusCreated},
			wantOrder: providers.StatusCreated},
		{name: "code of the other service", order: "inprogress", voa: `607`, voe: `507`,
			wantVOA: providers.Update{RawStatus: "607"}, wantVOE: providers.Update{RawStatus: "507"}, wantOrder: providers.StatusInProgress},
		{name: "unknown and odd values", order: "inprogress", voa: `5099`, voe: `"pending review"`,
			wantVOA: providers.Update{RawStatus: "5099"}, wantVOE: providers.Update{RawStatus: "pending review"}, wantOrder: providers.StatusInProgress},
		{name: "code as string", order: "inprogress", voa: `"509"`, voe: ``,
			wantVOA:   providers.Update{RawStatus: "509", Status: providers.StatusActionRequired, Detail: "The applicant must sign in to their bank again"},
			wantOrder: providers.StatusInProgress},
		{name: "closed without report", order: "closed", voa: `505`, voe: ``,
			wantVOA: providers.Update{RawStatus: "505", Status: providers.StatusInProgress}, wantOrder: providers.StatusExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			base := "/v1/accountchekorders/" + testOrderID
			mux.HandleFunc("GET "+base, func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"id":"` + testOrderID + `","status":"` + tc.order + `"}`))
			})
			for path, raw := range map[string]string{base + "/voa": tc.voa, base + "/voe": tc.voe} {
				mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
					if raw == "" {
						w.WriteHeader(http.StatusNotFound)
						return
					}
					_, _ = w.Write([]byte(`{"status":` + raw + `}`))
				})
			}
			srv := httptest.NewServer(mux)
			defer srv.Close()
			c := newTestClient(t, Config{BaseURL: srv.URL})
			ups, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: testOrderID})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]providers.Update{}
			for _, u := range ups {
				got[u.SubID] = u
			}
			check := func(sub string, want providers.Update, present bool) {
				u, ok := got[sub]
				if ok != present {
					t.Fatalf("%s present = %v", sub, ok)
				}
				if !present {
					return
				}
				if u.RawStatus != want.RawStatus || u.Status != want.Status || u.Detail != want.Detail || u.ReportReady {
					t.Fatalf("%s = %+v, want %+v", sub, u, want)
				}
			}
			check("voa", tc.wantVOA, tc.voa != "")
			check("voe", tc.wantVOE, tc.voe != "")
			if got[""].Status != tc.wantOrder {
				t.Fatalf("order = %+v, want %s", got[""], tc.wantOrder)
			}
		})
	}
}

package accountchek

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

// apiCall makes a raw API call to the emulator and decodes the JSON answer.
func (e *env) apiCall(t *testing.T, method, path, user, pass, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.publicURL+path, rd)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	return resp.StatusCode, out
}

// properties lists the property names of a 422 body.
func properties(t *testing.T, body map[string]any) []string {
	t.Helper()
	if _, ok := body["general"].([]any); !ok {
		t.Fatalf("422 body without a general array: %v", body)
	}
	props, ok := body["properties"].([]any)
	if !ok {
		t.Fatalf("422 body without a properties array: %v", body)
	}
	var out []string
	for _, p := range props {
		out = append(out, p.(map[string]any)["property"].(string))
	}
	slices.Sort(out)
	return out
}

func TestEmulatorAPI(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	u, p := SandboxUsername, SandboxPassword
	minimal := `{"email":"a@example.org","last4SSN":"1234","referenceNumber":"X-1","firstName":"A","lastName":"B"}`

	if st, _ := e.apiCall(t, "POST", "/v1/accountchekorders", "", "", minimal); st != 401 {
		t.Fatalf("no credentials: %d", st)
	}
	if st, _ := e.apiCall(t, "POST", "/v1/accountchekorders", u, "nope", minimal); st != 401 {
		t.Fatalf("wrong password: %d", st)
	}
	if st, _ := e.apiCall(t, "GET", "/v1/accountchekorders/"+newGUID(), "x"+u, p, ""); st != 401 {
		t.Fatalf("wrong user: %d", st)
	}

	st, body := e.apiCall(t, "POST", "/v1/accountchekorders", u, p, `{}`)
	if got := properties(t, body); st != 422 || !slices.Equal(got, []string{"email", "firstName", "last4SSN", "lastName", "referenceNumber"}) {
		t.Fatalf("empty create: %d %v", st, got)
	}
	st, body = e.apiCall(t, "POST", "/v1/accountchekorders", u, p,
		`{"email":"not-an-email","last4SSN":"12345","referenceNumber":"X","firstName":"A","lastName":"B","notificationUrl":"http://example.com/x","dateOfBirth":"24/05/1983"}`)
	if got := properties(t, body); st != 422 || !slices.Equal(got, []string{"dateOfBirth", "email", "last4SSN", "notificationUrl"}) {
		t.Fatalf("bad create: %d %v", st, got)
	}
	if st, body = e.apiCall(t, "POST", "/v1/accountchekorders", u, p, `not json`); st != 422 || len(body["general"].([]any)) != 1 {
		t.Fatalf("not json: %d %v", st, body)
	}
	// https is required, http only to loopback, and in sandbox only under the portal's webhook URL.
	for nurl, want := range map[string]int{
		e.rcv.srv.URL + "/webhooks/accountchek/t1":       201,
		"https://evil.example/webhooks/accountchek/t1":   422,
		e.rcv.srv.URL + "/webhooks/accountchekX":         422,
		"http://localhost:1/webhooks/accountchek/t1":     422,
		strings.Replace(e.rcv.srv.URL, "http", "ftp", 1): 422,
	} {
		b, _ := json.Marshal(map[string]string{"email": "a@example.org", "last4SSN": "1234", "referenceNumber": "N", "firstName": "A", "lastName": "B", "notificationUrl": nurl})
		if st, _ := e.apiCall(t, "POST", "/v1/accountchekorders", u, p, string(b)); st != want {
			t.Errorf("notificationUrl %s: %d, want %d", nurl, st, want)
		}
	}

	st, order := e.apiCall(t, "POST", "/v1/accountchekorders", u, p, minimal)
	if st != 201 || order["status"] != "building" || !isGUID(order["id"].(string)) {
		t.Fatalf("create: %d %v", st, order)
	}
	base := "/v1/accountchekorders/" + order["id"].(string)
	if st, body = e.apiCall(t, "PATCH", base, u, p, `{"status":"opened"}`); st != 422 || !strings.Contains(body["general"].([]any)[0].(string), "at least one service") {
		t.Fatalf("open without services: %d %v", st, body)
	}
	if st, _ = e.apiCall(t, "GET", base+"/voa", u, p, ""); st != 404 {
		t.Fatalf("status of an unattached VOA: %d", st)
	}
	st, body = e.apiCall(t, "POST", base+"/voa", u, p, `{"requestType":"medium","accountMonitoring":45,"daysBack":0,"reportType":"x"}`)
	if got := properties(t, body); st != 422 || !slices.Equal(got, []string{"accountMonitoring", "daysBack", "reportType", "requestType"}) {
		t.Fatalf("bad voa: %d %v", st, got)
	}
	if st, body = e.apiCall(t, "POST", base+"/voa", u, p, `{"requestType":"full","accountMonitoring":60,"daysBack":90,"reportType":"voa"}`); st != 201 || body["status"] != "created" {
		t.Fatalf("voa: %d %v", st, body)
	}
	if st, _ = e.apiCall(t, "POST", base+"/voa", u, p, `{"requestType":"full"}`); st != 422 {
		t.Fatalf("second voa: %d", st)
	}
	if st, _ = e.apiCall(t, "POST", base+"/voe", u, p, ""); st != 422 {
		t.Fatalf("voe without body: %d", st)
	}
	vendorVOE, _ := os.ReadFile("testdata/voe_attach_201.json")
	var wantVOE map[string]any
	_ = json.Unmarshal(vendorVOE, &wantVOE)
	if st, body = e.apiCall(t, "POST", base+"/voe", u, p, `{}`); st != 201 || !mapsEqual(body, wantVOE) {
		t.Fatalf("voe: %d %v, want %v", st, body, wantVOE)
	}
	if st, body = e.apiCall(t, "PATCH", base, u, p, `{"status":"archived"}`); st != 422 || !slices.Equal(properties(t, body), []string{"status"}) {
		t.Fatalf("bad status: %d %v", st, body)
	}
	if st, body = e.apiCall(t, "PATCH", base, u, p, `{"status":"opened"}`); st != 200 || body["status"] != "opened" || body["employmentVerificationRequested"] != true {
		t.Fatalf("open: %d %v", st, body)
	}
	if st, body = e.apiCall(t, "GET", base+"/voa", u, p, ""); st != 200 || body["status"] != float64(500) {
		t.Fatalf("voa status after open: %d %v", st, body)
	}
	if st, _ = e.apiCall(t, "POST", base+"/voe", u, p, `{}`); st != 422 {
		t.Fatalf("attach after open: %d", st)
	}
	if st, _ = e.apiCall(t, "PATCH", base, u, p, `{"status":"opened"}`); st != 422 {
		t.Fatalf("open twice: %d", st)
	}
	if err := e.em.Borrower(order["id"].(string), Arrive()); err != nil {
		t.Fatal(err)
	}
	if st, _ = e.apiCall(t, "PATCH", base, u, p, `{"status":"canceled"}`); st != 422 {
		t.Fatalf("cancel in progress: %d", st)
	}
	if st, body = e.apiCall(t, "PATCH", base, u, p, `{"status":"closed"}`); st != 200 || body["status"] != "closed" || body["daysRemaining"] != float64(0) {
		t.Fatalf("close: %d %v", st, body)
	}
	if st, _ = e.apiCall(t, "PATCH", base, u, p, `{"status":"closed"}`); st != 422 {
		t.Fatalf("close twice: %d", st)
	}
	if st, _ = e.apiCall(t, "GET", base+"/ssoUrl", u, p, ""); st != 422 {
		t.Fatalf("ssoUrl of a closed order: %d", st)
	}
	if st, _ = e.apiCall(t, "GET", "/v1/accountchekorders/"+newGUID(), u, p, ""); st != 404 {
		t.Fatalf("unknown order: %d", st)
	}
	if st, _ = e.apiCall(t, "DELETE", base, u, p, ""); st != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE: %d", st)
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The tag patterns a page check needs; enough for our own templates.
var (
	reInput    = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	reAttr     = regexp.MustCompile(`\b(id|type)="([^"]*)"`)
	reLabelFor = regexp.MustCompile(`<label for="([^"]+)"`)
)

// checkPage asserts the page rules of the brief on one rendered page.
func checkPage(t *testing.T, html string) {
	t.Helper()
	for _, must := range []string{`<!doctype html>`, `<html lang="en">`, `<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`data-testid="sandbox-banner">Sandbox: AccountChek emulator<`, `data-testid="sandbox-hint"`, `/assets/emulator.css"`,
		`user_good`, `pass_good`, `user_mfa`, `1234`, `user_update`, `payroll_good`, `payroll_bad`, `payroll_update`} {
		if !strings.Contains(html, must) {
			t.Errorf("page lacks %q", must)
		}
	}
	for _, banned := range []string{"<script", "style=", "<style", `type="submit" value`, "<input type=\"submit\"", "onclick"} {
		if strings.Contains(strings.ToLower(html), banned) {
			t.Errorf("page contains %q", banned)
		}
	}
	if n := strings.Count(html, "<h1"); n != 1 {
		t.Errorf("%d <h1>", n)
	}
	if m := regexp.MustCompile(`<title>([^<]+)</title>`).FindStringSubmatch(html); m == nil || strings.TrimSpace(m[1]) == "" {
		t.Error("no title")
	}
	labels := map[string]bool{}
	for _, m := range reLabelFor.FindAllStringSubmatch(html, -1) {
		labels[m[1]] = true
	}
	for _, tag := range reInput.FindAllString(html, -1) {
		attrs := map[string]string{}
		for _, a := range reAttr.FindAllStringSubmatch(tag, -1) {
			attrs[a[1]] = a[2]
		}
		if attrs["type"] == "hidden" {
			continue
		}
		if attrs["id"] == "" || !labels[attrs["id"]] {
			t.Errorf("control without a label: %s", tag)
		}
		if !strings.Contains(tag, "data-testid=") {
			t.Errorf("control without data-testid: %s", tag)
		}
	}
	if strings.Contains(html, "<form") && !strings.Contains(html, "<button type=\"submit\"") {
		t.Error("form without a <button>")
	}
}

// view returns the data-testid of the page's main element.
func view(html string) string {
	m := regexp.MustCompile(`data-testid="page-([a-z_]+)"`).FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestBorrowerPagesOverHTTP walks the whole flow as a browser without
// JavaScript or cookies would.
func TestBorrowerPagesOverHTTP(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	order := e.create(t, e.orderReq("R-30", providers.ProductAssets, providers.ProductIncome))
	link := order.Links[0].URL
	noCookies := &http.Client{Timeout: 5 * time.Second} // no Jar: state must not need cookies

	post := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := noCookies.PostForm(link, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Request.Method != http.MethodGet && resp.StatusCode == http.StatusOK {
			t.Fatalf("a successful form did not redirect (post/redirect/get)")
		}
		return resp.StatusCode, string(b)
	}

	resp, html := get(t, link)
	if resp.StatusCode != 200 || view(html) != "bank" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("arrival: %d %s", resp.StatusCode, view(html))
	}
	checkPage(t, html)
	if !strings.Contains(html, "bank accounts and your income and employment") {
		t.Error("page does not say what is shared")
	}

	steps := []struct {
		form     url.Values
		wantView string
		notice   bool
	}{
		{url.Values{"action": {"institution"}, "institution": {"Not A Bank"}}, "bank", true},
		{url.Values{"action": {"institution"}, "institution": {"Sandbox Bank"}}, "bank_login", false},
		{url.Values{"action": {"bank_login"}, "username": {"user_good"}, "password": {"wrong"}}, "bank_login", true},
		{url.Values{"action": {"bank_login"}, "username": {"user_mfa"}, "password": {"x"}}, "mfa", false},
		{url.Values{"action": {"mfa"}, "code": {"9999"}}, "mfa", true},
		{url.Values{"action": {"mfa"}, "code": {"1234"}}, "payroll", false},
		{url.Values{"action": {"payroll"}, "provider": {"Sandbox Payroll"}, "username": {"payroll_bad"}, "password": {"x"}}, "payroll", true},
		{url.Values{"action": {"payroll"}, "provider": {"Sandbox HR Cloud"}, "username": {"payroll_good"}, "password": {"x"}}, "done", false},
		{url.Values{"action": {"mfa"}, "code": {"1234"}}, "done", false}, // stale form: back to where things are
	}
	for i, s := range steps {
		status, html := post(s.form)
		if status != 200 || view(html) != s.wantView {
			t.Fatalf("step %d: %d, view %q, want %q", i, status, view(html), s.wantView)
		}
		if got := strings.Contains(html, `data-testid="notice"`); got != s.notice {
			t.Fatalf("step %d: notice shown = %v", i, got)
		}
		checkPage(t, html)
	}
	voa, voe, _, _ := e.em.ServiceStatus(order.OrderID)
	if voa != "507" || voe != "607" {
		t.Fatalf("after the pages: voa %s voe %s", voa, voe)
	}

	// The action must come from the body, not the query string.
	resp, err := noCookies.Post(link+"?action=mfa", "application/x-www-form-urlencoded", strings.NewReader("code=1234"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("query-string action: %d", resp.StatusCode)
	}
}

func TestBorrowerPageStates(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	resp, html := get(t, e.publicURL+"/borrower/"+newToken())
	if resp.StatusCode != 404 || view(html) != "invalid" {
		t.Fatalf("unknown token: %d %s", resp.StatusCode, view(html))
	}
	checkPage(t, html)

	var building wireOrder
	if err := e.client.callJSON(e.ctx, apiRequest{method: http.MethodPost, path: "/v1/accountchekorders", body: createBody{
		Email: "a@example.org", Last4SSN: "1234", ReferenceNumber: "B", FirstName: "A", LastName: "B"}}, &building); err != nil {
		t.Fatal(err)
	}
	if _, html := get(t, building.LoginURL); view(html) != "notready" {
		t.Fatalf("building order page: %s", view(html))
	}

	canceled := e.create(t, e.orderReq("R-31", providers.ProductAssets))
	if err := e.client.Cancel(e.ctx, providers.OrderRef{OrderID: canceled.OrderID}); err != nil {
		t.Fatal(err)
	}
	_, html = get(t, canceled.Links[0].URL)
	if view(html) != "closed" {
		t.Fatalf("canceled order page: %s", view(html))
	}
	checkPage(t, html)

	expiring := e.create(t, e.orderReq("R-32", providers.ProductAssets))
	e.clock.Advance(73 * time.Hour)
	_, html = get(t, expiring.Links[0].URL)
	if view(html) != "expired" || !strings.Contains(html, "72 hours") {
		t.Fatalf("expired page: %s", view(html))
	}
	checkPage(t, html)

	resp, css := get(t, e.publicURL+"/assets/emulator.css")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, "max-width: 36rem") {
		t.Fatalf("stylesheet: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestPostbackWireFormat(t *testing.T) {
	p := postback{orderID: testOrderID, url: "x", status: "507", reportID: testReportID, vodID: "0c6a5b3e-1d2f-4a4b-9c8d-7e6f5a4b3c2d"}
	want := "orderId=" + testOrderID + "&VOD_ID=0c6a5b3e-1d2f-4a4b-9c8d-7e6f5a4b3c2d&orderStatus=507&reportId=" + testReportID
	if got := p.body(); got != want {
		t.Fatalf("507 body %q, want %q", got, want)
	}
	fixture, _ := os.ReadFile("testdata/postback_voa_507.form")
	if p.reportID = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"; p.body() != string(fixture) {
		t.Fatalf("507 body differs from the fixture")
	}
	p = postback{orderID: testOrderID, status: "607", reportID: testReportID}
	if got := p.body(); got != "orderId="+testOrderID+"&orderStatus=607&voeReportId="+testReportID {
		t.Fatalf("607 body %q", got)
	}
	p = postback{orderID: testOrderID, status: "610"}
	if got := p.body(); got != "orderId="+testOrderID+"&orderStatus=610" {
		t.Fatalf("610 body %q", got)
	}
}

func TestNotificationURLRule(t *testing.T) {
	cases := []struct {
		name, webhook, url string
		insecure, ok       bool
	}{
		{"https anywhere", "", "https://portal.example/webhooks/accountchek/t", false, true},
		{"http elsewhere", "", "http://portal.example/webhooks/accountchek/t", false, false},
		{"http loopback", "", "http://127.0.0.1:8080/webhooks/accountchek/t", false, true},
		{"http localhost", "", "http://localhost:8080/webhooks/accountchek/t", false, true},
		{"http ipv6 loopback", "", "http://[::1]:8080/webhooks/accountchek/t", false, true},
		{"http allowed by knob", "", "http://portal:8080/webhooks/accountchek/t", true, true},
		{"http under portal url", "http://portal:8080/webhooks/accountchek", "http://portal:8080/webhooks/accountchek/t", false, true},
		{"https outside portal url", "http://portal:8080/webhooks/accountchek", "https://evil.example/webhooks/accountchek/t", false, false},
		{"prefix trick", "http://portal:8080/webhooks/accountchek", "http://portal:8080/webhooks/accountchek.evil/t", false, false},
		{"relative", "", "/webhooks/accountchek/t", false, false},
		{"other scheme", "", "ftp://portal.example/t", true, false},
	}
	for _, tc := range cases {
		em := NewEmulator(EmulatorConfig{WebhookURL: tc.webhook, AllowInsecureNotificationURL: tc.insecure})
		if got := em.notificationURLProblem(tc.url) == ""; got != tc.ok {
			t.Errorf("%s: accepted = %v, want %v", tc.name, got, tc.ok)
		}
		em.Close()
	}
}

// The emulator serves every agency of a portal: its order list never lists
// everyone's orders (applicants' details, secret notification URLs), only
// the order of the exact referenceNumber asked for.
func TestEmulatorAPI_ListOnlyByReference(t *testing.T) {
	e := newEnv(t, nil, nil, nil)
	e.create(t, e.orderReq("ref-agency-a", providers.ProductAssets))
	e.create(t, e.orderReq("ref-agency-b", providers.ProductAssets))
	u, p := SandboxUsername, SandboxPassword
	for _, path := range []string{"/v1/accountchekorders", "/v1/accountchekorders?referenceNumber="} {
		if st, body := e.apiCall(t, "GET", path, u, p, ""); st != 422 {
			t.Errorf("GET %s = %d %v; want 422, no list", path, st, body)
		}
	}
	req, _ := http.NewRequest("GET", e.publicURL+"/v1/accountchekorders?referenceNumber="+url.QueryEscape("C-100/ref-agency-a"), nil)
	req.SetBasicAuth(u, p)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []orderJSON
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || len(list) != 1 || list[0].ReferenceNumber != "C-100/ref-agency-a" {
		t.Fatalf("list by reference = %+v, %v; want the one order", list, err)
	}
}

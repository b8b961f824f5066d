package truv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

// apiCall sends an API request to the emulator with the given credentials.
func apiCall(t *testing.T, s *stack, method, path, body, id, secret string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Access-Client-Id", id)
	req.Header.Set("X-Access-Secret", secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func sandboxCall(t *testing.T, s *stack, method, path, body string) (int, []byte) {
	t.Helper()
	code, _, b := apiCall(t, s, method, path, body, SandboxClientID, SandboxAccessSecret)
	return code, b
}

func TestEmulatorAPI_Auth(t *testing.T) {
	s := newStack(t, nil)
	for name, creds := range map[string][2]string{
		"wrong secret": {SandboxClientID, "nope"},
		"wrong id":     {"nope", SandboxAccessSecret},
		"missing":      {"", ""},
	} {
		code, _, body := apiCall(t, s, "GET", "/v1/orders/", "", creds[0], creds[1])
		if code != http.StatusUnauthorized || string(body) != `{"error":{"code":"authentication_failed","message":"Authentication failed"}}` {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	c, err := New(Config{BaseURL: s.base, ClientID: SandboxClientID, AccessSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateOrder(context.Background(), orderRequest("REF-AUTH"))
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != 401 || pe.Code != "authentication_failed" || !strings.Contains(pe.Message, "TRUV_ACCESS_SECRET") {
		t.Errorf("adapter with a wrong secret: %v", err)
	}
}

func TestEmulatorAPI_CreateValidation(t *testing.T) {
	s := newStack(t, nil)
	names := func(body []byte) []string {
		var w struct {
			Error struct {
				Code  string `json:"code"`
				Extra struct {
					Params []invalidParam `json:"invalid-params"`
				} `json:"extra"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &w); err != nil || w.Error.Code != "incorrect_parameters" {
			t.Fatalf("error body %s: %v", body, err)
		}
		var out []string
		for _, p := range w.Error.Extra.Params {
			out = append(out, p.Name)
		}
		return out
	}
	cases := []struct {
		body string
		want []string
	}{
		{`{}`, []string{"products", "first_name", "last_name"}},
		{`{"products":["income"],"first_name":"A"}`, []string{"last_name"}},
		{`{"products":["identity"],"first_name":"A","last_name":"B"}`, []string{"products"}},
		{`{"products":["income"],"first_name":"A","last_name":"B","email":"not-an-email"}`, []string{"email"}},
		{`{"products":["income"],"first_name":"A","last_name":"B","phone":"12"}`, []string{"phone"}},
		{`{"products":["income"],"first_name":"A","last_name":"B","ssn":"12345"}`, []string{"ssn"}},
		{`{"products":["income"],"first_name":"A","last_name":"B","first_notification_delay_hours":-1}`, []string{"first_notification_delay_hours"}},
		{`{not json`, []string{"body"}},
	}
	for _, tc := range cases {
		code, body := sandboxCall(t, s, "POST", "/v1/orders/", tc.body)
		if code != http.StatusBadRequest {
			t.Errorf("%s: status %d", tc.body, code)
			continue
		}
		if got := names(body); !slices.Equal(got, tc.want) {
			t.Errorf("%s: invalid params %v, want %v", tc.body, got, tc.want)
		}
	}
	// Neither email nor phone is allowed: the agency delivers the link.
	code, body := sandboxCall(t, s, "POST", "/v1/orders/", `{"products":["income"],"first_name":"A","last_name":"B","order_number":"N1","ssn":"991-91-9991"}`)
	if code != http.StatusCreated {
		t.Fatalf("minimal order: %d %s", code, body)
	}
	var o wireOrder
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	if o.Status != "pending" || o.BridgeToken == "" || len(o.ID) != 32 || len(o.UserID) != 32 || string(o.InitialOrder) != "" ||
		o.Employers == nil || len(o.Employers) != 0 || string(o.ExpiredAt) == "" || o.CreatedAt == "" {
		t.Errorf("order = %s", body)
	}
	if !regexp.MustCompile(`/s/[A-Za-z0-9]{6,8}$`).MatchString(o.ShortShareURL) {
		t.Errorf("short_share_url = %s", o.ShortShareURL)
	}

	code, body = sandboxCall(t, s, "GET", "/v1/orders/?order_number=N1", "")
	var list wireOrderList
	if err := json.Unmarshal(body, &list); err != nil || code != 200 || list.Count != 1 || list.Results[0].ID != o.ID {
		t.Errorf("lookup: %d %s", code, body)
	}
	code, body = sandboxCall(t, s, "GET", "/v1/orders/?order_number=none", "")
	if code != 200 || !bytes.Contains(body, []byte(`"count":0`)) || !bytes.Contains(body, []byte(`"results":[]`)) {
		t.Errorf("empty lookup: %d %s", code, body)
	}
}

func TestEmulatorAPI_NotFoundShape(t *testing.T) {
	s := newStack(t, nil)
	for _, p := range []string{"/v1/orders/deadbeef/", "/v1/nothing/", "/v1/users/u/reports/r/"} {
		code, body := sandboxCall(t, s, "GET", p, "")
		if code != 404 || string(body) != `{"detail":"Not Found."}` {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
	if code, body := sandboxCall(t, s, "POST", "/v1/users/unknown/reports/", `{"is_voe":false}`); code != 404 {
		t.Errorf("report for an unknown user: %d %s", code, body)
	}
}

func TestEmulatorAPI_Reports(t *testing.T) {
	s := newStack(t, nil)
	o, err := s.client.CreateOrder(context.Background(), orderRequest("REF-REP"))
	if err != nil {
		t.Fatal(err)
	}
	code, body := sandboxCall(t, s, "POST", "/v1/users/"+o.UserID+"/reports/", `{"is_voe":false}`)
	if code != 400 || !bytes.Contains(body, []byte("no completed connections")) {
		t.Errorf("report before connecting: %d %s", code, body)
	}
	_ = s.em.Complete(o.OrderID, "hourly.part-time", "goodpassword")
	if err := s.em.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body = sandboxCall(t, s, "POST", "/v1/users/"+o.UserID+"/reports/", `{"is_voe":true}`)
	var voe wireVOIEReport
	if err := json.Unmarshal(body, &voe); err != nil || code != 201 || !voe.IsVOE || len(voe.Links) != 1 {
		t.Fatalf("VOE report: %d %s", code, body)
	}
	emp := voe.Links[0].Employments[0]
	if emp.Income != "" || emp.PayRate != "" || len(emp.Statements) != 0 || string(emp.JobTitle) != "Cashier" || string(emp.JobType) != "P" {
		t.Errorf("VOE employment carries pay: %+v", emp)
	}
	rep, err := s.client.FetchReport(context.Background(), providers.OrderRef{OrderID: o.OrderID, UserID: o.UserID}, ReportIncome)
	if err != nil {
		t.Fatal(err)
	}
	if e := rep.Employments[0]; e.PayUnit != "hourly" || e.PayRate != 1850 || e.PayFrequency != "weekly" || e.Paystubs[0].Gross != 46250 {
		t.Errorf("hourly employment: %+v", e)
	}
	// The PDF comes back as application/pdf on the same path.
	req, _ := http.NewRequest("GET", s.base+"/v1/users/"+o.UserID+"/reports/"+rep.ReportID+"/?fmt=pdf", nil)
	req.Header.Set("X-Access-Client-Id", SandboxClientID)
	req.Header.Set("X-Access-Secret", SandboxAccessSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("%%EOF")) {
		t.Errorf("PDF: %s %q", resp.Header.Get("Content-Type"), pdf[:min(len(pdf), 16)])
	}
	// A VOIE id is not an assets report.
	if code, _ := sandboxCall(t, s, "GET", "/v1/users/"+o.UserID+"/assets/reports/"+rep.ReportID+"/", ""); code != 404 {
		t.Errorf("VOIE id on the assets path: %d", code)
	}
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func getPage(t *testing.T, rawURL string) (int, http.Header, string) {
	t.Helper()
	resp, err := noRedirect().Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func postPage(t *testing.T, rawURL string, form url.Values) (int, http.Header, string) {
	t.Helper()
	resp, err := noRedirect().PostForm(rawURL, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// checkPage asserts the accessibility and CSP rules every emulator page
// follows.
func checkPage(t *testing.T, name, lang, page string) {
	t.Helper()
	must := []string{`<html lang="` + lang + `">`, `<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<link rel="stylesheet" href="/sandbox/truv/assets/emulator.css">`, `data-testid="sandbox-banner"`,
		"goodlogin / goodpassword", `data-testid="page-title"`}
	for _, m := range must {
		if !strings.Contains(page, m) {
			t.Errorf("%s: missing %s", name, m)
		}
	}
	if n := strings.Count(page, "<h1"); n != 1 {
		t.Errorf("%s: %d <h1>, want 1", name, n)
	}
	if m := regexp.MustCompile(`<title>([^<]+)</title>`).FindStringSubmatch(page); m == nil || strings.TrimSpace(m[1]) == "" {
		t.Errorf("%s: no title", name)
	}
	for _, banned := range []string{"<script", "style=", "<style", "onclick", "javascript:"} {
		if strings.Contains(strings.ToLower(page), banned) {
			t.Errorf("%s: contains %s", name, banned)
		}
	}
	for _, in := range regexp.MustCompile(`<input[^>]*>`).FindAllString(page, -1) {
		if strings.Contains(in, `type="hidden"`) {
			continue
		}
		id := regexp.MustCompile(`id="([^"]+)"`).FindStringSubmatch(in)
		if id == nil || !strings.Contains(page, `<label for="`+id[1]+`">`) {
			t.Errorf("%s: input without a label: %s", name, in)
		}
	}
	if strings.Contains(page, `type="submit"`) && regexp.MustCompile(`<input[^>]*type="submit"`).MatchString(page) {
		t.Errorf("%s: submit input instead of <button>", name)
	}
}

func TestEmulatorPages_BridgeFlowOverHTTP(t *testing.T) {
	s := newStack(t, nil)
	o, err := s.client.CreateOrder(context.Background(), orderRequest("REF-WEB"))
	if err != nil {
		t.Fatal(err)
	}
	code, hdr, _ := getPage(t, o.Links[0].ShortURL)
	if code != http.StatusFound || hdr.Get("Location") != o.Links[0].URL {
		t.Fatalf("short link: %d -> %s", code, hdr.Get("Location"))
	}
	code, hdr, page := getPage(t, o.Links[0].URL)
	if code != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Fatalf("bridge: %d %v", code, hdr)
	}
	checkPage(t, "bridge", "en", page)
	for _, want := range []string{"Sandbox: Truv emulator", "Connect your employer", `data-testid="employer-acme-health"`, `data-testid="employer-bluebird-grocery"`} {
		if !strings.Contains(page, want) {
			t.Errorf("bridge page lacks %s", want)
		}
	}
	_, _, page = getPage(t, o.Links[0].URL+"&q=bluebird")
	if !strings.Contains(page, "employer-bluebird-grocery") || strings.Contains(page, "employer-acme-health") {
		t.Error("search did not filter the list")
	}
	_, _, page = getPage(t, o.Links[0].URL+"&q=zzz")
	if !strings.Contains(page, `data-testid="no-match"`) {
		t.Error("search without matches shows no message")
	}

	token := regexp.MustCompile(`bridge_token=([0-9a-f]+)`).FindStringSubmatch(o.Links[0].URL)[1]
	_, _, page = getPage(t, s.base+"/bridge/login?bridge_token="+token+"&company=bluebird-grocery")
	checkPage(t, "login", "en", page)
	if !strings.Contains(page, "Sign in to Truv Payroll Provider") || !strings.Contains(page, "Bluebird Grocery") {
		t.Error("login page does not name the provider and employer")
	}
	form := url.Values{"bridge_token": {token}, "company": {"bluebird-grocery"}, "username": {"someone"}, "password": {"wrong"}}
	code, _, page = postPage(t, s.base+"/bridge/login", form)
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="bridge-error"`) {
		t.Fatalf("bad login: %d", code)
	}
	checkPage(t, "login error", "en", page)
	form.Set("username", "goodlogin")
	form.Set("password", "goodpassword")
	code, hdr, _ = postPage(t, s.base+"/bridge/login", form)
	if code != http.StatusSeeOther || hdr.Get("Location") != "/sandbox/truv/bridge/done?bridge_token="+token {
		t.Fatalf("good login: %d -> %s", code, hdr.Get("Location"))
	}
	_, _, page = getPage(t, s.base+"/bridge/done?bridge_token="+token)
	checkPage(t, "done", "en", page)
	if !strings.Contains(page, "Verification complete") || !strings.Contains(page, "You can close this window.") {
		t.Error("done page text")
	}
	// The link now shows the result, not the employer list again.
	if _, _, page = getPage(t, o.Links[0].URL); !strings.Contains(page, `data-result="completed"`) {
		t.Error("share link after completion does not show the result")
	}

	waitFor(t, "completion webhook", func() bool { return hasEvent(s, t, o.OrderID, EventOrderStatusUpdated, "completed") })
	var seq, tasks []string
	for _, ev := range s.rec.events(t) {
		seq = append(seq, ev.EventType+":"+string(ev.Status))
		if ev.EventType == EventTaskStatusUpdated {
			tasks = append(tasks, string(ev.TaskID))
		}
	}
	want := []string{"order-created:pending", "task-status-updated:login", "task-status-updated:login_error",
		"task-status-updated:login", "task-status-updated:parse", "task-status-updated:full_parse",
		"task-status-updated:done", "order-status-updated:completed"}
	if !slices.Equal(seq, want) {
		t.Errorf("webhooks %v, want %v", seq, want)
	}
	if tasks[0] != tasks[1] || tasks[1] == tasks[2] {
		t.Errorf("task ids %v: one per sign-in attempt", tasks)
	}
	st, err := s.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: o.OrderID})
	if err != nil || !strings.HasPrefix(st[0].Detail, "Bluebird Grocery") {
		t.Errorf("status = %+v, %v", st, err)
	}
}

func TestEmulatorPages_MFAInSpanish(t *testing.T) {
	s := newStack(t, nil)
	req := orderRequest("REF-ES")
	req.Applicants[0].Language = "es"
	o, err := s.client.CreateOrder(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	_, _, page := getPage(t, o.Links[0].URL)
	checkPage(t, "bridge es", "es", page)
	if !strings.Contains(page, "Conecte a su empleador") || !strings.Contains(page, "Sandbox: emulador de Truv") {
		t.Error("Spanish strings missing")
	}
	token := regexp.MustCompile(`bridge_token=([0-9a-f]+)`).FindStringSubmatch(o.Links[0].URL)[1]
	login := url.Values{"bridge_token": {token}, "company": {"acme-health"}, "username": {"goodlogin"}, "password": {"mfa"}}
	code, _, page := postPage(t, s.base+"/bridge/login", login)
	if code != 200 || !strings.Contains(page, `data-testid="mfa-code"`) {
		t.Fatalf("mfa page: %d", code)
	}
	checkPage(t, "mfa es", "es", page)
	code, _, page = postPage(t, s.base+"/bridge/mfa", url.Values{"bridge_token": {token}, "company": {"acme-health"}, "code": {"00000"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, "El código no es válido") {
		t.Fatalf("wrong code: %d", code)
	}
	if _, _, page = postPage(t, s.base+"/bridge/login", login); !strings.Contains(page, "mfa-code") {
		t.Fatal("second sign-in did not ask for a code")
	}
	code, hdr, _ := postPage(t, s.base+"/bridge/mfa", url.Values{"bridge_token": {token}, "company": {"acme-health"}, "code": {MFACode}})
	if code != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "/bridge/done") {
		t.Fatalf("right code: %d", code)
	}
	_, _, page = getPage(t, s.base+"/bridge/done?bridge_token="+token)
	if !strings.Contains(page, "Verificación completa") {
		t.Error("Spanish done page")
	}
	waitFor(t, "completion", func() bool { return hasEvent(s, t, o.OrderID, EventOrderStatusUpdated, "completed") })
	var seq []string
	for _, ev := range s.rec.events(t)[1:] {
		seq = append(seq, string(ev.Status))
	}
	want := []string{"login", "mfa", "mfa_error", "login", "mfa", "parse", "full_parse", "done", "completed"}
	if !slices.Equal(seq, want) {
		t.Errorf("statuses %v, want %v", seq, want)
	}
}

func TestEmulatorPages_ClosedAndUnknownLinks(t *testing.T) {
	s := newStack(t, nil)
	code, _, page := getPage(t, s.base+"/bridge?bridge_token=nope")
	if code != 404 || !strings.Contains(page, "Link not found") {
		t.Errorf("unknown token: %d", code)
	}
	checkPage(t, "not found", "en", page)
	o, err := s.client.CreateOrder(context.Background(), orderRequest("REF-X1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.client.Cancel(context.Background(), providers.OrderRef{OrderID: o.OrderID}); err != nil {
		t.Fatal(err)
	}
	code, _, page = getPage(t, o.Links[0].URL)
	if code != http.StatusGone || !strings.Contains(page, "canceled") {
		t.Errorf("canceled order: %d", code)
	}
	if err := s.em.Complete(o.OrderID, "goodlogin", "goodpassword"); !errors.Is(err, ErrOrderClosed) {
		t.Errorf("Complete on a canceled order: %v", err)
	}

	// Expiry after 72 h by the emulator's clock.
	o2, err := s.client.CreateOrder(context.Background(), orderRequest("REF-X2"))
	if err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(72*time.Hour - time.Second)
	if st, _, _ := s.em.OrderStatus(o2.OrderID); st != "pending" {
		t.Errorf("1 s before expiry: %s", st)
	}
	s.clock.Advance(time.Second)
	code, _, page = getPage(t, o2.Links[0].URL)
	if code != http.StatusGone || !strings.Contains(page, "expired") {
		t.Errorf("expired order: %d", code)
	}
	ups, err := s.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: o2.OrderID})
	if err != nil || ups[len(ups)-1].Status != providers.StatusExpired {
		t.Errorf("expired status: %+v, %v", ups, err)
	}
	code, _, page = getPage(t, s.base+"/assets/emulator.css")
	if code != 200 || !strings.Contains(page, "max-width: 36rem") {
		t.Errorf("stylesheet: %d", code)
	}
}

// The sandbox credentials lead to the documented task timelines (§2.8).
func TestEmulator_Scenarios(t *testing.T) {
	cases := []struct {
		user, pass string
		order, sub string
		statuses   []string // every webhook status after order-created
	}{
		{"goodlogin", "goodpassword", "completed", "completed", []string{"login", "parse", "full_parse", "done", "completed"}},
		{"goodlogin", "longcheck", "completed", "completed", []string{"login", "parse", "full_parse", "done", "completed"}},
		{"fulltime", "goodpassword", "completed", "completed", []string{"login", "parse", "full_parse", "done", "completed"}},
		{"error.user", "login_error", "pending", "pending", []string{"login", "login_error"}},
		{"error.user", "mfa_error", "pending", "pending", []string{"login", "mfa", "mfa_error"}},
		{"anyone", "anything", "pending", "pending", []string{"login", "login_error"}},
		{"goodlogin", "mfa", "pending", "pending", []string{"login", "mfa"}},
		{"nodata", "goodpassword", "no_data", "no_data", []string{"login", "parse", "no_data", "no_data"}},
	}
	for _, tc := range cases {
		t.Run(tc.user+"/"+tc.pass, func(t *testing.T) {
			s := newStack(t, func(c *EmulatorConfig) { c.LongCheckDelay = 20 * time.Millisecond })
			o, err := s.client.CreateOrder(context.Background(), orderRequest("REF-S"))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := s.em.Complete(o.OrderID, tc.user, tc.pass); err != nil {
				t.Fatal(err)
			}
			if err := s.em.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.pass == "longcheck" && time.Since(start) < 20*time.Millisecond {
				t.Error("longcheck was not slower")
			}
			st, subs, _ := s.em.OrderStatus(o.OrderID)
			if st != tc.order || len(subs) != 1 || subs[0] != tc.sub {
				t.Errorf("order %s subs %v, want %s/%s", st, subs, tc.order, tc.sub)
			}
			var got []string
			for _, ev := range s.rec.events(t)[1:] {
				got = append(got, string(ev.Status))
			}
			if !slices.Equal(got, tc.statuses) {
				t.Errorf("webhook statuses %v, want %v", got, tc.statuses)
			}
		})
	}
}

func TestEmulator_WebhookDuplicates(t *testing.T) {
	s := newStack(t, func(c *EmulatorConfig) { c.DuplicateEvery = 1 })
	o, err := s.client.CreateOrder(context.Background(), orderRequest("REF-DUP"))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.em.Complete(o.OrderID, "goodlogin", "goodpassword")
	if err := s.em.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	ds := s.rec.deliveries()
	if len(ds) != 12 {
		t.Fatalf("%d deliveries, want 6 events x 2", len(ds))
	}
	keys := map[string]int{}
	for i := 0; i < len(ds); i += 2 {
		if !bytes.Equal(ds[i].Body, ds[i+1].Body) {
			t.Errorf("delivery %d and its duplicate differ", i)
		}
		keys[s.client.DedupeKey(ds[i])]++
		keys[s.client.DedupeKey(ds[i+1])]++
	}
	if len(keys) != 6 {
		t.Errorf("%d distinct dedupe keys, want 6", len(keys))
	}
}

func TestEmulator_WebhookRetries(t *testing.T) {
	s := newStack(t, nil)
	s.rec.mu.Lock()
	s.rec.failFirst = 2
	s.rec.mu.Unlock()
	if _, err := s.client.CreateOrder(context.Background(), orderRequest("REF-RETRY")); err != nil {
		t.Fatal(err)
	}
	if err := s.em.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.rec.mu.Lock()
	attempts, got := s.rec.attempts, len(s.rec.got)
	s.rec.mu.Unlock()
	if attempts != 3 || got != 1 {
		t.Errorf("attempts %d, delivered %d; want 3 and 1", attempts, got)
	}

	// After 1 try + 3 retries it gives up and moves on.
	s.rec.mu.Lock()
	s.rec.attempts, s.rec.failFirst = 0, 4
	s.rec.mu.Unlock()
	o, err := s.client.CreateOrder(context.Background(), orderRequest("REF-RETRY-2"))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.em.Complete(o.OrderID, "error.user", "login_error")
	if err := s.em.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.rec.mu.Lock()
	attempts, got = s.rec.attempts, len(s.rec.got)
	s.rec.mu.Unlock()
	if attempts != 6 || got != 3 {
		t.Errorf("attempts %d, delivered %d; want 6 (4 for the lost one) and 3", attempts, got)
	}
}

func TestEmulator_CloseStopsSenders(t *testing.T) {
	s := newStack(t, func(c *EmulatorConfig) { c.WebhookDelay = time.Hour })
	if _, err := s.client.CreateOrder(context.Background(), orderRequest("REF-CLOSE")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		s.em.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Close did not stop a waiting sender")
	}
	if n := len(s.rec.deliveries()); n != 0 {
		t.Errorf("%d webhooks sent after Close", n)
	}
	// Nothing new starts after Close.
	s.em.mu.Lock()
	s.em.enqueueLocked("x", step{run: func(time.Time) *wireEvent { return nil }})
	queued := len(s.em.queues)
	s.em.mu.Unlock()
	if queued != 0 {
		t.Errorf("%d flows queued after Close", queued)
	}
}

func TestEmulator_DropRateIsSeeded(t *testing.T) {
	run := func() []string {
		s := newStack(t, func(c *EmulatorConfig) { c.DropRate = 0.5; c.Seed = 42 })
		o, err := s.client.CreateOrder(context.Background(), orderRequest("REF-SEED"))
		if err != nil {
			t.Fatal(err)
		}
		_ = s.em.Complete(o.OrderID, "goodlogin", "goodpassword")
		if err := s.em.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range s.rec.events(t) {
			got = append(got, string(ev.Status))
		}
		return got
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different drops: %v vs %v", a, b)
	}
	if len(a) == 0 || len(a) == 6 {
		t.Errorf("DropRate 0.5 dropped %d of 6", 6-len(a))
	}
}

// An applicant who fails at one employer and connects at another leaves one
// suborder, for the employer that connected.
func TestEmulator_SwitchEmployerKeepsOneSuborder(t *testing.T) {
	s := newStack(t, nil)
	o, err := s.client.CreateOrder(context.Background(), orderRequest("REF-SW"))
	if err != nil {
		t.Fatal(err)
	}
	s.em.mu.Lock()
	eo := s.em.orders[o.OrderID]
	s.em.signInLocked(eo, employerCatalog()[0], "someone", "wrong")
	s.em.signInLocked(eo, employerCatalog()[1], "goodlogin", "goodpassword")
	s.em.mu.Unlock()
	if err := s.em.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := s.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: o.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Status != providers.StatusCompleted || !strings.HasPrefix(st[0].Detail, "Bluebird Grocery") {
		t.Errorf("status = %+v", st)
	}
}

// The emulator serves every agency of a portal: its order list answers only
// for the order_number asked for, never with everyone's orders.
func TestEmulatorAPI_ListOnlyByOrderNumber(t *testing.T) {
	s := newStack(t, nil)
	ctx := context.Background()
	for _, ref := range []string{"ref-agency-a", "ref-agency-b"} {
		if _, err := s.client.CreateOrder(ctx, orderRequest(ref)); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := sandboxCall(t, s, "GET", "/v1/orders/", ""); code != http.StatusBadRequest {
		t.Fatalf("list without order_number = %d %s; want 400", code, body)
	}
	code, body := sandboxCall(t, s, "GET", "/v1/orders/?order_number=ref-agency-a", "")
	var list wireOrderList
	if err := json.Unmarshal(body, &list); code != 200 || err != nil || list.Count != 1 || len(list.Results) != 1 {
		t.Fatalf("list by order_number = %d %s; want the one order", code, body)
	}
}

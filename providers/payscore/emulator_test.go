package payscore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

// do sends a raw request to the sandbox and returns status, headers, body.
func (sb *sandbox) do(t *testing.T, method, path, token string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			b, _ = json.Marshal(body)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, sb.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func (sb *sandbox) token(t *testing.T) string {
	t.Helper()
	st, h, _ := sb.do(t, "POST", "/api/v1/tenants/auth", "", map[string]string{"client_id": SandboxClientID, "secret_key": SandboxSecretKey})
	tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if st != http.StatusNoContent || !ok {
		t.Fatalf("auth: %d %v", st, h)
	}
	return tok
}

type errorsBody struct {
	Errors []apiErr `json:"errors"`
}

func decodeErrors(t *testing.T, b []byte) errorsBody {
	t.Helper()
	var eb errorsBody
	if err := json.Unmarshal(b, &eb); err != nil || len(eb.Errors) == 0 {
		t.Fatalf("error body %q is not {\"errors\":[...]}", b)
	}
	return eb
}

func TestEmulator_Auth(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	for name, body := range map[string]any{
		"wrong secret": map[string]string{"client_id": SandboxClientID, "secret_key": "nope"},
		"wrong client": map[string]string{"client_id": "other", "secret_key": SandboxSecretKey},
		"empty":        map[string]string{},
	} {
		st, h, b := sb.do(t, "POST", "/api/v1/tenants/auth", "", body)
		if st != http.StatusUnauthorized || h.Get("Authorization") != "" {
			t.Errorf("%s: %d %v", name, st, h)
		}
		decodeErrors(t, b)
	}
	if st, _, b := sb.do(t, "POST", "/api/v1/tenants/auth", "", []byte("client_id=x")); st != http.StatusBadRequest {
		t.Errorf("form body: %d", st)
	} else {
		decodeErrors(t, b)
	}

	st, _, b := sb.do(t, "POST", "/api/v1/tenants/auth", "", map[string]string{"client_id": SandboxClientID, "secret_key": SandboxSecretKey})
	if st != http.StatusNoContent || len(b) != 0 {
		t.Errorf("good credentials: %d %q", st, b)
	}
	tok := sb.token(t)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q", tok)
	}
	head, _ := base64.RawURLEncoding.DecodeString(parts[0])
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ Exp, Iat int64 }
	_ = json.Unmarshal(claims, &c)
	if !strings.Contains(string(head), `"HS256"`) || c.Exp-c.Iat != 1800 || c.Iat != sb.clock.Now().Unix() {
		t.Errorf("JWT header %s claims %s", head, claims)
	}

	path := "/api/v1/screening_groups/00000000-0000-4000-8000-000000000000"
	for name, token := range map[string]string{
		"missing": "", "garbage": "abc", "forged": parts[0] + "." + parts[1] + ".AAAA",
		"tampered": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":9999999999}`)) + "." + parts[2],
	} {
		if st, _, b := sb.do(t, "GET", path, token, nil); st != http.StatusUnauthorized {
			t.Errorf("%s token: %d", name, st)
		} else {
			decodeErrors(t, b)
		}
	}
	if st, _, _ := sb.do(t, "GET", path, tok, nil); st != http.StatusNotFound {
		t.Errorf("valid token, unknown group: %d", st)
	}
	sb.clock.Advance(30 * time.Minute)
	if st, _, b := sb.do(t, "GET", path, tok, nil); st != http.StatusUnauthorized || !strings.Contains(string(b), "expired") {
		t.Errorf("expired token: %d %s", st, b)
	}
}

func TestEmulator_CreateValidation(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	tok := sb.token(t)
	st, _, b := sb.do(t, "POST", "/api/v1/screening_groups", tok, map[string]any{
		"applicants": []map[string]string{{"first_name": "A", "email": "not-an-email"}, {"first_name": "B", "last_name": "C"}},
	})
	if st != http.StatusBadRequest {
		t.Fatalf("status %d", st)
	}
	got := map[string]string{}
	for _, e := range decodeErrors(t, b).Errors {
		got[e.Field] = e.Message
	}
	for _, f := range []string{"applicants[0].last_name", "applicants[0].email", "applicants[1].email", "property.name", "is_decision_maker_paying", "decision_maker_display_name", "monthly_rent"} {
		if got[f] == "" {
			t.Errorf("no error for %s (got %v)", f, got)
		}
	}
	if st, _, b := sb.do(t, "POST", "/api/v1/screening_groups", tok, []byte(`{"monthly_rent":"lots"}`)); st != 400 || !strings.Contains(string(b), `{"field":"monthly_rent","message":"must be a non-negative number of dollars"}`) {
		t.Errorf("rent as text: %d %s", st, b)
	}
	if st, _, b := sb.do(t, "POST", "/api/v1/screening_groups", tok, []byte(`{"applicants":"Jane"}`)); st != 400 || decodeErrors(t, b).Errors[0] != (apiErr{Field: "applicants", Message: "has the wrong type"}) {
		t.Errorf("wrong type: %d %s", st, b)
	}
	if st, _, _ := sb.do(t, "POST", "/api/v1/screening_groups", tok, []byte(`[`)); st != 400 {
		t.Errorf("bad JSON: %d", st)
	}

	// Through the adapter: an email that "does not exist" [P10].
	apps := household(1)
	apps[0].Email = "nobody@undeliverable.example"
	_, err := sb.client.CreateOrder(context.Background(), providers.OrderRequest{AgencyName: "County", Applicants: apps, WebhookURL: sb.hooks.URL()})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != 400 || pe.Fields["applicants[0].email"] != "does not exist" || strings.Contains(pe.Message, "nobody") {
		t.Fatalf("undeliverable email: %#v", err)
	}
}

func TestEmulator_NotFoundAndDelete(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	ctx := context.Background()
	tok := sb.token(t)
	if st, _, b := sb.do(t, "GET", "/api/v1/nothing", tok, nil); st != 404 {
		t.Errorf("unknown path %d", st)
	} else {
		decodeErrors(t, b)
	}
	_, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: "missing"})
	if !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("unknown group: %v", err)
	}
	order := sb.create(t, 1)
	ref := providers.OrderRef{OrderID: order.OrderID}
	if _, err := sb.client.FetchReport(ctx, ref, ""); !errors.Is(err, providers.ErrNotFound) || errors.Is(err, ErrReportExpired) {
		t.Errorf("report before completion: %v", err)
	}
	if _, err := sb.client.FetchReportPDF(ctx, ref, ""); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("PDF before completion: %v", err)
	}
	if err := sb.client.Cancel(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.client.FetchStatus(ctx, ref); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := sb.client.Cancel(ctx, ref); !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	res, err := http.Get(order.Links[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("applicant page after delete: %d", res.StatusCode)
	}
}

// TestEmulator_PDFLink: the report URL looks pre-signed, serves a PDF, and
// answers 410 after 2 hours; a fresh URL works again.
func TestEmulator_PDFLink(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	order := sb.create(t, 1)
	sb.act(t, order.Links[0].SubID, connectAndFinish(DemoBank)...)
	tok := sb.token(t)
	st, _, b := sb.do(t, "GET", "/api/v1/screening_groups/"+order.OrderID+"/report", tok, nil)
	var out struct{ URL string }
	if err := json.Unmarshal(b, &out); st != 200 || err != nil || !regexp.MustCompile(`^`+regexp.QuoteMeta(sb.base)+`/files/[0-9a-f]{48}\.pdf\?`).MatchString(out.URL) {
		t.Fatalf("report url: %d %s", st, b)
	}
	get := func() (int, string, []byte) {
		res, err := http.Get(out.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), body
	}
	if st, ct, body := get(); st != 200 || ct != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) {
		t.Fatalf("PDF: %d %s %q", st, ct, body[:min(10, len(body))])
	}
	sb.clock.Advance(2*time.Hour - time.Second)
	if st, _, _ := get(); st != 200 {
		t.Errorf("at 1h59m59s: %d", st)
	}
	sb.clock.Advance(time.Second)
	if st, _, _ := get(); st != http.StatusGone {
		t.Errorf("at 2h: %d, want 410", st)
	}
	if _, err := sb.client.FetchReportPDF(context.Background(), providers.OrderRef{OrderID: order.OrderID}, ""); err != nil {
		t.Errorf("fresh link: %v", err)
	}
	res, _ := http.Get(sb.base + "/files/0000.pdf")
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("unknown file: %d", res.StatusCode)
	}
}

var (
	reInput  = regexp.MustCompile(`<input [^>]*>`)
	reID     = regexp.MustCompile(`id="([^"]+)"`)
	reH1     = regexp.MustCompile(`<h1[ >]`)
	reTitle  = regexp.MustCompile(`<title>[^<]+</title>`)
	reSubmit = regexp.MustCompile(`<input[^>]+type="(submit|button)"`)
)

// checkPage asserts the page rules: language, title, one h1, viewport,
// labels for every visible input, buttons as <button>, no inline script or
// style, the sandbox banner and the scenario hint.
func checkPage(t *testing.T, html string) {
	t.Helper()
	for _, must := range []string{`<html lang="en">`, `<meta name="viewport" content="width=device-width, initial-scale=1">`, `data-testid="sandbox-banner"`, `Sandbox: Payscore emulator`, `data-testid="scenario-hint"`, `href="../assets/emulator.css"`} {
		if !strings.Contains(html, must) {
			t.Errorf("page lacks %s", must)
		}
	}
	if n := len(reH1.FindAllString(html, -1)); n != 1 {
		t.Errorf("%d h1 elements", n)
	}
	if !reTitle.MatchString(html) {
		t.Error("no title")
	}
	for _, banned := range []string{"<script", "style=", "<style", "javascript:"} {
		if strings.Contains(strings.ToLower(html), banned) {
			t.Errorf("page contains %s", banned)
		}
	}
	if reSubmit.MatchString(html) {
		t.Error("an input is used as a button")
	}
	for _, in := range reInput.FindAllString(html, -1) {
		if strings.Contains(in, `type="hidden"`) {
			continue
		}
		m := reID.FindStringSubmatch(in)
		if m == nil || !strings.Contains(html, `<label for="`+m[1]+`"`) {
			t.Errorf("input without a label: %s", in)
		}
	}
}

// browser drives the applicant page over HTTP like a browser without
// JavaScript or cookies: GET, POST forms, follow the 303 by hand.
type browser struct {
	t    *testing.T
	page string // current absolute URL
	c    *http.Client
}

func newBrowser(t *testing.T, link string) *browser {
	return &browser{t: t, page: link, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get() string {
	b.t.Helper()
	res, err := b.c.Get(b.page)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		b.t.Fatalf("GET %s: %d", b.page, res.StatusCode)
	}
	html := string(body)
	checkPage(b.t, html)
	return html
}

func (b *browser) post(form url.Values) {
	b.t.Helper()
	html := b.get()
	if !strings.Contains(html, `name="action" value="`+form.Get("action")+`"`) {
		b.t.Fatalf("the page offers no %q form", form.Get("action"))
	}
	res, err := b.c.PostForm(b.page, form)
	if err != nil {
		b.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("POST %s: %d", form.Get("action"), res.StatusCode)
	}
	if len(res.Cookies()) > 0 {
		b.t.Error("the emulator set a cookie")
	}
	base, _ := url.Parse(b.page)
	next, err := base.Parse(res.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	b.page = next.String()
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// TestEmulator_ApplicantPages walks the hosted pages with plain form posts:
// consent, the bank-not-listed and can't-connect detours, a demo bank,
// final consent, and a re-open; every page passes checkPage and each step
// sends its webhook.
func TestEmulator_ApplicantPages(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	order := sb.create(t, 2)
	b := newBrowser(t, order.Links[0].URL)

	html := b.get()
	if !strings.Contains(html, `data-testid="step-consent"`) || !strings.Contains(html, "I, Jane Doe, hereby consent") || !strings.Contains(html, "County Human Services") {
		t.Fatalf("consent page: %s", html)
	}
	b.post(form("action", ActionConsent)) // no tick
	if html = b.get(); !strings.Contains(html, `data-testid="notice"`) || !strings.Contains(html, "tick the box") {
		t.Errorf("missing consent notice")
	}
	b.post(form("action", ActionConsent, "agree", "yes"))
	html = b.get()
	for _, id := range []string{"step-choose", "bank-select", "btn-bank-not-listed", "btn-no-online-banking", "btn-no-bank", "btn-share-bank", "btn-no-income"} {
		if !strings.Contains(html, `data-testid="`+id+`"`) {
			t.Errorf("choose page lacks %s", id)
		}
	}
	b.post(form("action", ActionBankNotListed, "bank_name", "Small Alaskan Credit Union"))
	b.post(form("action", ActionSelectBank, "bank", DemoBank))
	b.post(form("action", ActionLogin, "username", "someone", "password", "x"))
	if html = b.get(); !strings.Contains(html, "did not work") || !strings.Contains(html, `data-testid="step-login"`) {
		t.Error("wrong credentials: no notice")
	}
	b.post(form("action", ActionLogin, "username", DemoUsernameBad, "password", "x"))
	if html = b.get(); !strings.Contains(html, "could not connect") || !strings.Contains(html, `data-testid="step-choose"`) {
		t.Error("user_bad: no notice")
	}
	b.post(form("action", ActionSelectBank, "bank", DemoBank))
	b.post(form("action", ActionLogin, "username", DemoUsernameGood, "password", DemoPasswordGood))
	if html = b.get(); !strings.Contains(html, `data-testid="pending-income"`) || !strings.Contains(html, "$") {
		t.Error("no income summary before the accuracy consent")
	}
	b.post(form("action", ActionConfirmConnection))
	b.post(form("action", ActionContinue))
	b.post(form("action", ActionFinalConsent))
	if html = b.get(); !strings.Contains(html, `data-testid="done-message"`) || !strings.Contains(html, `data-testid="btn-reopen"`) {
		t.Error("done page")
	}
	// A stale form from an earlier step is refused with a notice.
	res, _ := b.c.PostForm(b.page, form("action", ActionConsent, "agree", "yes"))
	res.Body.Close()
	if loc := res.Header.Get("Location"); !strings.Contains(loc, "notice=step_unavailable") {
		t.Errorf("stale form: Location %q", loc)
	}
	b.post(form("action", ActionReopen))
	if html = b.get(); !strings.Contains(html, `data-testid="step-review"`) {
		t.Error("re-open did not go back to the connected banks")
	}

	got := sb.hooks.waitCode(CodeReOpenScreening, 1)
	want := []string{
		CodeBeginScreening, CodeInitialTOSAndPrivacyPolicyConsent, CodeBankNotSupported, CodeBankCannotConnect,
		CodeBankConnectionAccuracyConsent, CodeFinalAccuracyAndCompletenessConsent, CodeScreeningCompleted, CodeReOpenScreening,
	}
	if !reflect.DeepEqual(codes(got), want) {
		t.Fatalf("webhooks\n got  %v\n want %v", codes(got), want)
	}
	var notSupported map[string]any
	_ = json.Unmarshal(got[2].body, &notSupported)
	if notSupported["value"] != "Small Alaskan Credit Union" || notSupported["screening_id"] != order.Links[0].SubID {
		t.Errorf("BANK_NOT_SUPPORTED body %s", got[2].body)
	}
	var cannot map[string]any
	_ = json.Unmarshal(got[3].body, &cannot)
	if cannot["value"] != DemoBank {
		t.Errorf("BANK_CANNOT_CONNECT body %s", got[3].body)
	}
	var accuracy map[string]any
	_ = json.Unmarshal(got[4].body, &accuracy)
	if accuracy["bank_connection_id"] == nil || accuracy["value"] != float64(sb.clock.Now().Unix()) {
		t.Errorf("BANK_CONNECTION_ACCURACY_CONSENT body %s", got[4].body)
	}

	// The stylesheet is served from the emulator's own path.
	res, err := http.Get(sb.base + "/assets/emulator.css")
	if err != nil {
		t.Fatal(err)
	}
	css, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") || !bytes.Contains(css, []byte("max-width: 36rem")) {
		t.Errorf("stylesheet: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// TestEmulator_OutcomeOptions: the no-bank, no-online-banking, share-bank
// and no-income paths, and the single-applicant limits.
func TestEmulator_OutcomeOptions(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{CompletedAfterOutcome: true})
	single := sb.create(t, 1)
	s1 := single.Links[0].SubID
	sb.act(t, s1, []string{ActionConsent})
	if err := sb.emu.Act(s1, ActionShareBank); err == nil {
		t.Error("SHARE_BANK allowed for a single applicant")
	}
	if err := sb.emu.Act(s1, ActionNoIncome); err == nil {
		t.Error("NO_INCOME allowed for a single applicant")
	}
	html := newBrowser(t, single.Links[0].URL).get()
	if strings.Contains(html, "btn-share-bank") || strings.Contains(html, "btn-no-income") {
		t.Error("single-applicant page offers household-only options")
	}
	if err := sb.emu.Act(s1, ActionSelectBank, "Chase"); err == nil {
		t.Error("a bank outside the demo list was accepted")
	}
	// user_bad is a scenario, not a refusal: no error, and its webhook.
	sb.act(t, s1, []string{ActionSelectBank, DemoCreditUnion}, []string{ActionLogin, DemoUsernameBad, "x"})
	sb.act(t, s1, []string{ActionSelectBank, DemoBank})
	if err := sb.emu.Act(s1, ActionLogin, "user_good", "wrong"); err == nil {
		t.Error("wrong password accepted")
	}
	sb.act(t, s1, []string{ActionBack}, []string{ActionNoOnlineBanking, "Tiny Bank"}, []string{ActionNoBank})
	if err := sb.emu.Act(s1, ActionNoBank); err == nil {
		t.Error("an action at the wrong step was accepted")
	}
	if err := sb.emu.Act("nope", ActionConsent); err == nil {
		t.Error("unknown screening accepted")
	}
	got := sb.hooks.waitCode(CodeScreeningGroupCompleted, 1)
	want := []string{CodeBeginScreening, CodeInitialTOSAndPrivacyPolicyConsent, CodeBankCannotConnect, CodeNoOnlineBanking, CodeNoBank, CodeScreeningCompleted, CodeScreeningGroupCompleted}
	if !reflect.DeepEqual(codes(got), want) {
		t.Fatalf("single: %v", codes(got))
	}

	house := sb.create(t, 3)
	sb.act(t, house.Links[0].SubID, []string{ActionConsent}, []string{ActionShareBank})
	sb.act(t, house.Links[1].SubID, []string{ActionConsent}, []string{ActionNoIncome})
	sb.act(t, house.Links[2].SubID, connectAndFinish(DemoCreditUnion)...)
	sb.hooks.waitCode(CodeScreeningGroupCompleted, 2)
	ups, err := sb.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: house.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	outs := []providers.Outcome{ups[0].Outcome, ups[1].Outcome, ups[2].Outcome}
	if !reflect.DeepEqual(outs, []providers.Outcome{providers.OutcomeSharedBank, providers.OutcomeNoIncome, providers.OutcomeVerified}) {
		t.Errorf("outcomes %v", outs)
	}
	rep, err := sb.client.FetchReport(context.Background(), providers.OrderRef{OrderID: house.OrderID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.BankIncome.TotalNet != 42550 || rep.BankIncome.Recurring != 0 || len(rep.Accounts) != 1 {
		t.Errorf("household report %+v %+v", rep.BankIncome, rep.Accounts)
	}
}

// TestEmulator_WebhookRetries: a receiver that fails twice gets the same
// signed body a third time; one that always fails gets 4 attempts in all.
func TestEmulator_WebhookRetries(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	sb.hooks.mu.Lock()
	sb.hooks.failNext = 2
	sb.hooks.mu.Unlock()
	order := sb.create(t, 1)
	sb.act(t, order.Links[0].SubID, []string{ActionConsent})
	got := sb.hooks.wait(2)
	if got[0].code != CodeBeginScreening || got[0].authErr != nil || got[1].code != CodeInitialTOSAndPrivacyPolicyConsent {
		t.Errorf("after retries: %v", codes(got))
	}
	sb.hooks.mu.Lock()
	attempts := sb.hooks.attempts
	sb.hooks.failNext = 100
	sb.hooks.mu.Unlock()
	if attempts != 4 {
		t.Errorf("attempts %d, want 4 (2 failures + 2 deliveries)", attempts)
	}

	sb.act(t, order.Links[0].SubID, []string{ActionNoBank})
	deadline := time.Now().Add(5 * time.Second)
	for {
		sb.hooks.mu.Lock()
		n := sb.hooks.attempts
		sb.hooks.mu.Unlock()
		if n >= attempts+4*2 { // NO_BANK and SCREENING_GROUP_COMPLETED, 4 tries each
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempts %d", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	sb.emu.Close() // waits for the sender: no more attempts after this
	sb.hooks.mu.Lock()
	defer sb.hooks.mu.Unlock()
	if sb.hooks.attempts != attempts+8 {
		t.Errorf("attempts %d, want %d (1 + 3 retries per webhook)", sb.hooks.attempts, attempts+8)
	}
}

// TestEmulator_Misbehaviour: DropCodes loses a webhook, DuplicateCodes
// sends one twice, byte for byte.
func TestEmulator_Misbehaviour(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{DropCodes: []string{CodeInitialTOSAndPrivacyPolicyConsent}, DuplicateCodes: []string{CodeNoBank}})
	order := sb.create(t, 1)
	sb.act(t, order.Links[0].SubID, []string{ActionConsent}, []string{ActionNoBank})
	got := sb.hooks.waitCode(CodeScreeningGroupCompleted, 1)
	if want := []string{CodeBeginScreening, CodeNoBank, CodeNoBank, CodeScreeningGroupCompleted}; !reflect.DeepEqual(codes(got), want) {
		t.Fatalf("got %v, want %v", codes(got), want)
	}
	if !bytes.Equal(got[1].body, got[2].body) || got[1].header.Get(SignatureHeader) != got[2].header.Get(SignatureHeader) {
		t.Error("duplicate differs")
	}
}

// TestEmulator_InviteExpiry: an unfinished invite expires after 14 days:
// INVITE_EXPIRED once, status expired, and the page says so.
func TestEmulator_InviteExpiry(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	order := sb.create(t, 2)
	sb.act(t, order.Links[0].SubID, []string{ActionConsent}, []string{ActionNoIncome})
	sb.clock.Advance(14*24*time.Hour - time.Second)
	if n := sb.emu.FireExpiryWebhooks(); n != 0 {
		t.Errorf("before 14 days: %d", n)
	}
	sb.clock.Advance(time.Second)
	if n := sb.emu.FireExpiryWebhooks(); n != 1 {
		t.Errorf("at 14 days: %d, want 1", n)
	}
	if n := sb.emu.FireExpiryWebhooks(); n != 0 {
		t.Errorf("again: %d, want 0", n)
	}
	got := sb.hooks.waitCode(CodeInviteExpired, 1)
	last := got[len(got)-1]
	ups, err := sb.client.Parse(providers.Delivery{Header: last.header, Body: last.body})
	if err != nil || len(ups) != 1 || ups[0].SubID != order.Links[1].SubID || ups[0].Status != providers.StatusExpired {
		t.Errorf("INVITE_EXPIRED → %+v %v", ups, err)
	}
	st, err := sb.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: order.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	if st[0].Status != providers.StatusCompleted || st[1].Status != providers.StatusExpired {
		t.Errorf("statuses %+v", st)
	}
	if html := newBrowser(t, order.Links[1].URL).get(); !strings.Contains(html, `data-testid="expired-message"`) {
		t.Error("page does not say expired")
	}
	if err := sb.emu.Act(order.Links[1].SubID, ActionConsent); err == nil {
		t.Error("expired invite accepted an action")
	}
}

// TestEmulator_ApplicantAddedRemoved: the webhooks carry the documented
// value (phone null when absent); Parse keeps only a short name.
func TestEmulator_ApplicantAddedRemoved(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	order := sb.create(t, 1)
	sid, link, err := sb.emu.AddApplicant(order.OrderID, "Lee", "Park", "lee@example.com", "")
	if err != nil || !strings.HasPrefix(link, sb.base+"/apply/") {
		t.Fatalf("AddApplicant: %q %v", link, err)
	}
	if err := sb.emu.RemoveApplicant(order.OrderID, sid); err != nil {
		t.Fatal(err)
	}
	if err := sb.emu.RemoveApplicant(order.OrderID, sid); err == nil {
		t.Error("removed twice")
	}
	got := sb.hooks.wait(2)
	wantBody := `{"code":"APPLICANT_ADDED","screening_group_id":"` + order.OrderID + `","screening_id":"` + sid +
		`","value":{"applicant_first_name":"Lee","applicant_last_name":"Park","applicant_email":"lee@example.com","applicant_phone_number":null}}`
	if string(got[0].body) != wantBody {
		t.Errorf("body\n got  %s\n want %s", got[0].body, wantBody)
	}
	for i, detail := range []string{"Applicant added: Lee P.", "Applicant removed: Lee P."} {
		ups, err := sb.client.Parse(providers.Delivery{Header: got[i].header, Body: got[i].body})
		if err != nil || len(ups) != 1 || ups[0].Detail != detail || ups[0].Status != "" {
			t.Errorf("%d: %+v %v", i, ups, err)
		}
	}
}

// TestEmulator_SeparateWebhookSecret: with a separate webhook secret the
// emulator signs with it, and a client configured alike authenticates.
func TestEmulator_SeparateWebhookSecret(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{WebhookSecret: "hook-only-secret"})
	order := sb.create(t, 1)
	sb.act(t, order.Links[0].SubID, []string{ActionConsent})
	got := sb.hooks.wait(1)
	if got[0].authErr != nil {
		t.Fatal(got[0].authErr)
	}
	if err := mustClient(t, Config{SecretKey: SandboxSecretKey}).Authenticate(providers.Delivery{Header: got[0].header, Body: got[0].body}); !errors.Is(err, providers.ErrUnauthenticated) {
		t.Errorf("signed with the API key: %v", err)
	}
}

// TestEmulator_DefaultWebhookURL: a group without webhook_url posts to
// EmulatorConfig.WebhookURL; Close is idempotent.
func TestEmulator_DefaultWebhookURL(t *testing.T) {
	c := mustClient(t, Config{SecretKey: SandboxSecretKey})
	rcv := newReceiver(t, c)
	sb := newSandbox(t, EmulatorConfig{WebhookURL: rcv.URL()})
	o, err := sb.client.CreateOrder(context.Background(), providers.OrderRequest{AgencyName: "County", Applicants: household(1)})
	if err != nil {
		t.Fatal(err)
	}
	sb.act(t, o.Links[0].SubID, []string{ActionConsent})
	if got := rcv.wait(2); got[0].code != CodeBeginScreening || got[0].authErr != nil {
		t.Errorf("got %v", codes(got))
	}
	sb.emu.Close()
	sb.emu.Close()
}

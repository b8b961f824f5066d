package main

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"caseverify/providers"
)

// TestBrowser_AccountChekVOABySMS is a VOA order in Chromium: sign in,
// case, member with a mobile number, send an AccountChek assets
// verification by text message, open the text's link from the outbox in
// another tab (the applicant's phone), pick a bank and sign in as
// user_good/pass_good on the AccountChek borrower pages, see Completed on
// the still-open case page without a reload, read the accounts on the
// report page and download the PDF. axe on every portal page.
func TestBrowser_AccountChekVOABySMS(t *testing.T) {
	p := startPortal(t, nil)
	ctx := newBrowser(t)
	acCaseWithMember(t, ctx, p, "2026-AC-1")
	acChooseAssets(t, ctx, "sms")
	label := textOf(t, ctx, `label[for=provider-accountchek]`)
	for _, want := range []string{"AccountChek", "Assets", "Income"} {
		if !strings.Contains(label, want) {
			t.Errorf("provider choice %q lacks %q", label, want)
		}
	}
	checkA11y(t, ctx, "send form")
	screenshot(t, ctx, "01_send_form")
	do(t, ctx, "send by SMS", chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=order]`)))
	status := func() string {
		s, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid=order]`), "data-status"))
		if err != nil {
			t.Fatal(err)
		}
		return s.Value
	}
	if s := status(); s != "sent" {
		t.Fatalf("order status after sending = %q, want sent", s)
	}
	if got := textOf(t, ctx, `[data-testid=order]`); !strings.Contains(got, "AccountChek") || !strings.Contains(got, "Assets") {
		t.Errorf("order row = %q", got)
	}
	checkA11y(t, ctx, "case page with an AccountChek order")
	screenshot(t, ctx, "02_case_sent")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}

	// The applicant's phone: the text message in the outbox, then AccountChek.
	phone := newTab(t, ctx)
	do(t, phone, "outbox", chromedp.Navigate(p.URL+"/outbox"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=outbox-link]`)))
	msg := textOf(t, phone, `[data-testid=outbox-message]`)
	for _, want := range []string{"Text message", "Demo County Human Services", "bank accounts", "STOP"} {
		if !strings.Contains(msg, want) {
			t.Errorf("outbox message lacks %q: %s", want, msg)
		}
	}
	checkA11y(t, phone, "outbox")
	screenshot(t, phone, "03_outbox_sms")
	do(t, phone, "open the link", chromedp.Click(chromedp.CSS(`[data-testid=outbox-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=page-bank]`)))
	screenshot(t, phone, "04_borrower_choose_bank")
	do(t, phone, "choose a bank", chromedp.Click(chromedp.CSS(`label[for=institution-0]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=submit-institution]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=page-bank_login]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=username]`), "user_good"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=password]`), "pass_good"))
	screenshot(t, phone, "05_borrower_bank_login")
	do(t, phone, "sign in to the bank", chromedp.Click(chromedp.CSS(`[data-testid=submit-bank-login]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=page-done]`)))
	screenshot(t, phone, "06_borrower_done")

	// The caseworker's page, never reloaded, shows Completed.
	deadline := time.Now().Add(30 * time.Second)
	for status() != "completed" {
		if time.Now().After(deadline) {
			screenshot(t, ctx, "failed_not_completed")
			t.Fatalf("the case page did not show Completed; status %q\nlog:\n%s", status(), p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`)); err != nil || !still {
		t.Fatal("the case page was reloaded")
	}
	waitFor(t, ctx, p, "the report link", 20*time.Second, `!!document.querySelector('[data-testid=report-link]')`)
	waitFor(t, ctx, p, "the case status Completed", 10*time.Second,
		`(document.querySelector('[data-testid=case-status]') || {}).textContent?.trim() === 'Completed'`)
	checkA11y(t, ctx, "case page completed")
	screenshot(t, ctx, "07_case_completed_live")

	do(t, ctx, "report", chromedp.Click(chromedp.CSS(`[data-testid=report-link]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=accounts]`)))
	rows, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(`[data-testid=accounts] tbody tr`)))
	if err != nil || len(rows) < 2 {
		t.Fatalf("%d accounts (%v)", len(rows), err)
	}
	accounts := textOf(t, ctx, `[data-testid=accounts]`)
	for _, want := range []string{"Sandbox Bank", "checking", "savings", "$"} {
		if !strings.Contains(accounts, want) {
			t.Errorf("accounts lack %q:\n%s", want, accounts)
		}
	}
	// The stream says its own amount a month, the account's figure (issue
	// 15 item 9: it said "0 deposits · $0.00" beside "$3,250.00 a month").
	if streams := textOf(t, ctx, `[data-testid=streams]`); !strings.Contains(streams, "$3,250.00 a month") || strings.Contains(streams, "deposit") {
		t.Errorf("income stream = %q, want its $3,250.00 a month", streams)
	}
	checkA11y(t, ctx, "report")
	screenshot(t, ctx, "08_report_accounts")
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid=report-pdf]`), "href"))
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+jsString(href.Value)+`).then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b).slice(0, 5)))`, chromedp.EvalAwaitPromise))
	if err != nil || pdf != "%PDF-" {
		t.Fatalf("PDF starts with %q (%v)", pdf, err)
	}

	// The order page: the text message, the postbacks (hints), the polls
	// that confirmed them, the report.
	orderURL, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname.replace(/\/report$/, '')`))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "order page", chromedp.Navigate(p.URL+orderURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid=timeline]`)))
	timeline := textOf(t, ctx, `[data-testid=timeline]`)
	for _, want := range []string{"Link texted", "postback 501", "voa-status 507", "Completed", "Report received"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	checkA11y(t, ctx, "order page")
	screenshot(t, ctx, "09_order_timeline")

	assertLogFree(t, p.logs.String(), "morgan.reyes@example.org", "5552010777", "555-201-0777", "pass_good", "/webhooks/accountchek/")
}

// acCaseWithMember signs in, creates a case and adds Morgan Reyes with an
// email, a mobile number and the SSN's last 4 (AccountChek requires them).
func acCaseWithMember(t *testing.T, ctx context.Context, p *portal, number string) {
	t.Helper()
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, number, "medicaid")
	do(t, ctx, "add member",
		chromedp.Click(chromedp.CSS(`[data-testid=add-member]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=member-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#first_name`), "Morgan"),
		chromedp.SendKeys(chromedp.CSS(`#last_name`), "Reyes"),
		chromedp.SetValue(chromedp.CSS(`#relationship`), "self"),
		chromedp.SendKeys(chromedp.CSS(`#email`), "morgan.reyes@example.org"),
		chromedp.SendKeys(chromedp.CSS(`#phone`), "555-201-0777"),
		chromedp.SendKeys(chromedp.CSS(`#ssn_last4`), "4321"),
		chromedp.Submit(chromedp.CSS(`[data-testid=member-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=household]`)))
}

// acChooseAssets opens the send form and chooses AccountChek, assets only
// (whatever the agency's default products are), and the channel.
func acChooseAssets(t *testing.T, ctx context.Context, channel string) {
	t.Helper()
	// Followed by its address: the live case page may swap parts of itself
	// while a click is under way.
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=send-verification]').href`))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "open send form", chromedp.Navigate(href),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.Click(chromedp.CSS(`label[for=provider-accountchek]`)),
		chromedp.Click(chromedp.CSS(`label[for=channel-`+channel+`]`)))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`[...document.querySelectorAll('input[name=products]')].forEach(c => { c.checked = c.value === 'assets' }); true`)); err != nil {
		t.Fatal(err)
	}
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.querySelector('#provider-accountchek').checked && document.querySelector('#channel-`+channel+`').checked`)); err != nil || !ok {
		t.Fatalf("AccountChek and %s are not chosen (%v)", channel, err)
	}
}

// TestBrowser_AccountChekReconcilerWithoutPostbacks runs the portal with
// every AccountChek postback lost (ACCOUNTCHEK_DROP_RATE=1) and a short
// RECONCILE_QUIET: the applicant finishes, no postback arrives, and the
// order page, open all along, still shows Completed, because the
// reconciler polled the quiet order.
func TestBrowser_AccountChekReconcilerWithoutPostbacks(t *testing.T) {
	p := startPortal(t, map[string]string{"ACCOUNTCHEK_DROP_RATE": "1", "RECONCILE_EVERY": "1s", "RECONCILE_QUIET": "2s"})
	ctx := newBrowser(t)
	acCaseWithMember(t, ctx, p, "2026-AC-2")
	acChooseAssets(t, ctx, "copy")
	do(t, ctx, "send, show the link", chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=applicant-link]`)))
	link, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-testid=applicant-link]`), "value"))
	if err != nil || link.Value == "" {
		t.Fatalf("no link on the order page (%v)", err)
	}
	checkA11y(t, ctx, "order page with the link")
	screenshot(t, ctx, "01_order_link_shown")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload = true`)); err != nil {
		t.Fatal(err)
	}

	phone := newTab(t, ctx)
	do(t, phone, "borrower", chromedp.Navigate(link.Value), chromedp.WaitVisible(chromedp.CSS(`[data-testid=page-bank]`)),
		chromedp.Click(chromedp.CSS(`label[for=institution-1]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=submit-institution]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=page-bank_login]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=username]`), "user_good"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=password]`), "pass_good"),
		chromedp.Click(chromedp.CSS(`[data-testid=submit-bank-login]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=page-done]`)))

	waitFor(t, ctx, p, "Completed through the reconciler", 30*time.Second,
		`(document.querySelector('[data-testid=order]') || {}).dataset?.status === 'completed'`)
	if still, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__noReload === true`)); err != nil || !still {
		t.Fatal("the order page was reloaded")
	}
	waitFor(t, ctx, p, "the report link", 20*time.Second, `!!document.querySelector('[data-testid=report-link]')`)
	screenshot(t, ctx, "02_completed_by_the_reconciler")
	if !strings.Contains(p.logs.String(), "postback dropped on purpose") {
		t.Error("the emulator dropped no postback")
	}
	if !strings.Contains(p.logs.String(), "reconcile: poll found a change") {
		t.Errorf("the reconciler did not log its change:\n%s", p.logs.String())
	}
	do(t, ctx, "timeline", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid=timeline]`)))
	timeline := textOf(t, ctx, `[data-testid=timeline]`)
	if strings.Contains(timeline, "postback") || !strings.Contains(timeline, "voa-status 507") || !strings.Contains(timeline, "Report received") {
		t.Errorf("timeline (no postbacks, the poll found 507):\n%s", timeline)
	}
	checkA11y(t, ctx, "order page completed")
	screenshot(t, ctx, "03_timeline_polls_only")
}

// testEnv returns a providerEnv for setupAccountChek with these settings.
func testEnv(t *testing.T, vars map[string]string, sandbox bool, baseURL, internalURL string, log *slog.Logger) providerEnv {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	env := providerEnv{cfg: Config{Sandbox: sandbox, BaseURL: baseURL}, getenv: func(k string) string { return vars[k] },
		internalURL: internalURL, log: log, client: &http.Client{Timeout: 5 * time.Second}}
	if sandbox {
		key := make([]byte, 32)
		rand.Read(key)
		var err error
		if env.sandbox, err = newSandboxCredentials(key); err != nil {
			t.Fatal(err)
		}
	}
	return env
}

// The settings: the emulator in sandbox mode, the real API with a username,
// nothing outside sandbox without one, and bad values stop the start with a
// message naming the variable.
func TestAccountChek_Settings(t *testing.T) {
	setup := func(vars map[string]string, sandbox bool) (*providerSet, error) {
		ps := &providerSet{sandboxes: map[string]http.Handler{}}
		err := setupAccountChek(testEnv(t, vars, sandbox, "http://127.0.0.1:1", "http://127.0.0.1:1", nil), ps)
		t.Cleanup(func() {
			for _, c := range ps.closers {
				c()
			}
		})
		return ps, err
	}

	ps, err := setup(map[string]string{"ACCOUNTCHEK_DROP_RATE": "0.3", "ACCOUNTCHEK_ALLOWED_IPS": "127.0.0.1, 10.0.0.0/8"}, true)
	if err != nil || len(ps.list) != 1 {
		t.Fatalf("sandbox: %v %d providers", err, len(ps.list))
	}
	p := ps.list[0]
	if p.Name != "accountchek" || p.Label != "AccountChek" || !p.Sandbox || !p.Caps.PerOrderWebhook || ps.sandboxes["accountchek"] == nil {
		t.Fatalf("sandbox provider: %+v", p)
	}
	if got := p.Verifier.Products(); !slices.Contains(got, providers.ProductAssets) || !slices.Contains(got, providers.ProductIncome) {
		t.Fatalf("products %v", got)
	}

	ps, err = setup(map[string]string{"ACCOUNTCHEK_USERNAME": "u", "ACCOUNTCHEK_PASSWORD": "p",
		"ACCOUNTCHEK_BASE_URL": "https://verifierapi.accountchek.net"}, false)
	if err != nil || len(ps.list) != 1 || ps.list[0].Sandbox || len(ps.sandboxes) != 0 || !ps.list[0].Caps.PerOrderWebhook {
		t.Fatalf("real API: %v %+v", err, ps)
	}
	if ps, err = setup(nil, false); err != nil || len(ps.list) != 0 {
		t.Fatalf("outside sandbox without settings: %v %d providers", err, len(ps.list))
	}

	for _, c := range []struct {
		vars map[string]string
		name string
	}{
		{map[string]string{"ACCOUNTCHEK_DROP_RATE": "1.5"}, "ACCOUNTCHEK_DROP_RATE"},
		{map[string]string{"ACCOUNTCHEK_DROP_RATE": "lots"}, "ACCOUNTCHEK_DROP_RATE"},
		{map[string]string{"ACCOUNTCHEK_USERNAME": "u"}, "ACCOUNTCHEK_PASSWORD"},
		{map[string]string{"ACCOUNTCHEK_ALLOWED_IPS": "10.0.0.0/99"}, "ACCOUNTCHEK_ALLOWED_IPS"},
		{map[string]string{"ACCOUNTCHEK_USERNAME": "u", "ACCOUNTCHEK_PASSWORD": "p", "ACCOUNTCHEK_BASE_URL": "ftp://x"}, "ACCOUNTCHEK_BASE_URL"},
	} {
		_, err := setup(c.vars, true)
		if err == nil || !strings.Contains(err.Error(), c.name) || !strings.HasPrefix(err.Error(), "configuration: ") {
			t.Errorf("%v: err = %v, want a message naming %s", c.vars, err, c.name)
		}
	}
}

// In sandbox mode the notificationUrl AccountChek gets is the public one,
// BASE_URL/webhooks/accountchek/{secret}, even when BASE_URL is not this
// machine; the emulator accepts it and delivers it to the portal's own
// listener over loopback, with AccountChek's form body and User-Agent.
func TestAccountChek_SandboxPostbacksReachThePortal(t *testing.T) {
	type hit struct{ path, ua, body string }
	var mu sync.Mutex
	var hits []hit
	var em http.Handler
	mux := http.NewServeMux()
	mux.Handle("/sandbox/accountchek/", http.StripPrefix("/sandbox/accountchek", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		em.ServeHTTP(w, r)
	})))
	mux.HandleFunc("POST /webhooks/accountchek/{secret}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.URL.Path, r.UserAgent(), string(b)})
		mu.Unlock()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	const public = "https://verify.county.example"
	ps := &providerSet{sandboxes: map[string]http.Handler{}}
	if err := setupAccountChek(testEnv(t, map[string]string{}, true, public, srv.URL, nil), ps); err != nil {
		t.Fatal(err)
	}
	defer ps.closers[0]()
	em = ps.sandboxes["accountchek"]
	v := ps.list[0].Verifier
	o, err := v.CreateOrder(context.Background(), providers.OrderRequest{Reference: "CV-TEST", CaseNumber: "C-1",
		Products: []providers.Product{providers.ProductAssets}, WebhookURL: public + "/webhooks/accountchek/s3cr3t",
		Applicants: []providers.Applicant{{Ref: "m1", FirstName: "A", LastName: "B", Email: "a@example.org", SSNLast4: "1234"}}})
	if err != nil {
		t.Fatalf("create with a public https notificationUrl: %v", err)
	}
	if !strings.HasPrefix(o.Links[0].URL, public+"/sandbox/accountchek/borrower/") {
		t.Fatalf("loginUrl %q is not on the public URL", o.Links[0].URL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(hits)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the emulator's postback (500 on open) never reached the portal")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	h := hits[0]
	mu.Unlock()
	form, _ := url.ParseQuery(h.body)
	if h.path != "/webhooks/accountchek/s3cr3t" || h.ua != "AccountChek Webhook" || form.Get("orderStatus") != "500" || form.Get("orderId") != o.OrderID {
		t.Fatalf("postback %+v", h)
	}
	// The sandbox never posts anywhere else.
	if _, err := v.CreateOrder(context.Background(), providers.OrderRequest{Reference: "CV-TEST2", CaseNumber: "C-1",
		Products: []providers.Product{providers.ProductAssets}, WebhookURL: "https://elsewhere.example/webhooks/accountchek/x",
		Applicants: []providers.Applicant{{Ref: "m1", FirstName: "A", LastName: "B", Email: "a@example.org", SSNLast4: "1234"}}}); err == nil {
		t.Fatal("the sandbox accepted a notificationUrl outside the portal")
	}
	tr := loopbackTransport{public: public + "/webhooks/accountchek/", internal: srv.URL + "/webhooks/accountchek/"}
	req, _ := http.NewRequest(http.MethodPost, "https://elsewhere.example/x", strings.NewReader("x"))
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("the loopback transport sent a request outside the portal")
	}
}

// An unknown status code keeps the status (the adapter maps it to nothing)
// and is marked Unknown (the portal logs it: providers.LogUnknown), from a
// postback and from a status call.
func TestAccountChek_UnknownCodeMarked(t *testing.T) {
	const orderID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/accountchekorders/" + orderID:
			io.WriteString(w, `{"id":"`+orderID+`","status":"inprogress"}`)
		case "/v1/accountchekorders/" + orderID + "/voa":
			io.WriteString(w, `{"status":5999}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"not found"}`)
		}
	}))
	defer api.Close()
	ps := &providerSet{sandboxes: map[string]http.Handler{}}
	if err := setupAccountChek(testEnv(t, map[string]string{"ACCOUNTCHEK_USERNAME": "u", "ACCOUNTCHEK_PASSWORD": "p",
		"ACCOUNTCHEK_BASE_URL": api.URL}, false, "https://portal.example", "", nil), ps); err != nil {
		t.Fatal(err)
	}
	p := ps.list[0]
	ups, err := p.Webhooks.Parse(providers.Delivery{Body: []byte("orderId=" + orderID + "&orderStatus=5999")})
	if err != nil || len(ups) != 1 || ups[0].Status != "" || ups[0].RawStatus != "5999" || !ups[0].Refetch || !ups[0].Unknown {
		t.Fatalf("parse: %v %+v", err, ups)
	}
	if ups, err := p.Webhooks.Parse(providers.Delivery{Body: []byte("orderId=" + orderID + "&orderStatus=501")}); err != nil || ups[0].Unknown {
		t.Fatalf("a known code was marked unknown: %v %+v", err, ups)
	}
	ups, err = p.Verifier.FetchStatus(context.Background(), providers.OrderRef{OrderID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	marked := false
	for _, u := range ups {
		if u.SubID == "voa" && u.Status != "" {
			t.Fatalf("unknown code mapped to %s", u.Status)
		}
		marked = marked || u.SubID == "voa" && u.RawStatus == "5999" && u.Unknown
	}
	if !marked {
		t.Fatalf("unknown status-call code not marked: %+v", ups)
	}
}

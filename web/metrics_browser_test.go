package main

import (
	"bufio"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// scrape reads /metrics at addr into series → value (the series as the
// text format prints it, labels sorted by name).
func scrape(t *testing.T, addr string) (map[string]float64, string) {
	t.Helper()
	code, body := get(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("unreadable line %q", line)
		}
		out[line[:i]] = v
	}
	return out, body
}

// metricsAddr is where the portal's log says /metrics listens.
func metricsAddr(t *testing.T, p *portal) string {
	t.Helper()
	m := regexp.MustCompile(`msg="metrics started" addr=(\S+)`).FindStringSubmatch(p.logs.String())
	if m == nil {
		t.Fatalf("no metrics listener in the log:\n%s", p.logs.String())
	}
	return m[1]
}

// Issue 20: /metrics on METRICS_ADDR (never on the portal's own address),
// scraped over HTTP while a real verification goes through: the webhook,
// inbox, provider-call, message and live-stream series move, and no label
// carries a person's or a case's details.
func TestBrowser_Metrics(t *testing.T) {
	p := startPortal(t, map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	addr := metricsAddr(t, p)
	if _, page := get(t, p.URL+"/metrics"); strings.Contains(page, "caseverify_") {
		t.Error("/metrics answers on the portal's address")
	}
	before, body := scrape(t, addr)
	for _, name := range []string{"caseverify_inbox_depth", "caseverify_inbox_oldest_age_seconds", "caseverify_runs_running",
		"caseverify_live_streams", "go_goroutines"} {
		if !strings.Contains(body, "\n"+name) {
			t.Errorf("no %s before any traffic", name)
		}
	}
	if v := before[`caseverify_inbox_depth{provider="truv",state="due"}`]; v != 0 {
		t.Errorf("truv inbox depth at start = %v", v)
	}
	if v := before[`caseverify_runs_running{kind="renewal"}`]; v != 0 {
		t.Errorf("renewal runs at start = %v", v)
	}

	// A forged delivery: refused, counted as an authentication failure.
	resp, err := http.Post(p.URL+"/webhooks/truv", "application/json", strings.NewReader(`{"event_type":"order-status-updated"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	after, _ := scrape(t, addr)
	if got := after[`caseverify_webhook_deliveries_total{provider="truv",result="auth_failed"}`]; got != 1 {
		t.Errorf("forged truv deliveries counted %v, want 1", got)
	}

	ctx := newBrowser(t)
	signInCaseworker(t, ctx, p.URL)
	createCase(t, ctx, p.URL, "2026-MET-7", "snap")
	addMember(t, ctx, member{first: "Odette", last: "Marchetti", rel: "self", email: "odette.marchetti@example.org"})
	do(t, ctx, "send Truv by email", chromedp.Click(chromedp.CSS(`[data-testid=send-verification]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=send-form]`)),
		chromedp.Click(chromedp.CSS(`#provider-truv`)), chromedp.Click(chromedp.CSS(`#channel-email`)),
		chromedp.Submit(chromedp.CSS(`[data-testid=send-form]`)), chromedp.WaitVisible(chromedp.CSS(`[data-testid=order]`)))
	finishTruvByEmail(t, ctx, p.URL, "goodlogin")
	waitFor(t, ctx, p, "the report link", 30*time.Second, `!!document.querySelector('[data-testid=report-link]')`)

	var body2 string
	deadline := time.Now().Add(15 * time.Second)
	for {
		after, body2 = scrape(t, addr)
		if after[`caseverify_inbox_processed_total{provider="truv",result="done"}`] >= 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for series, atLeast := range map[string]float64{
		`caseverify_messages_total{channel="email",result="sent"}`:                      1,
		`caseverify_provider_calls_total{provider="truv",result="ok"}`:                  1,
		`caseverify_provider_call_seconds_count{provider="truv"}`:                       1,
		`caseverify_webhook_deliveries_total{provider="truv",result="accepted"}`:        1,
		`caseverify_inbox_processed_total{provider="truv",result="done"}`:               1,
		`caseverify_inbox_processing_seconds_count{provider="truv"}`:                    1,
		`caseverify_inbox_lag_seconds_count{provider="truv"}`:                           1,
		`caseverify_webhook_deliveries_total{provider="truv",result="auth_failed"}`:     1,
		`caseverify_live_streams`:                                                       1, // the case page is open
		`caseverify_provider_calls_total{provider="truv",result="transport_error"}`:     0,
		`caseverify_webhook_deliveries_total{provider="payscore",result="accepted"}`:    0,
		`caseverify_provider_calls_total{provider="accountchek",result="server_error"}`: 0,
	} {
		if got := after[series]; got < atLeast || (atLeast == 0 && got != 0) {
			t.Errorf("%s = %v, want %s", series, got, map[bool]string{true: "0", false: "≥ " + strconv.FormatFloat(atLeast, 'f', -1, 64)}[atLeast == 0])
		}
	}
	// The emulator's own webhooks to the portal are not calls to Truv.
	if got := after[`caseverify_provider_calls_total{provider="truv",result="ok"}`]; got > 20 {
		t.Errorf("truv calls = %v: the emulator's webhooks were counted as calls", got)
	}
	assertLogFree(t, body2, "Odette", "Marchetti", "odette.marchetti@example.org", "2026-MET-7")

	// Closing the page closes its stream.
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		after, _ = scrape(t, addr)
		if after[`caseverify_live_streams`] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live streams still %v after the page closed", after[`caseverify_live_streams`])
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// METRICS_ADDR is off by default, and must be a listen address of its own.
func TestConfig_MetricsAddr(t *testing.T) {
	cfg, err := cfgOf(t, map[string]string{"ADDR": "127.0.0.1:8106"})
	if err != nil || cfg.MetricsAddr != "" {
		t.Fatalf("default: %q %v", cfg.MetricsAddr, err)
	}
	for addr, want := range map[string]string{
		"127.0.0.1:9090": "",
		":9090":          "",
		"9090":           "METRICS_ADDR must be a listen address",
		"localhost:http": "METRICS_ADDR must be a listen address",
		"127.0.0.1:8106": "METRICS_ADDR must not use the port of ADDR",
		"0.0.0.0:8106":   "METRICS_ADDR must not use the port of ADDR",
	} {
		cfg, err := cfgOf(t, map[string]string{"ADDR": "127.0.0.1:8106", "METRICS_ADDR": addr})
		switch {
		case want == "" && (err != nil || cfg.MetricsAddr != addr):
			t.Errorf("%s: %q %v", addr, cfg.MetricsAddr, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", addr, err, want)
		}
	}
}

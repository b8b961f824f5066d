package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"caseverify/store"
)

// portal is a running caseverify started through the same serve() as
// `make run`, on a free port with its own SQLite file.
type portal struct {
	URL    string
	Dir    string
	cfg    Config // what it runs with: its database and keys
	logs   *syncBuffer
	vars   map[string]string // the settings it runs with (make bench's second replica reuses them)
	cancel context.CancelFunc
	done   chan error
}

// startPortal runs the portal in sandbox mode until the test ends. env
// overrides settings.
func startPortal(t testing.TB, env map[string]string) *portal {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		"ADDR":          "127.0.0.1:0",
		"DATABASE_URL":  filepath.Join(dir, "caseverify.db"),
		"SANDBOX":       "true",
		"LOG_LEVEL":     "debug",
		"SANDBOX_DELAY": "150ms",
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &portal{Dir: dir, cfg: cfg, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() { p.done <- serve(ctx, cfg, func(k string) string { return vars[k] }, io.Discard, p.logs, ready) }()
	select {
	case addr := <-ready:
		p.URL = "http://" + addr
	case err := <-p.done:
		t.Fatalf("portal did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("portal did not start within 30s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-p.done; err != nil {
			t.Errorf("portal stopped with: %v", err)
		}
	})
	return p
}

// openStore opens the running portal's database through the store API, as
// a second process beside it would (one SQLite file in WAL, or the one
// PostgreSQL database), with the portal's own data key, so a test can put
// data in a state no page reaches quickly. opts may set a clock; the data
// key is always the portal's. Closed when the test ends.
func (p *portal) openStore(t testing.TB, opts store.Options) *store.Store {
	t.Helper()
	opts.DataKey = p.cfg.DataKey
	st, err := store.Open(context.Background(), p.cfg.DatabaseURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// demoWorker is the seeded demo agency and its caseworker, the account
// signInCaseworker uses.
func demoWorker(t testing.TB, st *store.Store) (*store.Agency, *store.User) {
	t.Helper()
	ctx := context.Background()
	a, err := st.AgencyByName(ctx, demoAgency)
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.AccountForAudit(ctx, "caseworker@demo.caseverify.test")
	if err != nil {
		t.Fatal(err)
	}
	return a, u
}

// syncBuffer collects the portal's log for assertions (no PII in logs).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// chromiumPath finds Debian's Chromium; `make test` installs it.
func chromiumPath(t testing.TB) string {
	for _, p := range []string{os.Getenv("CHROMIUM_PATH"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("Chromium not found: run `make test` (it installs Debian's chromium) or set CHROMIUM_PATH")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile for one test.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // root in CI: Chromium refuses to start otherwise
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shotDir is where screenshots go, to look at after a run (kept out of git).
func shotDir(t testing.TB) string {
	dir := filepath.Join("testdata", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// screenshot saves a full-page PNG named after the test and step.
func screenshot(t testing.TB, ctx context.Context, step string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", step, err)
	}
	name := unsafeName.ReplaceAllString(t.Name()+"_"+step, "_") + ".png"
	if err := os.WriteFile(filepath.Join(shotDir(t), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// axeViolation is what axe-core reports for one rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkA11y runs axe-core on the current page and fails the test on any
// WCAG 2.1 A or AA violation.
func checkA11y(t testing.TB, ctx context.Context, page string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "axe-4.14.1.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	// A page still loading (a form answer or redirect finishing) replaces
	// the document axe was injected into: wait for a loaded document, and
	// start again when it was replaced under us.
	var raw string
	for attempt := 0; ; attempt++ {
		var err error
		if err = waitLoaded(ctx); err == nil {
			if _, err = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](string(src)+";0")); err == nil {
				raw, err = chromedp.Run(ctx, chromedp.Evaluate[string](
					`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(r => JSON.stringify(r.violations))`,
					chromedp.EvalAwaitPromise))
			}
		}
		if err == nil {
			break
		}
		if attempt == 4 || !pageReplaced(err) {
			t.Fatalf("run axe on %s: %v", page, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target)+" "+n.HTML)
		}
		t.Errorf("axe on %s: %s (%s): %s\n  %s", page, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
	}
}

// waitLoaded waits (up to 10 s) until the current document has loaded.
func waitLoaded(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		if err == nil && state == "complete" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("page not loaded (%q): %v", state, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pageReplaced tells an error that comes from a navigation replacing the
// document mid-call (or axe missing from a new one) from a real failure.
func pageReplaced(err error) bool {
	msg := err.Error()
	for _, s := range []string{"navigated or closed", "Execution context was destroyed", "Cannot find context", "axe is not defined", "page not loaded"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// textOf returns the text of the first element matching css.
func textOf(t testing.TB, ctx context.Context, css string) string {
	t.Helper()
	// Query and read in one evaluation in the page: with chromedp.Text the
	// node is found first and read in a second call, and a live update (an
	// htmx SSE swap) or a navigation in between leaves a detached node whose
	// visible text is "". Visible text, as chromedp.Text reads it.
	sel, _ := json.Marshal(css)
	expr := `(() => { const el = document.querySelector(` + string(sel) + `);
		if (!el) return null;
		return (el.offsetWidth || el.offsetHeight || el.getClientRects().length) ? el.innerText : ""; })()`
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := chromedp.Run(ctx, chromedp.Evaluate[*string](expr))
		if err == nil && s != nil {
			return *s
		}
		if time.Now().After(deadline) {
			t.Fatalf("text of %s: not on the page (%v)", css, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// do runs steps one by one and fails the test with the step's name on
// error. A step whose node was replaced between the query and the action
// (a navigation or an htmx swap finishing) is run again: that error comes
// before the action is dispatched, so nothing happens twice.
func do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for i, step := range steps {
		var err error
		for attempt := 0; attempt < 4; attempt++ {
			if err = chromedp.Do(ctx, step); err == nil || !staleNode(err) {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			screenshot(t, ctx, "failed_"+what)
			t.Fatalf("%s (step %d): %v", what, i+1, err)
		}
	}
}

func staleNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "node with given id") || strings.Contains(msg, "Node with given id")
}

// get fetches a URL without a browser (no cookies).
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitFor polls a JavaScript condition on the page until it holds, and fails
// with a screenshot and the portal's log otherwise.
func waitFor(t testing.TB, ctx context.Context, p *portal, what string, limit time.Duration, cond string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			screenshot(t, ctx, "failed_"+what)
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').outerHTML : ''`))
			t.Fatalf("%s did not appear within %s (%v)\npage:\n%s\nportal log:\n%s", what, limit, err, html, p.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertLogFree fails the test when the log holds any of the secrets (see
// logHolds for what counts).
func assertLogFree(t *testing.T, log string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if at, ok := logHolds(log, secret); ok {
			t.Errorf("log contains %q: …%s…", secret, log[max(0, at-60):min(len(log), at+len(secret)+60)])
		}
	}
}

// logHolds reports where a log (or a page) holds the secret as a value of
// its own, ignoring case. A match only counts where it does not run on into more
// letters or digits: a short value such as the last four of an SSN ("9731")
// otherwise turns up by chance inside a latency ("1.297318ms") or a port.
func logHolds(log, secret string) (int, bool) {
	l, s := strings.ToLower(log), strings.ToLower(secret)
	alnum := func(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' }
	for from := 0; from < len(l); {
		i := strings.Index(l[from:], s)
		if i < 0 || s == "" {
			return 0, false
		}
		start, end := from+i, from+i+len(s)
		joinedBefore := start > 0 && alnum(s[0]) && alnum(l[start-1])
		joinedAfter := end < len(l) && alnum(s[len(s)-1]) && alnum(l[end])
		if !joinedBefore && !joinedAfter {
			return start, true
		}
		from = start + 1
	}
	return 0, false
}

func TestLogHolds(t *testing.T) {
	cases := []struct {
		log, secret string
		found       bool
	}{
		{"latency=1.297318ms port=39731", "9731", false},
		{"ssn=9731 other", "9731", true},
		{`"last4":"9731"`, "9731", true},
		{"end 9731", "9731", true},
		{"q=Luis.Canary@example.org", "luis", true},
		{"route=/cases/:id/members", "luis", false},
		{"ts=2026 dob=1988-04-17", "1988-04-17", true},
		{"path=/webhooks/accountchek/abc", "/webhooks/accountchek/", true},
	}
	for _, c := range cases {
		if _, got := logHolds(c.log, c.secret); got != c.found {
			t.Errorf("logHolds(%q, %q) = %v, want %v", c.log, c.secret, got, c.found)
		}
	}
}

package truework

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"caseverify/providers"
)

// getPage fetches a page with a client that keeps no cookies.
func getPage(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postForm posts a form with a client that keeps no cookies.
func postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	reInput  = regexp.MustCompile(`<input\b[^>]*>`)
	reID     = regexp.MustCompile(`\bid="([^"]+)"`)
	reScript = regexp.MustCompile(`<script\b[^>]*>`)
)

// checkPage asserts the page rules: language, title, viewport, one h1,
// labelled inputs, buttons as <button>, the sandbox banner and hint, and
// nothing the portal's CSP (default-src 'self') would block.
func checkPage(t *testing.T, page string) {
	t.Helper()
	must := []string{`<html lang="en">`, `<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`data-testid="sandbox-banner"`, `Sandbox: Truework emulator`, `data-testid="scenario-hint"`, `/assets/emulator.css"`}
	for _, s := range must {
		if !strings.Contains(page, s) {
			t.Errorf("page lacks %s", s)
		}
	}
	if !regexp.MustCompile(`<title>[^<]+</title>`).MatchString(page) {
		t.Error("page has no title")
	}
	if n := strings.Count(page, "<h1"); n != 1 {
		t.Errorf("page has %d h1; want 1", n)
	}
	for _, bad := range []string{"<style", " style=", "javascript:", " onclick=", " onload="} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, tag := range reScript.FindAllString(page, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("inline script: %s", tag)
		}
	}
	for _, tag := range reInput.FindAllString(page, -1) {
		if strings.Contains(tag, `type="submit"`) || strings.Contains(tag, `type="button"`) {
			t.Errorf("button as input: %s", tag)
		}
		if strings.Contains(tag, `type="hidden"`) {
			continue
		}
		m := reID.FindStringSubmatch(tag)
		if m == nil || !strings.Contains(page, `<label for="`+m[1]+`"`) {
			t.Errorf("input without a label: %s", tag)
		}
	}
}

// TestWidgetPages walks the widget with plain form posts (no JavaScript,
// no cookies) and then sees the order complete.
func TestWidgetPages(t *testing.T) {
	sb := newSandbox(t, nil)
	base := sb.srv.URL + "/sandbox/truework"
	order, err := sb.client.CreateOrder(context.Background(), incomeRequest("CV-W", "000000000"))
	if err != nil {
		t.Fatal(err)
	}
	tok := order.Links[0].WidgetToken

	status, page := getPage(t, base+"/widget?token="+url.QueryEscape(tok))
	if status != 200 || !strings.Contains(page, `data-testid="signin-form"`) || !strings.Contains(page, `action="`+base+`/widget/signin"`) ||
		!strings.Contains(page, `src="`+base+`/assets/widget.js"`) {
		t.Fatalf("sign-in page = %d:\n%s", status, page)
	}
	checkPage(t, page)

	status, page = postForm(t, base+"/widget/signin", url.Values{"token": {tok}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="form-error"`) {
		t.Fatalf("empty sign-in = %d", status)
	}
	checkPage(t, page)

	status, page = postForm(t, base+"/widget/signin", url.Values{"token": {tok}, "username": {"anyone"}, "password": {"anything"}})
	if status != 200 || !strings.Contains(page, `<li data-testid="employer-name">Northwind Software Inc.</li>`) {
		t.Fatalf("employer page = %d:\n%s", status, page)
	}
	checkPage(t, page)

	status, page = postForm(t, base+"/widget/employer", url.Values{"token": {tok}})
	if status != 200 || !strings.Contains(page, `data-testid="consent-checkbox"`) {
		t.Fatalf("consent page = %d", status)
	}
	checkPage(t, page)

	status, page = postForm(t, base+"/widget/finish", url.Values{"token": {tok}})
	if status != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="form-error"`) {
		t.Fatalf("finish without consent = %d", status)
	}
	if len(sb.recv.events(order.OrderID)) != 0 {
		t.Fatal("a webhook went out without consent")
	}

	status, page = postForm(t, base+"/widget/finish", url.Values{"token": {tok}, "consent": {"yes"}})
	if status != 200 || !strings.Contains(page, `data-testid="widget-done"`) || !strings.Contains(page, `data-truework-event="complete"`) {
		t.Fatalf("done page = %d:\n%s", status, page)
	}
	checkPage(t, page)

	waitFor(t, "order.completed", func() bool { return slices.Contains(sb.recv.events(order.OrderID), EventOrderCompleted) })
	ups, err := sb.client.FetchStatus(context.Background(), providers.OrderRef{OrderID: order.OrderID})
	if err != nil || ups[0].Status != providers.StatusCompleted {
		t.Fatalf("FetchStatus = %+v, %v", ups, err)
	}

	// The used token now gives the error page the stand-in turns into onError.
	status, page = getPage(t, base+"/widget?token="+url.QueryEscape(tok))
	if status != http.StatusConflict || !strings.Contains(page, `data-truework-event="error"`) || !strings.Contains(page, `data-truework-code="invalid_session"`) {
		t.Fatalf("used token = %d:\n%s", status, page)
	}
	checkPage(t, page)
	status, page = postForm(t, base+"/widget/finish", url.Values{"token": {"made-up"}, "consent": {"yes"}})
	if status != http.StatusNotFound || !strings.Contains(page, `data-testid="widget-error"`) {
		t.Fatalf("unknown token = %d", status)
	}
}

func TestEmulatorIndexPage(t *testing.T) {
	sb := newSandbox(t, nil)
	status, page := getPage(t, sb.srv.URL+"/sandbox/truework/")
	if status != 200 {
		t.Fatalf("index = %d", status)
	}
	checkPage(t, page)
	if n := strings.Count(page, `data-testid="scenario-row"`); n != len(sandboxPeople()) {
		t.Errorf("scenario rows = %d; want %d", n, len(sandboxPeople()))
	}
	if !strings.Contains(page, "Taylor Curtis") || !strings.Contains(page, "000-22-0000") {
		t.Error("index lacks the fixtures")
	}
}

// TestTrueworkJSStandIn checks the script's contract: where it is served,
// what it defines, and that the widget page's script posts to the parent.
func TestTrueworkJSStandIn(t *testing.T) {
	sb := newSandbox(t, nil)
	base := sb.srv.URL + "/sandbox/truework"
	if got := sb.client.Widget(); got.ScriptURL != base+"/js/v1" || got.Env != "sandbox" {
		t.Fatalf("Widget = %+v; want the stand-in in sandbox mode", got)
	}
	resp, err := http.Get(sb.client.Widget().ScriptURL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("/js/v1 = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	js := string(b)
	for _, s := range []string{"window.Truework.direct = { Env: Env, init: init }", `Sandbox: "sandbox"`, `Production: "production"`,
		"document.currentScript", `"/widget?token=" + encodeURIComponent(opts.sessionToken)`, `setAttribute("role", "dialog")`,
		`setAttribute("aria-modal", "true")`, "dialog.focus()", `ev.key === "Escape"`, `callback("onComplete"`, `callback("onClose")`,
		`callback("onError"`, `code: "invalid_session"`, `d.source !== "truework-emulator"`, "ev.origin !== baseOrigin", "/assets/truework-modal.css"} {
		if !strings.Contains(js, s) {
			t.Errorf("truework.js lacks %s", s)
		}
	}
	if strings.Contains(js, ".style.") || strings.Contains(js, `"style"`) {
		t.Error("truework.js sets inline styles, which the portal's CSP blocks")
	}

	assets := map[string]string{
		"/assets/emulator.css":       "text/css",
		"/assets/truework-modal.css": "text/css",
		"/assets/widget.js":          "text/javascript",
	}
	for path, ctype := range assets {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) || len(b) == 0 {
			t.Errorf("%s = %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if path == "/assets/widget.js" && (!strings.Contains(string(b), `window.parent.postMessage(msg, "*")`) || !strings.Contains(string(b), `msg.source = "truework-emulator"`)) {
			t.Error("widget.js does not post to the parent")
		}
	}
	for _, path := range []string{"/assets/truework.js", "/assets/nope.css", "/assets/..%2Fclient.go"} {
		if status, _ := getPage(t, base+path); status != http.StatusNotFound {
			t.Errorf("%s = %d; want 404", path, status)
		}
	}
}

package handlers_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"caseverify/store"
)

// The live stream sends the current state on connect only when the page may
// be behind: a reconnect, or a change after the page was rendered.
func TestEvents_ConnectPushesOnlyWhenBehind(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	// Sign in through the real router and keep the cookie.
	c := &liveClient{t: t, base: l.srv.URL}
	c.signIn(l, "w@l.gov")
	caseID := l.order.CaseID
	url := l.srv.URL + "/cases/" + strconv.FormatInt(caseID, 10) + "/events"

	firstEvent := func(at time.Time, reconnect bool) string {
		t.Helper()
		reqCtx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		defer cancel()
		u := url + "?at=" + strconv.FormatInt(at.UnixMilli(), 10)
		req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, u, nil)
		req.Header.Set("Cookie", c.cookie)
		if reconnect {
			req.Header.Set("Last-Event-ID", "1")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", resp.StatusCode)
		}
		line, _ := bufio.NewReader(resp.Body).ReadString('\n') // ends with the deadline when nothing comes
		return line
	}
	if got := firstEvent(time.Now(), false); got != "" {
		t.Fatalf("a current page got a push on connect: %q", got)
	}
	if got := firstEvent(time.Now(), true); !strings.HasPrefix(got, "id: ") {
		t.Fatalf("a reconnect got no state: %q", got)
	}
	before := time.Now().Add(-time.Minute)
	if _, _, err := l.st.ApplyUpdate(ctx, l.user.AgencyID, l.order.ID, store.StatusUpdate{Status: store.StatusInProgress, Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	if got := firstEvent(before, false); !strings.HasPrefix(got, "id: ") {
		t.Fatalf("a page rendered before a change got no state: %q", got)
	}
}

// liveClient signs in against a real server and keeps the session cookie.
type liveClient struct {
	t      *testing.T
	base   string
	cookie string
}

// formToken opens pageURL as the signed-in client and returns the CSRF
// token of its forms.
func (c *liveClient) formToken(pageURL string) string {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, pageURL, nil)
	req.Header.Set("Cookie", c.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	token := csrfRE.FindStringSubmatch(readBody(resp))
	if token == nil {
		c.t.Fatalf("no CSRF token on %s", pageURL)
	}
	return token[1]
}

func (c *liveClient) signIn(l *live, email string) {
	c.t.Helper()
	jar := &simpleJar{}
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(c.base + "/login")
	if err != nil {
		c.t.Fatal(err)
	}
	body := readBody(resp)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatal("no CSRF token on the sign-in page")
	}
	resp, err = client.PostForm(c.base+"/login", map[string][]string{"email": {email}, "password": {testPassword}, "_csrf": {m[1]}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign in: %v %v", resp, err)
	}
	c.cookie = jar.header()
}

// A stream opened while signed in stops when the session ends (here the
// account is disabled): the next change is not sent, the stream closes.
func TestEvents_StreamEndsWithTheSession(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	c := &liveClient{t: t, base: l.srv.URL}
	c.signIn(l, "w@l.gov")
	u := l.srv.URL + "/cases/" + strconv.FormatInt(l.order.CaseID, 10) + "/events?at=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
	reqCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, u, nil)
	req.Header.Set("Cookie", c.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", resp.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			lines <- line
		}
	}()
	apply := func(s store.OrderStatus) {
		t.Helper()
		if _, _, err := l.st.ApplyUpdate(ctx, l.user.AgencyID, l.order.ID, store.StatusUpdate{Status: s, Source: "webhook"}); err != nil {
			t.Fatal(err)
		}
	}
	// Signed in: a change arrives.
	apply(store.StatusInProgress)
	if got := <-lines; !strings.HasPrefix(got, "id: ") {
		t.Fatalf("first line of a change = %q", got)
	}
	for len(lines) > 0 || func() bool { time.Sleep(200 * time.Millisecond); return len(lines) > 0 }() {
		<-lines // the rest of that change's events
	}
	if err := l.st.SetUserDisabled(ctx, l.user.AgencyID, l.user.ID, true); err != nil {
		t.Fatal(err)
	}
	apply(store.StatusActionRequired)
	// The only thing sent after the session ended is one "signed-out"
	// event (the page's banner), then the stream closes.
	var after []string
	for line := range lines {
		after = append(after, line)
	}
	if reqCtx.Err() != nil {
		t.Fatal("the stream stayed open after the session ended")
	}
	sent := strings.Join(after, "")
	if !strings.Contains(sent, "event: signed-out\n") || !strings.Contains(sent, "You were signed out; sign in again to see live updates.") {
		t.Fatalf("no signed-out event after the session ended:\n%s", sent)
	}
	if n := strings.Count(sent, "event: "); n != 1 || strings.Contains(sent, "order-") || strings.Contains(sent, "Action required") {
		t.Fatalf("the stream sent the case's changes after the session ended:\n%s", sent)
	}

	// The browser reconnects: a stream without a live session gets the
	// same last event, not a redirect to the sign-in page (which an
	// EventSource would retry forever).
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Cookie", c.cookie)
	req.Header.Set("Accept", "text/event-stream")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	body, _ := io.ReadAll(resp2.Body)
	if resp2.StatusCode != http.StatusOK || resp2.Header.Get("Content-Type") != "text/event-stream" ||
		!strings.Contains(string(body), "event: signed-out\n") || strings.Contains(string(body), "order-") {
		t.Fatalf("reconnect without a session: %d %s\n%s", resp2.StatusCode, resp2.Header.Get("Content-Type"), body)
	}
}

// Issue 17: many streams watching one case all get a change, and the
// change is rendered once for all of them, not once per stream (the
// metrics count renderings).
func TestEvents_ManyWatchersOneRendering(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	c := &liveClient{t: t, base: l.srv.URL}
	c.signIn(l, "w@l.gov")
	const watchers = 25
	want := "event: order-" + strconv.FormatInt(l.order.ID, 10) + "\n"
	reqCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	got := make(chan int, watchers)
	for i := range watchers {
		u := l.srv.URL + "/cases/" + strconv.FormatInt(l.order.CaseID, 10) + "/events?at=" + strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)
		req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, u, nil)
		req.Header.Set("Cookie", c.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		}
		// Subscribed: the handler subscribes before it answers.
		go func() {
			r := bufio.NewReader(resp.Body)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if line == want {
					got <- i
					return
				}
			}
		}()
	}
	before := liveRenders(t, l)
	if _, _, err := l.st.ApplyUpdate(ctx, l.user.AgencyID, l.order.ID, store.StatusUpdate{Status: store.StatusInProgress, Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for len(seen) < watchers {
		select {
		case i := <-got:
			seen[i] = true
		case <-reqCtx.Done():
			t.Fatalf("%d of %d streams got the change", len(seen), watchers)
		}
	}
	if n := liveRenders(t, l) - before; n != 1 {
		t.Fatalf("the change was rendered %d times for %d streams, want once", n, watchers)
	}
}

// liveRenders reads caseverify_live_renders_total from the metrics.
func liveRenders(t *testing.T, l *live) int {
	t.Helper()
	return metricValue(t, l, "caseverify_live_renders_total")
}

// metricValue reads a counter from the metrics.
func metricValue(t *testing.T, l *live, name string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	l.metrics.Handler(slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatalf("metrics: %q", line)
			}
			return n
		}
	}
	t.Fatalf("no %s in the metrics", name)
	return 0
}

// Issue 17: the streams of a case check their sessions together, one read
// for many streams, not one per stream; and a stream whose session ended
// just before the change still ends with the signed-out event, though it
// shares that read with streams whose sessions are live.
func TestEvents_ManyWatchersShareSessionReads(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	other, err := l.st.CreateUser(ctx, l.user.AgencyID, store.NewUser{Email: "x@l.gov", Name: "X", Role: store.RoleCaseworker, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	w := &liveClient{t: t, base: l.srv.URL}
	w.signIn(l, "w@l.gov")
	x := &liveClient{t: t, base: l.srv.URL}
	x.signIn(l, "x@l.gov")
	const watchers = 24
	reqCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	// Each stream sends everything it got when it closes, or when it got
	// the change.
	want := "event: order-" + strconv.FormatInt(l.order.ID, 10) + "\n"
	got := make(chan string, watchers+1)
	open := func(cookie string) {
		u := l.srv.URL + "/cases/" + strconv.FormatInt(l.order.CaseID, 10) + "/events?at=" + strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)
		req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, u, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %d", resp.StatusCode)
		}
		go func() {
			var sent strings.Builder
			r := bufio.NewReader(resp.Body)
			for {
				line, err := r.ReadString('\n')
				sent.WriteString(line)
				if err != nil || line == want {
					got <- sent.String()
					return
				}
			}
		}()
	}
	for range watchers {
		open(w.cookie)
	}
	open(x.cookie)
	before := liveSessionReads(t, l)
	if err := l.st.SetUserDisabled(ctx, l.user.AgencyID, other.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.st.ApplyUpdate(ctx, l.user.AgencyID, l.order.ID, store.StatusUpdate{Status: store.StatusInProgress, Source: "webhook"}); err != nil {
		t.Fatal(err)
	}
	changed, ended := 0, 0
	for range watchers + 1 {
		var sent string
		select {
		case sent = <-got:
		case <-reqCtx.Done():
			t.Fatalf("%d streams got the change, %d ended, of %d", changed, ended, watchers+1)
		}
		switch {
		case strings.Contains(sent, want):
			changed++
		case strings.Contains(sent, "event: signed-out\n") && !strings.Contains(sent, "order-"):
			ended++
		default:
			t.Fatalf("a stream sent neither the change nor the signed-out event:\n%s", sent)
		}
	}
	if changed != watchers || ended != 1 {
		t.Fatalf("%d streams got the change (want %d), %d ended (want 1)", changed, watchers, ended)
	}
	// The streams that ask while a read runs wait for the next one, so a
	// few reads, never one per stream.
	if n := liveSessionReads(t, l) - before; n < 1 || n > watchers/2 {
		t.Fatalf("%d session reads for %d streams of one change", n, watchers+1)
	}
}

// liveSessionReads reads caseverify_live_session_reads_total from the metrics.
func liveSessionReads(t *testing.T, l *live) int {
	t.Helper()
	return metricValue(t, l, "caseverify_live_session_reads_total")
}

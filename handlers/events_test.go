package handlers_test

import (
	"bufio"
	"context"
	"net/http"
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

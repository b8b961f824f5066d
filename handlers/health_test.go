package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"caseverify/providers/truv"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// Issue 13 item 7: /healthz and /readyz answer 503 while the database
// cannot take a write (its write lock held past the bound), 200 again once
// it can; at shutdown /readyz answers 503 and a case page's live stream
// ends at once, so a SIGTERM does not wait for open pages.
func TestHealth_WriteLockReadyzAndShutdown(t *testing.T) {
	pgtest.SkipOnPostgres(t, "holds SQLite's database-wide write lock from a second connection; PostgreSQL locks rows")
	l := newLive(t)
	ctx := context.Background()
	get := func(path string) int {
		t.Helper()
		resp, err := http.Get(l.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if get("/healthz") != http.StatusOK || get("/readyz") != http.StatusOK {
		t.Fatal("not healthy and ready at the start")
	}
	db, err := sql.Open("sqlite3", "file:"+l.dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if got := get("/healthz"); got != http.StatusServiceUnavailable {
		t.Errorf("/healthz with the write lock held: %d, want 503", got)
	}
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the write lock held: %d, want 503", got)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if get("/healthz") != http.StatusOK || get("/readyz") != http.StatusOK {
		t.Fatal("not healthy again once the lock was released")
	}

	c := &liveClient{t: t, base: l.srv.URL}
	c.signIn(l, "w@l.gov")
	reqCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(reqCtx, http.MethodGet, l.srv.URL+"/cases/"+strconv.FormatInt(l.order.CaseID, 10)+"/events", nil)
	req.Header.Set("Cookie", c.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ended := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, resp.Body); ended <- err }()
	l.hp.h.Shutdown()
	if err := <-ended; err != nil {
		t.Fatalf("the live stream did not end cleanly at shutdown: %v", err)
	}
	if got := get("/readyz"); got != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while shutting down: %d, want 503", got)
	}
}

// Issue 13 item 7: with SQLite's write lock held by another connection (a
// backup, a stuck process), a state-changing staff request and a webhook
// are answered 503 with Retry-After once the store's wait (DB_WAIT) runs
// out, instead of queueing until the server drops them; nothing of either
// was saved, and both go through once the lock is released.
func TestDBWait_WriteLockHeldAnswers503AndSavesNothing(t *testing.T) {
	pgtest.SkipOnPostgres(t, "holds SQLite's database-wide write lock from a second connection; PostgreSQL locks rows")
	l := newLive(t)
	ctx := context.Background()
	c := &liveClient{t: t, base: l.srv.URL}
	c.signIn(l, "w@l.gov")
	caseURL := l.srv.URL + "/cases/" + strconv.FormatInt(l.order.CaseID, 10)
	token := c.formToken(caseURL)
	// Generous against a slow machine, far under the old behaviour's
	// worst case (queued until the server's 60 s timeout).
	client := &http.Client{Timeout: 10 * store.DefaultWait,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	postNote := func() *http.Response {
		t.Helper()
		form := url.Values{"body": {"Held note"}, "_csrf": {token}}
		req, _ := http.NewRequest(http.MethodPost, caseURL+"/notes", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", c.cookie)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("note: %v", err)
		}
		resp.Body.Close()
		return resp
	}
	hook := []byte(strings.Replace(canaryBody, `"webhook_id":"w1"`, `"webhook_id":"w-held"`, 1))
	postHook := func() *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, l.srv.URL+"/webhooks/truv", bytes.NewReader(hook))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Webhook-Sign", sign(truv.SandboxAccessSecret, hook))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("webhook: %v", err)
		}
		resp.Body.Close()
		return resp
	}

	db, err := sql.Open("sqlite3", "file:"+l.dbPath+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func() (notes, hooks int) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM case_notes WHERE case_id = ?),
			(SELECT COUNT(*) FROM webhook_inbox WHERE dedupe_key LIKE 'w-held%')`, l.order.CaseID).Scan(&notes, &hooks); err != nil {
			t.Fatal(err)
		}
		return notes, hooks
	}
	notesBefore, _ := count()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	for name, resp := range map[string]*http.Response{"note": postNote(), "webhook": postHook()} {
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s with the write lock held: %d, want 503", name, resp.StatusCode)
		}
		if got, want := resp.Header.Get("Retry-After"), strconv.Itoa(int(store.DefaultWait/time.Second)); got != want {
			t.Errorf("%s: Retry-After %q, want %q", name, got, want)
		}
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if notes, hooks := count(); notes != notesBefore || hooks != 0 {
		t.Fatalf("refused requests saved something: %d notes (had %d), %d deliveries", notes, notesBefore, hooks)
	}
	// Tried again once the lock is free, both go through, once.
	if resp := postNote(); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("note after the lock: %d", resp.StatusCode)
	}
	if resp := postHook(); resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook after the lock: %d", resp.StatusCode)
	}
	if notes, hooks := count(); notes != notesBefore+1 || hooks != 1 {
		t.Fatalf("after the lock: %d notes (had %d), %d deliveries", notes, notesBefore, hooks)
	}
}

package handlers_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Issue 13 item 7: /healthz and /readyz answer 503 while the database
// cannot take a write (its write lock held past the bound), 200 again once
// it can; at shutdown /readyz answers 503 and a case page's live stream
// ends at once, so a SIGTERM does not wait for open pages.
func TestHealth_WriteLockReadyzAndShutdown(t *testing.T) {
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

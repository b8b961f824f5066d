package handlers_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// dbFingerprint is a digest of every row of every table, by table, read
// through a separate read-only connection. Two tables are compared
// differently: sessions (a request records the session's last activity,
// which is what the idle timeout needs) by row count only, and audit_log,
// whose new rows are returned for the caller to judge.
func dbFingerprint(t *testing.T, path string) (map[string]string, []string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]string{}
	var audit []string
	for _, table := range tables {
		q := "SELECT * FROM " + table + " ORDER BY rowid"
		switch table {
		case "sessions":
			q = "SELECT count(*) FROM sessions"
		case "health_probe":
			// /healthz proves the database takes a write by committing the
			// time of the check (its heartbeat): only the count must hold.
			q = "SELECT count(*) FROM health_probe"
		case "audit_log":
			q = "SELECT action, route FROM audit_log ORDER BY id"
		}
		rs, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rs.Columns()
		h := sha256.New()
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			line := fmt.Sprintf("%v", vals)
			fmt.Fprintln(h, line)
			if table == "audit_log" {
				audit = append(audit, line)
			}
		}
		rs.Close()
		out[table] = fmt.Sprintf("%x", h.Sum(nil))
	}
	return out, audit
}

// Issue 12: no GET changes state. Every GET route, with real ids of a case,
// member and order whose link went out by text, leaves every table as it
// was. Reading is recorded (the audit log may gain "opened the case", "read
// a report", "downloaded a PDF"), but never a reveal or anything else.
//
// Not walked, each for a reason: /static (files), /sandbox (the emulated
// providers' own sites), /l/:code and /v/:token (the applicant's links:
// recording the first open is what they are for). The live stream
// (/cases/:id/events) is read for a moment and let go.
func TestGET_NoRouteChangesState(t *testing.T) {
	// The routes are the same on both engines; the fingerprint reads the
	// SQLite file's schema (sqlite_master).
	pgtest.SkipOnPostgres(t, "fingerprints the SQLite file")
	l := newLive(t)
	ctx := context.Background()
	admin, err := l.st.CreateUser(ctx, l.user.AgencyID, store.NewUser{Email: "admin@l.gov", Name: "Admin", Role: store.RoleAdmin, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	c := staffClient(t, l, "admin@l.gov") // every permission: every GET runs its handler
	// A report on the order, so the report page runs too.
	data, _ := json.Marshal(providers.Report{ReportID: "rep-1", Kind: providers.ReportIncome})
	if _, err := l.st.SaveReport(ctx, l.user.AgencyID, l.order.ID, store.Report{ProviderReportID: "rep-1", Kind: string(providers.ReportIncome), Data: data}); err != nil {
		t.Fatal(err)
	}
	// A CSV file held for its preview, and a bulk send, so their pages run
	// too: a preview must write nothing.
	held, err := l.st.HoldIntake(ctx, l.user.AgencyID, admin.ID, []byte("case_number,first_name,last_name\nGET-1,Ana,Ruiz\n"))
	if err != nil {
		t.Fatal(err)
	}
	run, err := l.st.StartBulkSend(ctx, l.user.AgencyID, admin.ID, store.BulkSend{Provider: "truv", Products: []string{"income"},
		Channel: "email", MemberIDs: []int64{l.order.MemberID}})
	if err != nil {
		t.Fatal(err)
	}
	// Canceled (or already done), so no worker changes it while the pages
	// are walked.
	if err := l.st.CancelRenewal(ctx, l.user.AgencyID, run.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	ids := strings.NewReplacer(":id", fmt.Sprint(l.order.CaseID), ":mid", fmt.Sprint(l.order.MemberID),
		":oid", fmt.Sprint(l.order.ID), ":uid", fmt.Sprint(admin.ID), ":rid", fmt.Sprint(run.ID), ":iid", held.ID)
	readActions := []string{store.AuditViewCase, store.AuditViewReport, store.AuditReportPDF}

	before, auditBefore := dbFingerprint(t, l.dbPath)
	var walked int
	for _, r := range l.e.Routes() {
		if r.Method != http.MethodGet {
			continue
		}
		switch {
		case strings.HasPrefix(r.Path, "/static"), strings.HasPrefix(r.Path, "/sandbox/"), r.Path == "/l/:code",
			r.Path == "/v/:token":
			continue
		}
		path := ids.Replace(r.Path)
		rctx, cancel := context.WithCancel(ctx)
		stop := time.AfterFunc(5*time.Second, cancel) // a stream that never answers must not hang the test
		req, _ := http.NewRequestWithContext(rctx, http.MethodGet, l.srv.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			_, _ = resp.Body.Read(make([]byte, 1)) // the stream answered; let it go
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
		}
		stop.Stop()
		cancel()
		resp.Body.Close()
		if resp.StatusCode == http.StatusInternalServerError {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		after, auditAfter := dbFingerprint(t, l.dbPath)
		for table, sum := range after {
			if before[table] != sum && table != "audit_log" {
				t.Errorf("GET %s (%d) changed table %s", path, resp.StatusCode, table)
			}
		}
		for _, line := range auditAfter[len(auditBefore):] {
			if !slices.ContainsFunc(readActions, func(a string) bool { return strings.HasPrefix(line, "["+a+" ") }) {
				t.Errorf("GET %s wrote audit row %s", path, line)
			}
		}
		before, auditBefore = after, auditAfter
		walked++
	}
	if walked < 15 {
		t.Fatalf("only %d GET routes walked", walked)
	}
}

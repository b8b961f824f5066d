package handlers_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"caseverify/store"
)

// upload posts a file to /imports as the browser's form does (multipart,
// with the CSRF token in it).
func (c *client) upload(name string, data []byte) *httptest.ResponseRecorder {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", c.csrf)
	fw, err := w.CreateFormFile("file", name)
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(data)
	w.Close()
	req := httptest.NewRequest(http.MethodPost, "/imports", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return c.do(req)
}

// The upload through the router: a bad file is refused with its reason and
// nothing kept; a good one is held and previewed at a URL that holds no
// personal data and that only its uploader opens; the import runs and is
// audited with ids and counts, never a value of the file; an agent may not
// upload.
func TestIntake_UploadPreviewImportAudited(t *testing.T) {
	s := newServer(t, false)
	clients := roleClients(t, s)
	c := clients[store.RoleCaseworker]
	ctx := context.Background()

	rec := c.upload("bad.csv", []byte("case_number,first_name,surname\nX-1,Ana,Ruiz\n"))
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "The column &#34;surname&#34; is not one the portal reads") {
		t.Fatalf("bad header: %d %s", rec.Code, rec.Body.String())
	}
	file := "case_number,first_name,last_name,email,date_of_birth\nH-1,Ana,Ruiz,ana.h@example.org,1985-02-03\nH-1,Leo,Ruiz,bad-email,2015-06-07\n"
	rec = c.upload("households.csv", []byte(file))
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/imports/") || len(loc) != len("/imports/")+32 {
		t.Fatalf("upload: %d %q %s", rec.Code, loc, rec.Body.String())
	}
	page := c.get(loc)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), `data-line="3" data-column="email"`) {
		t.Fatalf("preview: %d %s", page.Code, page.Body.String())
	}
	// Only the uploader opens it: another user of the agency, an admin too, gets 404.
	if rec := clients[store.RoleAdmin].get(loc); rec.Code != http.StatusNotFound {
		t.Fatalf("another user's file: %d", rec.Code)
	}
	if rec := clients[store.RoleAgent].upload("households.csv", []byte(file)); rec.Code != http.StatusForbidden {
		t.Fatalf("agent upload: %d", rec.Code)
	}
	// All or nothing is refused while a row has a problem.
	if rec := c.post(loc+"/import", url.Values{"mode": {"all"}}); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("all with a bad row: %d", rec.Code)
	}
	if rec := c.post(loc+"/import", url.Values{"mode": {"valid"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("import: %d %s", rec.Code, rec.Body.String())
	}
	waitImported(t, c, strings.TrimPrefix(loc, "/imports/"))
	cs, err := s.store.CaseByNumber(ctx, s.agencyA.ID, "H-1")
	if err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.store.Members(ctx, s.agencyA.ID, cs.ID); len(ms) != 1 || ms[0].Email != "ana.h@example.org" {
		t.Fatalf("members: %+v", ms)
	}
	es, err := s.store.AuditLog(ctx, s.agencyA.ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
		for _, pii := range []string{"Ana", "Ruiz", "example.org", "1985"} {
			if strings.Contains(e.Subject, pii) {
				t.Errorf("audit subject %q holds %q", e.Subject, pii)
			}
		}
	}
	if !strings.Contains(strings.Join(actions, " "), store.AuditCSVImport) || !strings.Contains(strings.Join(actions, " "), store.AuditCSVUpload) {
		t.Fatalf("audit: %v", actions)
	}
	if strings.Contains(s.logs.String(), "ana.h@example.org") || strings.Contains(s.logs.String(), "Ruiz") {
		t.Fatalf("personal data in the log:\n%s", s.logs.String())
	}
}

// waitImported polls the file's page until the import has ended.
func waitImported(t *testing.T, c *client, id string) {
	t.Helper()
	for range 500 {
		if rec := c.get("/imports/" + id); strings.Contains(rec.Body.String(), `data-testid="intake-result" data-status="imported"`) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the import did not end")
}

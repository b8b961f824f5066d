package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"caseverify/store"
)

// roleClients signs in one user of each role in agency A.
func roleClients(t *testing.T, s *server) map[store.Role]*client {
	t.Helper()
	mustUser(t, s.store, s.agencyA.ID, "supervisor@a.gov", store.RoleSupervisor)
	mustUser(t, s.store, s.agencyA.ID, "agent@a.gov", store.RoleAgent)
	out := map[store.Role]*client{}
	for role, email := range map[store.Role]string{store.RoleAdmin: "admin@a.gov", store.RoleSupervisor: "supervisor@a.gov",
		store.RoleCaseworker: "worker@a.gov", store.RoleAgent: "agent@a.gov"} {
		c := s.client(t)
		c.signIn(email)
		out[role] = c
	}
	return out
}

// Issue 12: every route has an access decision, and the server enforces it
// for every role. Walking e.Routes() means a new route without a decision
// fails here. Ids that do not exist keep the allowed requests harmless (a
// 404 or a form problem), while a refusal comes before the handler.
func TestRoles_EveryRouteDecidedAndEnforced(t *testing.T) {
	s := newServer(t, false)
	clients := roleClients(t, s)
	ids := strings.NewReplacer(":id", "999999", ":mid", "999999", ":oid", "999999", ":uid", "999999", ":rid", "999999")
	var checked int
	for _, r := range s.e.Routes() {
		if r.Method == echo.RouteNotFound {
			continue
		}
		a, ok := s.h.RouteAccess(r.Method, r.Path)
		if !ok {
			t.Errorf("%s %s has no access decision (handlers/routes.go)", r.Method, r.Path)
			continue
		}
		if a.Public || r.Path == "/logout" {
			continue // public: covered by the webhook, link and sign-in tests; sign-out: any signed-in user
		}
		path := ids.Replace(r.Path)
		for role, c := range clients {
			var code int
			switch r.Method {
			case http.MethodGet:
				code = c.get(path).Code
			case http.MethodPost:
				code = c.post(path, nil).Code
			default:
				t.Fatalf("%s %s: method not walked", r.Method, r.Path)
			}
			allowed := a.Perm == "" || role.Can(a.Perm)
			if allowed && code == http.StatusForbidden {
				t.Errorf("%s %s as %s: 403, want allowed (%s)", r.Method, path, role, a.Perm)
			}
			if !allowed && code != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d, want 403 (%s)", r.Method, path, role, code, a.Perm)
			}
		}
		checked++
	}
	if checked < 40 {
		t.Fatalf("only %d staff routes walked", checked)
	}

	// What the issue asks of each role, independently of the table.
	for _, tc := range []struct {
		role    store.Role
		method  string
		path    string
		allowed bool
	}{
		{store.RoleAgent, "GET", "/cases", false},         // no agency-wide list
		{store.RoleAgent, "POST", "/cases/search", false}, // or search
		{store.RoleAgent, "POST", "/cases/find", true},    // but find by exact number
		{store.RoleAgent, "POST", "/cases", true},
		{store.RoleAgent, "GET", "/cases/999999", true},
		{store.RoleAgent, "POST", "/cases/999999/members", true},
		{store.RoleAgent, "POST", "/cases/999999/members/999999/orders", true},
		{store.RoleAgent, "GET", "/cases/999999/events", true},
		{store.RoleAgent, "GET", "/contact", true},
		{store.RoleAgent, "POST", "/cases/999999/members/999999/reveal", false}, // no reveal
		{store.RoleAgent, "POST", "/cases/999999/members/999999/edit", false},   // the edit form reveals
		{store.RoleAgent, "GET", "/cases/999999/orders/999999/report", false},   // no reports
		{store.RoleAgent, "GET", "/cases/999999/orders/999999/report.pdf", false},
		{store.RoleAgent, "GET", "/renewals", false}, // no renewals
		{store.RoleAgent, "POST", "/renewals/run", false},
		{store.RoleAgent, "GET", "/audit", false},
		{store.RoleAgent, "GET", "/dashboard", false},
		{store.RoleCaseworker, "GET", "/cases", true},
		{store.RoleCaseworker, "GET", "/renewals", true},
		{store.RoleCaseworker, "GET", "/audit", false},
		{store.RoleCaseworker, "GET", "/dashboard", false}, // supervisors and admins only
		{store.RoleCaseworker, "GET", "/dashboard/export", false},
		{store.RoleCaseworker, "GET", "/admin/users", false},
		{store.RoleCaseworker, "GET", "/admin/settings", false},
		{store.RoleSupervisor, "GET", "/audit", true},
		{store.RoleSupervisor, "GET", "/dashboard", true},
		{store.RoleAdmin, "GET", "/dashboard", true},
		{store.RoleSupervisor, "GET", "/cases/999999/orders/999999/report", true},
		{store.RoleSupervisor, "GET", "/admin/users", false},
		{store.RoleAdmin, "GET", "/audit", true},
		{store.RoleAdmin, "GET", "/admin/users", true},
		{store.RoleAdmin, "POST", "/admin/settings", true},
	} {
		c := clients[tc.role]
		code := 0
		if tc.method == "GET" {
			code = c.get(tc.path).Code
		} else {
			code = c.post(tc.path, nil).Code
		}
		if (code == http.StatusForbidden) == tc.allowed {
			t.Errorf("%s %s as %s: %d, allowed should be %v", tc.method, tc.path, tc.role, code, tc.allowed)
		}
	}
}

// A refusal is a page in plain words, logged with the request id and the
// client address (no value from the request), and recorded in the audit log.
func TestRoles_RefusalPageLoggedAndAudited(t *testing.T) {
	s := newServer(t, false)
	clients := roleClients(t, s)
	s.logs.Reset()
	rec := clients[store.RoleAgent].get("/renewals")
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "Your role (Contact-center agent) does not include this") {
		t.Fatalf("refusal page: %d %s", rec.Code, rec.Body.String())
	}
	line := s.logs.String()
	for _, want := range []string{"msg=refused", "kind=role", "route=/renewals", "client=192.0.2.10", "permission=renew", "request_id="} {
		if !strings.Contains(line, want) {
			t.Errorf("refusal log lacks %q: %s", want, line)
		}
	}
	if strings.Contains(line, "request_id= ") || strings.Contains(line, `request_id=""`) {
		t.Errorf("refusal log has no request id: %s", line)
	}
	es, _ := s.store.AuditLog(context.Background(), s.agencyA.ID, 5)
	if len(es) == 0 || es[0].Action != store.AuditRefused || es[0].Route != "/renewals" || es[0].IP != "192.0.2.10" {
		t.Fatalf("refusal not audited: %+v", es)
	}
}

// Navigation shows only what the role may use.
func TestRoles_NavigationFollowsTheRole(t *testing.T) {
	s := newServer(t, false)
	clients := roleClients(t, s)
	nav := map[string]store.Permission{`href="/cases"><span>Cases`: store.PermCaseList, `href="/contact"`: store.PermSend,
		`href="/renewals"`: store.PermRenew, `href="/audit"`: store.PermAuditLog, `href="/admin/users"`: store.PermUsers,
		`href="/admin/settings"`: store.PermSettings, `href="/imports"`: store.PermBulk}
	for role, c := range clients {
		rec := c.get("/contact") // every role may open the contact-center screen
		if rec.Code != http.StatusOK {
			t.Fatalf("%s /contact: %d", role, rec.Code)
		}
		for link, p := range nav {
			if got := strings.Contains(rec.Body.String(), link); got != role.Can(p) {
				t.Errorf("%s: nav shows %s = %v", role, link, got)
			}
		}
	}
	// Where each role lands.
	if loc := clients[store.RoleAgent].get("/").Header().Get("Location"); loc != "/contact" {
		t.Errorf("agent's home: %q", loc)
	}
	if loc := clients[store.RoleCaseworker].get("/").Header().Get("Location"); loc != "/cases" {
		t.Errorf("caseworker's home: %q", loc)
	}
}

// An agent finds a case by its exact number, reads it masked, and is offered
// neither reveal, edit, notes nor reports.
func TestRoles_AgentFindsACaseAndSeesItMasked(t *testing.T) {
	s := newServer(t, false)
	clients := roleClients(t, s)
	ctx := context.Background()
	cs, _ := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "FIND-77", Program: "snap"})
	if _, err := s.store.AddMember(ctx, s.agencyA.ID, cs.ID, store.MemberInput{FirstName: "Maya", LastName: "M",
		Relationship: "self", Email: "maya.private@example.org"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.AddNote(ctx, s.agencyA.ID, cs.ID, s.workerA.ID, "secret note text"); err != nil {
		t.Fatal(err)
	}
	a := clients[store.RoleAgent]
	a.get("/contact")
	if rec := a.post("/cases/find", url.Values{"find_number": {"FIND-7"}}); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "No case has the number FIND-7") {
		t.Fatalf("a prefix found a case: %d", rec.Code)
	}
	rec := a.post("/cases/find", url.Values{"find_number": {"FIND-77"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/cases/"+itoa(cs.ID) {
		t.Fatalf("find: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	page := a.get("/cases/" + itoa(cs.ID)).Body.String()
	for _, never := range []string{"maya.private@example.org", `data-testid="reveal"`, `data-testid="edit-member"`,
		`data-testid="note-form"`, "secret note text", `data-testid="edit-case"`, `data-testid="case-viewers"`, `href="/cases">Back`} {
		if strings.Contains(page, never) {
			t.Errorf("agent's case page shows %q", never)
		}
	}
	for _, want := range []string{"Maya M", `data-testid="send-verification"`, `data-testid="add-member"`} {
		if !strings.Contains(page, want) {
			t.Errorf("agent's case page lacks %q", want)
		}
	}
}

// Reassigning a case is a supervisor's: a caseworker's edit form does not
// offer the worker, a forged change is refused, and a supervisor's change
// is audited.
func TestRoles_OnlyASupervisorReassigns(t *testing.T) {
	s := newServer(t, false)
	clients := roleClients(t, s)
	ctx := context.Background()
	other := mustUser(t, s.store, s.agencyA.ID, "other@a.gov", store.RoleCaseworker)
	cs, _ := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "R-1", Program: "snap", AssignedUserID: s.workerA.ID})
	form := func(worker int64) url.Values {
		return url.Values{"case_number": {"R-1"}, "program": {"snap"}, "assigned_user_id": {itoa(worker)}}
	}
	w := clients[store.RoleCaseworker]
	edit := w.get("/cases/" + itoa(cs.ID) + "/edit").Body.String()
	if strings.Contains(edit, `<select class="usa-select" id="assigned_user_id"`) || !strings.Contains(edit, `data-testid="assigned-worker"`) {
		t.Error("the caseworker's edit form offers the worker")
	}
	if rec := w.post("/cases/"+itoa(cs.ID), form(s.workerA.ID)); rec.Code != http.StatusSeeOther {
		t.Fatalf("caseworker's own save: %d", rec.Code)
	}
	if rec := w.post("/cases/"+itoa(cs.ID), form(other.ID)); rec.Code != http.StatusForbidden {
		t.Fatalf("caseworker reassigned: %d", rec.Code)
	}
	if got, _ := s.store.Case(ctx, s.agencyA.ID, cs.ID); got.AssignedUserID != s.workerA.ID {
		t.Fatal("the refused reassignment changed the case")
	}
	sup := clients[store.RoleSupervisor]
	if !strings.Contains(sup.get("/cases/"+itoa(cs.ID)+"/edit").Body.String(), `id="assigned_user_id"`) {
		t.Error("the supervisor's edit form lacks the worker")
	}
	if rec := sup.post("/cases/"+itoa(cs.ID), form(other.ID)); rec.Code != http.StatusSeeOther {
		t.Fatalf("supervisor reassign: %d", rec.Code)
	}
	if got, _ := s.store.Case(ctx, s.agencyA.ID, cs.ID); got.AssignedUserID != other.ID {
		t.Fatal("not reassigned")
	}
	es, _ := s.store.AuditLog(ctx, s.agencyA.ID, 5)
	if len(es) == 0 || es[0].Action != store.AuditCaseReassign || es[0].CaseID != cs.ID {
		t.Fatalf("reassignment not audited: %+v", es[0])
	}
}

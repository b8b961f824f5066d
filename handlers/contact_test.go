package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers/accountchek"
	"caseverify/providers/truework"
	"caseverify/providers/truv"
	"caseverify/store"
)

// contactEnv is the portal on a real HTTP server with the Truv emulator
// behind two providers: "truv" with the right credentials, and "refusing",
// the same emulator with a wrong secret, so every order is refused (401) by
// the emulator itself. Truework is configured too, to check that the
// contact form does not offer it.
type contactEnv struct {
	s      *server
	c      *client
	agency *store.Agency
	user   *store.User
}

func newContactEnv(t *testing.T) *contactEnv {
	t.Helper()
	hp := newHTTPPortal(t)
	st, e, srv := hp.st, hp.e, hp.srv
	em := truv.NewEmulator(truv.EmulatorConfig{PublicURL: srv.URL + "/sandbox/truv"})
	t.Cleanup(em.Close)
	good, err := truv.New(truv.Config{BaseURL: srv.URL + "/sandbox/truv", ClientID: truv.SandboxClientID, AccessSecret: truv.SandboxAccessSecret})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := truv.New(truv.Config{BaseURL: srv.URL + "/sandbox/truv", ClientID: truv.SandboxClientID, AccessSecret: "not-the-secret"})
	if err != nil {
		t.Fatal(err)
	}
	tw, err := truework.New(truework.Config{BaseURL: srv.URL + "/sandbox/truework", APIKey: "tw_sk_test_contact", WebhookTokens: []string{"tok"}})
	if err != nil {
		t.Fatal(err)
	}
	ac, err := accountchek.New(accountchek.Config{BaseURL: srv.URL + "/sandbox/accountchek", Username: "u", Password: "contact-test-password"})
	if err != nil {
		t.Fatal(err)
	}
	svc := verify.New(st, hp.log, verify.Config{Messages: handlers.LinkMessages{}, BaseURL: srv.URL, Providers: []*verify.Provider{
		{Name: "truework", Label: "Truework", Verifier: tw, Webhooks: tw},
		{Name: "accountchek", Label: "AccountChek", Verifier: ac, Webhooks: ac},
		{Name: "truv", Label: "Truv", Verifier: good, Webhooks: good},
		{Name: "refusing", Label: "Refusing", Verifier: bad, Webhooks: bad},
	}})
	hp.register(svc, handlers.Config{Sandboxes: map[string]http.Handler{"truv": em}})
	env := &contactEnv{s: &server{e: e, store: st}}
	env.agency = mustAgency(t, st, "Contact Agency")
	env.user = mustUser(t, st, env.agency.ID, "agent@c.gov", store.RoleCaseworker)
	env.c = env.s.client(t)
	env.c.signIn("agent@c.gov")
	env.c.get("/contact")
	return env
}

// counts is the number of cases and members in the agency.
func (env *contactEnv) counts(t *testing.T) (cases, members int) {
	t.Helper()
	cs, total, err := env.s.store.Cases(context.Background(), env.agency.ID, store.CaseFilter{PerPage: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		members += c.MemberCount
	}
	return total, members
}

func (env *contactEnv) send(t *testing.T, provider, caseNumber string, edit func(url.Values)) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"first_name": {"Dana"}, "last_name": {"Reyes"}, "phone": {"(555) 201-0555"}, "language": {"en"},
		"case_number": {caseNumber}, "provider": {provider}, "products": {"income"}}
	if edit != nil {
		edit(form)
	}
	return env.c.post("/contact", form)
}

func (env *contactEnv) members(t *testing.T, number string) []*store.Member {
	t.Helper()
	ctx := context.Background()
	cs, err := env.s.store.CaseByNumber(ctx, env.agency.ID, number)
	if err != nil {
		t.Fatalf("case %s: %v", number, err)
	}
	ms, err := env.s.store.Members(ctx, env.agency.ID, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// A provider refusal shows on the form and leaves no case and no member
// behind, however often the agent retries; the retry that works adds the
// caller once.
func TestContact_RefusalLeavesNothingAndRetryDoesNotDuplicate(t *testing.T) {
	env := newContactEnv(t)
	ctx := context.Background()
	existing, err := env.s.store.CreateCase(ctx, env.agency.ID, env.user.ID, store.CaseInput{Number: "C-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.s.store.AddMember(ctx, env.agency.ID, existing.ID, store.MemberInput{FirstName: "Ana", LastName: "Ruiz",
		Relationship: "self", Phone: "555-201-0999"}); err != nil {
		t.Fatal(err)
	}
	cases0, members0 := env.counts(t)

	for _, number := range []string{"", "", "NEW-9", "NEW-9", "C-1", "C-1"} {
		rec := env.send(t, "refusing", number, nil)
		if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "The link was not sent") {
			t.Fatalf("refused send (case %q): %d %s", number, rec.Code, rec.Body.String())
		}
		if cases, members := env.counts(t); cases != cases0 || members != members0 {
			t.Fatalf("after a refusal (case %q): %d cases, %d members; want %d, %d", number, cases, members, cases0, members0)
		}
	}
	if _, err := env.s.store.CaseByNumber(ctx, env.agency.ID, "NEW-9"); err == nil {
		t.Fatal("the refused send left case NEW-9")
	}

	// The agent picks another provider: one case, one member, one order.
	if rec := env.send(t, "truv", "NEW-9", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("send: %d %s", rec.Code, rec.Body.String())
	}
	if cases, members := env.counts(t); cases != cases0+1 || members != members0+1 {
		t.Fatalf("after the send: %d cases, %d members", cases, members)
	}
	// A second call about the same person on the same case reuses the
	// member (a new order, not a new person).
	if rec := env.send(t, "truv", "new-9", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("second send: %d %s", rec.Code, rec.Body.String())
	}
	ms := env.members(t, "NEW-9")
	if len(ms) != 1 {
		t.Fatalf("members of NEW-9: %d", len(ms))
	}
	cs, _ := env.s.store.CaseByNumber(ctx, env.agency.ID, "NEW-9")
	if orders, err := env.s.store.CaseOrders(ctx, env.agency.ID, cs.ID); err != nil || len(orders) != 2 {
		t.Fatalf("orders of NEW-9: %d %v", len(orders), err)
	}
	// On an existing case the caller is added after the case's members.
	if rec := env.send(t, "truv", "C-1", nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("send on C-1: %d %s", rec.Code, rec.Body.String())
	}
	if ms := env.members(t, "C-1"); len(ms) != 2 || ms[0].FirstName != "Ana" || ms[1].FirstName != "Dana" {
		t.Fatalf("members of C-1: %+v", ms)
	}
}

// Input the form can check creates nothing, and every problem is listed in
// the error summary (also one whose field is not in the summary's order).
func TestContact_InvalidInputCreatesNothing(t *testing.T) {
	env := newContactEnv(t)
	tests := []struct {
		name, provider, want string
		edit                 func(url.Values)
	}{
		{"language", "truv", "Choose a language.", func(f url.Values) { f.Set("language", "xx") }},
		{"product the provider lacks", "truv", "Truv cannot verify identity.", func(f url.Values) { f["products"] = []string{"identity"} }},
		{"truework posted by hand", "truework", "Choose a provider.", nil},
		// Issue 14: AccountChek needs the email and the last 4 of the SSN,
		// which this form does not ask for.
		{"accountchek posted by hand", "accountchek", "Choose a provider.", nil},
		{"phone", "truv", "phone number like", func(f url.Values) { f.Set("phone", "call me") }},
		{"case number", "truv", "Use up to 40 letters", func(f url.Values) { f.Set("case_number", "#bad") }},
	}
	for _, tt := range tests {
		rec := env.send(t, tt.provider, "", tt.edit)
		body := rec.Body.String()
		if rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d", tt.name, rec.Code)
		}
		i := strings.Index(body, `data-testid="error-summary"`)
		if i < 0 {
			t.Fatalf("%s: no error summary", tt.name)
		}
		summary := body[i:]
		summary = summary[:strings.Index(summary, "</ul>")]
		if !strings.Contains(summary, tt.want) {
			t.Fatalf("%s: the summary does not list %q: %s", tt.name, tt.want, summary)
		}
		if cases, members := env.counts(t); cases != 0 || members != 0 {
			t.Fatalf("%s: %d cases, %d members created", tt.name, cases, members)
		}
	}
}

// The form offers only providers that work from a name and a mobile number:
// Truework (full SSN, widget) is left out, also when it is the agency's
// default.
func TestContact_OffersOnlyProvidersThatFit(t *testing.T) {
	env := newContactEnv(t)
	ctx := context.Background()
	s, err := env.s.store.Settings(ctx, env.agency.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.DefaultProvider = "truework"
	if err := env.s.store.UpdateSettings(ctx, env.agency.ID, s); err != nil {
		t.Fatal(err)
	}
	body := env.c.get("/contact").Body.String()
	i := strings.Index(body, `id="provider"`)
	if i < 0 {
		t.Fatal("no provider field")
	}
	sel := body[i : i+strings.Index(body[i:], "</select>")]
	if strings.Contains(sel, `value="truework"`) || strings.Contains(sel, `value="accountchek"`) || !strings.Contains(sel, `value="truv"`) {
		t.Fatalf("provider choices: %s", sel)
	}
	if !strings.Contains(sel, `value="truv" selected`) {
		t.Fatalf("the first provider that fits is not chosen: %s", sel)
	}
}

// A case number is found exactly, even when more cases share its prefix
// than the search's first page holds (it used to fail as a duplicate).
func TestContact_FindsTheExactCaseAmongManyWithItsPrefix(t *testing.T) {
	env := newContactEnv(t)
	ctx := context.Background()
	target, err := env.s.store.CreateCase(ctx, env.agency.ID, env.user.ID, store.CaseInput{Number: "2026-5", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		time.Sleep(2 * time.Millisecond) // later updated_at, so the prefix search lists them first
		if _, err := env.s.store.CreateCase(ctx, env.agency.ID, env.user.ID, store.CaseInput{Number: fmt.Sprintf("2026-5%d", i), Program: "snap"}); err != nil {
			t.Fatal(err)
		}
	}
	rec := env.send(t, "truv", "2026-5", nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("send: %d %s", rec.Code, rec.Body.String())
	}
	ms, err := env.s.store.Members(ctx, env.agency.ID, target.ID)
	if err != nil || len(ms) != 1 || ms[0].FirstName != "Dana" {
		t.Fatalf("members of the case: %+v %v", ms, err)
	}
	if cases, _ := env.counts(t); cases != 8 {
		t.Fatalf("%d cases, want 8", cases)
	}
}

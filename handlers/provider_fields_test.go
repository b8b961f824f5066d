package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/accountchek"
	"caseverify/store"
)

// AccountChek's 422 names the fields it refused. Those that are the
// member's details (not on the send form) are listed field by field on the
// form, with the way to correct them; nothing is created.
func TestSendForm_ProviderFieldProblemsListed(t *testing.T) {
	ctx := context.Background()
	hp := newHTTPPortal(t)
	st, srv := hp.st, hp.srv
	em := accountchek.NewEmulator(accountchek.EmulatorConfig{PublicURL: srv.URL + "/sandbox/accountchek",
		WebhookURL: srv.URL + "/webhooks/accountchek", HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	t.Cleanup(em.Close)
	ac, err := accountchek.New(accountchek.Config{BaseURL: srv.URL + "/sandbox/accountchek",
		Username: accountchek.SandboxUsername, Password: accountchek.SandboxPassword})
	if err != nil {
		t.Fatal(err)
	}
	svc := verify.New(st, hp.log, verify.Config{Messages: handlers.LinkMessages{}, BaseURL: srv.URL,
		Providers: []*verify.Provider{{Name: "accountchek", Label: "AccountChek", Verifier: askEvenWithout{ac}, Webhooks: ac}}})
	hp.register(svc, handlers.Config{Sandboxes: map[string]http.Handler{"accountchek": em}})
	a := mustAgency(t, st, "Fields Agency")
	u, _ := st.CreateUser(ctx, a.ID, store.NewUser{Email: "w@f.gov", Name: "W", Role: store.RoleCaseworker, Password: testPassword})
	cs, _ := st.CreateCase(ctx, a.ID, u.ID, store.CaseInput{Number: "F-1", Program: "snap"})
	// No SSN last 4: AccountChek requires last4SSN.
	m, err := st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Ada", LastName: "Q", Relationship: "self",
		Email: "ada@example.org", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}

	c := &liveClient{t: t, base: srv.URL}
	c.signIn(nil, "w@f.gov")
	formURL := srv.URL + "/cases/" + strconv.FormatInt(cs.ID, 10) + "/members/" + strconv.FormatInt(m.ID, 10)
	form := url.Values{"provider": {"accountchek"}, "products": {"assets"}, "channel": {verify.ChannelCopy}}
	resp, body := postSendForm(t, c, formURL, form)
	// A refusal is the provider's answer to the request, not its failure:
	// 422 like any form problem (502 is for a provider that fails).
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("send: %d, want 422", resp.StatusCode)
	}
	// Nothing on the send form is marked, so the page does not say so; the
	// provider's name for the field is not shown.
	for _, never := range []string{"check the fields marked", "last4SSN"} {
		if strings.Contains(body, never) {
			t.Errorf("the page says %q", never)
		}
	}
	i := strings.Index(body, `data-testid="provider-fields"`)
	if i < 0 {
		t.Fatalf("no list of the provider's field problems:\n%s", body)
	}
	list := body[i:]
	// Issue 14: in the portal's words, not AccountChek's property name.
	for _, want := range []string{"SSN (last 4)", "last 4 digits of the SSN", `data-testid="edit-member-link"`, formURL[len(srv.URL):] + "/edit"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	if strings.Contains(list, "last4SSN") {
		t.Error("AccountChek's property name reached the caseworker")
	}
	if orders, err := st.CaseOrders(ctx, a.ID, cs.ID); err != nil || len(orders) != 0 {
		t.Errorf("a refused send left %d orders (%v)", len(orders), err)
	}
}

// postSendForm opens the member's send form (for its CSRF token) and posts
// form to it, as the signed-in client.
func postSendForm(t *testing.T, c *liveClient, formURL string, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set("_csrf", c.formToken(formURL+"/verify"))
	req, _ := http.NewRequest(http.MethodPost, formURL+"/orders", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", c.cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(resp)
}

// askEvenWithout is AccountChek without its declared Needs, so the portal
// sends a member without the last 4 to AccountChek and shows its refusal
// (the path under test) instead of stopping the send itself.
type askEvenWithout struct{ *accountchek.Client }

func (a askEvenWithout) Capabilities() providers.Capabilities {
	c := a.Client.Capabilities()
	c.Needs = nil
	return c
}

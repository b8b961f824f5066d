package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"caseverify/handlers/verify"
	"caseverify/store"
)

// Issue 13 item 7: a form post sent twice (a double click, a browser
// resending after a timeout) acts once. The second post of the same form
// token is sent where the first led; the old code created a second case and
// sent a second verification (a second billed order).
func TestFormToken_DoublePostActsOnce(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	c := &liveClient{t: t, base: l.srv.URL}
	c.signIn(l, "w@l.gov")
	m, err := l.st.AddMember(ctx, l.user.AgencyID, l.order.CaseID, store.MemberInput{FirstName: "Ana", LastName: "M",
		Relationship: "spouse", Email: "ana@example.org", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	caseURL := l.srv.URL + "/cases/" + strconv.FormatInt(l.order.CaseID, 10)
	tokens := func(page string) (csrf, form string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, page, nil)
		req.Header.Set("Cookie", c.cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(resp)
		cm, fm := csrfRE.FindStringSubmatch(body), formTokenRE.FindStringSubmatch(body)
		if cm == nil || fm == nil {
			t.Fatalf("no CSRF or form token on %s", page)
		}
		return cm[1], fm[1]
	}
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, l.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", c.cookie)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	twice := func(what, path string, form url.Values) string {
		t.Helper()
		code1, loc1 := post(path, form)
		code2, loc2 := post(path, form)
		if code1 != http.StatusSeeOther || code2 != http.StatusSeeOther || loc1 == "" || loc2 != loc1 {
			t.Fatalf("%s twice: %d %q, then %d %q; want both 303 to the same place", what, code1, loc1, code2, loc2)
		}
		return loc1
	}

	// Send a verification twice with one form token: one order.
	memberURL := caseURL + "/members/" + strconv.FormatInt(m.ID, 10)
	csrf, form := tokens(memberURL + "/verify")
	twice("send", strings.TrimPrefix(memberURL, l.srv.URL)+"/orders", url.Values{"_csrf": {csrf}, "_form": {form},
		"provider": {"truv"}, "products": {"income"}, "channel": {verify.ChannelCopy}})
	orders, err := l.st.CaseOrders(ctx, l.user.AgencyID, l.order.CaseID)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, o := range orders {
		if o.MemberID == m.ID {
			sent++
		}
	}
	if sent != 1 {
		t.Fatalf("one send form posted twice made %d orders, want 1", sent)
	}

	// Create a case twice with one form token: one case.
	csrf, form = tokens(l.srv.URL + "/cases/new")
	newCase := url.Values{"_csrf": {csrf}, "_form": {form}, "case_number": {"L-2"}, "program": {"snap"}}
	twice("create case", "/cases", newCase)
	if _, n, err := l.st.Cases(ctx, l.user.AgencyID, store.CaseFilter{Query: "L-2"}); err != nil || n != 1 {
		t.Fatalf("one case form posted twice made %d cases (%v), want 1", n, err)
	}

	// Start a bulk send twice with one form token: one run (before, a
	// double click started two runs for the same members).
	csrf, form = tokens(l.srv.URL + "/bulk-send?case=" + strconv.FormatInt(l.order.CaseID, 10))
	runURL := twice("bulk send", "/bulk-send", url.Values{"_csrf": {csrf}, "_form": {form},
		"members": {strconv.FormatInt(m.ID, 10)}, "provider": {"truv"}, "products": {"income"}, "channel": {"email"}})
	if !strings.HasPrefix(runURL, "/bulk-send/runs/") {
		t.Fatalf("bulk send led to %q, want its run page", runURL)
	}

	// A new form (a new token) acts again: here the store refuses the
	// same case number, and the refusal releases the token, so the
	// corrected form with that token then goes through.
	csrf, form = tokens(l.srv.URL + "/cases/new")
	newCase = url.Values{"_csrf": {csrf}, "_form": {form}, "case_number": {"L-2"}, "program": {"snap"}}
	if code, _ := post("/cases", newCase); code != http.StatusUnprocessableEntity {
		t.Fatalf("the same case number again: %d, want 422", code)
	}
	newCase.Set("case_number", "L-3")
	if code, _ := post("/cases", newCase); code != http.StatusSeeOther {
		t.Fatalf("the corrected form with the same token: %d, want 303", code)
	}
}

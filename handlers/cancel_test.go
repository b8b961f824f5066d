package handlers_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"caseverify/store"
)

// postForm posts a form with the CSRF token of the page at tokenFrom.
func postForm(t *testing.T, c *http.Client, tokenFrom, to string, form url.Values) (*http.Response, string) {
	t.Helper()
	m := csrfRE.FindStringSubmatch(string(getOK(t, c, tokenFrom)))
	if m == nil {
		t.Fatalf("no CSRF token on %s", tokenFrom)
	}
	form.Set("_csrf", html.UnescapeString(m[1]))
	resp, err := c.PostForm(to, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(resp)
}

// Cancel asks first (it may cancel at the provider) and changes nothing
// until confirmed; once canceled, the order page offers a new verification
// like it, with the provider and products chosen.
func TestOrderCancel_ConfirmsThenOffersNewVerification(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	c := staffClient(t, l, "w@l.gov")
	page := fmt.Sprintf("%s/cases/%d/orders/%d", l.srv.URL, l.order.CaseID, l.order.ID)

	body := string(getOK(t, c, page))
	if !strings.Contains(body, `data-testid="cancel-order"`) || !strings.Contains(body, "Truv is asked to cancel it too") {
		t.Fatal("the order page has no cancel confirmation")
	}
	if strings.Contains(body, `data-testid="cancel-details" open`) {
		t.Fatal("the confirmation is open before anyone asked to cancel")
	}

	// One click (a POST without confirming) cancels nothing: it asks.
	resp, body := postForm(t, c, page, page+"/cancel", url.Values{})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-testid="cancel-details" open`) {
		t.Fatalf("unconfirmed cancel: %d, confirmation open %v", resp.StatusCode, strings.Contains(body, `data-testid="cancel-details" open`))
	}
	if o, _ := l.st.Order(ctx, l.user.AgencyID, l.order.ID); o.Status == store.StatusCanceled {
		t.Fatal("an unconfirmed cancel canceled the order")
	}

	resp, _ = postForm(t, c, page, page+"/cancel", url.Values{"confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed cancel: %d", resp.StatusCode)
	}
	if o, _ := l.st.Order(ctx, l.user.AgencyID, l.order.ID); o.Status != store.StatusCanceled {
		t.Fatalf("order %s after a confirmed cancel", o.Status)
	}
	body = string(getOK(t, c, page))
	want := fmt.Sprintf(`href="/cases/%d/members/%d/verify?products=income&amp;provider=truv" data-testid="new-verification-link"`, l.order.CaseID, l.order.MemberID)
	if !strings.Contains(body, want) {
		t.Fatalf("the canceled order does not offer a new verification (%s)", want)
	}
	if strings.Contains(body, `data-testid="cancel-order"`) {
		t.Error("a canceled order still offers to cancel")
	}
}

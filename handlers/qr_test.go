package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"

	"caseverify/handlers/verify"
	"caseverify/store"
)

// staffClient signs in to the live portal and returns a client that keeps
// the session and does not follow redirects.
func staffClient(t *testing.T, l *live, email string) *http.Client {
	t.Helper()
	c := &http.Client{Jar: &simpleJar{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(l.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	m := csrfRE.FindStringSubmatch(readBody(resp))
	if m == nil {
		t.Fatal("no CSRF token on the sign-in page")
	}
	resp, err = c.PostForm(l.srv.URL+"/login", map[string][]string{"email": {email}, "password": {testPassword}, "_csrf": {m[1]}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %v %v", resp, err)
	}
	return c
}

func getOK(t *testing.T, c *http.Client, url string) []byte {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return body
}

// The desk QR page is the applicant's: in the member's language (Rosa reads
// Spanish), without the staff navigation, with one way back for staff. Its
// QR code encodes a tracked /l/ link of a QR delivery, so the scan is
// recorded as an open of the QR channel; the page and the handout write out
// that same short link.
func TestQR_PageImageHandoutAndOpen(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	c := staffClient(t, l, "w@l.gov")
	base := fmt.Sprintf("%s/cases/%d/orders/%d", l.srv.URL, l.order.CaseID, l.order.ID)

	// Issue 12: a GET changes nothing. Without a QR delivery the QR page and
	// the handout send staff back to the order page and record nothing.
	for _, path := range []string{"/qr", "/handout"} {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != base[len(l.srv.URL):] {
			t.Fatalf("GET %s without a QR delivery: %d %q", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID); len(ds) != 1 {
		t.Fatalf("a GET recorded a delivery: %d", len(ds))
	}
	// The order page's "Show QR code" button POSTs, which records the QR
	// delivery and opens the QR page.
	m := csrfRE.FindSubmatch(getOK(t, c, base))
	if m == nil {
		t.Fatal("no CSRF token on the order page")
	}
	resp, err := c.PostForm(base+"/qr", map[string][]string{"_csrf": {string(m[1])}, "then": {"qr"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != base[len(l.srv.URL):]+"/qr" {
		t.Fatalf("POST qr: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}

	page := string(getOK(t, c, base+"/qr"))
	for _, want := range []string{`<html lang="es"`, "Rosa, escanee este código con su teléfono", "Live Agency",
		"El enlace funciona hasta el", "O escriba esta dirección:", `data-testid="qr-back"`, "Staff: back to the verification",
		`alt="Código QR que abre su enlace de verificación"`} {
		if !strings.Contains(page, want) {
			t.Errorf("QR page lacks %q", want)
		}
	}
	for _, staffOnly := range []string{"Sign out", `data-testid="sign-out"`, "scan this code"} {
		if strings.Contains(page, staffOnly) {
			t.Errorf("QR page shows %q", staffOnly)
		}
	}

	// Sent by text first; showing the QR code recorded one QR delivery with
	// a tracked code.
	ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID)
	if len(ds) != 2 || ds[1].Channel != verify.ChannelQR || ds[1].LinkCode == "" {
		t.Fatalf("deliveries after the QR page: %+v", ds)
	}
	tracked := l.srv.URL + "/l/" + ds[1].LinkCode
	if !strings.Contains(page, tracked) || strings.Contains(page, html.EscapeString(l.order.Link)) {
		t.Error("the QR page does not write out the tracked link (or still shows the provider's)")
	}
	png := getOK(t, c, base+"/qr.png")
	want, _ := qrcode.Encode(tracked, qrcode.Medium, 512)
	if !bytes.Equal(png, want) {
		t.Fatal("the QR image does not encode the tracked QR link")
	}

	// The handout (same QR image) reuses that delivery and writes out the
	// same tracked link.
	handout := string(getOK(t, c, base+"/handout"))
	if !strings.Contains(handout, `<html lang="es"`) || !strings.Contains(handout, tracked) || !strings.Contains(handout, base[len(l.srv.URL):]+"/qr.png") {
		t.Fatalf("handout: %s", handout)
	}
	if ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID); len(ds) != 2 {
		t.Fatalf("the handout recorded another delivery: %d", len(ds))
	}

	// Pressing the button again reuses the delivery.
	resp, err = c.PostForm(base+"/qr", map[string][]string{"_csrf": {string(m[1])}, "then": {"handout"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID); resp.StatusCode != http.StatusSeeOther || len(ds) != 2 {
		t.Fatalf("POST qr again: %d, %d deliveries", resp.StatusCode, len(ds))
	}

	// The applicant scans it: the open is recorded for the QR channel.
	resp, err = noRedirect.Get(tracked)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != l.order.Link {
		t.Fatalf("scan: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	ds, _ = l.st.Deliveries(ctx, l.user.AgencyID, l.order.ID)
	if ds[1].OpenedAt.IsZero() || !ds[0].OpenedAt.IsZero() {
		t.Fatalf("opens: sms %v, qr %v", ds[0].OpenedAt, ds[1].OpenedAt)
	}
	events, _ := l.st.Events(ctx, l.user.AgencyID, l.order.ID)
	if last := events[len(events)-1]; !strings.Contains(last.Detail, "opened the link from the QR code") {
		t.Fatalf("timeline: %q", last.Detail)
	}
}

// Channel stats: a first QR sending is tracked and its scan counts as
// opened; so is a link shown to staff (copy): the order page shows the
// portal's short tracked link, written out in groups to read on a call, and
// the applicant typing it (any case, with the dashes) counts as an open.
func TestChannelStats_QRAndShownLinkTracked(t *testing.T) {
	l := newLive(t)
	ctx := context.Background()
	send := func(channel string) *store.Order {
		o, err := l.svc.Send(ctx, verify.SendRequest{User: l.user, CaseID: l.order.CaseID, MemberID: l.order.MemberID, Provider: "truv",
			Products: []string{"income"}, Channel: channel})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	qr, shown := send(verify.ChannelQR), send(verify.ChannelCopy)
	ds, _ := l.st.Deliveries(ctx, l.user.AgencyID, qr.ID)
	if resp, err := noRedirect.Get(l.srv.URL + "/l/" + ds[0].LinkCode); err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("scan: %v %v", resp, err)
	}

	// The order page shows the tracked link, not the provider's.
	ds, _ = l.st.Deliveries(ctx, l.user.AgencyID, shown.ID)
	if len(ds) != 1 || ds[0].LinkCode == "" {
		t.Fatalf("the shown link has no tracked code: %+v", ds)
	}
	code := ds[0].LinkCode
	page := string(getOK(t, staffClient(t, l, "w@l.gov"), fmt.Sprintf("%s/cases/%d/orders/%d", l.srv.URL, shown.CaseID, shown.ID)))
	tracked := l.srv.URL + "/l/" + code
	if !strings.Contains(page, `value="`+tracked+`"`) || strings.Contains(page, html.EscapeString(shown.Link)) {
		t.Fatalf("the order page does not show the tracked link (or still shows the provider's %d characters)", len(shown.Link))
	}
	host := strings.TrimPrefix(l.srv.URL, "http://")
	aloud := host + "/l/" + code[:4] + "-" + code[4:8] + "-" + code[8:]
	if !strings.Contains(page, `data-testid="read-aloud">`+aloud+`<`) {
		t.Fatalf("no %q to read out", aloud)
	}
	if len(tracked) >= len(shown.Link) {
		t.Errorf("the tracked link (%d) is not shorter than the provider's (%d)", len(tracked), len(shown.Link))
	}
	// Typed from the call: lower case, with the dashes.
	resp, err := noRedirect.Get(l.srv.URL + "/l/" + strings.ToLower(code[:4]+"-"+code[4:8]+"-"+code[8:]))
	if err != nil || resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != shown.Link {
		t.Fatalf("typed link: %v %v", resp, err)
	}

	stats, _ := l.st.ChannelStats(ctx, l.user.AgencyID)
	got := map[string]store.ChannelStat{}
	for _, s := range stats {
		got[s.Channel] = s
	}
	if s := got["qr"]; s.Sent != 1 || s.Tracked != 1 || s.Opened != 1 {
		t.Errorf("qr: %+v", s)
	}
	if s := got["copy"]; s.Sent != 1 || s.Tracked != 1 || s.Opened != 1 {
		t.Errorf("copy: %+v", s)
	}
	if s := got["sms"]; s.Sent != 1 || s.Tracked != 1 {
		t.Errorf("sms: %+v", s)
	}
}

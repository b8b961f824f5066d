package accountchek

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"caseverify/providers"
)

const (
	testOrderID  = "b943cae2-a8f5-e911-b5e9-0003ff4f1b49"
	testReportID = "5d3c2b1a-0f9e-4d8c-b7a6-958473625140"
)

// postbackCases is the W12/F3 table; it is also the fuzz seed corpus.
var postbackCases = []struct {
	name    string
	body    string
	ok      bool
	status  string // expected OrderStatus when ok
	known   bool
	report  string // expected ReportID
	voeRep  string // expected VOEReportID
	orderID string // expected OrderID when ok (default testOrderID)
}{
	{name: "voa 507 with reportId", body: "orderId=" + testOrderID + "&orderStatus=507&reportId=" + testReportID, ok: true, status: "507", known: true, report: testReportID},
	{name: "voie 607 with voeReportId", body: "orderId=" + testOrderID + "&orderStatus=607&voeReportId=" + testReportID, ok: true, status: "607", known: true, voeRep: testReportID},
	{name: "four digit code 5061", body: "orderId=" + testOrderID + "&orderStatus=5061", ok: true, status: "5061", known: true},
	{name: "VOD_ID ignored", body: "orderId=" + testOrderID + "&VOD_ID=whatever&orderStatus=501", ok: true, status: "501", known: true},
	{name: "unknown field ignored", body: "orderId=" + testOrderID + "&orderStatus=501&extra=1&extra=2", ok: true, status: "501", known: true},
	{name: "unknown but numeric", body: "orderId=" + testOrderID + "&orderStatus=5099", ok: true, status: "5099", known: false},
	{name: "uppercase guid lowercased", body: "orderId=" + strings.ToUpper(testOrderID) + "&orderStatus=501", ok: true, status: "501", known: true},
	{name: "case-variant key accepted", body: "OrderId=" + testOrderID + "&OrderStatus=503", ok: true, status: "503", known: true},
	{name: "empty body", body: ""},
	{name: "missing orderId", body: "orderStatus=507&reportId=" + testReportID},
	{name: "empty orderId", body: "orderId=&orderStatus=507"},
	{name: "missing orderStatus", body: "orderId=" + testOrderID},
	{name: "repeated orderStatus", body: "orderId=" + testOrderID + "&orderStatus=601&orderStatus=607"},
	{name: "repeated orderStatus by case", body: "orderId=" + testOrderID + "&orderStatus=601&OrderStatus=607"},
	{name: "repeated orderId", body: "orderId=" + testOrderID + "&orderId=" + testReportID + "&orderStatus=501"},
	{name: "repeated reportId", body: "orderId=" + testOrderID + "&orderStatus=507&reportId=" + testReportID + "&reportId=" + testReportID},
	{name: "non-numeric status", body: "orderId=" + testOrderID + "&orderStatus=completed"},
	{name: "status with letter", body: "orderId=" + testOrderID + "&orderStatus=50a"},
	{name: "status with sign", body: "orderId=" + testOrderID + "&orderStatus=%2B507"},
	{name: "status with space", body: "orderId=" + testOrderID + "&orderStatus=+507"},
	{name: "status too short", body: "orderId=" + testOrderID + "&orderStatus=50"},
	{name: "status too long", body: "orderId=" + testOrderID + "&orderStatus=50611"},
	{name: "unicode digits", body: "orderId=" + testOrderID + "&orderStatus=%D9%A5%D9%A0%D9%A7"},
	{name: "semicolon separators", body: "orderId=" + testOrderID + ";orderStatus=607"},
	{name: "semicolon after valid pairs", body: "orderId=" + testOrderID + "&orderStatus=601;orderStatus=607"},
	{name: "invalid guid", body: "orderId=not-a-guid&orderStatus=501"},
	{name: "guid without dashes", body: "orderId=b943cae2a8f5e911b5e90003ff4f1b49&orderStatus=501"},
	{name: "guid with braces", body: "orderId=%7B" + testOrderID + "%7D&orderStatus=501"},
	{name: "invalid reportId guid", body: "orderId=" + testOrderID + "&orderStatus=507&reportId=../../etc"},
	{name: "invalid utf-8 raw", body: "orderId=" + testOrderID + "&orderStatus=507&x=\xff\xfe"},
	{name: "invalid utf-8 escaped", body: "orderId=" + testOrderID + "&orderStatus=507&x=%ff%fe"},
	{name: "bad percent escape", body: "orderId=" + testOrderID + "&orderStatus=%zz7"},
	{name: "json body", body: `{"orderId":"` + testOrderID + `","orderStatus":507}`},
}

func TestParsePostbackTable(t *testing.T) {
	for _, tc := range postbackCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePostback([]byte(tc.body))
			if !tc.ok {
				if err == nil {
					t.Fatalf("ParsePostback accepted %q: %+v", tc.body, p)
				}
				if !errors.Is(err, providers.ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				if strings.Contains(err.Error(), testOrderID) || (len(tc.body) > 8 && strings.Contains(err.Error(), tc.body)) {
					t.Fatalf("error quotes the body: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePostback: %v", err)
			}
			want := Postback{OrderID: testOrderID, OrderStatus: tc.status, Known: tc.known, ReportID: tc.report, VOEReportID: tc.voeRep}
			if p != want {
				t.Fatalf("got %+v, want %+v", p, want)
			}
		})
	}
}

// TestParseIgnoresQueryString: the form comes from the body only (W12).
func TestParseIgnoresQueryString(t *testing.T) {
	c := newTestClient(t, Config{})
	d := providers.Delivery{
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		Path:   "/tok123?orderStatus=607&voeReportId=" + testReportID,
		Body:   []byte("orderId=" + testOrderID),
	}
	if ups, err := c.Parse(d); err == nil || !errors.Is(err, providers.ErrMalformed) {
		t.Fatalf("Parse used the query string: %+v, %v", ups, err)
	}
	d.Body = []byte("orderId=" + testOrderID + "&orderStatus=601")
	ups, err := c.Parse(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 1 || ups[0].RawStatus != "601" {
		t.Fatalf("got %+v, want RawStatus 601 from the body", ups)
	}
}

// TestParseIsOnlyAHint: a postback never changes a status and never
// carries a report id to the portal (W13).
func TestParseIsOnlyAHint(t *testing.T) {
	c := newTestClient(t, Config{})
	for _, body := range []string{
		"orderId=" + testOrderID + "&orderStatus=607&voeReportId=" + testReportID,
		"orderId=" + testOrderID + "&orderStatus=507&reportId=" + testReportID,
	} {
		ups, err := c.Parse(providers.Delivery{Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		want := providers.Update{OrderID: testOrderID, SubID: ups[0].SubID, RawEvent: "postback", RawStatus: ups[0].RawStatus, Refetch: true}
		if len(ups) != 1 || ups[0] != want {
			t.Fatalf("got %+v, want only a refetch hint", ups)
		}
		if ups[0].ReportID != "" || ups[0].ReportReady || ups[0].Status != "" {
			t.Fatalf("hint carries trust: %+v", ups[0])
		}
	}
}

// TestVendorPostbackFixtures parses the example bodies in testdata.
func TestVendorPostbackFixtures(t *testing.T) {
	c := newTestClient(t, Config{})
	want := map[string]providers.Update{
		"postback_voa_501.form":  {SubID: "voa", RawStatus: "501"},
		"postback_voa_5010.form": {SubID: "voa", RawStatus: "5010"},
		"postback_voa_507.form":  {SubID: "voa", RawStatus: "507"},
		"postback_voa_509.form":  {SubID: "voa", RawStatus: "509"},
		"postback_voie_601.form": {SubID: "voe", RawStatus: "601"},
		"postback_voie_607.form": {SubID: "voe", RawStatus: "607"},
		"postback_voie_609.form": {SubID: "voe", RawStatus: "609"},
		"postback_voie_610.form": {SubID: "voe", RawStatus: "610"},
		"postback_voie_634.form": {SubID: "voe", RawStatus: "634"},
	}
	files, err := filepath.Glob("testdata/postback_*.form")
	if err != nil || len(files) != len(want) {
		t.Fatalf("fixtures: %v, %d files, want %d", err, len(files), len(want))
	}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := providers.Delivery{Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: body, RemoteAddr: "127.0.0.1:5000"}
		if err := c.Authenticate(d); err != nil {
			t.Fatalf("%s: Authenticate: %v", f, err)
		}
		ups, err := c.Parse(d)
		if err != nil {
			t.Fatalf("%s: Parse: %v", f, err)
		}
		w := want[filepath.Base(f)]
		w.OrderID, w.RawEvent, w.Refetch = testOrderID, RawEventPostback, true
		if len(ups) != 1 || ups[0] != w {
			t.Errorf("%s: got %+v, want %+v", f, ups, w)
		}
		p, _ := ParsePostback(body)
		if !p.Known {
			t.Errorf("%s: documented code %s not known", f, p.OrderStatus)
		}
	}
}

func TestAuthenticateMatrix(t *testing.T) {
	open := newTestClient(t, Config{})
	listed := newTestClient(t, Config{AllowedSourceCIDRs: []string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7"}})
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name   string
		c      *Client
		ctype  string
		remote string
		ok     bool
	}{
		{"form, no allowlist", open, form, "192.0.2.1:443", true},
		{"form with charset", open, form + "; charset=utf-8", "192.0.2.1:443", true},
		{"form upper case", open, "Application/X-WWW-Form-Urlencoded", "192.0.2.1:443", true},
		{"json refused", open, "application/json", "192.0.2.1:443", false},
		{"multipart refused", open, "multipart/form-data; boundary=x", "192.0.2.1:443", false},
		{"no content type", open, "", "192.0.2.1:443", false},
		{"garbage content type", open, ";;;", "192.0.2.1:443", false},
		{"inside v4 range", listed, form, "203.0.113.9:5555", true},
		{"inside v6 range", listed, form, "[2001:db8::5]:443", true},
		{"listed single ip", listed, form, "198.51.100.7:1", true},
		{"bare ip remote", listed, form, "203.0.113.10", true},
		{"v4-mapped v6 inside", listed, form, "[::ffff:203.0.113.9]:80", true},
		{"outside range", listed, form, "198.51.100.8:443", false},
		{"loopback outside", listed, form, "127.0.0.1:443", false},
		{"empty remote", listed, form, "", false},
		{"garbage remote", listed, form, "not-an-ip", false},
		{"inside range but json", listed, "application/json", "203.0.113.9:1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.ctype != "" {
				h.Set("Content-Type", tc.ctype)
			}
			err := tc.c.Authenticate(providers.Delivery{Header: h, RemoteAddr: tc.remote, Body: []byte("orderId=" + testOrderID + "&orderStatus=501")})
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, providers.ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
		})
	}
}

func TestDedupeKeyIsEmpty(t *testing.T) {
	c := newTestClient(t, Config{})
	if k := c.DedupeKey(providers.Delivery{Body: []byte("orderId=" + testOrderID + "&orderStatus=501")}); k != "" {
		t.Fatalf("DedupeKey = %q, want empty", k)
	}
}

func TestServiceStatusMapping(t *testing.T) {
	cases := []struct {
		code   string
		status providers.Status
		detail string
	}{
		{"500", providers.StatusSent, ""},
		{"501", providers.StatusInProgress, ""},
		{"503", providers.StatusInProgress, ""},
		{"505", providers.StatusInProgress, ""},
		{"506", providers.StatusInProgress, ""},
		{"5061", providers.StatusInProgress, ""},
		{"510", providers.StatusInProgress, ""},
		{"5010", providers.StatusActionRequired, "The applicant's link expired; send a new link"},
		{"507", providers.StatusCompleted, ""},
		{"509", providers.StatusActionRequired, "The applicant must sign in to their bank again"},
		{"601", providers.StatusInProgress, ""},
		{"610", providers.StatusInProgress, ""},
		{"607", providers.StatusCompleted, ""},
		{"609", providers.StatusActionRequired, "The applicant must sign in to their payroll provider again"},
		{"634", providers.StatusActionRequired, "The applicant's payroll sign-in failed; they can try again"},
		{"502", "", ""},
		{"5099", "", ""},
		{"600", "", ""},
		{"created", "", ""},
		{"", "", ""},
	}
	for _, tc := range cases {
		st, detail := mapServiceStatus(tc.code)
		if st != tc.status || detail != tc.detail {
			t.Errorf("mapServiceStatus(%q) = %q, %q; want %q, %q", tc.code, st, detail, tc.status, tc.detail)
		}
	}
}

func TestOrderStatusMapping(t *testing.T) {
	cases := []struct {
		raw    string
		report bool
		want   providers.Status
	}{
		{"building", false, providers.StatusCreated},
		{"opened", false, providers.StatusSent},
		{"inprogress", false, providers.StatusInProgress},
		{"canceled", false, providers.StatusCanceled},
		{"closed", true, providers.StatusCompleted},
		{"closed", false, providers.StatusExpired},
		{"archived", false, ""},
	}
	for _, tc := range cases {
		if got := mapOrderStatus(tc.raw, tc.report); got != tc.want {
			t.Errorf("mapOrderStatus(%q, %v) = %q, want %q", tc.raw, tc.report, got, tc.want)
		}
	}
}

// FuzzParsePostback (reliability.md F3): never panics; whatever it accepts
// has a GUID order id and a 3 or 4 digit status.
func FuzzParsePostback(f *testing.F) {
	for _, tc := range postbackCases {
		f.Add(tc.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p, err := ParsePostback([]byte(body))
		if err != nil {
			if !errors.Is(err, providers.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if !isStatusCode(p.OrderStatus) {
			t.Fatalf("accepted status %q", p.OrderStatus)
		}
		for _, r := range p.OrderStatus {
			if r < '0' || r > '9' {
				t.Fatalf("accepted non-digit status %q", p.OrderStatus)
			}
		}
		if !isGUID(p.OrderID) || strings.ContainsAny(body, ";") {
			t.Fatalf("accepted order id %q from %q", p.OrderID, body)
		}
		if _, known := lookupStatus(p.OrderStatus); known != p.Known {
			t.Fatalf("Known = %v for %q", p.Known, p.OrderStatus)
		}
	})
}

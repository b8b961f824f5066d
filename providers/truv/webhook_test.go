package truv

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

// fixtureSigs are HMAC-SHA256 hex digests of the testdata payloads under
// SandboxAccessSecret, computed once with
// `openssl dgst -sha256 -hmac sandbox-access-secret -r testdata/<file>`.
var fixtureSigs = map[string]string{
	"order-created.json":                "a2ac15d4761f7fabdd4efbac5cd0d2bfdce18bfb656bbd5ac59ad15c0982747a",
	"order-status-updated.json":         "6a3cd3ebf51cd3064111dc0075ffe4ae379296c24ffe197e3f709b1e25c32f30",
	"task-status-updated.json":          "3d46b78fc07ab228e7435eada0965060edbeff706e0e7aaceae90bb61aaaeab5",
	"order-status-updated-expired.json": "36a756ba5199feafc95a2b7755cff74c9c8263f42db7819dd01e58517b892265",
}

func mustClient(t *testing.T, secret string, previous ...string) *Client {
	t.Helper()
	c, err := New(Config{ClientID: "id", AccessSecret: secret, PreviousSecrets: previous})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func delivery(sigs []string, body []byte) providers.Delivery {
	h := http.Header{}
	for _, s := range sigs {
		h.Add(HeaderSignature, s)
	}
	return providers.Delivery{Header: h, Body: body}
}

// W1: known-answer vectors.
func TestSign_KnownAnswers(t *testing.T) {
	// GitHub's documented webhook vector.
	got := Sign("It's a Secret to Everybody", []byte("Hello, World!"))
	if want := "v1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("GitHub vector: got %s, want %s", got, want)
	}
	for name, hexsig := range fixtureSigs {
		if got := Sign(SandboxAccessSecret, readFixture(t, name)); got != "v1="+hexsig {
			t.Errorf("%s: got %s, want v1=%s", name, got, hexsig)
		}
	}
}

// W1: every vendor sample verifies with its openssl-computed signature.
func TestAuthenticate_AcceptsVendorSamples(t *testing.T) {
	c := mustClient(t, SandboxAccessSecret)
	for name, hexsig := range fixtureSigs {
		if err := c.Authenticate(delivery([]string{"v1=" + hexsig}, readFixture(t, name))); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	gh := mustClient(t, "It's a Secret to Everybody")
	if err := gh.Authenticate(delivery([]string{"v1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}, []byte("Hello, World!"))); err != nil {
		t.Errorf("GitHub vector: %v", err)
	}
}

// W2: the bad-signature matrix. Every case must be ErrUnauthenticated.
func TestAuthenticate_RejectsBadSignatures(t *testing.T) {
	c := mustClient(t, SandboxAccessSecret)
	body := readFixture(t, "order-status-updated.json")
	good := Sign(SandboxAccessSecret, body)
	hexsig := strings.TrimPrefix(good, "v1=")

	flipBody := bytes.Clone(body)
	flipBody[10] ^= 0x01
	flipSig := []byte(hexsig)
	// Flip one bit of a hex digit while keeping it a lowercase hex digit.
	if flipSig[0] == '0' {
		flipSig[0] = '1'
	} else {
		flipSig[0] = '0'
	}
	reserialized := []byte(strings.ReplaceAll(string(body), "\n ", ""))
	if bytes.Equal(reserialized, body) {
		t.Fatal("re-serialized body must differ from the raw body")
	}

	cases := []struct {
		name string
		sigs []string
		body []byte
	}{
		{"missing header", nil, body},
		{"empty header", []string{""}, body},
		{"prefix only", []string{"v1="}, body},
		{"wrong secret", []string{Sign("not-the-secret", body)}, body},
		{"one-bit flip in body", []string{good}, flipBody},
		{"one-bit flip in signature", []string{"v1=" + string(flipSig)}, body},
		{"truncated signature", []string{good[:len(good)-2]}, body},
		{"signature with extra digits", []string{good + "00"}, body},
		{"v2 prefix", []string{"v2=" + hexsig}, body},
		{"v0 prefix", []string{"v0=" + hexsig}, body},
		{"no prefix", []string{hexsig}, body},
		{"upper-case prefix", []string{"V1=" + hexsig}, body},
		{"non-hex", []string{"v1=" + strings.Repeat("zz", 32)}, body},
		{"uppercase hex", []string{"v1=" + strings.ToUpper(hexsig)}, body},
		{"base64 instead of hex", []string{"v1=" + "dXNlcnBhc3N3b3JkdXNlcnBhc3N3b3JkdXNlcnBhc3N3b3JkdXNlcnBh"}, body},
		{"whitespace around", []string{" " + good + " "}, body},
		{"two headers, one bad", []string{good, Sign("wrong", body)}, body},
		{"two headers, both good", []string{good, good}, body},
		{"signature over re-serialized JSON", []string{Sign(SandboxAccessSecret, reserialized)}, body},
		{"empty body signed with other body", []string{good}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Authenticate(delivery(tc.sigs, tc.body))
			if !errors.Is(err, providers.ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
			if bytes.Contains([]byte(err.Error()), []byte("4138538")) {
				t.Errorf("error leaks body bytes: %v", err)
			}
		})
	}
	if err := c.Authenticate(delivery([]string{good}, body)); err != nil {
		t.Fatalf("control: good signature rejected: %v", err)
	}
}

// A header set by hand in another case (as some proxies and tests do) is
// read like a canonical one.
func TestAuthenticate_HeaderCase(t *testing.T) {
	c := mustClient(t, SandboxAccessSecret)
	body := []byte(`{"event_type":"order-created"}`)
	d := providers.Delivery{Header: http.Header{"X-WEBHOOK-SIGN": {Sign(SandboxAccessSecret, body)}}, Body: body}
	if err := c.Authenticate(d); err != nil {
		t.Fatal(err)
	}
	d.Header["x-webhook-sign"] = []string{Sign(SandboxAccessSecret, body)}
	if err := c.Authenticate(d); !errors.Is(err, providers.ErrUnauthenticated) {
		t.Fatalf("two spellings of the header are two values: got %v", err)
	}
}

// W4: rotation accepts the current and previous secrets, and the previous one
// stops working once removed.
func TestAuthenticate_SecretRotation(t *testing.T) {
	body := readFixture(t, "order-created.json")
	rotating := mustClient(t, "new-secret", "old-secret")
	for _, s := range []string{"new-secret", "old-secret"} {
		if err := rotating.Authenticate(delivery([]string{Sign(s, body)}, body)); err != nil {
			t.Errorf("signed with %s: %v", s, err)
		}
	}
	after := mustClient(t, "new-secret")
	if err := after.Authenticate(delivery([]string{Sign("old-secret", body)}, body)); !errors.Is(err, providers.ErrUnauthenticated) {
		t.Errorf("old secret after removal: got %v", err)
	}
	if err := rotating.Authenticate(delivery([]string{Sign("other", body)}, body)); !errors.Is(err, providers.ErrUnauthenticated) {
		t.Errorf("unknown secret: got %v", err)
	}
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// The vendor example payloads parse into the expected updates.
func TestParse_VendorFixtures(t *testing.T) {
	c := mustClient(t, SandboxAccessSecret)
	cases := []struct {
		file string
		want providers.Update
	}{
		{"order-created.json", providers.Update{
			OrderID: "ddd192646b3c48be96651a0ff25cef85", RawEvent: "order-created", RawStatus: "pending",
			Status: providers.StatusCreated, Detail: "Truv created the order", At: ts("2024-07-11T21:40:48.424655+00:00"),
			Also: providers.AltIDs{User: "adbe707dddee4334bffaeb5866272740"},
		}},
		{"order-status-updated.json", providers.Update{
			OrderID: "ddd192646b3c48be96651a0ff25cef85", SubID: "d7166cffbfef4bd6a9e830cf5508e615",
			RawEvent: "order-status-updated", RawStatus: "completed", Status: providers.StatusCompleted,
			Outcome: providers.OutcomeVerified, Detail: "Verification completed; the report is ready",
			At: ts("2024-07-11T21:40:48.424655+00:00"), ReportReady: true,
			Also: providers.AltIDs{Link: "d8a8945ee2b049b193110cfba643f5df", User: "adbe707dddee4334bffaeb5866272740"},
		}},
		{"task-status-updated.json", providers.Update{
			// Truv's task payload has no order_id or employer_id: the ids
			// it carries find the order (issue 14).
			RawEvent: "task-status-updated", RawStatus: "done", Status: providers.StatusCompleted,
			Outcome: providers.OutcomeVerified, Detail: "Payroll data received",
			At: ts("2022-08-24T13:55:12.845666+00:00"), ReportReady: true,
			Also: providers.AltIDs{Task: "521442a087604e599c637db310d07402", Link: "d39d86dcc20c46e0ae75ba9ab1311a21", User: "88fef4cea64c40b5ad6727cc9b0b9fdc"},
		}},
		{"order-status-updated-expired.json", providers.Update{
			OrderID: "ddd192646b3c48be96651a0ff25cef85", RawEvent: "order-status-updated", RawStatus: "expired",
			Status: providers.StatusExpired, Detail: "The link expired before the applicant finished",
			At: ts("2024-07-14T21:40:50.102355+00:00"), Also: providers.AltIDs{User: "adbe707dddee4334bffaeb5866272740"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := c.Parse(providers.Delivery{Body: readFixture(t, tc.file)})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %d updates, want 1", len(got))
			}
			if got[0] != tc.want {
				t.Errorf("got  %+v\nwant %+v", got[0], tc.want)
			}
		})
	}
}

func TestParse_Events(t *testing.T) {
	c := mustClient(t, SandboxAccessSecret)
	body := func(eventType, status, employer string) []byte {
		emp := "null"
		if employer != "" {
			emp = `"` + employer + `"`
		}
		return []byte(`{"webhook_id":"w1","event_type":"` + eventType + `","event_created_at":"2025-01-02T03:04:05.000001Z",` +
			`"updated_at":"2025-01-02T03:04:06.000001+00:00","order_id":"o1","employer_id":` + emp + `,"status":"` + status + `"}`)
	}
	cases := []struct {
		name       string
		body       []byte
		wantStatus providers.Status
		wantSub    string
		wantDetail string
	}{
		{"refresh failed login", body("order-refresh-failed", "login_error", "e1"), providers.StatusActionRequired, "e1", "sign-in no longer works"},
		{"refresh failed mfa", body("order-refresh-failed", "mfa_error", "e1"), providers.StatusActionRequired, "e1", "verification code"},
		{"finalized is informational", body("order-finalized", "completed", ""), "", "", "finalized"},
		{"link connected", body("link-connected", "", ""), providers.StatusInProgress, "", "connected"},
		{"link disconnected", body("link-disconnected", "", ""), providers.StatusActionRequired, "", "reconnect"},
		{"task login", body("task-status-updated", "login", "e1"), providers.StatusInProgress, "e1", "Signing in to payroll"},
		{"task login error stays in progress", body("task-status-updated", "login_error", "e1"), providers.StatusInProgress, "e1", "Sign-in failed; the applicant can try again"},
		{"order canceled", body("order-status-updated", "canceled", ""), providers.StatusCanceled, "", "canceled"},
		{"unknown status keeps previous", body("order-status-updated", "brand_new_status", "e1"), "", "e1", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Parse(providers.Delivery{Body: tc.body})
			if err != nil || len(got) != 1 {
				t.Fatalf("got %v, %v", got, err)
			}
			u := got[0]
			if u.Status != tc.wantStatus || u.SubID != tc.wantSub || u.OrderID != "o1" || !strings.Contains(u.Detail, tc.wantDetail) {
				t.Errorf("got %+v", u)
			}
			if u.At != ts("2025-01-02T03:04:06.000001Z") {
				t.Errorf("At = %v, want updated_at", u.At)
			}
		})
	}

	// The task's tracking_info names the employer when employer_id is absent.
	got, err := c.Parse(providers.Delivery{Body: []byte(`{"webhook_id":"w","event_type":"task-status-updated","status":"parse","tracking_info":"e9","order_id":"o1"}`)})
	if err != nil || len(got) != 1 || got[0].SubID != "e9" || got[0].Status != providers.StatusInProgress {
		t.Errorf("tracking_info: got %+v, %v", got, err)
	}

	for _, unknown := range []string{"employment-created", "profile-updated", "certification-completed", "something-new"} {
		got, err := c.Parse(providers.Delivery{Body: body(unknown, "done", "")})
		if err != nil || len(got) != 0 {
			t.Errorf("%s: got %v, %v; want no updates, no error", unknown, got, err)
		}
	}
}

func TestParse_Malformed(t *testing.T) {
	c := mustClient(t, SandboxAccessSecret)
	for name, body := range map[string]string{
		"empty":           "",
		"truncated":       `{"webhook_id":"w","event_type":"order-cre`,
		"array":           `[{"event_type":"order-created"}]`,
		"null":            `null`,
		"no event_type":   `{"webhook_id":"w","status":"completed"}`,
		"wrong type":      `{"event_type":42}`,
		"status object":   `{"event_type":"order-status-updated","status":{"x":1}}`,
		"invalid utf8 id": "{\"event_type\":\"order-created\",\"order_id\":\"\xff\xfe\",",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Parse(providers.Delivery{Body: []byte(body)})
			if !errors.Is(err, providers.ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func TestDedupeKey(t *testing.T) {
	c := mustClient(t, SandboxAccessSecret)
	created := readFixture(t, "order-created.json")
	status := readFixture(t, "order-status-updated.json")
	k1 := c.DedupeKey(providers.Delivery{Body: created})
	k2 := c.DedupeKey(providers.Delivery{Body: status})
	sum := sha256.Sum256(created)
	if want := "0aac461e7b774a38a72fd9c7c0eef8ee:" + hex.EncodeToString(sum[:])[:16]; k1 != want {
		t.Errorf("key = %q, want %q", k1, want)
	}
	// Truv's examples share one webhook_id between two events.
	if k1 == k2 {
		t.Error("different events with one webhook_id must not share a key")
	}
	if again := c.DedupeKey(providers.Delivery{Body: bytes.Clone(created)}); again != k1 {
		t.Error("a byte-identical redelivery must get the same key")
	}
	if k := c.DedupeKey(providers.Delivery{Body: []byte("not json")}); len(k) != 16 {
		t.Errorf("key without webhook_id = %q, want the 16-digit hash", k)
	}
}

func TestMapOrderStatus(t *testing.T) {
	cases := []struct {
		raw     string
		status  providers.Status
		outcome providers.Outcome
		ready   bool
	}{
		{"pending", providers.StatusCreated, "", false},
		{"sent", providers.StatusSent, "", false},
		{"completed", providers.StatusCompleted, providers.OutcomeVerified, true},
		{"no_data", providers.StatusFailed, providers.OutcomeNoData, false},
		{"skipped", providers.StatusFailed, "", false},
		{"error", providers.StatusFailed, "", false},
		{"canceled", providers.StatusCanceled, "", false},
		{"expired", providers.StatusExpired, "", false},
		{"login_error", providers.StatusActionRequired, "", false},
		{"mfa_error", providers.StatusActionRequired, "", false},
		{"", "", "", false},
		{"Completed", "", "", false},
		{"whatever", "", "", false},
	}
	for _, tc := range cases {
		m := mapOrderStatus(tc.raw)
		if m.status != tc.status || m.outcome != tc.outcome || m.reportReady != tc.ready {
			t.Errorf("%q: got %+v", tc.raw, m)
		}
		if tc.status != "" && tc.status != providers.StatusCreated && m.detail == "" {
			t.Errorf("%q: no detail", tc.raw)
		}
	}
}

func TestMapTaskStatus(t *testing.T) {
	cases := []struct {
		raw     string
		status  providers.Status
		outcome providers.Outcome
	}{
		{"new", providers.StatusInProgress, ""},
		{"login", providers.StatusInProgress, ""},
		{"mfa", providers.StatusInProgress, ""},
		{"parse", providers.StatusInProgress, ""},
		{"full_parse", providers.StatusInProgress, ""},
		{"switch_deposit", providers.StatusInProgress, ""},
		{"login_error", providers.StatusInProgress, ""},
		{"mfa_error", providers.StatusInProgress, ""},
		{"account_locked", providers.StatusInProgress, ""},
		{"config_error", providers.StatusInProgress, ""},
		{"done", providers.StatusCompleted, providers.OutcomeVerified},
		{"no_data", providers.StatusFailed, providers.OutcomeNoData},
		{"unavailable", providers.StatusFailed, ""},
		{"error", providers.StatusFailed, ""},
		{"later_invented", "", ""},
	}
	for _, tc := range cases {
		m := mapTaskStatus(tc.raw)
		if m.status != tc.status || m.outcome != tc.outcome {
			t.Errorf("%q: got %+v", tc.raw, m)
		}
		if tc.status != "" && m.detail == "" {
			t.Errorf("%q: no detail", tc.raw)
		}
		for _, pii := range []string{"@", "Zqxwv"} {
			if strings.Contains(m.detail, pii) {
				t.Errorf("%q detail holds %q", tc.raw, pii)
			}
		}
	}
}

// F1: Authenticate accepts exactly the correct encoding of the HMAC.
func FuzzAuthenticate(f *testing.F) {
	for name := range fixtureSigs {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, Sign(SandboxAccessSecret, b))
		f.Add(b, "v1="+strings.ToUpper(strings.TrimPrefix(Sign(SandboxAccessSecret, b), "v1=")))
	}
	f.Add([]byte("Hello, World!"), "v2=00")
	c, err := New(Config{ClientID: "id", AccessSecret: SandboxAccessSecret})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		mac := hmac.New(sha256.New, []byte(SandboxAccessSecret))
		mac.Write(body)
		oracle := sig == "v1="+hex.EncodeToString(mac.Sum(nil))
		err := c.Authenticate(delivery([]string{sig}, body))
		if (err == nil) != oracle {
			t.Fatalf("Authenticate = %v, oracle = %v", err, oracle)
		}
	})
}

// F2: Parse never panics and only fails with ErrMalformed.
func FuzzParse(f *testing.F) {
	for name := range fixtureSigs {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"event_type":"task-status-updated","status":7}`))
	c, err := New(Config{ClientID: "id", AccessSecret: SandboxAccessSecret})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, err := c.Parse(providers.Delivery{Body: body})
		if err != nil && !errors.Is(err, providers.ErrMalformed) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		_ = c.DedupeKey(providers.Delivery{Body: body})
	})
}

// W6 at the adapter: Truv signs no timestamp, so a replay days later still
// authenticates; it must then dedupe to the same key and parse to the same
// updates, leaving the portal's state unchanged.
func TestReplay_SameKeyAndUpdates(t *testing.T) {
	c := mustClient(t, SandboxAccessSecret)
	body := readFixture(t, "order-status-updated.json")
	d := delivery([]string{"v1=" + fixtureSigs["order-status-updated.json"]}, body)
	first, err := c.Parse(d)
	if err != nil {
		t.Fatal(err)
	}
	replay := delivery([]string{"v1=" + fixtureSigs["order-status-updated.json"]}, bytes.Clone(body))
	if err := c.Authenticate(replay); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if c.DedupeKey(replay) != c.DedupeKey(d) {
		t.Error("a replay must hit the same dedupe key")
	}
	again, err := c.Parse(replay)
	if err != nil || len(again) != 1 || again[0] != first[0] {
		t.Errorf("replay parsed to %+v, %v; want %+v", again, err, first)
	}
}

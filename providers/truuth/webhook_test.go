package truuth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"caseverify/providers"
)

// The Basic example of truuth-webhooks.txt, and a Bearer token of ours.
const (
	vendorBasicToken = "QlZ6T2hFdWdOV25zbjNSbDI1cTQ6MzUyZjlkNDllN2ZkMWY3ODM5ODYxOWZhZmFkYjE3ZmJjMWMxMjc0NjUwZGZmZTc1Mjc3ZmRlZWNjOTRlNjYyMw=="
	testBearerToken  = "tr-Wh7kQ2mZp9Lx4Vb8Nc3Rd6"
)

// PII canaries (reliability.md L1), also used in testdata/.
var canaries = []string{"Zqxwv", "Canarytest", "canary+pii@example.test", "+15555550123", "5555550123", "1911-11-11"}

func assertNoCanary(t *testing.T, where, s string) {
	t.Helper()
	for _, c := range canaries {
		if strings.Contains(s, c) {
			t.Errorf("%s contains PII canary %q: %s", where, c, s)
		}
	}
}

func webhookClient(t testing.TB, auth string) *Client {
	t.Helper()
	c, err := New(Config{Region: "au", Tenant: "acme", APIKey: "k", APISecret: "s", WebhookAuth: auth})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func delivery(values ...string) providers.Delivery {
	h := http.Header{}
	for _, v := range values {
		h.Add("Authorization", v)
	}
	return providers.Delivery{Header: h, Body: []byte(`{"verificationId":"v","status":"DONE"}`)}
}

// TestAuthenticateMatrix is reliability.md W2 for Truuth: only the exact
// configured credentials pass; the scheme is case-insensitive (RFC 7235),
// the token is not.
func TestAuthenticateMatrix(t *testing.T) {
	basicUserPass := "BVzOhEugNWnsn3Rl25q4:352f9d49e7fd1f78398619fafadb17fbc1c1274650dffe75277fdeecc94e6623"
	if base64.StdEncoding.EncodeToString([]byte(basicUserPass)) != vendorBasicToken {
		t.Fatal("vendor example token does not decode to the vendor example credentials")
	}
	basic := webhookClient(t, "Basic "+vendorBasicToken)
	bearer := webhookClient(t, "Bearer "+testBearerToken)
	flip := func(s string) string { // change one character, keep the length
		b := []byte(s)
		b[len(b)/2] ^= 0x01
		return string(b)
	}

	tests := []struct {
		name   string
		client *Client
		header []string
		ok     bool
	}{
		{"basic exact", basic, []string{"Basic " + vendorBasicToken}, true},
		{"basic scheme lower case", basic, []string{"basic " + vendorBasicToken}, true},
		{"basic scheme upper case", basic, []string{"BASIC " + vendorBasicToken}, true},
		{"basic two spaces after scheme", basic, []string{"Basic  " + vendorBasicToken}, true},
		{"basic missing header", basic, nil, false},
		{"basic empty header", basic, []string{""}, false},
		{"basic scheme only", basic, []string{"Basic"}, false},
		{"basic scheme and space only", basic, []string{"Basic "}, false},
		{"basic token without scheme", basic, []string{vendorBasicToken}, false},
		{"basic wrong token", basic, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("user:wrong-password-123"))}, false},
		{"basic one character flipped", basic, []string{"Basic " + flip(vendorBasicToken)}, false},
		{"basic token lower-cased", basic, []string{"Basic " + strings.ToLower(vendorBasicToken)}, false},
		{"basic token upper-cased", basic, []string{"Basic " + strings.ToUpper(vendorBasicToken)}, false},
		{"basic token truncated", basic, []string{"Basic " + vendorBasicToken[:len(vendorBasicToken)-2]}, false},
		{"basic token with suffix", basic, []string{"Basic " + vendorBasicToken + "x"}, false},
		{"basic credentials not encoded", basic, []string{"Basic " + basicUserPass}, false},
		{"basic credentials sent as bearer", basic, []string{"Bearer " + vendorBasicToken}, false},
		{"basic repeated, second bad", basic, []string{"Basic " + vendorBasicToken, "Basic wrong"}, false},
		{"basic repeated, first bad", basic, []string{"Basic wrong", "Basic " + vendorBasicToken}, false},
		{"basic repeated, both good", basic, []string{"Basic " + vendorBasicToken, "Basic " + vendorBasicToken}, false},

		{"bearer exact", bearer, []string{"Bearer " + testBearerToken}, true},
		{"bearer scheme lower case", bearer, []string{"bearer " + testBearerToken}, true},
		{"bearer scheme mixed case", bearer, []string{"BeArEr " + testBearerToken}, true},
		{"bearer missing header", bearer, nil, false},
		{"bearer wrong token", bearer, []string{"Bearer tr-Wh7kQ2mZp9Lx4Vb8Nc3Rd7"}, false},
		{"bearer token lower-cased", bearer, []string{"Bearer " + strings.ToLower(testBearerToken)}, false},
		{"bearer token upper-cased", bearer, []string{"Bearer " + strings.ToUpper(testBearerToken)}, false},
		{"bearer token sent as basic", bearer, []string{"Basic " + testBearerToken}, false},
		{"bearer token base64-encoded as basic", bearer, []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(testBearerToken))}, false},
		{"bearer token without scheme", bearer, []string{testBearerToken}, false},
		{"bearer other scheme", bearer, []string{"Token " + testBearerToken}, false},
		{"bearer repeated, one bad", bearer, []string{"Bearer " + testBearerToken, "Bearer nope"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.client.Authenticate(delivery(tt.header...))
			if tt.ok && err != nil {
				t.Fatalf("want accepted, got %v", err)
			}
			if !tt.ok {
				if !errors.Is(err, providers.ErrUnauthenticated) {
					t.Fatalf("want ErrUnauthenticated, got %v", err)
				}
				// The error must not echo what was sent or what is expected.
				for _, secret := range []string{vendorBasicToken, testBearerToken, "wrong"} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error echoes a credential: %v", err)
					}
				}
			}
		})
	}
}

// TestAuthenticateUnconfigured: with no WebhookAuth nothing passes, not even
// a delivery without any Authorization (Truuth's "no auth" option), W14.
func TestAuthenticateUnconfigured(t *testing.T) {
	c := webhookClient(t, "")
	for _, h := range [][]string{nil, {""}, {"Bearer " + testBearerToken}, {"Basic " + vendorBasicToken}} {
		if err := c.Authenticate(delivery(h...)); !errors.Is(err, providers.ErrUnauthenticated) {
			t.Errorf("header %q: want ErrUnauthenticated, got %v", h, err)
		}
	}
}

func TestValidateWebhookAuth(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name, value string
		ok          bool
	}{
		{"vendor basic example", "Basic " + vendorBasicToken, true},
		{"basic lower-case scheme", "basic " + vendorBasicToken, true},
		{"bearer", "Bearer " + testBearerToken, true},
		{"bearer with padding", "Bearer abcdefghijklmnop0123==", true},
		{"sandbox value", SandboxWebhookAuth, true},
		{"empty", "", false},
		{"blank", "   ", false},
		{"scheme only", "Bearer", false},
		{"scheme and space", "Bearer ", false},
		{"token only", testBearerToken, false},
		{"unknown scheme", "Token " + testBearerToken, false},
		{"digest scheme", "Digest " + testBearerToken, false},
		{"basic not base64", "Basic user:password-long-enough", false},
		{"basic without colon", "Basic " + b64("userpasswordlongenough"), false},
		{"basic without user", "Basic " + b64(":password-long-enough"), false},
		{"basic short password", "Basic " + b64("user:short"), false},
		{"basic trivial password", "Basic " + b64("user:aaaaaaaaaaaaaaaa"), false},
		{"bearer too short", "Bearer abc123", false},
		{"bearer trivial", "Bearer xxxxxxxxxxxxxxxxxxxxxxxx", false},
		{"bearer with inner space", "Bearer abcdefghij klmnopqrst", false},
		{"bearer with bad characters", "Bearer abcdefghij<klmnopqrst>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateWebhookAuth(tt.value)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateWebhookAuth(%q) = %v, want ok=%v", tt.value, err, tt.ok)
			}
			if err != nil {
				if _, tok, found := canonicalAuth(tt.value); found && strings.Contains(err.Error(), tok) {
					t.Fatalf("error repeats the secret: %v", err)
				}
			}
		})
	}
}

func checks(pairs ...string) []providers.IdentityCheck {
	var out []providers.IdentityCheck
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, providers.IdentityCheck{Name: pairs[i], Result: pairs[i+1]})
	}
	return out
}

// TestOutcomeRules pins the outcome rules and spellings.
func TestOutcomeRules(t *testing.T) {
	allPass := checks("Document", "Pass", "Face match", "Pass", "Liveness", "Pass", "Address", "Pass")
	tests := []struct {
		name    string
		raw     string
		checks  []providers.IdentityCheck
		status  providers.Status
		outcome providers.Outcome
		detail  string
	}{
		{"done all pass", "DONE", allPass, providers.StatusCompleted, providers.OutcomePass, "Identity approved"},
		{"done pass spellings", "DONE", checks("A", "PASS", "B", "pass", "C", "Passed", "D", "Approved"), providers.StatusCompleted, providers.OutcomePass, "Identity approved"},
		{"done proto-enum result", "DONE", checks("A", "PROOFING_STATUS_PASS"), providers.StatusCompleted, providers.OutcomePass, "Identity approved"},
		{"done one warning", "DONE", checks("Document", "Pass", "Address", "Warning"), providers.StatusCompleted, providers.OutcomeReview, "Needs review: address check warned"},
		{"done WARNING upper case", "DONE", checks("Document", "Pass", "Address", "WARNING"), providers.StatusCompleted, providers.OutcomeReview, "Needs review: address check warned"},
		{"done two warnings", "DONE", checks("Address", "Warning", "Liveness", "warning"), providers.StatusCompleted, providers.OutcomeReview, "Needs review: address and liveness checks warned"},
		{"done fail beats warning", "DONE", checks("Document", "Fail", "Address", "Warning"), providers.StatusCompleted, providers.OutcomeFail, "Rejected: document check failed"},
		{"done FAIL upper case", "DONE", checks("Document", "FAIL"), providers.StatusCompleted, providers.OutcomeFail, "Rejected: document check failed"},
		{"done Failed", "DONE", checks("Face match", "Failed", "Document", "Pass"), providers.StatusCompleted, providers.OutcomeFail, "Rejected: face match check failed"},
		{"done three fails", "DONE", checks("Document", "Fail", "Face match", "Fail", "Liveness", "Rejected"), providers.StatusCompleted, providers.OutcomeFail, "Rejected: document, face match and liveness checks failed"},
		{"done no checks", "DONE", nil, providers.StatusCompleted, providers.OutcomeReview, "Needs review: Truuth returned no check results"},
		{"done unknown result", "DONE", checks("Document", "Pass", "Address", "Pending"), providers.StatusCompleted, providers.OutcomeReview, "Needs review: address check gave no clear result"},
		{"done warning and unknown", "DONE", checks("Address", "Warning", "Liveness", ""), providers.StatusCompleted, providers.OutcomeReview, "Needs review: address check warned; liveness check gave no clear result"},
		{"Done mixed case", "Done", allPass, providers.StatusCompleted, providers.OutcomePass, "Identity approved"},
		{"proto-enum done", "VERIFICATION_STATUS_DONE", allPass, providers.StatusCompleted, providers.OutcomePass, "Identity approved"},
		{"in progress", "IN_PROGRESS", nil, providers.StatusInProgress, "", "Applicant started identity verification"},
		{"proto-enum in progress", "VERIFICATION_STATUS_IN_PROGRESS", nil, providers.StatusInProgress, "", "Applicant started identity verification"},
		{"in progress with space", "In Progress", nil, providers.StatusInProgress, "", "Applicant started identity verification"},
		{"processing", "PROCESSING", nil, providers.StatusInProgress, "", "Truuth is checking the applicant's documents"},
		{"proto-enum processing", "VERIFICATION_STATUS_PROCESSING", nil, providers.StatusInProgress, "", "Truuth is checking the applicant's documents"},
		{"error", "ERROR", nil, providers.StatusFailed, "", "Truuth could not complete the verification"},
		{"proto-enum error", "VERIFICATION_STATUS_ERROR", allPass, providers.StatusFailed, "", "Truuth could not complete the verification"},
		{"proto-enum unspecified", "VERIFICATION_STATUS_UNSPECIFIED", nil, "", "", "Waiting for the applicant to start"},
		{"pending", "PENDING", nil, "", "", "Waiting for the applicant to start"},
		{"expired (unconfirmed value)", "EXPIRED", nil, providers.StatusExpired, "", "The verification invite expired"},
		{"cancelled (unconfirmed value)", "CANCELLED", nil, providers.StatusCanceled, "", "The verification was canceled at Truuth"},
		{"unknown", "SOMETHING_NEW", allPass, "", "", "Truuth reported a status the portal does not know"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := resultUpdate("vid", tt.raw, tt.checks, DefaultContract())
			if u.Status != tt.status || u.Outcome != tt.outcome || u.Detail != tt.detail {
				t.Fatalf("got (%q, %q, %q), want (%q, %q, %q)", u.Status, u.Outcome, u.Detail, tt.status, tt.outcome, tt.detail)
			}
			if u.OrderID != "vid" || u.RawStatus != tt.raw {
				t.Fatalf("OrderID/RawStatus = %q/%q", u.OrderID, u.RawStatus)
			}
			if u.ReportReady != (tt.status == providers.StatusCompleted) {
				t.Fatalf("ReportReady = %v for status %q", u.ReportReady, tt.status)
			}
		})
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseFixtures parses the example bodies in testdata/ (R03 field set).
func TestParseFixtures(t *testing.T) {
	c := webhookClient(t, "Bearer "+testBearerToken)
	tests := []struct {
		file string
		want []providers.Update
	}{
		{"callback_pass.json", []providers.Update{{
			OrderID: "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a01", RawEvent: EventCallback, RawStatus: "DONE",
			Status: providers.StatusCompleted, Outcome: providers.OutcomePass, Detail: "Identity approved", ReportReady: true,
		}}},
		{"callback_warning.json", []providers.Update{{
			OrderID: "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a02", RawEvent: EventCallback, RawStatus: "DONE",
			Status: providers.StatusCompleted, Outcome: providers.OutcomeReview, Detail: "Needs review: address check warned", ReportReady: true,
		}}},
		{"callback_fail.json", []providers.Update{{
			OrderID: "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a03", RawEvent: EventCallback, RawStatus: "DONE",
			Status: providers.StatusCompleted, Outcome: providers.OutcomeFail, Detail: "Rejected: document check failed", ReportReady: true,
		}}},
		{"callback_error.json", []providers.Update{{
			OrderID: "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a04", RawEvent: EventCallback, RawStatus: "ERROR",
			Status: providers.StatusFailed, Detail: "Truuth could not complete the verification",
		}}},
		{"callback_in_progress.json", []providers.Update{{
			OrderID: "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a05", RawEvent: EventCallback, RawStatus: "IN_PROGRESS",
			Status: providers.StatusInProgress, Detail: "Applicant started identity verification",
		}}},
		{"callback_proto_enum.json", []providers.Update{{
			OrderID: "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a06", RawEvent: EventCallback, RawStatus: "VERIFICATION_STATUS_DONE",
			Status: providers.StatusCompleted, Outcome: providers.OutcomeReview, Detail: "Needs review: address check warned", ReportReady: true,
		}}},
		{"biopass_provisioning.json", []providers.Update{{
			OrderID: "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a01", RawEvent: EventBiopass, Detail: "Biopass user provisioned",
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFixture(t, tt.file)
			// Each subscription has its own URL (issue 14).
			path := "/" + EventPathCallback
			if strings.HasPrefix(tt.file, "biopass") {
				path = "/" + EventPathBiopass
			}
			got, err := c.Parse(providers.Delivery{Body: body, Path: path})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
			assertNoCanary(t, "updates", fmt.Sprintf("%+v", got))
		})
	}
}

func TestParseMalformed(t *testing.T) {
	c := webhookClient(t, "")
	bodies := map[string]string{
		"empty":              ``,
		"not JSON":           `not json`,
		"array":              `[{"verificationId":"v","status":"DONE"}]`,
		"string":             `"DONE"`,
		"truncated with PII": `{"verificationId":"v","identityOwner":{"email":"canary+pii@example.test","dateOfBirth":"1911-11-11"`,
		"no verification id": `{"status":"DONE","identityOwner":{"givenName":"Zqxwv"}}`,
		"no status":          `{"verificationId":"v","identityOwner":{"givenName":"Zqxwv"}}`,
		"id of wrong type":   `{"verificationId":{"x":1},"status":"DONE"}`,
		"trailing data":      `{"verificationId":"v","status":"DONE"} {"verificationId":"w"}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			got, err := c.Parse(providers.Delivery{Body: []byte(body)})
			if !errors.Is(err, providers.ErrMalformed) {
				t.Fatalf("want ErrMalformed, got %v (%+v)", err, got)
			}
			assertNoCanary(t, "error", err.Error())
		})
	}
}

func TestParseEventKinds(t *testing.T) {
	c := webhookClient(t, "")
	tests := []struct {
		name, body string
		want       []providers.Update
	}{
		{"event type names biopass", `{"eventType":"BIOPASS_USER_PROVISIONING","verificationId":"v1"}`,
			[]providers.Update{{OrderID: "v1", RawEvent: EventBiopass, Detail: "Biopass user provisioned"}}},
		{"event type in words", `{"eventType":"Biopass User Provisioning","verificationId":"v1","status":"PASS"}`,
			[]providers.Update{{OrderID: "v1", RawEvent: EventBiopass, Detail: "Biopass user provisioned"}}},
		{"event type callback wins over marker", `{"eventType":"CALLBACK","verificationId":"v2","status":"IN_PROGRESS","userId":"u"}`,
			[]providers.Update{{OrderID: "v2", RawEvent: EventCallback, RawStatus: "IN_PROGRESS", Status: providers.StatusInProgress, Detail: "Applicant started identity verification"}}},
		// Issue 14: the shape never decides. A completed callback with a
		// top-level userId is a Callback (it was read as Biopass and the
		// order never completed).
		{"userId is no marker", `{"verificationId":"v3","userId":"u","status":"DONE","results":{"proofingOutcomes":[{"name":"Document","status":"Pass"}]}}`,
			[]providers.Update{{OrderID: "v3", RawEvent: EventCallback, RawStatus: "DONE", Status: providers.StatusCompleted,
				Outcome: providers.OutcomePass, Detail: "Identity approved", ReportReady: true}}},
		{"biopass-looking body is a callback", `{"verificationId":"v5","biopass":{"userId":"u"},"status":"IN_PROGRESS"}`,
			[]providers.Update{{OrderID: "v5", RawEvent: EventCallback, RawStatus: "IN_PROGRESS", Status: providers.StatusInProgress, Detail: "Applicant started identity verification"}}},
		{"unknown status stays informational", `{"verificationId":"v4","status":"ARCHIVED"}`,
			[]providers.Update{{OrderID: "v4", RawEvent: EventCallback, RawStatus: "ARCHIVED", Detail: "Truuth reported a status the portal does not know", Unknown: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Parse(providers.Delivery{Body: []byte(tt.body)})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParseCustomContract: a Contract override changes what Parse reads.
func TestParseCustomContract(t *testing.T) {
	c, err := New(Config{Region: "eu", Tenant: "acme", APIKey: "k", APISecret: "s", Contract: Contract{
		StatusField: "state", OutcomesPath: "outcomes", CheckNameFields: []string{"check"}, CheckResultField: "result",
	}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"verificationId":"v","state":"DONE","outcomes":[{"check":"Document","result":"Fail"}]}`
	got, err := c.Parse(providers.Delivery{Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Outcome != providers.OutcomeFail || got[0].Detail != "Rejected: document check failed" {
		t.Fatalf("got %+v", got)
	}
	// Fields not overridden keep their defaults.
	if c.contract.VerificationIDField != "verificationId" || c.contract.ResultPath != DefaultContract().ResultPath {
		t.Fatalf("defaults lost: %+v", c.contract)
	}
}

func TestDefaultContractComplete(t *testing.T) {
	v := reflect.ValueOf(DefaultContract())
	for i := range v.NumField() {
		if v.Field(i).IsZero() || (v.Field(i).Kind() == reflect.Slice && v.Field(i).Len() == 0) {
			t.Errorf("DefaultContract().%s is empty", v.Type().Field(i).Name)
		}
	}
}

func TestDedupeKey(t *testing.T) {
	c := webhookClient(t, "")
	body := readFixture(t, "callback_pass.json")
	sum := sha256.Sum256(body)
	want := "6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a01:DONE:" + hex.EncodeToString(sum[:])[:16]
	if got := c.DedupeKey(providers.Delivery{Body: body}); got != want {
		t.Fatalf("DedupeKey = %q, want %q", got, want)
	}
	// A retry of the same bytes is the same delivery; any other bytes are not.
	if c.DedupeKey(providers.Delivery{Body: append([]byte{}, body...)}) != want {
		t.Fatal("identical body gave another key")
	}
	if c.DedupeKey(providers.Delivery{Body: append(append([]byte{}, body...), '\n')}) == want {
		t.Fatal("different body gave the same key")
	}
	// IN_PROGRESS and DONE of one verification never collide.
	prog := c.DedupeKey(providers.Delivery{Body: []byte(`{"verificationId":"v","status":"IN_PROGRESS"}`)})
	done := c.DedupeKey(providers.Delivery{Body: []byte(`{"verificationId":"v","status":"DONE"}`)})
	if prog == done || !strings.HasPrefix(prog, "v:IN_PROGRESS:") || !strings.HasPrefix(done, "v:DONE:") {
		t.Fatalf("keys %q, %q", prog, done)
	}
	// Malformed bodies still get a stable key, and it holds no body bytes.
	bad := []byte(`{"identityOwner":{"email":"canary+pii@example.test"`)
	k := c.DedupeKey(providers.Delivery{Body: bad})
	if !strings.HasPrefix(k, "::") || len(k) != 18 {
		t.Fatalf("malformed key %q", k)
	}
}

// F1 for Truuth: a delivery authenticates iff its one Authorization value
// is the configured one, the scheme in any case (RFC 7235) and the token
// byte for byte. The oracle is written out here, apart from canonicalAuth.
func FuzzAuthenticate(f *testing.F) {
	want := "Bearer " + testBearerToken
	f.Add(want)
	f.Add("bearer " + testBearerToken)
	f.Add("Bearer  " + testBearerToken)
	f.Add("Basic " + testBearerToken)
	f.Add("Bearer " + strings.ToLower(testBearerToken))
	f.Add("")
	c := webhookClient(f, want)
	f.Fuzz(func(t *testing.T, value string) {
		scheme, rest, _ := strings.Cut(value, " ")
		oracle := strings.EqualFold(scheme, "bearer") && strings.TrimLeft(rest, " ") == testBearerToken
		err := c.Authenticate(delivery(value))
		if (err == nil) != oracle {
			t.Fatalf("Authenticate(%q) = %v, oracle = %v", value, err, oracle)
		}
	})
}

// F2 for Truuth: Parse never panics, fails only with ErrMalformed, and
// every update names a verification.
func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".json" {
			f.Add(readFixture(f, e.Name()))
		}
	}
	f.Add([]byte(`{"verificationId":"v","status":"DONE","results":{"proofingOutcomes":[{"name":7}]}}`))
	c := webhookClient(f, "Bearer "+testBearerToken)
	f.Fuzz(func(t *testing.T, body []byte) {
		ups, err := c.Parse(providers.Delivery{Body: body})
		if err != nil && !errors.Is(err, providers.ErrMalformed) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		for _, u := range ups {
			if u.OrderID == "" {
				t.Fatalf("an update without a verification: %+v", u)
			}
		}
		_ = c.DedupeKey(providers.Delivery{Body: body})
	})
}

// TestParse_RoutesByURL (issue 14): the subscription's URL says the event,
// whatever the body looks like; an unknown event path is refused.
func TestParse_RoutesByURL(t *testing.T) {
	c := webhookClient(t, "")
	body := `{"verificationId":"v1","userId":"u","status":"DONE","results":{"proofingOutcomes":[{"name":"Document","status":"Pass"}]}}`
	got, err := c.Parse(providers.Delivery{Body: []byte(body), Path: "/callback"})
	if err != nil || len(got) != 1 || got[0].RawEvent != EventCallback || got[0].Status != providers.StatusCompleted {
		t.Fatalf("callback URL: %+v, %v", got, err)
	}
	got, err = c.Parse(providers.Delivery{Body: []byte(`{"verificationId":"v1","status":"DONE"}`), Path: "/biopass"})
	if err != nil || len(got) != 1 || got[0].RawEvent != EventBiopass || got[0].Status != "" {
		t.Fatalf("biopass URL: %+v, %v", got, err)
	}
	got, err = c.Parse(providers.Delivery{Body: []byte(`{"verificationId":"v1"}`), Path: "/biopass"})
	if err != nil || len(got) != 1 || got[0].RawEvent != EventBiopass {
		t.Fatalf("biopass URL without status: %+v, %v", got, err)
	}
	if _, err := c.Parse(providers.Delivery{Body: []byte(body), Path: "/other"}); !errors.Is(err, providers.ErrMalformed) {
		t.Fatalf("unknown path: %v", err)
	}
}

// TestAuthenticate_TokenPerSubscription (issue 14): Truuth lets each event
// subscription carry its own token; each URL accepts its own token only,
// and the bare URL (Callbacks) the general one.
func TestAuthenticate_TokenPerSubscription(t *testing.T) {
	cb, bp := "Bearer callback-token-7d1e93c2", "Bearer biopass-token-5a8f20b4"
	c, err := New(Config{Region: "au", Tenant: "t", APIKey: "k", APISecret: "s",
		WebhookAuthByEvent: map[string]string{EventPathCallback: cb, EventPathBiopass: bp}})
	if err != nil {
		t.Fatal(err)
	}
	del := func(path, auth string) providers.Delivery {
		return providers.Delivery{Path: path, Header: http.Header{"Authorization": {auth}}, Body: []byte(`{}`)}
	}
	for _, ok := range []providers.Delivery{del("/callback", cb), del("/biopass", bp), del("", cb)} {
		if err := c.Authenticate(ok); err != nil {
			t.Errorf("%s: %v", ok.Path, err)
		}
	}
	for _, bad := range []providers.Delivery{del("/callback", bp), del("/biopass", cb), del("", bp), del("/other", cb)} {
		if err := c.Authenticate(bad); !errors.Is(err, providers.ErrUnauthenticated) {
			t.Errorf("%s with the other token: %v", bad.Path, err)
		}
	}
	if _, err := New(Config{Region: "au", Tenant: "t", APIKey: "k", APISecret: "s",
		WebhookAuthByEvent: map[string]string{"status": cb}}); err == nil {
		t.Error("an unknown event name was accepted")
	}
}

package truework

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

func TestParse_VendorFixtures(t *testing.T) {
	c := newTestClient(t, "", nil)
	jan1 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		file string
		want []providers.Update
	}{
		{"webhook_order_completed.json", []providers.Update{{
			OrderID: "order_123", RawEvent: EventOrderCompleted, At: jan1, Refetch: true, Detail: detailOrderCompleted,
		}}},
		{"webhook_state_change.json", []providers.Update{{
			OrderID: "order_123", SubID: "verification_request_456", RawEvent: EventStateChange,
			RawStatus: "completed", Status: providers.StatusCompleted, At: jan1, Refetch: true, Detail: detailCompletedFetch,
		}}},
		{"webhook_t17_short.json", []providers.Update{{
			OrderID: "AAAAAAAAAosABwGqF1AUKAH0", RawEvent: EventOrderCompleted, Refetch: true, Detail: detailOrderCompleted,
		}}},
		{"webhook_state_action_requred.json", []providers.Update{{
			OrderID: "order_123", SubID: "verification_request_456", RawEvent: EventStateChange,
			RawStatus: "action-requred", Status: providers.StatusActionRequired, Detail: detailActionRequired,
			At: time.Date(2025, 1, 2, 8, 30, 0, 0, time.UTC),
		}}},
		{"webhook_applicant_action_required.json", []providers.Update{{
			OrderID: "order_789", RawEvent: EventApplicantActionRequired, Status: providers.StatusActionRequired,
			Detail: "The applicant must sign in again to finish", At: time.Date(2025, 1, 3, 9, 15, 0, 0, time.UTC),
		}}},
		{"webhook_legacy_string_id.json", []providers.Update{{
			OrderID: "order_123", SubID: "verification_request_456", RawEvent: EventStateChange,
			RawStatus: "processing", Status: providers.StatusInProgress,
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := c.Parse(providers.Delivery{Body: readFixture(t, tt.file)})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// stateChange builds a 2023-10-30 state change body.
func stateChange(state string) []byte {
	return []byte(`{"version":"2023-10-30","hook":{"id":7,"event":"verification_request.state.change","target":"https://x.test/h","triggered_at":"2025-01-01T12:00:00Z"},` +
		`"data":{"order_id":"o1","state":"` + state + `","verification_request_id":"vr1","credentials_session_token":null,"metadata":{}}}`)
}

func TestParse_StateChangeMapping(t *testing.T) {
	c := newTestClient(t, "", nil)
	tests := []struct {
		state       string
		wantStatus  providers.Status
		wantRefetch bool
	}{
		{"pending-approval", providers.StatusCreated, false},
		{"processing", providers.StatusInProgress, false},
		{"action-required", providers.StatusActionRequired, false},
		{"action-requred", providers.StatusActionRequired, false},
		{"completed", providers.StatusCompleted, true},
		// The webhook has no cancellation reason: the status comes from the fetch.
		{"canceled", "", true},
		{"invalid", providers.StatusFailed, false},
		{"other", "", false},
		{"brand-new-state", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			got, err := c.Parse(providers.Delivery{Body: stateChange(tt.state)})
			if err != nil || len(got) != 1 {
				t.Fatalf("Parse = %+v, %v; want one update", got, err)
			}
			u := got[0]
			if u.Status != tt.wantStatus || u.Refetch != tt.wantRefetch || u.RawStatus != tt.state || u.SubID != "vr1" || u.OrderID != "o1" {
				t.Errorf("got %+v; want status %q refetch %v", u, tt.wantStatus, tt.wantRefetch)
			}
		})
	}
}

func TestParse_MalformedAndUnknown(t *testing.T) {
	c := newTestClient(t, "", nil)
	malformed := map[string]string{
		"not json":                   `{"hook":`,
		"empty body":                 ``,
		"no event":                   `{"hook":{"id":1},"data":{"order_id":"o1"}}`,
		"wrong type":                 `{"hook":{"event":42},"data":{}}`,
		"state change without id":    `{"hook":{"event":"verification_request.state.change"},"data":{"state":"completed"}}`,
		"state change without state": `{"hook":{"event":"verification_request.state.change"},"data":{"order_id":"o1"}}`,
		"order.completed without id": `{"hook":{"event":"order.completed"},"data":{}}`,
	}
	for name, body := range malformed {
		t.Run(name, func(t *testing.T) {
			_, err := c.Parse(providers.Delivery{Body: []byte(body)})
			if !errors.Is(err, providers.ErrMalformed) {
				t.Fatalf("Parse err = %v; want ErrMalformed", err)
			}
		})
	}
	t.Run("unknown event is ignored", func(t *testing.T) {
		got, err := c.Parse(providers.Delivery{Body: []byte(`{"hook":{"event":"credentials_session.state.change"},"data":{"state":"success"}}`)})
		if err != nil || got != nil {
			t.Fatalf("Parse = %+v, %v; want nothing", got, err)
		}
	})
}

func TestParse_ErrorsCarryNoBody(t *testing.T) {
	c := newTestClient(t, "", nil)
	body := `{"hook":{"event":"order.completed"},"data":{"order_id":"","metadata":{"email":"canary+pii@example.test"}}}`
	_, err := c.Parse(providers.Delivery{Body: []byte(body)})
	if err == nil || strings.Contains(err.Error(), "canary") {
		t.Fatalf("err = %v; want an error without body bytes", err)
	}
}

// TestAuthenticate is the W2/W4 token matrix: every bad case is refused.
func TestAuthenticate(t *testing.T) {
	c := newTestClient(t, "", nil) // tokens: current and previous
	tests := []struct {
		name   string
		values []string // nil: header absent
		ok     bool
	}{
		{"current token", []string{testToken}, true},
		{"previous token during rotation", []string{"whk_test_token_previous"}, true},
		{"missing header", nil, false},
		{"empty value", []string{""}, false},
		{"wrong token", []string{"whk_test_token_wrong"}, false},
		{"differently cased", []string{strings.ToUpper(testToken)}, false},
		{"leading space", []string{" " + testToken}, false},
		{"trailing space", []string{testToken + " "}, false},
		{"trailing newline", []string{testToken + "\n"}, false},
		{"prefix of the token", []string{testToken[:len(testToken)-1]}, false},
		{"token with extra", []string{testToken + "x"}, false},
		{"both tokens comma-joined", []string{testToken + ",whk_test_token_previous"}, false},
		{"repeated: bad then good", []string{"bad", testToken}, false},
		{"repeated: good then bad", []string{testToken, "bad"}, false},
		{"repeated: good twice", []string{testToken, testToken}, false},
		{"bearer scheme instead of token", []string{"Bearer " + testToken}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add(TokenHeader, v)
			}
			err := c.Authenticate(providers.Delivery{Header: h, Body: readFixture(t, "webhook_state_change.json")})
			if tt.ok && err != nil {
				t.Fatalf("Authenticate = %v; want ok", err)
			}
			if !tt.ok && !errors.Is(err, providers.ErrUnauthenticated) {
				t.Fatalf("Authenticate = %v; want ErrUnauthenticated", err)
			}
		})
	}
	t.Run("token in another header", func(t *testing.T) {
		h := http.Header{"Authorization": {"Bearer " + testToken}}
		if err := c.Authenticate(providers.Delivery{Header: h}); !errors.Is(err, providers.ErrUnauthenticated) {
			t.Fatalf("Authenticate = %v; want ErrUnauthenticated", err)
		}
	})
	t.Run("previous token refused after rotation ends", func(t *testing.T) {
		rotated := newTestClient(t, "", func(cfg *Config) { cfg.WebhookTokens = []string{testToken} })
		h := http.Header{TokenHeader: {"whk_test_token_previous"}}
		if err := rotated.Authenticate(providers.Delivery{Header: h}); !errors.Is(err, providers.ErrUnauthenticated) {
			t.Fatalf("Authenticate = %v; want ErrUnauthenticated", err)
		}
	})
}

func TestDedupeKey(t *testing.T) {
	c := newTestClient(t, "", nil)
	key := func(body []byte) string { return c.DedupeKey(providers.Delivery{Body: body}) }

	if got, want := key(readFixture(t, "webhook_state_change.json")), "123:verification_request.state.change:order_123:verification_request_456:completed:2025-01-01T12:00:00Z"; got != want {
		t.Errorf("state change key = %q; want %q", got, want)
	}
	if got, want := key(readFixture(t, "webhook_order_completed.json")), "123:order.completed:order_123:::2025-01-01T12:00:00Z"; got != want {
		t.Errorf("order.completed key = %q; want %q", got, want)
	}
	if got, want := key(readFixture(t, "webhook_legacy_string_id.json")), "999:verification_request.state.change:order_123:verification_request_456:processing:"; got != want {
		t.Errorf("legacy key = %q; want %q", got, want)
	}
	short := readFixture(t, "webhook_t17_short.json")
	sum := sha256.Sum256(short)
	if got, want := key(short), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("short form key = %q; want %q", got, want)
	}
	// Same hook id, different orders: different deliveries.
	a := []byte(`{"hook":{"id":5,"event":"order.completed"},"data":{"order_id":"A"}}`)
	b := []byte(`{"hook":{"id":5,"event":"order.completed"},"data":{"order_id":"B"}}`)
	if key(a) == key(b) {
		t.Error("two orders' order.completed share a key")
	}
	// A retry with the same body is the same delivery; a new state is not.
	first, retry := key(stateChange("processing")), key(stateChange("processing"))
	if first != retry || first == key(stateChange("completed")) {
		t.Error("keys do not separate states or do not repeat for identical bodies")
	}
	// A state that comes back later (processing, action required,
	// processing) is a new delivery under the same subscription hook.id.
	again := strings.Replace(string(stateChange("processing")), "2025-01-01T12:00:00Z", "2025-01-01T12:05:00Z", 1)
	if key(stateChange("processing")) == key([]byte(again)) {
		t.Error("a state that comes back later is thrown away as a duplicate")
	}
}

// F1 for Truework: a delivery authenticates iff its one X-Truework-Token
// equals a configured token byte for byte (the oracle is plain equality).
func FuzzAuthenticate(f *testing.F) {
	f.Add(testToken)
	f.Add("whk_test_token_previous")
	f.Add(strings.ToUpper(testToken))
	f.Add(testToken + " ")
	f.Add("")
	c := newTestClient(f, "", nil)
	f.Fuzz(func(t *testing.T, token string) {
		oracle := token == testToken || token == "whk_test_token_previous"
		h := http.Header{}
		h.Set(TokenHeader, token)
		err := c.Authenticate(providers.Delivery{Header: h, Body: []byte(`{}`)})
		if (err == nil) != oracle {
			t.Fatalf("Authenticate(%q) = %v, oracle = %v", token, err, oracle)
		}
	})
}

// F2 for Truework: Parse never panics, fails only with ErrMalformed, and
// every update it returns names an order.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"webhook_order_completed.json", "webhook_state_change.json", "webhook_t17_short.json",
		"webhook_state_action_requred.json", "webhook_applicant_action_required.json", "webhook_legacy_string_id.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{"hook":{"event":"verification_request.state.change"},"data":{"order_id":"o","state":7}}`))
	c := newTestClient(f, "", nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		ups, err := c.Parse(providers.Delivery{Body: body})
		if err != nil && !errors.Is(err, providers.ErrMalformed) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		for _, u := range ups {
			if u.OrderID == "" {
				t.Fatalf("an update without an order: %+v", u)
			}
		}
		if c.DedupeKey(providers.Delivery{Body: body}) == "" {
			t.Fatal("empty dedupe key")
		}
	})
}

// TestParse_OtherVersionIsRefusedClearly (issue 14): a webhook subscribed
// at another event version is refused with a message that names the
// version the portal reads and where to change it, not read as if it were
// 2023-10-30 nor dropped as merely malformed.
func TestParse_OtherVersionIsRefusedClearly(t *testing.T) {
	c := newTestClient(t, "https://api.truework-sandbox.com", nil)
	body := []byte(`{"version":"2022-08-01","hook":{"id":7,"event":"verification_request.state.change","target":"https://x","triggered_at":"2025-01-01T12:00:00Z"},"data":{"order_id":"order_123","state":"completed"}}`)
	_, err := c.Parse(providers.Delivery{Body: body})
	if !errors.Is(err, providers.ErrUnsupportedVersion) || errors.Is(err, providers.ErrMalformed) {
		t.Fatalf("got %v, want ErrUnsupportedVersion", err)
	}
	for _, want := range []string{"2022-08-01", "2023-10-30", "Developer Settings"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	// The documented version and the versionless short form are read.
	for _, f := range []string{"webhook_state_change.json", "webhook_t17_short.json"} {
		if _, err := c.Parse(providers.Delivery{Body: readFixture(t, f)}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

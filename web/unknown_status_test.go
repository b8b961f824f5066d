package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"caseverify/providers"
)

// TestUnknownStatus_EveryProviderMarksAndLogsIt: a status or event value an
// adapter does not know keeps the order's status and is logged, for all
// five providers (issue 16: only two did), by the one helper
// providers.LogUnknown, with the value and never the delivery's personal
// data (each body below carries a canary name and email).
func TestUnknownStatus_EveryProviderMarksAndLogsIt(t *testing.T) {
	ps, err := twSetup(t, map[string]string{"BASE_URL": "http://localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	unknown := map[string]struct {
		path, body, value string
	}{
		"truv": {"", `{"webhook_id":"w1","event_type":"order-status-updated","order_id":"o1","employer_id":"e1",
			"status":"brand_new_state","updated_at":"2024-07-11T21:40:48+00:00","applicant":{"first_name":"Zqxwv","email":"canary+pii@example.test"}}`, "brand_new_state"},
		"truework": {"", `{"version":"2023-10-30","hook":{"id":1,"event":"verification_request.state.change","triggered_at":"2025-01-01T12:00:00Z"},
			"data":{"order_id":"o1","state":"brand-new-state","verification_request_id":"vr1","metadata":{"name":"Zqxwv","email":"canary+pii@example.test"}}}`, "brand-new-state"},
		"payscore": {"", `{"code":"SOMETHING_NEW","screening_group_id":"g1","screening_id":"s1",
			"value":{"applicant_first_name":"Zqxwv","applicant_email":"canary+pii@example.test"}}`, "SOMETHING_NEW"},
		"accountchek": {"", "orderId=3f2504e0-4f89-41d3-9a0c-0305e82c3301&orderStatus=5999&firstName=Zqxwv&email=canary%2Bpii%40example.test", "5999"},
		"truuth": {"/callback", `{"verificationId":"6f1c2a9e-4b7d-4c1e-9a53-0d2f8e7b1a05","externalRefId":"ord_1","status":"BRAND_NEW",
			"identityOwner":{"givenName":"Zqxwv","email":"canary+pii@example.test"}}`, "BRAND_NEW"},
	}
	if len(ps.list) != len(unknown) {
		t.Fatalf("%d providers, %d cases", len(ps.list), len(unknown))
	}
	for _, p := range ps.list {
		c, ok := unknown[p.Name]
		if !ok {
			t.Errorf("no unknown-status case for %s", p.Name)
			continue
		}
		ups, err := p.Webhooks.Parse(providers.Delivery{Body: []byte(c.body), Path: c.path})
		if err != nil {
			t.Errorf("%s: parse: %v", p.Name, err)
			continue
		}
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		marked := 0
		for _, u := range ups {
			if u.Unknown {
				marked++
				if u.Status != "" {
					t.Errorf("%s: an unknown value moved the status to %s", p.Name, u.Status)
				}
			}
			providers.LogUnknown(log, p.Name, u)
		}
		out := logs.String()
		if marked == 0 || !strings.Contains(out, "unknown status") || !strings.Contains(out, c.value) || !strings.Contains(out, "provider="+p.Name) {
			t.Errorf("%s: unknown value %q not marked (%d) or not logged:\n%s", p.Name, c.value, marked, out)
		}
		if strings.Contains(out, "Zqxwv") || strings.Contains(out, "canary") {
			t.Errorf("%s: the log repeats personal data from the delivery:\n%s", p.Name, out)
		}
	}
}

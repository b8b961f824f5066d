package payscore

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

// Spec.md §7: an unknown webhook code changes no status and is marked
// Unknown, so the portal logs it (providers.LogUnknown: the code only, it is
// Payscore's vocabulary, not applicant data). A known code is not marked.
func TestParse_UnknownCodeIsMarked(t *testing.T) {
	c := mustClient(t, Config{})
	body := []byte(`{"code":"SOMETHING_NEW","screening_group_id":"g","screening_id":"s","value":{"applicant_first_name":"Canary","applicant_email":"canary@example.test"}}`)
	ups, err := c.Parse(providers.Delivery{Body: body})
	if err != nil || len(ups) != 1 || ups[0].Status != "" || ups[0].Outcome != "" || ups[0].RawEvent != "SOMETHING_NEW" || !ups[0].Unknown {
		t.Fatalf("got %+v, %v", ups, err)
	}
	if ups[0].Detail != "" {
		t.Fatalf("the update repeats the body: %+v", ups[0])
	}
	known, err := c.Parse(providers.Delivery{Body: fixture(t, "no_income.json")})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range known {
		if u.Unknown {
			t.Fatalf("a known code is marked unknown: %+v", u)
		}
	}
}

// The report data Payscore documents has no time in it: the expiry is then
// 14 days after the fetch (not zero, which would keep the report forever).
func TestFetchReport_ExpiryWithoutTimestamps(t *testing.T) {
	raw := string(fixture(t, "api/report_data_single.json"))
	stripped := strings.Replace(raw, `"completed_at_timestamp": 1693327958,`, "", 1)
	if stripped == raw {
		t.Fatal("the fixture has no completed_at_timestamp to remove")
	}
	clk := newClock()
	s := newStub(t, answer(200, stripped))
	rep, err := s.client(t, Config{Now: clk.Now}).FetchReport(context.Background(), providers.OrderRef{OrderID: exGroup}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(14 * 24 * time.Hour); !rep.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt %v, want %v (14 days after the fetch)", rep.ExpiresAt, want)
	}
	if !rep.CreatedAt.IsZero() {
		t.Errorf("CreatedAt %v, want zero (unknown)", rep.CreatedAt)
	}
}

// With DocumentedReportOnly the emulator's report data has neither of its own
// timestamps, as the real Payscore's; the client still gives an expiry.
func TestEmulator_DocumentedReportOnly(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{DocumentedReportOnly: true})
	ctx := context.Background()
	order := sb.create(t, 1)
	sb.act(t, order.Links[0].SubID, connectAndFinish(DemoBank)...)
	sb.hooks.waitCode(CodeScreeningGroupCompleted, 1)
	resp, err := sb.client.call(ctx, "GET", "/api/v1/screening_groups/"+order.OrderID+"/report/data", nil)
	if err != nil || resp.status != 200 {
		t.Fatalf("report data: %+v %v", resp, err)
	}
	for _, f := range []string{"completed_at_timestamp", "report_expires_at_timestamp"} {
		if bytes.Contains(resp.body, []byte(f)) {
			t.Errorf("report data has the emulator's %s", f)
		}
	}
	rep, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if want := sb.clock.Now().Add(ReportLifetime); !rep.ExpiresAt.Equal(want) {
		t.Fatalf("ExpiresAt %v, want %v", rep.ExpiresAt, want)
	}
}

package payscore

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"caseverify/providers"
)

// TestCreateOrder_DocumentedShapeOnly (issue 14): against an emulator that
// answers exactly as Payscore documents a screening group (no applicant
// link anywhere) and refuses any request field Payscore does not document,
// a household order is created, each member is matched to their screening,
// and Payscore is asked to send the invitations itself. The old adapter
// failed after the group was made ("did not return a link").
func TestCreateOrder_DocumentedShapeOnly(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{Contract: DefaultContract()})
	var o *providers.Order
	o, err := sb.client.CreateOrder(context.Background(), providers.OrderRequest{Reference: "ref-doc", AgencyName: "County",
		Applicants: household(2), WebhookURL: sb.hooks.URL()})
	if err != nil {
		t.Fatalf("CreateOrder: %v", err)
	}
	if sb.client.GivesLinks() || o.Status != providers.StatusSent || len(o.Links) != 2 {
		t.Fatalf("order %+v", o)
	}
	for i, l := range o.Links {
		if l.SubID == "" || l.URL != "" || l.ApplicantRef != household(2)[i].Ref {
			t.Errorf("link %d %+v", i, l)
		}
	}
	sb.emu.mu.Lock()
	g := sb.emu.groups[o.OrderID]
	sb.emu.mu.Unlock()
	if g == nil || g.invitationsDisabled || !strings.Contains(g.webhookURL, "reference=ref-doc") {
		t.Fatalf("group at the emulator %+v", g)
	}
	// The documented group answer has no link field.
	st, body := sb.apiGet(t, "/api/v1/screening_groups/"+o.OrderID)
	if st != 200 || strings.Contains(body, "url") {
		t.Errorf("GET group %d %s", st, body)
	}
}

// TestEmulator_RefusesUndocumentedCreateFields: the emulator holds the
// adapter to the documented request; a per-applicant applicant_url (which
// no Payscore document shows) is refused by name.
func TestEmulator_RefusesUndocumentedCreateFields(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{Contract: DefaultContract()})
	for name, body := range map[string]string{
		"applicant field": `{"applicants":[{"first_name":"A","last_name":"B","email":"a@example.com","applicant_url":"https://x"}],"property":{"name":"P"},"is_decision_maker_paying":true,"decision_maker_display_name":"D","monthly_rent":0}`,
		"top-level field": `{"applicants":[{"first_name":"A","last_name":"B","email":"a@example.com"}],"property":{"name":"P"},"is_decision_maker_paying":true,"decision_maker_display_name":"D","monthly_rent":0,"correlation_id":"x"}`,
	} {
		st, out := sb.apiPost(t, "/api/v1/screening_groups", body)
		if st != http.StatusBadRequest || !(strings.Contains(out, "applicant_url") || strings.Contains(out, "correlation_id")) {
			t.Errorf("%s: %d %s", name, st, out)
		}
	}
}

// TestCreateOrder_LostAnswerFindsTheGroup (issue 14): the first create lands
// at Payscore but its answer is lost; the adapter lists the groups, finds
// the one carrying this order's reference and uses it. Exactly one group
// exists at the emulator: no second, billable group.
func TestCreateOrder_LostAnswerFindsTheGroup(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{LoseCreateAnswers: 1})
	o := sb.create(t, 2)
	sb.emu.mu.Lock()
	n, g := len(sb.emu.groups), sb.emu.groups[o.OrderID]
	sb.emu.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d groups at the emulator, want 1", n)
	}
	if g == nil || len(o.Links) != 2 || o.Links[0].URL == "" {
		t.Errorf("order %+v", o)
	}
	// With two lost answers the second POST is made only after a lookup
	// that finds nothing: here the lookup finds the first group.
	sb2 := newSandbox(t, EmulatorConfig{LoseCreateAnswers: 2})
	if _, err := sb2.client.CreateOrder(context.Background(), providers.OrderRequest{Reference: "r2", AgencyName: "County",
		Applicants: household(1), WebhookURL: sb2.hooks.URL()}); err != nil {
		t.Fatal(err)
	}
	sb2.emu.mu.Lock()
	defer sb2.emu.mu.Unlock()
	if len(sb2.emu.groups) != 1 {
		t.Errorf("%d groups, want 1", len(sb2.emu.groups))
	}
}

// TestFetchReport_AmountsInDollars: with ReportAmounts "dollars" the same
// numbers are read as dollars.
func TestFetchReport_AmountsInDollars(t *testing.T) {
	s := newStub(t, answer(200, `{"total_net_income":7000.5,"recurring":{"total_net_income":6650.25,"other":[1]},"non_recurring":null,"summary_timespan_length":30}`))
	rep, err := s.client(t, Config{Contract: Contract{ReportAmounts: "dollars"}}).FetchReport(context.Background(), providers.OrderRef{OrderID: exGroup}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.BankIncome.TotalNet != 700050 || rep.BankIncome.Recurring != 665025 {
		t.Errorf("income %+v", rep.BankIncome)
	}
}

// TestEmulator_ReportIncomeDataObjects: the emulator sends recurring and
// non_recurring as objects, as Payscore documents them.
func TestEmulator_ReportIncomeDataObjects(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	o := sb.create(t, 1)
	sb.act(t, o.Links[0].SubID, connectAndFinish(DemoBank)...)
	sb.hooks.waitCode(CodeScreeningGroupCompleted, 1)
	st, body := sb.apiGet(t, "/api/v1/screening_groups/"+o.OrderID+"/report/data")
	var d map[string]json.RawMessage
	if st != 200 || json.Unmarshal([]byte(body), &d) != nil {
		t.Fatalf("%d %s", st, body)
	}
	for _, k := range []string{"recurring", "non_recurring"} {
		if v := strings.TrimSpace(string(d[k])); !strings.HasPrefix(v, "{") {
			t.Errorf("%s = %s, want an IncomeData object", k, v)
		}
	}
}

func (sb *sandbox) apiGet(t *testing.T, path string) (int, string) {
	t.Helper()
	return sb.api(t, http.MethodGet, path, "")
}

func (sb *sandbox) apiPost(t *testing.T, path, body string) (int, string) {
	t.Helper()
	return sb.api(t, http.MethodPost, path, body)
}

// api calls the emulator's API with a fresh token.
func (sb *sandbox) api(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	tok, err := sb.client.bearer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	resp, err := sb.client.send(context.Background(), method, sb.base+path, b, tok, "application/json", maxBodyBytes)
	if err != nil {
		t.Fatal(err)
	}
	return resp.status, string(resp.body)
}

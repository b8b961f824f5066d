package payscore

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"caseverify/providers"
)

// TestHousehold_EndToEnd drives a two-member household through the adapter
// and the emulator over real HTTP: member 1 connects two demo banks, member
// 2 says they have no income; the webhooks arrive in order and
// authenticated; the report is fetched, normalized, and its PDF downloaded.
func TestHousehold_EndToEnd(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	ctx := context.Background()
	order := sb.create(t, 2)

	if order.Status != providers.StatusCreated {
		t.Errorf("status %q, want created (portal delivers the links)", order.Status)
	}
	if want := sb.clock.Now().Add(14 * 24 * time.Hour); !order.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt %v, want %v", order.ExpiresAt, want)
	}
	if len(order.Links) != 2 {
		t.Fatalf("links %+v", order.Links)
	}
	for i, l := range order.Links {
		if l.ApplicantRef != household(2)[i].Ref || l.SubID == "" || !strings.HasPrefix(l.URL, sb.base+"/apply/") {
			t.Errorf("link %d: %+v", i, l)
		}
	}
	m1, m2 := order.Links[0].SubID, order.Links[1].SubID

	sb.act(t, m1, connectAndFinish(DemoBank, DemoCreditUnion)...)
	sb.act(t, m2, []string{ActionConsent}, []string{ActionNoIncome})
	completedAt := sb.clock.Now()

	got := sb.hooks.waitCode(CodeScreeningGroupCompleted, 1)
	want := []string{
		CodeBeginScreening, CodeInitialTOSAndPrivacyPolicyConsent,
		CodeBankConnectionAccuracyConsent, CodeBankConnectionAccuracyConsent, CodeCombinedAccountsAccuracyConsent,
		CodeFinalAccuracyAndCompletenessConsent, CodeScreeningCompleted,
		CodeBeginScreening, CodeInitialTOSAndPrivacyPolicyConsent, CodeNoIncome,
		CodeScreeningGroupCompleted,
	}
	if !reflect.DeepEqual(codes(got), want) {
		t.Fatalf("webhook order\n got  %v\n want %v", codes(got), want)
	}
	var last providers.Update
	for i, r := range got {
		if r.authErr != nil {
			t.Errorf("delivery %d (%s) not authenticated: %v", i, r.code, r.authErr)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("delivery %d content type %q", i, ct)
		}
		ups, err := sb.client.Parse(providers.Delivery{Header: r.header, Body: r.body})
		if err != nil || len(ups) != 1 {
			t.Fatalf("parse %s: %v %v", r.code, ups, err)
		}
		if ups[0].OrderID != order.OrderID {
			t.Errorf("%s for order %q", r.code, ups[0].OrderID)
		}
		switch r.code {
		case CodeBeginScreening:
			if ups[0].Status != providers.StatusInProgress {
				t.Errorf("BEGIN_SCREENING → %q", ups[0].Status)
			}
		case CodeNoIncome:
			if ups[0].SubID != m2 || ups[0].Outcome != providers.OutcomeNoIncome || ups[0].Status != providers.StatusCompleted {
				t.Errorf("NO_INCOME → %+v", ups[0])
			}
		case CodeScreeningCompleted:
			if ups[0].SubID != m1 {
				t.Errorf("SCREENING_COMPLETED for %q", ups[0].SubID)
			}
		}
		last = ups[0]
	}
	if last.Status != providers.StatusCompleted || !last.ReportReady || !last.Refetch {
		t.Errorf("last update %+v", last)
	}

	// The status read back agrees with the webhooks.
	ups, err := sb.client.FetchStatus(ctx, providers.OrderRef{OrderID: order.OrderID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 3 {
		t.Fatalf("FetchStatus: %+v", ups)
	}
	if ups[0].SubID != m1 || ups[0].Status != providers.StatusCompleted || ups[0].Outcome != providers.OutcomeVerified {
		t.Errorf("member 1: %+v", ups[0])
	}
	if ups[1].SubID != m2 || ups[1].Status != providers.StatusCompleted || ups[1].Outcome != providers.OutcomeNoIncome {
		t.Errorf("member 2: %+v", ups[1])
	}
	if ups[2].SubID != "" || ups[2].Status != providers.StatusCompleted || !ups[2].ReportReady || ups[2].ReportExpired {
		t.Errorf("group: %+v", ups[2])
	}

	rep, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != providers.ReportBank || rep.ReportID != order.OrderID || len(rep.Raw) == 0 {
		t.Errorf("report header: kind %q id %q raw %d bytes", rep.Kind, rep.ReportID, len(rep.Raw))
	}
	if !rep.CreatedAt.Equal(completedAt) || !rep.ExpiresAt.Equal(completedAt.Add(14*24*time.Hour)) {
		t.Errorf("CreatedAt %v ExpiresAt %v, completed %v", rep.CreatedAt, rep.ExpiresAt, completedAt)
	}
	// 13 payroll deposits of $1,450.00 and $425.50 of other deposits over
	// 182 days; member 2 (no income) adds nothing.
	wantIncome := providers.BankIncome{
		TotalNet: 1927550, AvgMonthlyNet2: 380000, AvgMonthlyNet3: 350000, AvgMonthlyNet6: 321258,
		AvgMonthlyNet12: 0, Recurring: 1885000, NonRecurring: 42550, TimespanDays: 182,
	}
	if rep.BankIncome == nil || *rep.BankIncome != wantIncome {
		t.Errorf("BankIncome\n got  %+v\n want %+v", rep.BankIncome, wantIncome)
	}
	if len(rep.Accounts) != 3 {
		t.Fatalf("accounts: %+v", rep.Accounts)
	}
	chk, sav, cu := rep.Accounts[0], rep.Accounts[1], rep.Accounts[2]
	if chk.Institution != DemoBank || chk.Type != "checking" || chk.Mask != "4521" || chk.Balance != 158000 || chk.AvailableBalance != 152034 {
		t.Errorf("checking: %+v", chk)
	}
	if chk.MonthlyIncome != 315246 { // 1,885,000 × 30.4375 / 182
		t.Errorf("checking monthly income %d", chk.MonthlyIncome)
	}
	if len(chk.IncomeStreams) != 1 || !chk.IncomeStreams[0].Recurring || len(chk.IncomeStreams[0].Transactions) != 13 {
		t.Fatalf("checking streams: %+v", chk.IncomeStreams)
	}
	first := chk.IncomeStreams[0].Transactions[0]
	if first.Amount != 145000 || first.Date != completedAt.AddDate(0, 0, -3).Format("2006-01-02") {
		t.Errorf("first payroll deposit %+v", first)
	}
	if sav.Type != "savings" || sav.Balance != 420000 || len(sav.IncomeStreams) != 0 {
		t.Errorf("savings: %+v", sav)
	}
	if cu.Institution != DemoCreditUnion || len(cu.IncomeStreams) != 1 || cu.IncomeStreams[0].Recurring || len(cu.IncomeStreams[0].Transactions) != 3 {
		t.Errorf("credit union: %+v", cu)
	}

	pdf, err := sb.client.FetchReportPDF(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 500 {
		t.Errorf("PDF: %d bytes starting %q", len(pdf), pdf[:min(8, len(pdf))])
	}
}

// TestRefireSequence is reliability.md W8 end to end: SCREENING_COMPLETED →
// RE_OPEN_SCREENING → SCREENING_COMPLETED → SCREENING_GROUP_COMPLETED ×2.
// Nothing is deduplicated, the order goes back to in progress on the
// re-open, and both group completions ask for the (newer) report.
func TestRefireSequence(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{RefireGroupCompleted: 2})
	ctx := context.Background()
	order := sb.create(t, 1)
	sid := order.Links[0].SubID

	sb.act(t, sid, connectAndFinish(DemoBank)...)
	sb.hooks.waitCode(CodeScreeningGroupCompleted, 2)
	first, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil {
		t.Fatal(err)
	}

	sb.clock.Advance(3 * 24 * time.Hour)
	sb.act(t, sid, []string{ActionReopen}, []string{ActionContinue}, []string{ActionFinalConsent})
	got := sb.hooks.waitCode(CodeScreeningGroupCompleted, 4)

	var statusCodes []string
	var subStatus []providers.Status
	var groupUps []providers.Update
	var groupBodies [][]byte
	for _, r := range got {
		d := providers.Delivery{Header: r.header, Body: r.body}
		if r.authErr != nil {
			t.Fatalf("%s not authenticated: %v", r.code, r.authErr)
		}
		if key := sb.client.DedupeKey(d); key != "" {
			t.Fatalf("DedupeKey %q", key)
		}
		ups, err := sb.client.Parse(d)
		if err != nil || len(ups) != 1 {
			t.Fatalf("%s: %v %v", r.code, ups, err)
		}
		u := ups[0]
		if u.Status == "" {
			continue // consents: timeline only
		}
		statusCodes = append(statusCodes, r.code)
		if u.SubID != "" {
			subStatus = append(subStatus, u.Status)
		} else {
			groupUps = append(groupUps, u)
			groupBodies = append(groupBodies, r.body)
		}
	}
	wantCodes := []string{
		CodeBeginScreening, CodeScreeningCompleted, CodeScreeningGroupCompleted, CodeScreeningGroupCompleted,
		CodeReOpenScreening, CodeScreeningCompleted, CodeScreeningGroupCompleted, CodeScreeningGroupCompleted,
	}
	if !reflect.DeepEqual(statusCodes, wantCodes) {
		t.Fatalf("status webhooks\n got  %v\n want %v", statusCodes, wantCodes)
	}
	wantSub := []providers.Status{providers.StatusInProgress, providers.StatusCompleted, providers.StatusInProgress, providers.StatusCompleted}
	if !reflect.DeepEqual(subStatus, wantSub) {
		t.Errorf("screening statuses %v, want %v", subStatus, wantSub)
	}
	for i, u := range groupUps {
		if u.Status != providers.StatusCompleted || !u.ReportReady || !u.Refetch {
			t.Errorf("group completion %d: %+v", i, u)
		}
	}
	for i := 1; i < len(groupBodies); i++ {
		if !bytes.Equal(groupBodies[0], groupBodies[i]) {
			t.Errorf("group completion %d is not byte-identical to the first", i)
		}
	}

	second, err := sb.client.FetchReport(ctx, providers.OrderRef{OrderID: order.OrderID}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !second.ExpiresAt.Equal(first.ExpiresAt.Add(3 * 24 * time.Hour)) {
		t.Errorf("re-completed report expires %v, first %v: want 3 days later", second.ExpiresAt, first.ExpiresAt)
	}
}

// TestReportExpiry is reliability.md R1 against the emulator: the report is
// there at 13 d 23 h 59 m, the warning webhook fires from day 12, and at
// 14 days + 1 s the report answers 410 (ErrReportExpired), the group says
// is_report_expired, and REPORT_EXPIRED fires once.
func TestReportExpiry(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	ctx := context.Background()
	order := sb.create(t, 1)
	ref := providers.OrderRef{OrderID: order.OrderID}
	sb.act(t, order.Links[0].SubID, connectAndFinish(DemoBank)...)
	sb.hooks.waitCode(CodeScreeningGroupCompleted, 1)

	sb.clock.Advance(12*24*time.Hour - time.Second)
	if n := sb.emu.FireExpiryWebhooks(); n != 0 {
		t.Errorf("before day 12: %d webhooks", n)
	}
	sb.clock.Advance(time.Second)
	if n := sb.emu.FireExpiryWebhooks(); n != 1 {
		t.Errorf("day 12: %d webhooks, want 1", n)
	}
	if n := sb.emu.FireExpiryWebhooks(); n != 0 {
		t.Errorf("day 12 again: %d webhooks, want 0 (once each)", n)
	}
	got := sb.hooks.waitCode(CodeReportSoonToExpire, 1)
	ups, _ := sb.client.Parse(providers.Delivery{Header: got[len(got)-1].header, Body: got[len(got)-1].body})
	if len(ups) != 1 || !ups[0].ReportExpiresSoon {
		t.Errorf("soon-to-expire update %+v", ups)
	}

	sb.clock.Advance(2*24*time.Hour - time.Minute) // 13 d 23 h 59 m
	if _, err := sb.client.FetchReport(ctx, ref, ""); err != nil {
		t.Fatalf("report at 13d23h59m: %v", err)
	}
	sb.clock.Advance(time.Minute + time.Second) // 14 d + 1 s
	_, err := sb.client.FetchReport(ctx, ref, "")
	var pe *providers.ProviderError
	if !errors.Is(err, ErrReportExpired) || !errors.Is(err, providers.ErrNotFound) || !errors.As(err, &pe) {
		t.Fatalf("report at 14d+1s: %v", err)
	}
	if pe.HTTPStatus != 410 || pe.Message != "The Payscore report has expired (reports are kept 14 days)." || pe.Retryable {
		t.Errorf("410 error: %+v", pe)
	}
	if _, err := sb.client.FetchReportPDF(ctx, ref, ""); !errors.Is(err, ErrReportExpired) {
		t.Errorf("PDF at 14d+1s: %v", err)
	}
	st, err := sb.client.FetchStatus(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if g := st[len(st)-1]; !g.ReportExpired || g.ReportReady || g.Status != providers.StatusCompleted {
		t.Errorf("group status after expiry: %+v", g)
	}
	if n := sb.emu.FireExpiryWebhooks(); n != 1 {
		t.Errorf("day 14: %d webhooks, want 1", n)
	}
	got = sb.hooks.waitCode(CodeReportExpired, 1)
	ups, _ = sb.client.Parse(providers.Delivery{Header: got[len(got)-1].header, Body: got[len(got)-1].body})
	if len(ups) != 1 || !ups[0].ReportExpired || ups[0].Status != "" {
		t.Errorf("expired update %+v", ups)
	}
}

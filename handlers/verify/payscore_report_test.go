package verify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers/payscore"
	"caseverify/store"
)

// finishSteps is one member's happy path through the emulator.
var finishSteps = [][]string{{payscore.ActionConsent}, {payscore.ActionSelectBank, "Demo Bank"},
	{payscore.ActionLogin, "user_good", "pass_good"}, {payscore.ActionConfirmConnection}, {payscore.ActionContinue},
	{payscore.ActionFinalConsent}}

func (e *payscoreEnv) act(t *testing.T, sub string, steps ...[]string) {
	t.Helper()
	for _, st := range steps {
		if err := e.em.Act(sub, st[0], st[1:]...); err != nil {
			t.Fatalf("%s: %v", st[0], err)
		}
	}
}

func (e *payscoreEnv) sendHousehold(t *testing.T, members ...*store.Member) (*store.Order, []*store.OrderMember) {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for _, m := range members {
		ids = append(ids, m.ID)
	}
	o, err := e.svc.SendHousehold(ctx, verify.HouseholdRequest{User: e.user, CaseID: e.caseID, MemberIDs: ids,
		Provider: "payscore", Products: []string{"income"}, Channel: verify.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	oms, err := e.st.OrderMembers(ctx, e.user.AgencyID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o, oms
}

func (e *payscoreEnv) events(t *testing.T, id int64) []*store.Event {
	t.Helper()
	evs, err := e.st.Events(context.Background(), e.user.AgencyID, id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// count counts an order's timeline lines with the raw event (or, with
// rawEvent "", the detail) given.
func (e *payscoreEnv) count(t *testing.T, id int64, rawEvent, detail string) int {
	n := 0
	for _, ev := range e.events(t, id) {
		if (rawEvent != "" && ev.RawEvent == rawEvent) || (rawEvent == "" && ev.Detail == detail) {
			n++
		}
	}
	return n
}

// waitFor works the inbox until cond holds and nothing is pending.
func (e *payscoreEnv) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.process(t)
		_, pending, _ := e.st.InboxStats(context.Background(), "payscore")
		if pending == 0 && cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Every SCREENING_GROUP_COMPLETED fetches and stores the report once: the
// re-read it asks for and its own "report ready" are one fetch. Byte-
// identical re-fires are each fetched (W8: they are not duplicates).
func TestPayscore_GroupCompletedFetchesOnce(t *testing.T) {
	e := newPayscoreEnvWith(t, payscore.EmulatorConfig{RefireGroupCompleted: 2})
	o, oms := e.sendHousehold(t, e.members[0])
	e.act(t, oms[0].SubID, finishSteps...)
	e.waitFor(t, "two group completions", func() bool {
		return e.count(t, o.ID, payscore.CodeScreeningGroupCompleted, "") == 2
	})
	if n := e.count(t, o.ID, "", "Report received."); n != 2 {
		t.Fatalf("%d reports stored for 2 group completions, want 2 (one each)", n)
	}
}

// R1 against a Payscore that sends only its documented report fields (no
// times): the report still expires 14 days after completion; day 12's
// REPORT_SOON_TO_EXPIRE brings the expiry the "expires soon" banner reads
// within two days; at 13 d 23 h 59 m it is readable; at 14 d + 1 s the expiry
// sweep has purged its data without any REPORT_EXPIRED.
func TestPayscore_R1ExpiryWithoutReportTimes(t *testing.T) {
	e := newPayscoreEnvWith(t, payscore.EmulatorConfig{DocumentedReportOnly: true})
	ctx := context.Background()
	o, oms := e.sendHousehold(t, e.members[0])
	completed := e.clock.Now()
	e.act(t, oms[0].SubID, finishSteps...)
	// The webhook is worked a minute after the group completed, so the
	// fetch-time expiry is a minute later than Payscore's.
	e.clock.Add(time.Minute)
	e.waitFor(t, "the report", func() bool { return e.count(t, o.ID, "", "Report received.") == 1 })
	r, err := e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
	if err != nil || r.Purged || r.ExpiresAt.IsZero() {
		t.Fatalf("report %+v %v: want an expiry although Payscore sends no time", r, err)
	}
	if want := completed.Add(payscore.ReportLifetime + time.Minute); !r.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v (14 days after the fetch)", r.ExpiresAt, want)
	}

	// Day 12 from the group's completion (Payscore's clock): the warning.
	e.clock.Add(completed.Add(12 * 24 * time.Hour).Sub(e.clock.Now()))
	if n := e.em.FireExpiryWebhooks(); n != 1 {
		t.Fatalf("day 12: %d webhooks, want 1", n)
	}
	e.waitFor(t, "REPORT_SOON_TO_EXPIRE", func() bool { return e.count(t, o.ID, payscore.CodeReportSoonToExpire, "") == 1 })
	e.clock.Add(time.Second)
	r, _ = e.st.LatestReport(ctx, e.user.AgencyID, o.ID)
	// handlers/orders.go shows the banner when the expiry is within 48 h.
	if left := r.ExpiresAt.Sub(e.clock.Now()); left >= 48*time.Hour || left <= 0 || r.Purged {
		t.Fatalf("after the warning the report expires in %v, want within 48 h (banner)", left)
	}
	if got, _ := e.st.Order(ctx, e.user.AgencyID, o.ID); !strings.Contains(got.Detail, "expires in 2 days") {
		t.Fatalf("order detail %q", got.Detail)
	}

	e.clock.Add(completed.Add(payscore.ReportLifetime - time.Minute).Sub(e.clock.Now())) // 13 d 23 h 59 m
	e.svc.PurgeExpiredReports(ctx)
	if r, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); r.Purged || r.Data == nil {
		t.Fatal("report gone before 14 days")
	}
	e.clock.Add(time.Minute + time.Second) // 14 d + 1 s; no REPORT_EXPIRED sent
	if r, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); !r.Purged || r.Data != nil {
		t.Fatal("report displayed after 14 days")
	}
	e.svc.PurgeExpiredReports(ctx)
	e.clock.Add(-time.Hour) // the data is deleted, not only hidden by the clock
	if r, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); !r.Purged || r.Data != nil {
		t.Fatal("the expiry sweep left the report's data")
	}
}

// R1's other branch: REPORT_EXPIRED arriving early (day 3) purges at once.
func TestPayscore_ReportExpiredEarly(t *testing.T) {
	e := newPayscoreEnvWith(t, payscore.EmulatorConfig{DocumentedReportOnly: true})
	ctx := context.Background()
	o, oms := e.sendHousehold(t, e.members[0])
	e.act(t, oms[0].SubID, finishSteps...)
	e.waitFor(t, "the report", func() bool { return e.count(t, o.ID, "", "Report received.") == 1 })
	e.clock.Add(3 * 24 * time.Hour)
	body := `{"code":"REPORT_EXPIRED","screening_group_id":"` + o.ProviderOrderID + `"}`
	if _, err := e.st.AddInbox(ctx, "payscore", "early-expiry", "", []byte(body)); err != nil {
		t.Fatal(err)
	}
	e.process(t)
	if r, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); !r.Purged || r.Data != nil {
		t.Fatal("report readable after REPORT_EXPIRED")
	}
}

// A household order's timeline names the member each screening event is
// about (first name only); group events name no one.
func TestPayscore_TimelineNamesTheMember(t *testing.T) {
	e := newPayscoreEnv(t)
	o, oms := e.sendHousehold(t, e.members[0], e.members[1]) // Mara, Leo
	e.act(t, oms[1].SubID, []string{payscore.ActionConsent}, []string{payscore.ActionBankNotListed, "Small Alaskan Credit Union"})
	e.act(t, oms[0].SubID, finishSteps...)
	e.act(t, oms[1].SubID, []string{payscore.ActionNoIncome})
	e.waitFor(t, "the group completion", func() bool { return e.count(t, o.ID, payscore.CodeScreeningGroupCompleted, "") == 1 })
	for _, want := range []string{"Leo: Bank not supported: Small Alaskan Credit Union", "Leo: Said they have no income.",
		"Mara: Finished the Payscore screening."} {
		if e.count(t, o.ID, "", want) == 0 {
			var got []string
			for _, ev := range e.events(t, o.ID) {
				got = append(got, ev.Detail)
			}
			t.Fatalf("no timeline line %q in %q", want, got)
		}
	}
	for _, ev := range e.events(t, o.ID) {
		if strings.Contains(ev.Detail, "Okafor") {
			t.Errorf("a last name on the timeline: %q", ev.Detail)
		}
		if ev.RawEvent == payscore.CodeScreeningGroupCompleted && (strings.HasPrefix(ev.Detail, "Mara") || strings.HasPrefix(ev.Detail, "Leo")) {
			t.Errorf("a group event names a member: %q", ev.Detail)
		}
	}
}

// An unknown Payscore code keeps the order's status and shows on the
// timeline by its raw code.
func TestPayscore_UnknownCodeKeepsStatus(t *testing.T) {
	e := newPayscoreEnv(t)
	ctx := context.Background()
	o, oms := e.sendHousehold(t, e.members[0])
	e.act(t, oms[0].SubID, []string{payscore.ActionConsent}, []string{payscore.ActionBankNotListed, "Some Bank"})
	before := e.waitStatus(t, o.ID, store.StatusActionRequired)
	body := `{"code":"SOMETHING_NEW","screening_group_id":"` + o.ProviderOrderID + `","screening_id":"` + oms[0].SubID + `"}`
	if _, err := e.st.AddInbox(ctx, "payscore", "unknown-code", "", []byte(body)); err != nil {
		t.Fatal(err)
	}
	e.process(t)
	after, _ := e.st.Order(ctx, e.user.AgencyID, o.ID)
	if after.Status != before.Status || after.Outcome != before.Outcome {
		t.Fatalf("status %s/%s after an unknown code, was %s/%s", after.Status, after.Outcome, before.Status, before.Outcome)
	}
	if e.count(t, o.ID, "SOMETHING_NEW", "") != 1 {
		t.Fatal("the unknown code is not on the timeline")
	}
}

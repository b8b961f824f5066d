package verify_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
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
	processUntil(t, e.svc, func() bool {
		_, pending, _ := e.st.InboxStats(context.Background(), "payscore")
		return pending == 0 && cond()
	}, func() string { return fmt.Sprintf("%s did not happen within %v", what, settleWithin) })
}

// SCREENING_GROUP_COMPLETED fetches and stores the report once: the
// re-read it asks for and its own "report ready" are one fetch, and its
// byte-identical re-fire (Payscore sends no id or time) is recognised and
// makes no second copy (issue 13 item 3).
func TestPayscore_GroupCompletedFetchesOnce(t *testing.T) {
	e := newPayscoreEnvWith(t, payscore.EmulatorConfig{RefireGroupCompleted: 2})
	o, oms := e.sendHousehold(t, e.members[0])
	e.act(t, oms[0].SubID, finishSteps...)
	e.waitFor(t, "the group completion and its re-fire", func() bool {
		return e.delivered(t, payscore.CodeScreeningGroupCompleted) == 2
	})
	if n := e.count(t, o.ID, payscore.CodeScreeningGroupCompleted, ""); n != 1 {
		t.Fatalf("%d timeline lines for a completion and its re-fire, want 1", n)
	}
	if n := e.count(t, o.ID, "", "Report received."); n != 1 {
		t.Fatalf("%d reports stored for one completion fired twice, want 1", n)
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

// R1's other branch, and item 3 of issue 13: a REPORT_EXPIRED that
// Payscore's API does not confirm (a replay, or a forgery with the key)
// purges nothing; once the API says the report expired, its webhook purges
// at once, before the expiry sweep.
func TestPayscore_ReportExpiredOnlyWhenPayscoreSaysSo(t *testing.T) {
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
	if r, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); r.Purged || r.Data == nil {
		t.Fatal("report purged by a REPORT_EXPIRED Payscore's API does not confirm")
	}
	e.clock.Add(11*24*time.Hour + time.Hour) // past 14 days by Payscore's clock; the portal's sweep has not run
	if n := e.em.FireExpiryWebhooks(); n == 0 {
		t.Fatal("the emulator sent no expiry webhooks")
	}
	e.waitFor(t, "REPORT_EXPIRED", func() bool { return e.delivered(t, payscore.CodeReportExpired) == 1 })
	e.clock.Add(-2 * time.Hour) // before the portal's own expiry: the data is deleted, not only hidden by the clock
	if r, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); !r.Purged || r.Data != nil {
		t.Fatal("report readable after a REPORT_EXPIRED that Payscore's API confirms")
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

// Issue 13 item 3: every delivery of a household's verification (two
// completions around a re-open), captured and replayed shuffled, three
// times over, with a REPORT_EXPIRED Payscore's API does not confirm, leaves
// the order as it was: completed, no member re-opened, no extra report
// copy, nothing purged. On the old code the replays re-opened the
// household, stored a report per SCREENING_GROUP_COMPLETED and purged every
// report.
func TestPayscore_ReplayedDeliveriesChangeNothing(t *testing.T) {
	e := newPayscoreEnv(t)
	ctx := context.Background()
	o, oms := e.sendHousehold(t, e.members[0], e.members[1])
	e.act(t, oms[0].SubID, finishSteps...)
	e.act(t, oms[1].SubID, finishSteps...)
	e.waitStatus(t, o.ID, store.StatusCompleted)
	e.act(t, oms[1].SubID, []string{payscore.ActionReopen})
	e.waitStatus(t, o.ID, store.StatusInProgress)
	e.act(t, oms[1].SubID, []string{payscore.ActionContinue}, []string{payscore.ActionFinalConsent})
	e.waitFor(t, "the second completion's report", func() bool { return e.count(t, o.ID, "", "Report received.") == 2 })
	before, _ := e.st.Order(ctx, e.user.AgencyID, o.ID)
	itemsBefore, _ := e.st.ItemStatuses(ctx, e.user.AgencyID, o.ID)
	linesBefore := len(e.events(t, o.ID))

	captured := e.sent()
	captured = append(captured, []byte(`{"code":"REPORT_EXPIRED","screening_group_id":"`+o.ProviderOrderID+`"}`))
	var replay [][]byte
	for range 3 {
		replay = append(replay, captured...)
	}
	r := rand.New(rand.NewPCG(3, 13))
	r.Shuffle(len(replay), func(i, j int) { replay[i], replay[j] = replay[j], replay[i] })
	for i, b := range replay {
		if _, err := e.st.AddInbox(ctx, "payscore", fmt.Sprintf("replay-%d", i), "", b); err != nil {
			t.Fatal(err)
		}
	}
	e.waitFor(t, "the replays", func() bool { return true })

	after, _ := e.st.Order(ctx, e.user.AgencyID, o.ID)
	itemsAfter, _ := e.st.ItemStatuses(ctx, e.user.AgencyID, o.ID)
	if after.Status != before.Status || after.Outcome != before.Outcome || !maps.Equal(itemsAfter, itemsBefore) {
		t.Fatalf("after %d replays: %s/%s %v, before %s/%s %v", len(replay), after.Status, after.Outcome, itemsAfter,
			before.Status, before.Outcome, itemsBefore)
	}
	if n := e.count(t, o.ID, "", "Report received."); n != 2 {
		t.Fatalf("%d reports stored after the replays, want the 2 of the two completions", n)
	}
	if rep, _ := e.st.LatestReport(ctx, e.user.AgencyID, o.ID); rep.Purged || rep.Data == nil {
		t.Fatal("a replayed REPORT_EXPIRED purged the report")
	}
	if added := len(e.events(t, o.ID)) - linesBefore; added > 0 {
		t.Fatalf("the replays added %d timeline lines", added)
	}
}

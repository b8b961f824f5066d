package store_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"caseverify/store"
)

// mustOrder makes a case, a member and an order accepted by a provider.
func mustOrder(t *testing.T, s *store.Store, f fixture, provider string) *store.Order {
	t.Helper()
	ctx := context.Background()
	c, err := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "O-" + store.NewOrderReference(), Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "O", LastName: "P", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.CreateOrder(ctx, f.agencyA.ID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
		Provider: provider, Products: []string{"income"}, Notify: "agency", CreatedBy: f.userA.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AttachProviderOrder(ctx, f.agencyA.ID, o.ID, store.ProviderOrder{OrderID: "p-" + o.Reference, UserID: "u1",
		Link: "https://example.test/l/" + o.Reference}, "created"); err != nil {
		t.Fatal(err)
	}
	o, err = s.Order(ctx, f.agencyA.ID, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCaseReports(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "truv")
	if got, _ := s.CaseReports(ctx, f.agencyA.ID, o.CaseID); len(got) != 0 {
		t.Fatalf("reports before any: %v", got)
	}
	if _, err := s.SaveReport(ctx, f.agencyA.ID, o.ID, store.Report{Kind: "income", Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.CaseReports(ctx, f.agencyA.ID, o.CaseID)
	if err != nil || !got[o.ID] {
		t.Fatalf("CaseReports = %v, %v", got, err)
	}
	o2 := mustOrder(t, s, f, "payscore")
	s.SaveReport(ctx, f.agencyA.ID, o2.ID, store.Report{Kind: "bank", Data: []byte(`{}`), ExpiresAt: clk.Now().Add(time.Hour)})
	clk.Add(2 * time.Hour)
	got, _ = s.CaseReports(ctx, f.agencyA.ID, o2.CaseID)
	if readable, has := got[o2.ID]; !has || readable {
		t.Fatalf("expired report: has=%v readable=%v", has, readable)
	}
	if r, err := s.LatestReport(ctx, f.agencyA.ID, o2.ID); err != nil || !r.Purged || r.Data != nil {
		t.Fatalf("expired report readable: %+v %v", r, err)
	}
}

// A per-order webhook URL's secret is never kept in the inbox: the inbox
// keeps its hash, which still finds the order (and the secret itself does
// too, for rows stored before).
func TestInboxPathForSecret(t *testing.T) {
	s, _, path := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	c, _ := s.CreateCase(ctx, f.agencyA.ID, f.userA.ID, store.CaseInput{Number: "S-1", Program: "snap"})
	m, _ := s.AddMember(ctx, f.agencyA.ID, c.ID, store.MemberInput{FirstName: "S", LastName: "P", Relationship: "self"})
	o, err := s.CreateOrder(ctx, f.agencyA.ID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
		Provider: "accountchek", Products: []string{"assets"}, Notify: "agency", CreatedBy: f.userA.ID})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "Zk9secretPathCanary0123456789abcdefXYZ"
	if err := s.AttachProviderOrder(ctx, f.agencyA.ID, o.ID, store.ProviderOrder{OrderID: "ac-1", Secret: secret}, "created"); err != nil {
		t.Fatal(err)
	}
	stored := store.InboxPathForSecret(secret)
	if strings.Contains(stored, secret) {
		t.Fatalf("the inbox path holds the secret: %q", stored)
	}
	if _, err := s.AddInbox(ctx, "accountchek", "k", stored, []byte("orderId=ac-1&orderStatus=505")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{stored, "/" + secret} {
		got, err := s.OrderByInboxPath(ctx, "accountchek", p)
		if err != nil || got.ID != o.ID {
			t.Errorf("OrderByInboxPath(%q) = %v, %v", p, got, err)
		}
	}
	for _, p := range []string{"sha256:" + strings.Repeat("0", 64), "/wrong", "", "sha256:"} {
		if _, err := s.OrderByInboxPath(ctx, "accountchek", p); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("OrderByInboxPath(%q) = %v, want not found", p, err)
		}
	}
	if _, err := s.OrderByInboxPath(ctx, "truv", stored); !errors.Is(err, store.ErrNotFound) {
		t.Error("another provider's path finds the order")
	}
	if bytes.Contains(readAll(t, path, path+"-wal"), []byte(secret)) {
		t.Fatal("the secret is in the database files")
	}
}

// Issue 17: ApplyUpdate returns the order as its transaction left it
// (read once inside it, no read after the commit): the same order a read
// afterwards gives, through changes, repeats, sub-items, a completion and
// an ignored late update.
func TestApplyUpdate_ReturnsTheOrderAsStored(t *testing.T) {
	s, clk, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	o := mustOrder(t, s, f, "truv")
	t0 := clk.Now()
	for i, u := range []store.StatusUpdate{
		{Status: store.StatusSent, Source: store.SourceWebhook, At: t0},
		{Status: store.StatusSent, Source: store.SourceWebhook, At: t0.Add(time.Second), Detail: "again"},
		{SubID: "a", Status: store.StatusInProgress, Source: store.SourceWebhook, At: t0.Add(2 * time.Second)},
		{Status: store.StatusCompleted, Outcome: "verified", Source: store.SourceWebhook, At: t0.Add(3 * time.Second), Detail: "done"},
		{Status: store.StatusInProgress, Source: store.SourceWebhook, At: t0.Add(time.Second), Detail: "late"},
		{Source: store.SourcePoll, Detail: "a note"},
	} {
		clk.Add(time.Minute)
		got, _, err := s.ApplyUpdate(ctx, f.agencyA.ID, o.ID, u)
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		want, err := s.Order(ctx, f.agencyA.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("update %d returned\n%+v\nread afterwards\n%+v", i, *got, *want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"caseverify/providers/truv"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// Issue 18: two portal replicas on one PostgreSQL database, as behind a
// load balancer. Signed in on replica A, the same session cookie works on
// replica B (sessions and form tokens live in the database), a note added
// on B is saved, and a webhook delivered to replica A changes the order's
// row on B's open case page (A's commit announces it; B's listener hears it
// and B's stream re-reads the row).
//
// It runs in make test's PostgreSQL pass (CASEVERIFY_TEST_POSTGRES=1).
func TestBrowser_PostgresTwoReplicas(t *testing.T) {
	url := pgtest.URL(t)
	key := func(b byte) string { return hex.EncodeToString(bytes.Repeat([]byte{b}, 32)) }
	const secret = "replicas-truv-access-secret"
	env := map[string]string{
		"DATABASE_URL": url, "DB_POOL": "4",
		// Every replica has the same keys: sessions and encrypted data are shared.
		"SESSION_KEY": key(1), "DATA_KEY": key(2), "SANDBOX_KEY": key(3),
		// Truv as a configured provider, so the test can sign its webhook.
		"TRUV_BASE_URL": "http://127.0.0.1:9", "TRUV_CLIENT_ID": "replicas", "TRUV_ACCESS_SECRET": secret,
	}
	a := startPortal(t, env)
	b := startPortal(t, env)

	// A case with a sent Truv order, written as a third replica would.
	ctx := context.Background()
	st := a.openStore(t, store.Options{})
	demo, worker := demoWorker(t, st)
	c, err := st.CreateCase(ctx, demo.ID, worker.ID, store.CaseInput{Number: "REP-1", Program: "snap", AssignedUserID: worker.ID})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.AddMember(ctx, demo.ID, c.ID, store.MemberInput{FirstName: "Rhea", LastName: "Replica", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	ord, err := st.CreateOrder(ctx, demo.ID, store.NewOrder{CaseID: c.ID, MemberID: m.ID, Reference: store.NewOrderReference(),
		Provider: "truv", Products: []string{"income"}, Notify: store.NotifyAgency})
	if err != nil {
		t.Fatal(err)
	}
	providerID := "rep-" + ord.Reference
	if err := st.AttachProviderOrder(ctx, demo.ID, ord.ID, store.ProviderOrder{OrderID: providerID, Status: store.StatusSent,
		Link: "https://example.test/" + ord.Reference}, "created"); err != nil {
		t.Fatal(err)
	}

	bctx := newBrowser(t)
	signInCaseworker(t, bctx, a.URL) // the session cookie is for 127.0.0.1, both replicas' host
	casePage := fmt.Sprintf("%s/cases/%d", b.URL, c.ID)
	do(t, bctx, "open the case on replica B with A's session",
		chromedp.Navigate(casePage),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=note-form]`)),
		chromedp.SendKeys(chromedp.CSS(`#body`), "Added on replica B."),
		chromedp.Submit(chromedp.CSS(`[data-testid=note-form]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid=notes]`)))
	waitFor(t, bctx, b, "the note saved on B", 10*time.Second,
		`document.querySelector('[data-testid=notes]').textContent.includes('Added on replica B.')`)
	waitFor(t, bctx, b, "the order row, sent", 10*time.Second,
		`!!document.querySelector('[data-testid=order][data-status=sent]')`)
	// Whether the stream connects before or after the webhook, the page
	// ends current: a stream that opens after a change sends the state.
	body, _ := json.Marshal(map[string]any{
		"webhook_id": "rep-hook-1", "event_type": truv.EventOrderStatusUpdated, "event_created_at": time.Now().UTC().Format(time.RFC3339),
		"order_id": providerID, "status": "no_data", "product": "income", // no report to fetch
	})
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/webhooks/truv", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(truv.HeaderSignature, truv.Sign(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("webhook to replica A: %d", resp.StatusCode)
	}
	// No reload: the row changes on B's page because A committed.
	waitFor(t, bctx, b, "B's page shows the order failed from A's webhook", 15*time.Second,
		`!!document.querySelector('[data-testid=order][data-status=failed]')`)
	if strings.Contains(a.logs.String(), "Rhea") || strings.Contains(b.logs.String(), "Rhea") {
		t.Error("a member's name reached a replica's log")
	}
}

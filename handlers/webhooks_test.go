package handlers_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"caseverify/handlers"
	"caseverify/handlers/verify"
	"caseverify/providers/truv"
	"caseverify/store"
)

const whSecret = "test-access-secret"

// webhookServer is the real router with a Truv adapter as the receiver.
func webhookServer(t *testing.T) (*echo.Echo, *store.Store, *verify.Service, *bytes.Buffer) {
	t.Helper()
	s := newServer(t, false)
	c, err := truv.New(truv.Config{BaseURL: "http://127.0.0.1:1", ClientID: "id", AccessSecret: whSecret})
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	svc := verify.New(s.store, log, verify.Config{Messages: handlers.LinkMessages{}, Providers: []*verify.Provider{{Name: "truv", Label: "Truv", Verifier: c, Webhooks: c}}})
	h := handlers.New(s.store, log, sessions.NewCookieStore(bytes.Repeat([]byte{2}, 32)), svc, handlers.Config{CSRFKey: []byte("k")})
	e := echo.New()
	e.IPExtractor = echo.ExtractIPDirect()
	h.Register(e)
	return e, s.store, svc, logs
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func postWebhook(e *echo.Echo, path string, body []byte, headers map[string][]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range headers {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

const canaryBody = `{"webhook_id":"w1","event_type":"order-status-updated","event_created_at":"2026-11-23T10:00:00Z",` +
	`"updated_at":"2026-11-23T10:00:00+00:00","product":"income","user_id":"u1","order_id":"unknown-order",` +
	`"order_number":"CV-X","employer_id":"e1","status":"completed","first_name":"Zqxwv Canarytest"}`

// The signature matrix at the HTTP level (reliability.md W2): every bad
// delivery gets 401 and nothing is stored; the good one gets 200 once.
func TestWebhook_SignatureMatrix(t *testing.T) {
	e, st, _, logs := webhookServer(t)
	body := []byte(canaryBody)
	good := sign(whSecret, body)
	flipped := append([]byte(nil), body...)
	flipped[10] ^= 1
	badSig := []byte(good)
	badSig[len(badSig)-1] ^= 1
	cases := map[string]map[string][]string{
		"missing header":  {},
		"empty":           {"X-Webhook-Sign": {""}},
		"wrong secret":    {"X-Webhook-Sign": {sign("other", body)}},
		"body bit flip":   {"X-Webhook-Sign": {sign(whSecret, flipped)}},
		"sig bit flip":    {"X-Webhook-Sign": {string(badSig)}},
		"v2 prefix":       {"X-Webhook-Sign": {"v2=" + strings.TrimPrefix(good, "v1=")}},
		"no prefix":       {"X-Webhook-Sign": {strings.TrimPrefix(good, "v1=")}},
		"uppercase hex":   {"X-Webhook-Sign": {"v1=" + strings.ToUpper(strings.TrimPrefix(good, "v1="))}},
		"truncated":       {"X-Webhook-Sign": {good[:len(good)-2]}},
		"repeated header": {"X-Webhook-Sign": {"v1=00", good}},
	}
	for name, h := range cases {
		if rec := postWebhook(e, "/webhooks/truv", body, h); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, rec.Code)
		}
	}
	if total, _, _ := st.InboxStats(context.Background(), "truv"); total != 0 {
		t.Fatalf("%d deliveries stored from bad signatures", total)
	}
	for range 3 { // the same delivery three times is stored once
		if rec := postWebhook(e, "/webhooks/truv", body, map[string][]string{"X-Webhook-Sign": {good}}); rec.Code != http.StatusOK {
			t.Fatalf("good delivery: %d", rec.Code)
		}
	}
	if total, pending, _ := st.InboxStats(context.Background(), "truv"); total != 1 || pending != 1 {
		t.Fatalf("inbox total=%d pending=%d, want 1/1", total, pending)
	}
	if strings.Contains(logs.String(), "Canarytest") {
		t.Error("the log holds body bytes")
	}
	if rec := postWebhook(e, "/webhooks/nope", body, nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown provider: %d", rec.Code)
	}
}

// W11: over 1 MiB is refused with 413, with or without Content-Length.
func TestWebhook_BodyLimit(t *testing.T) {
	e, st, _, _ := webhookServer(t)
	big := bytes.Repeat([]byte("a"), 1<<20+1)
	if rec := postWebhook(e, "/webhooks/truv", big, map[string][]string{"X-Webhook-Sign": {sign(whSecret, big)}}); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("with Content-Length: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/truv", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1 // chunked
	req.Header.Set("X-Webhook-Sign", sign(whSecret, big))
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: %d", rec.Code)
	}
	if total, _, _ := st.InboxStats(context.Background(), "truv"); total != 0 {
		t.Fatal("an oversized delivery was stored")
	}
}

// X3: a validly signed delivery for an order the portal does not know is
// acknowledged, processed as ignored, and creates nothing.
func TestWebhook_UnknownOrderIgnored(t *testing.T) {
	e, st, svc, _ := webhookServer(t)
	body := []byte(canaryBody)
	if rec := postWebhook(e, "/webhooks/truv", body, map[string][]string{"X-Webhook-Sign": {sign(whSecret, body)}}); rec.Code != http.StatusOK {
		t.Fatalf("got %d", rec.Code)
	}
	ok, err := svc.ProcessNext(context.Background())
	if err != nil || !ok {
		t.Fatalf("process: %v %v", ok, err)
	}
	// Inside the grace period it waits for the order to appear; nothing else happens.
	if _, pending, _ := st.InboxStats(context.Background(), "truv"); pending != 1 {
		t.Fatalf("pending = %d", pending)
	}
}

// W10: 50 goroutines send 10 distinct events 5 times each for one order at
// once: every answer is 2xx, and each event is stored exactly once.
func TestWebhook_ConcurrentDuplicates(t *testing.T) {
	e, st, _, _ := webhookServer(t)
	const events, copies = 10, 5
	var bodies [][]byte
	for i := range events {
		bodies = append(bodies, []byte(strings.Replace(canaryBody, `"webhook_id":"w1"`, `"webhook_id":"w`+itoa(int64(i))+`"`, 1)))
	}
	type result struct{ code int }
	results := make(chan result, events*copies)
	var wg sync.WaitGroup
	for i := range events * copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := bodies[i%events]
			rec := postWebhook(e, "/webhooks/truv", b, map[string][]string{"X-Webhook-Sign": {sign(whSecret, b)}})
			results <- result{rec.Code}
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r.code != http.StatusOK {
			t.Fatalf("answer %d", r.code)
		}
	}
	if total, _, _ := st.InboxStats(context.Background(), "truv"); total != events {
		t.Fatalf("%d deliveries stored, want %d", total, events)
	}
}

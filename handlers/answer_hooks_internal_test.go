package handlers

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"caseverify/metrics"
	"caseverify/store"
	"caseverify/store/pgtest"
)

// headerWatcher calls onHeader when the response's status goes out, the
// moment the browser can act on it.
type headerWatcher struct {
	http.ResponseWriter
	onHeader func()
}

func (w *headerWatcher) WriteHeader(code int) { w.onHeader(); w.ResponseWriter.WriteHeader(code) }

// A refused post releases its form token before the refusal reaches the
// browser, and a post that acted records its result before the redirect
// does: the user may send the corrected form the instant the 422 arrives.
// Before, the release ran after the response was written, so a quick resend
// could find the token still held and get 409 "Already being done" (seen on
// PostgreSQL under load in CI: TestFormToken_DoublePostActsOnce).
func TestOncePerForm_SettledBeforeTheResponse(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.DatabaseURL(t, "f.db"), store.Options{DataKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := st.CreateAgency(ctx, "Form Agency")
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, a.ID, store.NewUser{Email: "f@a.gov", Name: "F", Role: store.RoleCaseworker, Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{store: st, log: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
	e := echo.New()

	for _, tc := range []struct {
		name  string
		next  echo.HandlerFunc
		check func(t *testing.T, token string)
	}{
		{"refused", func(c echo.Context) error { return c.String(http.StatusUnprocessableEntity, "fix the form") },
			func(t *testing.T, token string) {
				first, _, err := st.ClaimFormPost(ctx, u.ID, token)
				if err != nil || !first {
					t.Errorf("when the 422 went out the token was still held (first=%v, %v); want it released", first, err)
				}
			}},
		{"acted", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/cases/7") },
			func(t *testing.T, token string) {
				first, result, err := st.ClaimFormPost(ctx, u.ID, token)
				if err != nil || first || result != "/cases/7" {
					t.Errorf("when the 303 went out: first=%v result=%q (%v); want the result recorded", first, result, err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			token := "tok-" + tc.name
			form := url.Values{formTokenField: {token}}
			req := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(form.Encode()))
			req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
			req = req.WithContext(context.WithValue(req.Context(), userKey, u))
			checked := false
			w := &headerWatcher{ResponseWriter: httptest.NewRecorder(), onHeader: func() { checked = true; tc.check(t, token) }}
			if err := h.oncePerForm(tc.next)(e.NewContext(req, w)); err != nil {
				t.Fatal(err)
			}
			if !checked {
				t.Fatal("no response was written")
			}
		})
	}
}

// A webhook delivery is counted in /metrics before its answer reaches the
// sender (the old code counted it after writing the answer, so a scrape
// right after a refused delivery could miss it: the metrics browser test's
// race).
func TestCountWebhooks_CountedBeforeTheAnswer(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.DatabaseURL(t, "m.db"), store.Options{DataKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))
	h := &Handler{store: st, log: log}
	const series = `caseverify_webhook_deliveries_total{provider="twilio",result="auth_failed"} `
	for _, tc := range []struct {
		name string
		next echo.HandlerFunc
	}{
		{"written", func(c echo.Context) error { return c.NoContent(http.StatusForbidden) }},
		{"returned", func(c echo.Context) error { return echo.NewHTTPError(http.StatusForbidden) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New(st)
			h.cfg.Metrics = m
			e := echo.New()
			e.POST("/webhooks/twilio/:kind", tc.next, h.countWebhooks)
			atAnswer := false
			w := &headerWatcher{ResponseWriter: httptest.NewRecorder(), onHeader: func() {
				rec := httptest.NewRecorder()
				m.Handler(log).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
				atAnswer = strings.Contains(rec.Body.String(), series+"1\n")
			}}
			e.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/twilio/sms", nil))
			if !atAnswer {
				t.Error("when the 403 went out the delivery was not counted yet")
			}
		})
	}
}

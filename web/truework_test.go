package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers/truework"
	"caseverify/store"
)

const (
	twDataKey      = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	twSessionKey   = "b1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	twWebhookToken = "cv-truework-hook-Zr81qLm4Vt0Xb7Kd"
	twLiveKey      = "tw_sk_live_cv_test_Qm3Lr8Zt"
)

// twSetup runs loadConfig and setupProviders on vars, the way serve does.
func twSetup(t *testing.T, vars map[string]string) (*providerSet, error) {
	t.Helper()
	if vars["SANDBOX"] == "false" {
		for k, v := range map[string]string{"BASE_URL": "https://verify.county.gov", "DATA_KEY": twDataKey, "SESSION_KEY": twSessionKey} {
			if _, ok := vars[k]; !ok {
				vars[k] = v
			}
		}
	}
	vars["DATABASE_URL"] = filepath.Join(t.TempDir(), "c.db")
	getenv := func(k string) string { return vars[k] }
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	ps, err := setupProviders(cfg, getenv, "http://127.0.0.1:1", slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if ps != nil {
		t.Cleanup(func() {
			for _, c := range ps.closers {
				c()
			}
		})
	}
	return ps, err
}

// TestTrueworkConfig_Wiring: the real API with its three settings; the
// emulator in sandbox mode; nothing outside sandbox mode without a key; and
// every half-done configuration refused with the variable named (W14: no
// Truework without its webhook token).
func TestTrueworkConfig_Wiring(t *testing.T) {
	t.Run("sandbox uses the emulator", func(t *testing.T) {
		ps, err := twSetup(t, map[string]string{"SANDBOX": "true"})
		if err != nil {
			t.Fatal(err)
		}
		p := twFindProvider(ps, "truework")
		if p == nil || !p.Sandbox || ps.sandboxes["truework"] == nil {
			t.Fatalf("truework provider %+v, emulator %v", p, ps.sandboxes["truework"] != nil)
		}
		w := p.Verifier.(*truework.Client).Widget()
		if !strings.HasSuffix(w.ScriptURL, "/sandbox/truework/js/v1") || w.Env != "sandbox" {
			t.Errorf("widget settings %+v", w)
		}
	})
	t.Run("real API", func(t *testing.T) {
		ps, err := twSetup(t, map[string]string{"SANDBOX": "false", "TRUEWORK_API_KEY": twLiveKey, "TRUEWORK_PUBLISHABLE_KEY": "tw_pk_live_x",
			"TRUEWORK_WEBHOOK_TOKEN": twWebhookToken})
		if err != nil {
			t.Fatal(err)
		}
		p := twFindProvider(ps, "truework")
		if p == nil || p.Sandbox || ps.sandboxes["truework"] != nil {
			t.Fatalf("truework provider %+v, emulator mounted %v", p, ps.sandboxes["truework"] != nil)
		}
		if w := p.Verifier.(*truework.Client).Widget(); w.ScriptURL != truework.DefaultScriptURL || w.Env != "production" || w.PublishableKey != "tw_pk_live_x" {
			t.Errorf("widget settings %+v", w)
		}
	})
	t.Run("not offered outside sandbox without a key", func(t *testing.T) {
		ps, err := twSetup(t, map[string]string{"SANDBOX": "false"})
		if err != nil {
			t.Fatal(err)
		}
		if twFindProvider(ps, "truework") != nil {
			t.Fatal("truework offered without settings")
		}
	})
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"no webhook token", map[string]string{"SANDBOX": "false", "TRUEWORK_API_KEY": twLiveKey, "TRUEWORK_PUBLISHABLE_KEY": "tw_pk_live_x"}, "TRUEWORK_WEBHOOK_TOKEN is required"},
		{"no webhook token with a test server in sandbox mode either", map[string]string{"SANDBOX": "true", "TRUEWORK_API_KEY": "tw_sk_test_x",
			"TRUEWORK_PUBLISHABLE_KEY": "tw_pk_test_x", "TRUEWORK_BASE_URL": "http://127.0.0.1:9"}, "TRUEWORK_WEBHOOK_TOKEN is required"},
		{"real key in sandbox mode", map[string]string{"SANDBOX": "true", "TRUEWORK_API_KEY": "tw_sk_test_x", "TRUEWORK_PUBLISHABLE_KEY": "tw_pk_test_x",
			"TRUEWORK_WEBHOOK_TOKEN": twWebhookToken}, "SANDBOX is on but real credentials are set (TRUEWORK_API_KEY, TRUEWORK_PUBLISHABLE_KEY, TRUEWORK_WEBHOOK_TOKEN)"},
		{"no publishable key", map[string]string{"SANDBOX": "false", "TRUEWORK_API_KEY": twLiveKey, "TRUEWORK_WEBHOOK_TOKEN": twWebhookToken}, "TRUEWORK_PUBLISHABLE_KEY is required"},
		{"neither", map[string]string{"SANDBOX": "false", "TRUEWORK_API_KEY": twLiveKey}, "TRUEWORK_PUBLISHABLE_KEY and TRUEWORK_WEBHOOK_TOKEN are required"},
		{"http base URL outside sandbox", map[string]string{"SANDBOX": "false", "TRUEWORK_API_KEY": twLiveKey, "TRUEWORK_PUBLISHABLE_KEY": "tw_pk_live_x",
			"TRUEWORK_WEBHOOK_TOKEN": twWebhookToken, "TRUEWORK_BASE_URL": "http://api.truework.com"}, "TRUEWORK_BASE_URL must be an absolute https URL"},
		{"token without key outside sandbox", map[string]string{"SANDBOX": "false", "TRUEWORK_WEBHOOK_TOKEN": twWebhookToken}, "TRUEWORK_API_KEY is not"},
		{"publishable key without key", map[string]string{"SANDBOX": "false", "TRUEWORK_PUBLISHABLE_KEY": "tw_pk_test_x"}, "TRUEWORK_PUBLISHABLE_KEY is set but TRUEWORK_API_KEY is not"},
		{"a webhook token in sandbox mode", map[string]string{"SANDBOX": "true", "TRUEWORK_WEBHOOK_TOKEN": twWebhookToken}, "SANDBOX is on but real credentials are set (TRUEWORK_WEBHOOK_TOKEN)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := twSetup(t, tc.vars)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			for _, secret := range []string{twLiveKey, "tw_sk_test_x", twWebhookToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error repeats a secret: %v", err)
				}
			}
		})
	}
	t.Run("run refuses to start", func(t *testing.T) {
		vars := map[string]string{"SANDBOX": "false", "ADDR": "127.0.0.1:0", "BASE_URL": "https://verify.county.gov", "DATA_KEY": twDataKey,
			"SESSION_KEY": twSessionKey, "DATABASE_URL": filepath.Join(t.TempDir(), "c.db"), "TRUEWORK_API_KEY": twLiveKey,
			"TRUEWORK_PUBLISHABLE_KEY": "tw_pk_live_x"}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := run(ctx, nil, func(k string) string { return vars[k] }, strings.NewReader(""), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "TRUEWORK_WEBHOOK_TOKEN") {
			t.Fatalf("run = %v, want a refusal naming TRUEWORK_WEBHOOK_TOKEN", err)
		}
	})
}

func twFindProvider(ps *providerSet, name string) *verify.Provider {
	for _, p := range ps.list {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// TestTrueworkWebhook_TokenMatrix posts Truework webhooks to the running
// sandbox portal's /webhooks/truework (the real router, middleware and
// handler): a missing, wrong, other-case, suffixed or repeated
// X-Truework-Token, the token published in the source or another
// installation's gets 403 and stores nothing; this installation's token gets
// 200 and lands in the inbox.
func TestTrueworkWebhook_TokenMatrix(t *testing.T) {
	p := startPortal(t, map[string]string{"DATA_KEY": twDataKey})
	// The sandbox's token is this installation's own (data/sandbox.key).
	twWebhookToken := portalSandboxCredentials(t, p).TrueworkWebhookToken
	st, err := store.Open(context.Background(), filepath.Join(p.Dir, "caseverify.db"), store.Options{DataKey: bytesOfHexTW(t, twDataKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := func() int {
		total, _, err := st.InboxStats(context.Background(), "truework")
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	n := 0
	post := func(tokens []string) int {
		n++
		body := fmt.Sprintf(`{"version":"2023-10-30","hook":{"id":%d,"event":"order.completed","triggered_at":"2026-01-01T12:00:00Z"},"data":{"order_id":"order_matrix_%d"}}`, 9000+n, n)
		req, _ := http.NewRequest(http.MethodPost, p.URL+"/webhooks/truework", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for _, tok := range tokens {
			req.Header.Add(truework.TokenHeader, tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, r := range []struct {
		name   string
		tokens []string
		want   int
	}{
		{"missing", nil, 403},
		{"empty", []string{""}, 403},
		{"wrong", []string{"cv-truework-hook-Zr81qLm4Vt0Xb7Kx"}, 403},
		{"another installation's", []string{twSandboxToken(t)}, 403},
		{"other case", []string{strings.ToUpper(twWebhookToken)}, 403},
		{"with a suffix", []string{twWebhookToken + "x"}, 403},
		{"the sandbox default", []string{truework.DefaultSandboxWebhookToken}, 403},
		{"repeated, one right", []string{"wrong", twWebhookToken}, 403},
		{"right", []string{twWebhookToken}, 200},
	} {
		before := stored()
		if got := post(r.tokens); got != r.want {
			t.Errorf("%s: status %d, want %d", r.name, got, r.want)
		}
		want := before
		if r.want == 200 {
			want++
		}
		if got := stored(); got != want {
			t.Errorf("%s: inbox holds %d deliveries, want %d", r.name, got, want)
		}
	}
	if strings.Contains(p.logs.String(), twWebhookToken) {
		t.Error("the portal logged the webhook token")
	}
}

func bytesOfHexTW(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// twApplicantPage makes an order with an applicant page directly in the
// portal's database and returns the page's URL.
func twApplicantPage(t *testing.T, p *portal) string {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(p.Dir, "caseverify.db"), store.Options{DataKey: bytesOfHexTW(t, twDataKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.CreateAgency(ctx, "Pine County Social Services")
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, a.ID, store.NewUser{Email: "csp@pine.gov", Name: "Casey", Role: store.RoleCaseworker, Password: "long enough passphrase"})
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := st.CreateCase(ctx, a.ID, u.ID, store.CaseInput{Number: "CSP-1", Program: "snap"})
	m, err := st.AddMember(ctx, a.ID, cs.ID, store.MemberInput{FirstName: "Rosa", LastName: "Vega", Relationship: "self", Language: "es"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.CreateOrder(ctx, a.ID, store.NewOrder{CaseID: cs.ID, MemberID: m.ID, Reference: store.NewOrderReference(), Provider: "truework",
		Products: []string{"income"}, Notify: "agency", CreatedBy: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	tok := store.NewApplicantPageToken()
	if err := st.CreateApplicantPage(ctx, a.ID, o.ID, tok, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.AttachProviderOrder(ctx, a.ID, o.ID, store.ProviderOrder{OrderID: "tw_csp_order", Status: store.StatusSent,
		Link: p.URL + "/v/" + tok, WidgetToken: "stored-session-token"}, "test order"); err != nil {
		t.Fatal(err)
	}
	return p.URL + "/v/" + tok
}

// TestTrueworkApplicantPage_CSP: the applicant page is the only page whose
// Content-Security-Policy allows the real Truework.js, and only when the
// real Truework is configured; in sandbox mode the stand-in is the
// portal's own origin. Unknown tokens get the plain "ended" page.
func TestTrueworkApplicantPage_CSP(t *testing.T) {
	t.Run("real Truework", func(t *testing.T) {
		// The real adapter pointed at an emulator (TRUEWORK_BASE_URL); the
		// script is Truework's own.
		em := truework.NewEmulator(truework.EmulatorConfig{PublicURL: "http://unused.invalid"})
		defer em.Close()
		api := httptest.NewServer(em)
		defer api.Close()
		p := startPortal(t, map[string]string{"DATA_KEY": twDataKey, "TRUEWORK_API_KEY": truework.DefaultSandboxAPIKey,
			"TRUEWORK_PUBLISHABLE_KEY": "tw_pk_test_csp", "TRUEWORK_WEBHOOK_TOKEN": twWebhookToken, "TRUEWORK_BASE_URL": api.URL})
		page := twApplicantPage(t, p)
		resp, body := twGet(t, page)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d\n%s", resp.StatusCode, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self' https://js.truework.com https://*.truework.com",
			"frame-src 'self' https://js.truework.com https://*.truework.com", "frame-ancestors 'none'", "default-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP lacks %q: %s", want, csp)
			}
		}
		for _, want := range []string{`<script src="https://js.truework.com/v1">`, `data-publishable-key="tw_pk_test_csp"`, `data-env="sandbox"`,
			"Rosa", "Pine County Social Services", `lang="es"`, `src="/static/js/widget.js"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		for _, unwanted := range []string{"Vega", "CSP-1", "<script>"} {
			if strings.Contains(body, unwanted) {
				t.Errorf("page shows %q", unwanted)
			}
		}
		// The stored token is the fallback when a fresh one cannot be had.
		if !strings.Contains(body, `data-session-token="stored-session-token"`) {
			t.Error("the page does not fall back to the stored session token")
		}
		resp, _ = twGet(t, p.URL+"/login")
		if strings.Contains(resp.Header.Get("Content-Security-Policy"), "truework") {
			t.Error("a staff page allows Truework's script")
		}
	})
	t.Run("sandbox", func(t *testing.T) {
		p := startPortal(t, map[string]string{"DATA_KEY": twDataKey})
		resp, body := twGet(t, twApplicantPage(t, p))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d\n%s", resp.StatusCode, body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if strings.Contains(csp, "truework.com") || !strings.Contains(csp, "frame-src 'self'") || !strings.Contains(csp, "script-src 'self';") {
			t.Errorf("sandbox CSP = %s", csp)
		}
		if !strings.Contains(body, `<script src="`+p.URL+`/sandbox/truework/js/v1">`) {
			t.Error("the page does not load the Truework.js stand-in")
		}
		for _, bad := range []string{"/v/nope", "/v/" + strings.Repeat("A", 43)} {
			resp, body := twGet(t, p.URL+bad)
			if resp.StatusCode != 404 || !strings.Contains(body, `data-testid="link-ended"`) {
				t.Errorf("%s: status %d", bad, resp.StatusCode)
			}
		}
	})
}

func twGet(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Timeout: 20 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"caseverify/providers/accountchek"
	"caseverify/providers/payscore"
	"caseverify/providers/truework"
	"caseverify/providers/truuth"
	"caseverify/providers/truv"
	"caseverify/store"
)

// portalSandboxCredentials are the emulators' credentials of a running
// sandbox portal, derived from the key it made in its data folder.
func portalSandboxCredentials(t *testing.T, p *portal) sandboxCredentials {
	t.Helper()
	return sandboxCredentialsIn(t, p.Dir)
}

// sandboxCredentialsIn are the credentials of the sandbox key in dir.
func sandboxCredentialsIn(t *testing.T, dir string) sandboxCredentials {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "sandbox.key"))
	if err != nil {
		t.Fatalf("the sandbox portal made no sandbox.key: %v", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := newSandboxCredentials(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// twSandboxToken is the Truework webhook token of another sandbox
// installation (a fresh key).
func twSandboxToken(t *testing.T) string {
	t.Helper()
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"SANDBOX": "true", "DATABASE_URL": filepath.Join(t.TempDir(), "c.db")}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := newSandboxCredentials(cfg.SandboxKey)
	if err != nil {
		t.Fatal(err)
	}
	return c.TrueworkWebhookToken
}

// cfgOf loads the configuration of vars (a fresh data folder unless given).
func cfgOf(t *testing.T, vars map[string]string) (Config, error) {
	t.Helper()
	if _, ok := vars["DATABASE_URL"]; !ok {
		vars["DATABASE_URL"] = filepath.Join(t.TempDir(), "caseverify.db")
	}
	return loadConfig(func(k string) string { return vars[k] })
}

// Sandbox mode is on only when asked for or for a developer's own portal
// (an http BASE_URL on loopback); an https BASE_URL or a real credential
// with sandbox mode on stops the start, naming the variables and no value.
func TestConfig_SandboxIsNeverAnAccident(t *testing.T) {
	keys := map[string]string{"SESSION_KEY": testSessionKey, "DATA_KEY": testDataKey}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range keys {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	const realSecret = "truv-live-secret-Hq81Zx20"
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		sandbox bool
		refused []string // fragments of the refusal; nil: starts
	}{
		{"make run: nothing set", map[string]string{}, true, nil},
		{"loopback BASE_URL", map[string]string{"BASE_URL": "http://localhost:8080"}, true, nil},
		{"loopback IP BASE_URL", map[string]string{"BASE_URL": "http://127.0.0.1:8101"}, true, nil},
		{"https BASE_URL without SANDBOX", with(map[string]string{"BASE_URL": "https://verify.county.gov"}), false, nil},
		{"http BASE_URL elsewhere without SANDBOX", with(map[string]string{"BASE_URL": "http://verify.county.gov"}), false,
			[]string{"BASE_URL must be https outside sandbox mode"}},
		{"asked for on a LAN address", map[string]string{"SANDBOX": "true", "BASE_URL": "http://192.0.2.10:8080"}, true, nil},
		{"SANDBOX=false on loopback", with(map[string]string{"SANDBOX": "false", "BASE_URL": "http://localhost:8080"}), false,
			[]string{"BASE_URL must be https outside sandbox mode"}},
		{"sandbox with an https BASE_URL", with(map[string]string{"SANDBOX": "true", "BASE_URL": "https://verify.county.gov"}), true,
			[]string{"SANDBOX is on but BASE_URL is https"}},
		{"sandbox with real Truv", map[string]string{"SANDBOX": "true", "TRUV_BASE_URL": "https://prod.truv.com",
			"TRUV_CLIENT_ID": "client-live-1", "TRUV_ACCESS_SECRET": realSecret}, true,
			[]string{"SANDBOX is on but real credentials are set (TRUV_CLIENT_ID, TRUV_ACCESS_SECRET)"}},
		{"sandbox with every provider's key", map[string]string{"TRUEWORK_API_KEY": "tw_sk_live_0123456789", "PAYSCORE_CLIENT_ID": "c",
			"PAYSCORE_SECRET_KEY": realSecret, "ACCOUNTCHEK_USERNAME": "u", "ACCOUNTCHEK_PASSWORD": realSecret,
			"TRUUTH_API_KEY": "k", "TRUUTH_API_SECRET": realSecret}, true,
			[]string{"TRUEWORK_API_KEY", "PAYSCORE_CLIENT_ID", "PAYSCORE_SECRET_KEY", "ACCOUNTCHEK_USERNAME", "ACCOUNTCHEK_PASSWORD",
				"TRUUTH_API_KEY", "TRUUTH_API_SECRET"}},
		{"sandbox with Twilio", map[string]string{"TWILIO_ACCOUNT_SID": "AC0123", "TWILIO_AUTH_TOKEN": realSecret, "TWILIO_FROM": "+15555550100"},
			true, []string{"TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN"}},
		{"sandbox with a Twilio test server", map[string]string{"TWILIO_ACCOUNT_SID": "AC0123", "TWILIO_AUTH_TOKEN": realSecret,
			"TWILIO_FROM": "+15555550100", "TWILIO_BASE_URL": "http://127.0.0.1:9"}, true, nil},
		{"sandbox with an SMTP password", map[string]string{"SMTP_URL": "smtp://mailer:" + realSecret + "@smtp.county.gov:587"}, true,
			[]string{"SMTP_URL (with a password)"}},
		{"sandbox with a local mail catcher", map[string]string{"SMTP_URL": "smtp://localhost:1025?tls=none"}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := cfgOf(t, tc.vars)
			if tc.refused == nil {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.Sandbox != tc.sandbox {
					t.Fatalf("sandbox = %v, want %v", cfg.Sandbox, tc.sandbox)
				}
				return
			}
			if err == nil {
				t.Fatalf("started (sandbox %v); want a refusal", cfg.Sandbox)
			}
			for _, want := range tc.refused {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q lacks %q", err, want)
				}
			}
			if strings.Contains(err.Error(), realSecret) {
				t.Errorf("the refusal repeats a secret: %v", err)
			}
		})
	}
}

// Outside sandbox mode every provider base URL is https, and a provider
// secret shorter than 16 characters or published in the source (a sandbox
// value) stops the start.
func TestConfig_ProviderSecretsOutsideSandbox(t *testing.T) {
	base := map[string]string{"SANDBOX": "false", "BASE_URL": "https://verify.county.gov", "SESSION_KEY": testSessionKey, "DATA_KEY": testDataKey}
	good := map[string]string{"TRUV_BASE_URL": "https://prod.truv.com", "TRUV_CLIENT_ID": "client-live-1",
		"TRUV_ACCESS_SECRET": "truv-live-secret-Hq81Zx20", "ACCOUNTCHEK_USERNAME": "verifier@county.gov",
		"ACCOUNTCHEK_PASSWORD": "ac-live-password-Lq02", "ACCOUNTCHEK_BASE_URL": "https://verifierapi.accountchek.net"}
	for _, tc := range []struct {
		name, key, value, want string
	}{
		{"all good", "", "", ""},
		{"Truv over http", "TRUV_BASE_URL", "http://prod.truv.com", "TRUV_BASE_URL must be an absolute https URL"},
		{"AccountChek over http", "ACCOUNTCHEK_BASE_URL", "http://verifierapi.accountchek.net", "ACCOUNTCHEK_BASE_URL must be an absolute https URL"},
		{"Twilio over http", "TWILIO_BASE_URL", "http://api.twilio.com", "TWILIO_BASE_URL must be an absolute https URL"},
		{"short Truv secret", "TRUV_ACCESS_SECRET", "short-secret", "TRUV_ACCESS_SECRET must be at least 16 characters"},
		{"Truv sandbox secret", "TRUV_ACCESS_SECRET", truv.SandboxAccessSecret, "TRUV_ACCESS_SECRET is a sandbox value"},
		{"AccountChek sandbox password", "ACCOUNTCHEK_PASSWORD", accountchek.SandboxPassword, "ACCOUNTCHEK_PASSWORD"},
		{"Payscore sandbox key", "PAYSCORE_SECRET_KEY", payscore.SandboxSecretKey, "PAYSCORE_SECRET_KEY is a sandbox value"},
		{"Truework sandbox token", "TRUEWORK_WEBHOOK_TOKEN", truework.DefaultSandboxWebhookToken, "TRUEWORK_WEBHOOK_TOKEN is a sandbox value"},
		{"Truework sandbox key", "TRUEWORK_API_KEY", truework.DefaultSandboxAPIKey, "TRUEWORK_API_KEY is a sandbox value"},
		{"Truuth sandbox auth", "TRUUTH_WEBHOOK_AUTH", truuth.SandboxWebhookAuth, "TRUUTH_WEBHOOK_AUTH is a sandbox value"},
		{"Truuth short secret", "TRUUTH_API_SECRET", "s3cret", "TRUUTH_API_SECRET must be at least 16 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{}
			for _, m := range []map[string]string{base, good} {
				for k, v := range m {
					vars[k] = v
				}
			}
			if tc.key != "" {
				vars[tc.key] = tc.value
			}
			_, err := cfgOf(t, vars)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if tc.value != "" && !strings.HasPrefix(tc.value, "http") && strings.Contains(err.Error(), tc.value) {
				t.Errorf("the refusal repeats the secret: %v", err)
			}
		})
	}
}

// A sandbox's emulators and webhooks take only this installation's own
// credentials: the values published in the source open nothing, the
// AccountChek order list answers only by reference, and two installations
// have different credentials.
func TestSandbox_PerInstallationCredentials(t *testing.T) {
	p := startPortal(t, nil)
	own := portalSandboxCredentials(t, p)
	if other := sandboxCredentialsIn(t, startPortal(t, nil).Dir); other == own {
		t.Fatal("two installations have the same emulator credentials")
	}
	if fi, err := os.Stat(filepath.Join(p.Dir, "sandbox.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sandbox.key: %v %v, want 0600", fi.Mode().Perm(), err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	do := func(req *http.Request) int {
		t.Helper()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	acList := func(user, pass, query string) int {
		req, _ := http.NewRequest("GET", p.URL+"/sandbox/accountchek/v1/accountchekorders"+query, nil)
		req.SetBasicAuth(user, pass)
		return do(req)
	}
	if got := acList(accountchek.SandboxUsername, accountchek.SandboxPassword, "?referenceNumber=x"); got != 401 {
		t.Errorf("AccountChek emulator with the published password: %d, want 401", got)
	}
	if got := acList(accountchek.SandboxUsername, own.AccountChekPassword, ""); got != 422 {
		t.Errorf("AccountChek emulator list without a reference: %d, want 422 (no list of every agency's orders)", got)
	}
	if got := acList(accountchek.SandboxUsername, own.AccountChekPassword, "?referenceNumber=x"); got != 200 {
		t.Errorf("AccountChek emulator with this installation's password: %d, want 200", got)
	}
	truvReq, _ := http.NewRequest("GET", p.URL+"/sandbox/truv/v1/orders/?order_number=x", nil)
	truvReq.Header.Set("X-Access-Client-Id", truv.SandboxClientID)
	truvReq.Header.Set("X-Access-Secret", truv.SandboxAccessSecret)
	if got := do(truvReq); got != 401 {
		t.Errorf("Truv emulator with the published secret: %d, want 401", got)
	}
	twReq, _ := http.NewRequest("GET", p.URL+"/sandbox/truework/orders?search_key=x", nil)
	twReq.Header.Set("Authorization", "Bearer "+truework.DefaultSandboxAPIKey)
	if got := do(twReq); got != 401 {
		t.Errorf("Truework emulator with the published key: %d, want 401", got)
	}
	psReq, _ := http.NewRequest("POST", p.URL+"/sandbox/payscore/api/v1/tenants/auth",
		strings.NewReader(`{"client_id":"`+payscore.SandboxClientID+`","secret_key":"`+payscore.SandboxSecretKey+`"}`))
	psReq.Header.Set("Content-Type", "application/json")
	if got := do(psReq); got != 401 {
		t.Errorf("Payscore emulator with the published key: %d, want 401", got)
	}
	// Webhooks signed with the published secrets are forgeries.
	body := []byte(`{"event_type":"order-status-updated","webhook_id":"forged-1","order_id":"x","status":"completed"}`)
	forge := func(path, header, value string) int {
		req, _ := http.NewRequest("POST", p.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(header, value)
		return do(req)
	}
	if got := forge("/webhooks/truv", "X-WEBHOOK-SIGN", truv.Sign(truv.SandboxAccessSecret, body)); got != 401 {
		t.Errorf("Truv webhook signed with the published secret: %d, want 401", got)
	}
	if got := forge("/webhooks/payscore", payscore.SignatureHeader, payscore.Sign([]byte(payscore.SandboxSecretKey), body)); got != 401 {
		t.Errorf("Payscore webhook signed with the published key: %d, want 401", got)
	}
	if got := forge("/webhooks/truuth", "Authorization", truuth.SandboxWebhookAuth); got != 401 {
		t.Errorf("Truuth webhook with the published Authorization: %d, want 401", got)
	}
	if got := forge("/webhooks/truv", "X-WEBHOOK-SIGN", truv.Sign(own.TruvAccessSecret, body)); got != 200 {
		t.Errorf("Truv webhook signed with this installation's secret: %d, want 200", got)
	}
}

// A database that was run in sandbox mode, started outside it: the demo
// agency's accounts are disabled and their published passwords stop working,
// even if an administrator enables an account again. Back in sandbox mode
// the demo accounts are the sandbox's again.
func TestDemoAccounts_RetiredOutsideSandbox(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "caseverify.db")
	open := func() *store.Store {
		t.Helper()
		st, err := store.Open(ctx, db, store.Options{DataKey: bytesOfHex(t, testDataKey)})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	demo, err := seedDemo(ctx, st)
	if err != nil || len(demo) == 0 {
		t.Fatalf("seedDemo = %v, %v", demo, err)
	}
	if _, err := st.SignIn(ctx, demo[0].Email, demo[0].Password, "192.0.2.1"); err != nil {
		t.Fatalf("the demo password does not work in sandbox mode: %v", err)
	}
	st.Close()

	// The same database, started as a deployment.
	env := productionEnv(t, map[string]string{"DATABASE_URL": db, "TRUUTH_API_KEY": "", "TRUUTH_API_SECRET": "", "TRUUTH_TENANT": "", "TRUUTH_REGION": ""})
	p := startPortal(t, env)
	if !strings.Contains(p.logs.String(), "demo agency's accounts are disabled") {
		t.Error("the start does not say that it disabled the demo accounts")
	}
	st = open()
	defer func() { st.Close() }()
	a, err := st.AgencyByName(ctx, demoAgency)
	if err != nil {
		t.Fatal(err)
	}
	users, err := st.Users(ctx, a.ID)
	if err != nil || len(users) != len(demo) {
		t.Fatalf("demo users %v, %v", users, err)
	}
	for _, u := range users {
		if !u.Disabled {
			t.Errorf("%s is enabled outside sandbox mode", u.Email)
		}
		// An administrator enables it again: the published password still
		// does not work.
		if err := st.SetUserDisabled(ctx, a.ID, u.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	for i, d := range demo {
		if _, err := st.SignIn(ctx, d.Email, d.Password, fmt.Sprintf("192.0.2.%d", 10+i)); err == nil {
			t.Errorf("the published password of %s works outside sandbox mode", d.Email)
		}
	}
	for _, u := range users {
		if err := st.SetUserDisabled(ctx, a.ID, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}

	// Back in sandbox mode: the demo accounts work as the welcome says.
	if _, err := seedDemo(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SignIn(ctx, demo[0].Email, demo[0].Password, "192.0.2.30"); err != nil {
		t.Errorf("the demo account does not work back in sandbox mode: %v", err)
	}
}

// The command that creates users refuses the demo agency outside sandbox
// mode: its accounts would be disabled at the next start.
func TestUserCreate_RefusesDemoAgencyOutsideSandbox(t *testing.T) {
	vars := productionEnv(t, nil)
	var out bytes.Buffer
	err := run(context.Background(), []string{"user", "create", "--agency", demoAgency, "--email", "a@county.gov", "--name", "A"},
		func(k string) string { return vars[k] }, strings.NewReader("a-long-password-2026\n"), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "demo agency") {
		t.Fatalf("user create in the demo agency = %v; want a refusal", err)
	}
}

// The providers' HTTP client follows no redirect to plain http (a report
// PDF moved to an http URL would travel in clear); sandbox mode allows http
// on loopback only, where its emulators are.
func TestProviderClient_NoRedirectToHTTP(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("%PDF-1.7")) }))
	defer plain.Close()
	redirect := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/report.pdf", http.StatusFound)
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(redirect))
	defer tlsSrv.Close()
	httpSrv := httptest.NewServer(http.HandlerFunc(redirect))
	defer httpSrv.Close()

	get := func(c *http.Client, url string) error {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	prod := providerClient(false)
	prod.Transport = tlsSrv.Client().Transport // trusts the test certificate
	if err := get(prod, tlsSrv.URL+"/report.pdf"); err == nil || !strings.Contains(err.Error(), "not https") {
		t.Errorf("outside sandbox, https → http redirect: err = %v; want it refused", err)
	}
	if prod.Timeout <= 0 {
		t.Error("the providers' client has no timeout")
	}
	sandbox := providerClient(true)
	if err := get(sandbox, httpSrv.URL+"/report.pdf"); err != nil {
		t.Errorf("sandbox, loopback http redirect: %v; want it followed (the emulators)", err)
	}
	if err := noInsecureRedirect(true)(httptest.NewRequest("GET", "http://files.example.com/r.pdf", nil), nil); err == nil {
		t.Error("sandbox follows a redirect to http off this machine")
	}
}

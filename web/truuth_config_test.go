package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"caseverify/handlers/verify"
	"caseverify/providers"
	"caseverify/providers/truuth"
	"caseverify/store"
)

// Test settings for a production-like start (never real secrets).
const (
	testSessionKey = "6b1f0c3e9a8d7f2b5c4e1a0d9f8e7c6b5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b"
	testDataKey    = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	// testBearer and testBasic are webhook credentials that pass
	// truuth.ValidateWebhookAuth.
	testBearerToken = "cv-test-bearer-token-7Hq2xZ91"
	testBasicPass   = "S3cure-webhook-pass-2026"
)

var testBasicToken = base64.StdEncoding.EncodeToString([]byte("truuth-hooks:" + testBasicPass))

// productionEnv is a complete outside-sandbox configuration with Truuth's
// API settings but no TRUUTH_WEBHOOK_AUTH; overrides are applied on top
// ("" deletes a variable).
func productionEnv(t *testing.T, overrides map[string]string) map[string]string {
	vars := map[string]string{
		"ADDR":              "127.0.0.1:0",
		"DATABASE_URL":      filepath.Join(t.TempDir(), "caseverify.db"),
		"SANDBOX":           "false",
		"BASE_URL":          "https://verify.example.gov",
		"SESSION_KEY":       testSessionKey,
		"DATA_KEY":          testDataKey,
		"TRUUTH_API_KEY":    "live-api-key-not-real",
		"TRUUTH_API_SECRET": "live-api-secret-not-real",
		"TRUUTH_TENANT":     "county",
		"TRUUTH_REGION":     "au",
	}
	for k, v := range overrides {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	return vars
}

// setupWith runs loadConfig and setupProviders on vars, the way serve does;
// the error is either's.
func setupWith(t *testing.T, vars map[string]string, internalURL string) (*providerSet, error) {
	t.Helper()
	if vars["DATABASE_URL"] == "" {
		vars["DATABASE_URL"] = filepath.Join(t.TempDir(), "caseverify.db")
	}
	getenv := func(k string) string { return vars[k] }
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	ps, err := setupProviders(cfg, getenv, internalURL, slog.New(slog.DiscardHandler), nil)
	if ps != nil {
		t.Cleanup(func() {
			for _, c := range ps.closers {
				c()
			}
		})
	}
	return ps, err
}

func findProvider(ps *providerSet, name string) *verify.Provider {
	for _, p := range ps.list {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// TestTruuthConfig_RefusesStartWithoutWebhookAuth starts the portal through
// run (what main calls) outside sandbox mode with Truuth configured and the
// webhook credential missing or unusable: the start fails with an error that
// names TRUUTH_WEBHOOK_AUTH and repeats no secret.
func TestTruuthConfig_RefusesStartWithoutWebhookAuth(t *testing.T) {
	for _, tc := range []struct {
		name, auth, want string
	}{
		{"unset", "", "TRUUTH_WEBHOOK_AUTH"},
		{"blank", "   ", "TRUUTH_WEBHOOK_AUTH"},
		{"no scheme", testBearerToken, "TRUUTH_WEBHOOK_AUTH is not usable"},
		{"unknown scheme", "Token " + testBearerToken, "TRUUTH_WEBHOOK_AUTH is not usable"},
		{"weak bearer", "Bearer abc123", "TRUUTH_WEBHOOK_AUTH must be at least 16 characters"},
		{"weak bearer, long enough", "Bearer abc123abc123", "TRUUTH_WEBHOOK_AUTH is not usable"},
		{"the sandbox value", truuth.SandboxWebhookAuth, "TRUUTH_WEBHOOK_AUTH is a sandbox value"},
		{"basic not base64", "Basic not-base64-at-all!", "TRUUTH_WEBHOOK_AUTH is not usable"},
		{"basic weak password", "Basic " + base64.StdEncoding.EncodeToString([]byte("hooks:short")), "TRUUTH_WEBHOOK_AUTH is not usable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := productionEnv(t, map[string]string{"TRUUTH_WEBHOOK_AUTH": tc.auth})
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, nil, func(k string) string { return vars[k] }, strings.NewReader(""), &stdout, &stderr)
			if err == nil {
				t.Fatal("the portal started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
			for _, secret := range []string{vars["TRUUTH_API_SECRET"], vars["TRUUTH_API_KEY"], testBearerToken, "abc123", "short"} {
				if strings.Contains(err.Error()+stdout.String()+stderr.String(), secret) {
					t.Errorf("the error or output repeats the secret %q: %v", secret, err)
				}
			}
		})
	}
}

// TestTruuthConfig_MainExitsNonZero runs the real main in a child process
// (this test binary) with Truuth configured outside sandbox mode and no
// TRUUTH_WEBHOOK_AUTH: it prints the reason and exits with status 1.
func TestTruuthConfig_MainExitsNonZero(t *testing.T) {
	if os.Getenv("CASEVERIFY_TRUUTH_MAIN_CHILD") == "1" {
		os.Args = []string{"caseverify"}
		main() // exits; returning means the portal did not refuse
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestTruuthConfig_MainExitsNonZero$")
	cmd.Env = append(os.Environ(), "CASEVERIFY_TRUUTH_MAIN_CHILD=1")
	for k, v := range productionEnv(t, nil) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "TRUUTH_WEBHOOK_AUTH=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("main: %v, want exit status 1; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "caseverify: configuration:") || !strings.Contains(stderr.String(), "TRUUTH_WEBHOOK_AUTH") {
		t.Fatalf("stderr does not name TRUUTH_WEBHOOK_AUTH:\n%s", stderr.String())
	}
}

// TestTruuthConfig_Wiring pins what each combination of settings gives:
// the emulator in sandbox mode, the real API when TRUUTH_API_KEY is set,
// nothing outside sandbox mode without settings, and a start-up error that
// names the variable for every half-done or bad configuration.
func TestTruuthConfig_Wiring(t *testing.T) {
	good := "Bearer " + testBearerToken
	for _, tc := range []struct {
		name    string
		sandbox bool
		vars    map[string]string // on top of productionEnv (outside sandbox) or nothing (sandbox)
		want    string            // "emulator", "api", "none", or an error fragment
	}{
		{"sandbox, nothing set", true, nil, "emulator"},
		{"sandbox, own webhook auth", true, map[string]string{"TRUUTH_WEBHOOK_AUTH": good}, "SANDBOX is on but real credentials are set (TRUUTH_WEBHOOK_AUTH)"},
		{"sandbox, a setting without the key", true, map[string]string{"TRUUTH_TENANT": "county"}, "TRUUTH_TENANT is set but TRUUTH_API_KEY is not"},
		{"sandbox, real API", true, map[string]string{"TRUUTH_API_KEY": "k", "TRUUTH_API_SECRET": "s", "TRUUTH_TENANT": "county",
			"TRUUTH_REGION": "eu", "TRUUTH_WEBHOOK_AUTH": good}, "SANDBOX is on but real credentials are set (TRUUTH_API_KEY, TRUUTH_API_SECRET, TRUUTH_WEBHOOK_AUTH)"},
		{"sandbox, API on a test server on this machine", true, map[string]string{"TRUUTH_API_KEY": "k", "TRUUTH_API_SECRET": "s",
			"TRUUTH_TENANT": "county", "TRUUTH_BASE_URL": "http://127.0.0.1:9/kyc", "TRUUTH_WEBHOOK_AUTH": good}, "api"},
		{"sandbox, test server without webhook auth", true, map[string]string{"TRUUTH_API_KEY": "k", "TRUUTH_API_SECRET": "s",
			"TRUUTH_TENANT": "county", "TRUUTH_BASE_URL": "http://127.0.0.1:9/kyc"}, "TRUUTH_WEBHOOK_AUTH is required"},
		{"production, not configured", false, map[string]string{"TRUUTH_API_KEY": "", "TRUUTH_API_SECRET": "", "TRUUTH_TENANT": "",
			"TRUUTH_REGION": ""}, "none"},
		{"production, only webhook auth", false, map[string]string{"TRUUTH_API_KEY": "", "TRUUTH_API_SECRET": "", "TRUUTH_TENANT": "",
			"TRUUTH_REGION": "", "TRUUTH_WEBHOOK_AUTH": good}, "TRUUTH_WEBHOOK_AUTH is set but TRUUTH_API_KEY is not"},
		{"production, complete (Bearer)", false, map[string]string{"TRUUTH_WEBHOOK_AUTH": good}, "api"},
		{"production, complete (Basic)", false, map[string]string{"TRUUTH_WEBHOOK_AUTH": "Basic " + testBasicToken}, "api"},
		{"production, own base URL instead of region", false, map[string]string{"TRUUTH_WEBHOOK_AUTH": good, "TRUUTH_REGION": "",
			"TRUUTH_BASE_URL": "https://truuth.example.net/kyc"}, "api"},
		{"production, no secret", false, map[string]string{"TRUUTH_WEBHOOK_AUTH": good, "TRUUTH_API_SECRET": ""}, "TRUUTH_API_SECRET is required"},
		{"production, no tenant or region", false, map[string]string{"TRUUTH_WEBHOOK_AUTH": good, "TRUUTH_TENANT": "", "TRUUTH_REGION": ""},
			"TRUUTH_TENANT, TRUUTH_REGION are required"},
		{"production, region us", false, map[string]string{"TRUUTH_WEBHOOK_AUTH": good, "TRUUTH_REGION": "us"}, "TRUUTH_REGION must be au or eu"},
		{"production, base URL not http", false, map[string]string{"TRUUTH_WEBHOOK_AUTH": good, "TRUUTH_BASE_URL": "ftp://x"}, "TRUUTH_BASE_URL must be"},
		{"production, plain http base URL", false, map[string]string{"TRUUTH_WEBHOOK_AUTH": good, "TRUUTH_BASE_URL": "http://truuth.example.net/kyc"},
			"TRUUTH_BASE_URL must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var vars map[string]string
			if tc.sandbox {
				vars = map[string]string{"SANDBOX": "true"}
				for k, v := range tc.vars {
					vars[k] = v
				}
			} else {
				vars = productionEnv(t, tc.vars)
			}
			ps, err := setupWith(t, vars, "http://127.0.0.1:1")
			switch tc.want {
			case "emulator", "api", "none":
				if err != nil {
					t.Fatal(err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one containing %q", err, tc.want)
				}
				for _, secret := range []string{"live-api-secret-not-real", testBearerToken} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error repeats a secret: %v", err)
					}
				}
				return
			}
			p := findProvider(ps, "truuth")
			_, mounted := ps.sandboxes["truuth"]
			if tc.want == "none" {
				if p != nil || mounted {
					t.Fatalf("Truuth offered without settings: %+v, emulator %v", p, mounted)
				}
				return
			}
			if p == nil {
				t.Fatal("Truuth not offered")
			}
			if p.Label != "Truuth" || !p.Caps.CanNotify || p.Caps.PerOrderWebhook || p.Webhooks == nil ||
				len(p.Verifier.Products()) != 1 || p.Verifier.Products()[0] != providers.ProductIdentity {
				t.Fatalf("provider %+v products %v", p, p.Verifier.Products())
			}
			if p.Sandbox != (tc.want == "emulator") || mounted != (tc.want == "emulator") {
				t.Fatalf("sandbox %v, emulator mounted %v, want %s", p.Sandbox, mounted, tc.want)
			}
			// The adapter accepts exactly the configured webhook credential,
			// in sandbox mode this installation's own; never the one
			// published in the source.
			want := vars["TRUUTH_WEBHOOK_AUTH"]
			if tc.want == "emulator" {
				want = sandboxCredentialsIn(t, filepath.Dir(vars["DATABASE_URL"])).TruuthWebhookAuth
			}
			ok := providers.Delivery{Header: http.Header{"Authorization": {want}}, Body: []byte(`{}`)}
			if err := p.Webhooks.Authenticate(ok); err != nil {
				t.Errorf("configured credential refused: %v", err)
			}
			def := providers.Delivery{Header: http.Header{"Authorization": {truuth.SandboxWebhookAuth}}, Body: []byte(`{}`)}
			if p.Webhooks.Authenticate(def) == nil {
				t.Error("the credential published in the source is accepted")
			}
		})
	}
}

// TestTruuthConfig_Contract: TRUUTH_CONTRACT overrides paths and field names
// for the adapter and the emulator alike (an invite is created at the
// overridden path and its link read from the overridden field); a typo or a
// path the emulator cannot serve stops the start, naming the variable.
func TestTruuthConfig_Contract(t *testing.T) {
	write := func(body string) string {
		f := filepath.Join(t.TempDir(), "contract.json")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	var mu sync.Mutex
	var paths []string
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		h := handler
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	file := write(`{"CreateInvitePath": "/v9/t/{tenant}/invite", "LookupPath": "/v9/t/{tenant}/find", "InviteURLField": "link"}`)
	ps, err := setupWith(t, map[string]string{"SANDBOX": "true", "TRUUTH_CONTRACT": file}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	handler = http.StripPrefix("/sandbox/truuth", ps.sandboxes["truuth"])
	mu.Unlock()
	o, err := findProvider(ps, "truuth").Verifier.CreateOrder(context.Background(), providers.OrderRequest{Reference: "CV-CONTRACT1",
		Products: []providers.Product{providers.ProductIdentity}, Applicants: []providers.Applicant{{Ref: "m1", FirstName: "Ana", LastName: "Diaz"}}})
	if err != nil {
		t.Fatalf("create with an overridden contract: %v", err)
	}
	if len(o.Links) != 1 || !strings.Contains(o.Links[0].URL, "/sandbox/truuth/verify/") {
		t.Fatalf("order %+v", o)
	}
	mu.Lock()
	got := strings.Join(paths, "\n")
	mu.Unlock()
	if !strings.Contains(got, "POST /sandbox/truuth/v9/t/sandbox/invite") || strings.Contains(got, "/v1/") {
		t.Fatalf("requests did not follow the contract:\n%s", got)
	}

	for name, body := range map[string]string{
		"unknown field":     `{"CreateInvitePth": "/x"}`,
		"not json":          `CreateInvitePath=/x`,
		"unservable path":   `{"ResultPath": "/v1/{verificationId"}`,
		"wrong type":        `{"CheckNameFields": "name"}`,
		"missing file name": "",
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "absent.json")
			if body != "" {
				f = write(body)
			}
			_, err := setupWith(t, map[string]string{"SANDBOX": "true", "TRUUTH_CONTRACT": f}, srv.URL)
			if err == nil || !strings.Contains(err.Error(), "TRUUTH_CONTRACT") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestTruuthWebhook_AuthMatrix posts Truuth callbacks to the running
// portal's /webhooks/truuth (the real router, middleware and handler): every
// delivery whose Authorization is not exactly the configured one gets 401
// and stores nothing; the right one gets 200 and lands in the inbox.
func TestTruuthWebhook_AuthMatrix(t *testing.T) {
	hc := &http.Client{Timeout: 10 * time.Second}
	n := 0
	post := func(t *testing.T, url string, headers []string) int {
		t.Helper()
		n++
		body := fmt.Sprintf(`{"verificationId":"00000000-0000-4000-8000-%012d","externalRefId":"CV-AUTH%d","status":"IN_PROGRESS"}`, n, n)
		req, err := http.NewRequest(http.MethodPost, url+"/webhooks/truuth", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for _, h := range headers {
			req.Header.Add("Authorization", h)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	type row struct {
		name    string
		headers []string
		want    int
	}
	for _, portal := range []struct {
		name, auth string
		rows       []row
	}{
		{"bearer", "Bearer " + testBearerToken, []row{
			{"missing", nil, 401},
			{"empty", []string{""}, 401},
			{"scheme only", []string{"Bearer"}, 401},
			{"wrong token", []string{"Bearer cv-test-bearer-token-7Hq2xZ92"}, 401},
			{"Basic instead of Bearer", []string{"Basic " + testBearerToken}, 401},
			{"token in other case", []string{"Bearer " + strings.ToUpper(testBearerToken)}, 401},
			{"token with a suffix", []string{"Bearer " + testBearerToken + "x"}, 401},
			{"sandbox default", []string{truuth.SandboxWebhookAuth}, 401},
			{"repeated, one right", []string{"Bearer wrong-token-0000000000", "Bearer " + testBearerToken}, 401},
			{"right", []string{"Bearer " + testBearerToken}, 200},
			// RFC 7235: the scheme is case-insensitive, the token is not.
			{"scheme in other case", []string{"bearer " + testBearerToken}, 200},
		}},
		{"basic", "Basic " + testBasicToken, []row{
			{"missing", nil, 401},
			{"Bearer instead of Basic", []string{"Bearer " + testBasicToken}, 401},
			{"wrong password", []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("truuth-hooks:S3cure-webhook-pass-2027"))}, 401},
			{"token in other case", []string{"Basic " + strings.ToLower(testBasicToken)}, 401},
			{"right", []string{"Basic " + testBasicToken}, 200},
		}},
	} {
		t.Run(portal.name, func(t *testing.T) {
			// Outside sandbox mode: a sandbox takes no webhook credential.
			env := productionEnv(t, map[string]string{"TRUUTH_WEBHOOK_AUTH": portal.auth})
			delete(env, "DATABASE_URL")
			p := startPortal(t, env)
			st, err := store.Open(context.Background(), filepath.Join(p.Dir, "caseverify.db"), store.Options{DataKey: bytesOfHex(t, testDataKey)})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			stored := func() int {
				total, _, err := st.InboxStats(context.Background(), "truuth")
				if err != nil {
					t.Fatal(err)
				}
				return total
			}
			for _, r := range portal.rows {
				before := stored()
				if got := post(t, p.URL, r.headers); got != r.want {
					t.Errorf("%s: status %d, want %d", r.name, got, r.want)
				}
				wantStored := before
				if r.want == 200 {
					wantStored++
				}
				if got := stored(); got != wantStored {
					t.Errorf("%s: inbox holds %d deliveries, want %d", r.name, got, wantStored)
				}
			}
			if logs := p.logs.String(); strings.Contains(logs, testBearerToken) || strings.Contains(logs, testBasicToken) {
				t.Error("the portal logged a webhook credential")
			}
		})
	}
}

func bytesOfHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTruuthConfig_SandboxCallbacksCarryConfiguredAuth: in sandbox mode the
// emulator sends its callbacks to the portal's own /webhooks/truuth with
// this installation's own Authorization (from data/sandbox.key), never the
// value published in the source.
func TestTruuthConfig_SandboxCallbacksCarryConfiguredAuth(t *testing.T) {
	got := make(chan string, 10)
	var mu sync.Mutex
	var em http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// One URL per event subscription (issue 14).
		if r.Method == http.MethodPost && (r.URL.Path == "/webhooks/truuth/callback" || r.URL.Path == "/webhooks/truuth/biopass") {
			got <- r.Header.Get("Authorization")
			return
		}
		mu.Lock()
		h := em
		mu.Unlock()
		http.StripPrefix("/sandbox/truuth", h).ServeHTTP(w, r)
	}))
	defer srv.Close()
	vars := map[string]string{"SANDBOX": "true", "SANDBOX_DELAY": "0s"}
	ps, err := setupWith(t, vars, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	emu, ok := ps.sandboxes["truuth"].(*truuth.Emulator)
	if !ok {
		t.Fatalf("the truuth sandbox is a %T", ps.sandboxes["truuth"])
	}
	mu.Lock()
	em = emu
	mu.Unlock()
	o, err := findProvider(ps, "truuth").Verifier.CreateOrder(context.Background(), providers.OrderRequest{Reference: "CV-CALLBACK1",
		Products: []providers.Product{providers.ProductIdentity}, Applicants: []providers.Applicant{{Ref: "m1", FirstName: "Ana", LastName: "Diaz"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Complete(o.OrderID, truuth.ScenarioPass); err != nil {
		t.Fatal(err)
	}
	emu.WaitIdle()
	want := sandboxCredentialsIn(t, filepath.Dir(vars["DATABASE_URL"])).TruuthWebhookAuth
	if want == truuth.SandboxWebhookAuth {
		t.Fatal("the sandbox uses the credential published in the source")
	}
	if len(got) != 3 { // IN_PROGRESS, DONE, Biopass
		t.Fatalf("%d callbacks reached /webhooks/truuth, want 3", len(got))
	}
	for range 3 {
		if h := <-got; h != want {
			t.Fatalf("callback Authorization %q, want the configured value", h)
		}
	}
}

// TestTruuthConfig_TokenPerSubscription (issue 14): TRUUTH_WEBHOOK_AUTH_CALLBACK
// and TRUUTH_WEBHOOK_AUTH_BIOPASS give each event subscription its own token;
// with both, the real API needs no TRUUTH_WEBHOOK_AUTH; a weak one is refused
// by name.
func TestTruuthConfig_TokenPerSubscription(t *testing.T) {
	api := productionEnv(t, map[string]string{"TRUUTH_WEBHOOK_AUTH_CALLBACK": "Bearer callback-token-7d1e93c2"})
	if _, err := setupWith(t, api, "https://portal.example"); err == nil || !strings.Contains(err.Error(), "TRUUTH_WEBHOOK_AUTH_BIOPASS") {
		t.Fatalf("callback token alone: %v", err)
	}
	api["TRUUTH_WEBHOOK_AUTH_BIOPASS"] = "Bearer biopass-token-5a8f20b4"
	ps, err := setupWith(t, api, "https://portal.example")
	if err != nil {
		t.Fatal(err)
	}
	rx := findProvider(ps, "truuth").Webhooks
	d := providers.Delivery{Path: "/biopass", Header: http.Header{"Authorization": {"Bearer biopass-token-5a8f20b4"}}}
	if err := rx.Authenticate(d); err != nil {
		t.Errorf("biopass token at /biopass: %v", err)
	}
	d.Path = "/callback"
	if err := rx.Authenticate(d); err == nil {
		t.Error("the biopass token was accepted at /callback")
	}
	api["TRUUTH_WEBHOOK_AUTH_BIOPASS"] = "Bearer short"
	if _, err := setupWith(t, api, "https://portal.example"); err == nil || !strings.Contains(err.Error(), "TRUUTH_WEBHOOK_AUTH_BIOPASS") {
		t.Fatalf("weak biopass token: %v", err)
	}
}

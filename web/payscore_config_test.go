package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// payscoreProductionEnv is productionEnv without Truuth (so that only
// Payscore's settings decide the outcome) plus overrides.
func payscoreProductionEnv(t *testing.T, overrides map[string]string) map[string]string {
	vars := productionEnv(t, map[string]string{"TRUUTH_API_KEY": "", "TRUUTH_API_SECRET": "", "TRUUTH_TENANT": "", "TRUUTH_REGION": ""})
	for k, v := range overrides {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	return vars
}

const (
	testPayscoreSecret  = "payscore-secret-not-real-91x"
	testPayscoreWebhook = "payscore-webhook-secret-not-real-7q"
)

// TestPayscoreConfig_Wiring pins what each combination of Payscore settings
// gives: the emulator in sandbox mode, the real API with a client id and
// secret key, nothing outside sandbox mode without settings, and a start-up
// error naming the variable for a half-done configuration or a plain-http
// API outside sandbox mode.
func TestPayscoreConfig_Wiring(t *testing.T) {
	api := map[string]string{"PAYSCORE_CLIENT_ID": "client-1", "PAYSCORE_SECRET_KEY": testPayscoreSecret}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range api {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		sandbox bool
		vars    map[string]string
		want    string // "emulator", "api", "none", or an error fragment
	}{
		{"sandbox, nothing set", true, nil, "emulator"},
		{"sandbox, real API", true, api, "SANDBOX is on but real credentials are set (PAYSCORE_CLIENT_ID, PAYSCORE_SECRET_KEY)"},
		{"sandbox, real API over plain http", true, with(map[string]string{"PAYSCORE_BASE_URL": "http://payscore.test"}),
			"SANDBOX is on but real credentials are set (PAYSCORE_CLIENT_ID, PAYSCORE_SECRET_KEY)"},
		{"sandbox, API on a test server on this machine", true, with(map[string]string{"PAYSCORE_BASE_URL": "http://127.0.0.1:9"}), "api"},
		{"sandbox, secret key without client id", true, map[string]string{"PAYSCORE_SECRET_KEY": testPayscoreSecret},
			"SANDBOX is on but real credentials are set (PAYSCORE_SECRET_KEY)"},
		{"production, not configured", false, nil, "none"},
		{"production, complete", false, api, "api"},
		{"production, staging host", false, with(map[string]string{"PAYSCORE_BASE_URL": "https://staging.api.payscore.com"}), "api"},
		{"production, own webhook secret", false, with(map[string]string{"PAYSCORE_WEBHOOK_SECRET": testPayscoreWebhook}), "api"},
		{"production, client id without secret key", false, map[string]string{"PAYSCORE_CLIENT_ID": "client-1"},
			"PAYSCORE_SECRET_KEY is required"},
		{"production, secret key only", false, map[string]string{"PAYSCORE_SECRET_KEY": testPayscoreSecret},
			"PAYSCORE_SECRET_KEY is set but PAYSCORE_CLIENT_ID is not"},
		{"production, webhook secret only", false, map[string]string{"PAYSCORE_WEBHOOK_SECRET": testPayscoreWebhook},
			"PAYSCORE_WEBHOOK_SECRET is set but PAYSCORE_CLIENT_ID is not"},
		{"production, base URL only", false, map[string]string{"PAYSCORE_BASE_URL": "https://api.payscore.com"},
			"PAYSCORE_BASE_URL is set but PAYSCORE_CLIENT_ID is not"},
		{"production, plain http base URL", false, with(map[string]string{"PAYSCORE_BASE_URL": "http://api.payscore.com"}),
			"PAYSCORE_BASE_URL must be an absolute https URL"},
		{"production, base URL not a URL", false, with(map[string]string{"PAYSCORE_BASE_URL": "api.payscore.com"}),
			"PAYSCORE_BASE_URL must be an absolute https URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var vars map[string]string
			if tc.sandbox {
				vars = map[string]string{"SANDBOX": "true"}
				for k, v := range tc.vars {
					vars[k] = v
				}
			} else {
				vars = payscoreProductionEnv(t, tc.vars)
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
				for _, secret := range []string{testPayscoreSecret, testPayscoreWebhook} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error repeats a secret: %v", err)
					}
				}
				return
			}
			p := findProvider(ps, "payscore")
			_, mounted := ps.sandboxes["payscore"]
			if tc.want == "none" {
				if p != nil || mounted {
					t.Fatalf("Payscore offered without settings: %+v, emulator %v", p, mounted)
				}
				return
			}
			if p == nil {
				t.Fatal("Payscore not offered")
			}
			if !p.Caps.Household || p.Sandbox != (tc.want == "emulator") || mounted != (tc.want == "emulator") {
				t.Fatalf("provider %+v, emulator mounted %v, want %s", p, mounted, tc.want)
			}
		})
	}
}

// TestPayscoreConfig_RefusesStart starts the portal through run (what main
// calls) outside sandbox mode with half-done or insecure Payscore settings:
// the start fails with an error naming the variable and repeating no secret.
func TestPayscoreConfig_RefusesStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"secret key without client id", map[string]string{"PAYSCORE_SECRET_KEY": testPayscoreSecret}, "PAYSCORE_CLIENT_ID"},
		{"webhook secret without client id", map[string]string{"PAYSCORE_WEBHOOK_SECRET": testPayscoreWebhook}, "PAYSCORE_CLIENT_ID"},
		{"plain http API", map[string]string{"PAYSCORE_CLIENT_ID": "client-1", "PAYSCORE_SECRET_KEY": testPayscoreSecret,
			"PAYSCORE_BASE_URL": "http://api.payscore.com"}, "PAYSCORE_BASE_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := payscoreProductionEnv(t, tc.vars)
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, nil, func(k string) string { return vars[k] }, strings.NewReader(""), &stdout, &stderr)
			if err == nil {
				t.Fatal("the portal started")
			}
			if !strings.Contains(err.Error(), "configuration:") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
			for _, secret := range []string{testPayscoreSecret, testPayscoreWebhook} {
				if strings.Contains(err.Error()+stdout.String()+stderr.String(), secret) {
					t.Errorf("the error or output repeats the secret %q", secret)
				}
			}
		})
	}
}

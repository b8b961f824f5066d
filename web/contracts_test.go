package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestContracts_ValidatedAtStart (issue 14): every provider reads its
// UNCONFIRMED paths and field names from one contract file, and a wrong one
// stops the start naming the setting and the field: an unknown key, a path
// without its placeholder, a bad unit or duration. A good one is taken.
func TestContracts_ValidatedAtStart(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := []struct{ setting, body, want string }{
		{"TRUV_CONTRACT", `{"RefreshPath": "/v1/orders/refresh/"}`, "RefreshPath"},
		{"TRUV_CONTRACT", `{"RefreshPth": "/v1/orders/{id}/"}`, "RefreshPth"},
		{"TRUEWORK_CONTRACT", `{"OrderLifetime": "soon"}`, "OrderLifetime"},
		{"PAYSCORE_CONTRACT", `{"ReportAmounts": "euros"}`, "ReportAmounts"},
		{"PAYSCORE_CONTRACT", `{"CancelPath": "/api/v1/delete"}`, "CancelPath"},
		{"ACCOUNTCHEK_CONTRACT", `{"VOAStatusPath": "/v1/voa"}`, "VOAStatusPath"},
		{"TRUUTH_CONTRACT", `{"NoSuchField": "x"}`, "NoSuchField"},
	}
	for i, b := range bad {
		f := file(b.setting+string(rune('a'+i))+".json", b.body)
		_, err := setupWith(t, map[string]string{"SANDBOX": "true", b.setting: f}, "http://127.0.0.1:1")
		if err == nil || !strings.Contains(err.Error(), b.setting) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s %s: err %v, want it to name %s and %s", b.setting, b.body, err, b.setting, b.want)
		}
	}
	good := map[string]string{
		"TRUV_CONTRACT":        file("truv.json", `{"RefreshPath": "/v1/orders/{id}/refresh/", "SSNField": "social_security_number"}`),
		"TRUEWORK_CONTRACT":    file("truework.json", `{"OrderLifetime": "72h"}`),
		"PAYSCORE_CONTRACT":    file("payscore.json", `{"ReportAmounts": "dollars", "ListPath": "/api/v1/screening_groups/all"}`),
		"ACCOUNTCHEK_CONTRACT": file("accountchek.json", `{"VOAStatusPath": "/v1/accountchekorders/{orderId}/voa/status"}`),
	}
	vars := map[string]string{"SANDBOX": "true"}
	for k, v := range good {
		vars[k] = v
	}
	if _, err := setupWith(t, vars, "http://127.0.0.1:1"); err != nil {
		t.Fatalf("good contracts refused: %v", err)
	}
}

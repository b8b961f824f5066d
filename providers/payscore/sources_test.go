package payscore

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"caseverify/providers/vendordocs"
)

// TestFixtures_CopiedFromVendor (issue 14): every webhook fixture is listed
// in testdata/SOURCES with the vendor lines it was copied from, and is
// those lines byte for byte. (TestParse_VendorFixtures authenticates and
// parses each one.)
func TestFixtures_CopiedFromVendor(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, s := range vendordocs.Sources(t) {
		listed = append(listed, s.Fixture)
	}
	for _, f := range files {
		if !slices.Contains(listed, filepath.Base(f)) {
			t.Errorf("%s has no source line in testdata/SOURCES", filepath.Base(f))
		}
	}
	if len(listed) != 19 { // the raw page's 19 codes
		t.Errorf("SOURCES lists %d fixtures, want the 19 webhook codes", len(listed))
	}
	vendordocs.Check(t)
}

// shape is a JSON value's keys and value kinds, recursively for objects.
func shape(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		switch {
		case string(raw) == "null":
			return "null"
		case strings.HasPrefix(string(raw), `"`):
			return "string"
		case strings.HasPrefix(string(raw), "["):
			return "array"
		default:
			return "number"
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+":"+shape(t, m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// TestEmulator_WebhookShapesAreTheVendors (issue 14): every webhook the
// emulator sends has exactly the keys and value kinds of the vendor's
// example of its code.
func TestEmulator_WebhookShapesAreTheVendors(t *testing.T) {
	sb := newSandbox(t, EmulatorConfig{})
	o := sb.create(t, 2)
	sb.act(t, o.Links[0].SubID, connectAndFinish(DemoBank, DemoCreditUnion)...)
	sb.act(t, o.Links[1].SubID, []string{ActionConsent}, []string{ActionNoIncome})
	got := sb.hooks.waitCode(CodeScreeningGroupCompleted, 1)
	seen := map[string]bool{}
	for _, r := range got {
		name := strings.ToLower(r.code) + ".json"
		want := shape(t, fixture(t, name))
		if have := shape(t, r.body); have != want {
			t.Errorf("%s\n got  %s\n want %s", r.code, have, want)
		}
		seen[r.code] = true
	}
	if len(seen) < 8 {
		t.Errorf("the flow sent only %d codes: %v", len(seen), seen)
	}
}

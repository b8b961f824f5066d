package truework

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
)

// jsonShape lists every key path of a JSON object ("hook.id", "data.state"),
// sorted. The caller's own metadata object is opaque: its keys are whatever
// the portal sent at create.
func jsonShape(t *testing.T, body []byte) []string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("not a JSON object: %s", body)
	}
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, x := range m {
			path := prefix + k
			out = append(out, path)
			if sub, ok := x.(map[string]any); ok && k != "metadata" {
				walk(path+".", sub)
			}
		}
	}
	walk("", v)
	sort.Strings(out)
	return out
}

// TestEmulator_WebhookShapesAreTheVendors (issue 14): every webhook the
// emulator sends for a completed order has exactly the key paths of
// Truework's example of that event (testdata, copied with its source in
// testdata/SOURCES), so the adapter is tested against what Truework sends,
// not against what the emulator happens to add.
func TestEmulator_WebhookShapesAreTheVendors(t *testing.T) {
	sb := newSandbox(t, nil)
	orderID, _ := completedOrder(t, sb, "REF-SHAPE", "000220000")
	fixtures := map[string]string{
		EventOrderCompleted: "webhook_order_completed.json",
		EventStateChange:    "webhook_state_change.json",
	}
	seen := map[string]bool{}
	for _, d := range sb.recv.forOrder(orderID) {
		name, ok := fixtures[d.Event]
		if !ok {
			continue // an event the vendor text gives no example of
		}
		seen[d.Event] = true
		want, got := jsonShape(t, readFixture(t, name)), jsonShape(t, d.Body)
		if !slices.Equal(got, want) {
			t.Errorf("%s key paths\n got  %s\n want %s", d.Event, strings.Join(got, " "), strings.Join(want, " "))
		}
	}
	for ev := range fixtures {
		if !seen[ev] {
			t.Errorf("the flow sent no %s", ev)
		}
	}
}

package views_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"caseverify/store"
	"caseverify/views"
)

// Issue 9: the progress counts say "Refreshed" only for members whose
// provider confirmed the refresh; those still waiting for it are counted as
// "Refreshing", apart.
func TestRenewalProgress_RefreshingIsNotRefreshed(t *testing.T) {
	run := &store.RenewalRun{ID: 7, Status: "done", Counts: store.RenewalCounts{Total: 4, Refreshing: 3, Refreshed: 1}}
	var b strings.Builder
	if err := views.RenewalProgress(run, 30).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)data-testid="renewal-counts">(.*?)</ul>`).FindStringSubmatch(b.String())
	if m == nil {
		t.Fatalf("no counts in %s", b.String())
	}
	text := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], " ")), " ")
	if !strings.Contains(text, "Refreshed 1") || !strings.Contains(text, "Refreshing 3") {
		t.Fatalf("counts: %q", text)
	}
}

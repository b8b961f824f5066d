package views_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"caseverify/store"
	"caseverify/views"
)

// The pager shows the first and last pages and a window around the current
// one, whatever the number of pages (it used to link every page: 194 KB of
// HTML at 30,000 cases); every page stays reachable through it.
func TestCaseListPager_ShowsAWindow(t *testing.T) {
	for _, tc := range []struct {
		page, total int
		want        []int
	}{
		{1, 30_000, []int{1, 2, 3, 0, 1200}},
		{600, 30_000, []int{1, 0, 598, 599, 600, 601, 602, 0, 1200}},
		{1200, 30_000, []int{1, 0, 1198, 1199, 1200}},
		{4, 30_000, []int{1, 2, 3, 4, 5, 6, 0, 1200}},
		{3, 125, []int{1, 2, 3, 4, 5}},
	} {
		l := views.CaseList{Filter: store.CaseFilter{Page: tc.page, PerPage: 25}, Total: tc.total}
		for i := range 25 {
			l.Cases = append(l.Cases, &store.Case{ID: int64(i + 1), Number: fmt.Sprint("C-", i), Program: "snap"})
		}
		if got := l.PagerItems(); !slices.Equal(got, tc.want) {
			t.Errorf("page %d of %d cases: pager %v, want %v", tc.page, tc.total, got, tc.want)
		}
		var b strings.Builder
		if err := views.CaseListPage(l).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		links := regexp.MustCompile(`class="usa-pagination__button[^"]*"`).FindAllString(b.String(), -1)
		if len(links) > 2*3+5 {
			t.Errorf("page %d: %d pager links", tc.page, len(links))
		}
		if tc.page > 1 && !strings.Contains(b.String(), fmt.Sprintf(`href="/cases?page=%d" class="usa-pagination__button" aria-label="Previous page"`, tc.page-1)) &&
			!(tc.page == 2 && strings.Contains(b.String(), `href="/cases" class="usa-pagination__button" aria-label="Previous page"`)) {
			t.Errorf("page %d: no Previous link to page %d", tc.page, tc.page-1)
		}
		if last := (tc.total + 24) / 25; tc.page < last && !strings.Contains(b.String(), fmt.Sprintf(`href="/cases?page=%d" class="usa-pagination__button" aria-label="Next page"`, tc.page+1)) {
			t.Errorf("page %d: no Next link", tc.page)
		}
	}
}

// A search that stopped counting says so and pages only through what it
// counted.
func TestCaseListShowing_SearchPastTheCountLimit(t *testing.T) {
	l := views.CaseList{Filter: store.CaseFilter{Query: "garcia", Page: 1, PerPage: 25}, Total: store.SearchCountLimit + 1, Searched: true}
	if got, want := l.Showing(), fmt.Sprintf("Showing 1–25 of more than %d cases", store.SearchCountLimit); !strings.HasPrefix(got, want) {
		t.Errorf("Showing() = %q, want it to start %q", got, want)
	}
	if got := l.Pages(); got != store.SearchCountLimit/25 {
		t.Errorf("Pages() = %d, want %d", got, store.SearchCountLimit/25)
	}
}

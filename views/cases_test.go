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

// On the list (not a search) the pager links pages by where they start
// (keyset, issue 17): each link it shows carries its page's start, a page
// whose start is unknown is left out, and a go-to-page box reaches any
// page by number.
func TestCaseListPager_KeysetLinks(t *testing.T) {
	l := views.CaseList{Filter: store.CaseFilter{Page: 600, PerPage: 25, After: "A600", Status: "pending"}, Total: 30_000}
	for i := range 25 {
		l.Cases = append(l.Cases, &store.Case{ID: int64(i + 1), Number: fmt.Sprint("C-", i), Program: "snap"})
	}
	l.UseStarts(store.CasePageStarts{Before: []string{"A599", "A598", "A597"}, After: []string{"A601", "A602", "A603"}, Last: "A1200"})
	if got, want := l.PagerItems(), []int{1, 0, 598, 599, 600, 601, 602, 0, 1200}; !slices.Equal(got, want) {
		t.Errorf("pager %v, want %v", got, want)
	}
	var b strings.Builder
	if err := views.CaseListPage(l).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	for _, want := range []string{
		`href="/cases?after=A599&amp;page=599&amp;status=pending" class="usa-pagination__button" aria-label="Previous page"`,
		`href="/cases?after=A601&amp;page=601&amp;status=pending" class="usa-pagination__button" aria-label="Next page"`,
		`href="/cases?after=A598&amp;page=598&amp;status=pending" class="usa-pagination__button" aria-label="Page 598"`,
		`href="/cases?after=A1200&amp;page=1200&amp;status=pending" class="usa-pagination__button" aria-label="Page 1200"`,
		`href="/cases?status=pending" class="usa-pagination__button" aria-label="Page 1"`,
		`data-testid="goto-page"`, `<input type="hidden" name="status" value="pending">`, `max="1200"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// Page 2 of a list whose page 3 start is unknown (the list shrank):
	// no link to it, and no "…" standing for nothing.
	l = views.CaseList{Filter: store.CaseFilter{Page: 2, PerPage: 25, After: "A2"}, Total: 100, Cases: l.Cases}
	l.UseStarts(store.CasePageStarts{Before: []string{""}})
	if got, want := l.PagerItems(), []int{1, 2}; !slices.Equal(got, want) {
		t.Errorf("pager %v, want %v", got, want)
	}
	if !l.HasPage(1) || l.HasPage(3) {
		t.Error("page 1 always has a start; page 3's is unknown")
	}
}

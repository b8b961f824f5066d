package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"caseverify/store"
)

// Issue 17: at 40 pages of cases the pager shows the first and last pages,
// two each side of the current one and Previous / Next (it used to link
// every page), passes axe, Next walks on to the following page by keyset,
// and the go-to-page box reaches any page by its number.
func TestBrowser_CaseListPager(t *testing.T) {
	p := startPortal(t, nil)
	// The cases go in through the store API beside the running portal (one
	// SQLite file, WAL), under the sandbox's own data key.
	key, err := os.ReadFile(filepath.Join(p.Dir, "data.key"))
	if err != nil {
		t.Fatal(err)
	}
	dataKey, err := hex.DecodeString(strings.TrimSpace(string(key)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(p.Dir, "caseverify.db"), store.Options{DataKey: dataKey})
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.AgencyByName(ctx, demoAgency)
	if err != nil {
		t.Fatal(err)
	}
	users, err := st.Users(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 * 25 {
		if _, err := st.CreateCase(ctx, a.ID, users[0].ID, store.CaseInput{Number: fmt.Sprintf("PG-%04d", i), Program: "snap"}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	b := newBrowser(t)
	signInCaseworker(t, b, p.URL)
	do(t, b, "page 20", chromedp.Navigate(p.URL+"/cases?page=20"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=pager]`)))
	got := strings.Join(strings.Fields(textOf(t, b, `[data-testid=pager]`)), " ")
	if want := "Previous 1 … 18 19 20 21 22 … 40 Next"; got != want {
		t.Fatalf("pager = %q, want %q", got, want)
	}
	if got := textOf(t, b, `[data-testid=case-count]`); !strings.Contains(got, "476–500 of 1,000") && !strings.Contains(got, "476–500 of 1000") {
		t.Errorf("count = %q", got)
	}
	checkA11y(t, b, "case list, page 20 of 40")
	screenshot(t, b, "01_pager")
	do(t, b, "next", chromedp.Click(chromedp.CSS(`[aria-label="Next page"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[aria-current=page][aria-label="Page 21"]`)))
	// Next is a keyset link (issue 17): the URL says where page 21 starts,
	// and the page holds the 25 cases after page 20's last.
	loc, err := chromedp.Run(b, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "after=") || !strings.Contains(loc, "page=21") {
		t.Errorf("page 21's URL = %q, want a keyset link", loc)
	}
	if got := textOf(t, b, `[data-testid=case-table]`); !strings.Contains(got, "PG-0499") || !strings.Contains(got, "PG-0475") || strings.Contains(got, "PG-0500") {
		t.Errorf("page 21 holds %q, want PG-0499 to PG-0475", got)
	}
	// The go-to-page box reaches a page outside the window.
	do(t, b, "go to page 33", chromedp.SetValue(chromedp.CSS(`#goto-page`), "33"),
		chromedp.Click(chromedp.CSS(`[data-testid=goto-page] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[aria-current=page][aria-label="Page 33"]`)))
	if got := textOf(t, b, `[data-testid=case-table]`); !strings.Contains(got, "PG-0199") {
		t.Errorf("page 33 holds %q, want PG-0199 first", got)
	}
	checkA11y(t, b, "case list, page 33 by number")
	do(t, b, "last", chromedp.Click(chromedp.CSS(`[aria-label="Page 40"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[aria-current=page][aria-label="Page 40"]`)))
	if got := strings.Join(strings.Fields(textOf(t, b, `[data-testid=pager]`)), " "); got != "Previous 1 … 38 39 40" {
		t.Errorf("last page pager = %q", got)
	}
	if got := textOf(t, b, `[data-testid=case-table]`); !strings.Contains(got, "PG-0000") {
		t.Errorf("the oldest case is not on the last page: %q", got)
	}
}

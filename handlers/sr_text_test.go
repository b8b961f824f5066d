package handlers_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"caseverify/store"
)

// controlRE finds a link or button that carries screen-reader-only text.
var controlRE = regexp.MustCompile(`(?s)<(a|button)\b[^>]*>(.*?)</(?:a|button)>`)

var tagRE = regexp.MustCompile(`<[^>]*>`)

// accessibleNames are the names a screen reader announces for the page's
// links and buttons that carry usa-sr-only text: their text content, tags
// dropped and spaces collapsed, the way a browser joins the text nodes (it
// adds no space between "Show details" and the hidden span's text).
func accessibleNames(page string) []string {
	var names []string
	for _, m := range controlRE.FindAllStringSubmatch(page, -1) {
		if !strings.Contains(m[2], "usa-sr-only") {
			continue
		}
		names = append(names, strings.Join(strings.Fields(tagRE.ReplaceAllString(m[2], "")), " "))
	}
	return names
}

// The hidden text that names a control's subject ("Show details" of whom)
// starts with its own space: templ joins "Show details" and the span with
// none, and the old pages read "Show detailsof Rae Reyes".
func TestScreenReaderText_WordsStaySeparate(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	ca, err := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "SR-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.store.AddMember(ctx, s.agencyA.ID, ca.ID, store.MemberInput{FirstName: "Rae", LastName: "Reyes", Relationship: "self"})
	if err != nil {
		t.Fatal(err)
	}
	s.orderFor(t, ca.ID, m.ID, "truv")

	worker := s.client(t)
	worker.signIn("worker@a.gov")
	casePage := worker.get("/cases/" + itoa(ca.ID)).Body.String()
	revealed := worker.post("/cases/"+itoa(ca.ID)+"/members/"+itoa(m.ID)+"/reveal", nil).Body.String()
	admin := s.client(t)
	admin.signIn("admin@a.gov")
	users := admin.get("/admin/users").Body.String()

	for _, tc := range []struct {
		page, body string
		want       []string
	}{
		{"case", casePage, []string{"Show details of Rae Reyes", "Edit Rae Reyes", "Send verification to Rae Reyes",
			"Details and timeline of the Income verification with Truv"}},
		{"case, details shown", revealed, []string{"Hide details of Rae Reyes"}},
		{"users", users, []string{"Disable worker@a.gov", "Reset password of worker@a.gov"}},
	} {
		names := accessibleNames(tc.body)
		for _, want := range tc.want {
			found := false
			for _, n := range names {
				found = found || strings.EqualFold(n, want) // the provider's label depends on configuration
			}
			if !found {
				t.Errorf("%s page: no control named %q; names: %q", tc.page, want, names)
			}
		}
		// Every page: no hidden text glued to the visible word before it.
		if glued := regexp.MustCompile(`[\p{L}\p{N}]<span class="usa-sr-only">[\p{L}\p{N}]`).FindString(tc.body); glued != "" {
			t.Errorf("%s page: screen-reader text glued to a word: %s", tc.page, glued)
		}
	}
}

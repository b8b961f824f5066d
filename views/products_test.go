package views_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/a-h/templ"

	"caseverify/store"
	"caseverify/views"
)

// Every "What to verify" group (the four send forms and the settings'
// defaults) is the same fieldset: its id is the field's name, which the
// error summary links to; the field's problem shows inside it; and it is
// spaced from the field above. Before it was one component, the contact
// center's and the settings' groups had no top margin, and the settings'
// problem (store: "Choose at least one product.") showed only in the summary.
func TestProductsFieldset_SameOnEveryForm(t *testing.T) {
	const problem = "Choose what to verify, please."
	cases := []struct {
		name  string
		field string
		page  templ.Component
	}{
		{"single send", "products", views.SendFormPage(views.SendForm{CaseID: 1, Problems: map[string]string{"products": problem}})},
		{"household", "products", views.HouseholdFormPage(views.HouseholdForm{Case: &store.Case{ID: 1}, Problems: map[string]string{"products": problem}})},
		{"bulk", "products", views.BulkFormPage(views.BulkForm{Problems: map[string]string{"products": problem}})},
		{"contact center", "products", views.ContactPage(views.ContactForm{Language: "en", Problems: map[string]string{"products": problem}})},
		{"settings", "default_products", views.SettingsPage(views.SettingsForm{Problems: map[string]string{"default_products": problem}})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := tc.page.Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			body := b.String()
			open := regexp.MustCompile(`<fieldset class="([^"]*)" id="` + tc.field + `">`).FindStringSubmatchIndex(body)
			if open == nil {
				t.Fatalf("no fieldset with id %q", tc.field)
			}
			class := body[open[2]:open[3]]
			group := body[open[0] : open[1]+strings.Index(body[open[1]:], "</fieldset>")]
			if !strings.Contains(group, ">What to verify</legend>") {
				t.Errorf("the fieldset's legend is not \"What to verify\": %s", group)
			}
			if !strings.Contains(class, "margin-top-") {
				t.Errorf("the group is not spaced from the field above: class %q", class)
			}
			if !strings.Contains(class, "usa-form-group--error") || !strings.Contains(group, problem) {
				t.Errorf("the problem is not shown in the group: class %q, %s", class, group)
			}
			if n := strings.Count(group, `type="checkbox" name="`+tc.field+`"`); n != 4 {
				t.Errorf("%d product checkboxes named %q, want 4", n, tc.field)
			}
		})
	}
}

package views_test

import (
	"context"
	"strings"
	"testing"

	"caseverify/views"
)

// The contact form's error summary lists every problem, also one whose key
// is not a field of the form (e.g. the agency's default program, found when
// the case is opened), instead of counting it under an empty list.
func TestContactPage_SummaryListsProblemsWithoutAField(t *testing.T) {
	f := views.ContactForm{Language: "en", Problems: map[string]string{
		"program": "Choose the program.",
		"phone":   "Enter the mobile number the link goes to.",
		"channel": "Dana has no mobile number.",
	}}
	var b strings.Builder
	if err := views.ContactPage(f).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	body := b.String()
	i := strings.Index(body, `data-testid="error-summary"`)
	if i < 0 {
		t.Fatal("no error summary")
	}
	summary := body[i : i+strings.Index(body[i:], "</ul>")]
	if strings.Count(summary, "<li>") != 3 {
		t.Fatalf("the summary lists %d of 3 problems: %s", strings.Count(summary, "<li>"), summary)
	}
	// Fields first, in the form's order, then the others by name.
	phone, channel, program := strings.Index(summary, "Enter the mobile"), strings.Index(summary, "no mobile number"), strings.Index(summary, "Choose the program")
	if !(phone < channel && channel < program) {
		t.Fatalf("order: %s", summary)
	}
}

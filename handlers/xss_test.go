package handlers_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"caseverify/store"
)

// X4: names and notes with markup come back as text on every page that
// shows them; nothing typed becomes an element or an attribute.
func TestXSS_NamesAndNotesAreText(t *testing.T) {
	s := newServer(t, false)
	ctx := context.Background()
	payloads := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `</title><svg onload=alert(1)>`, `{{ .Secret }}`}
	c := s.client(t)
	c.signIn("worker@a.gov")
	cs, err := s.store.CreateCase(ctx, s.agencyA.ID, s.workerA.ID, store.CaseInput{Number: "X-1", Program: "snap"})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range payloads {
		if _, err := s.store.AddMember(ctx, s.agencyA.ID, cs.ID, store.MemberInput{FirstName: p, LastName: "Q" + string(rune('a'+i)),
			Relationship: "other"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.AddNote(ctx, s.agencyA.ID, cs.ID, s.workerA.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	pages := map[string]string{
		"case page":   c.get("/cases/" + itoa(cs.ID)).Body.String(),
		"case list":   c.get("/cases").Body.String(),
		"search":      c.post("/cases/search", url.Values{"q": {"<script>"}}).Body.String(),
		"member form": c.get("/cases/" + itoa(cs.ID) + "/members/new").Body.String(),
	}
	for name, body := range pages {
		for _, bad := range []string{"<script>alert", "<img src=x", "<svg onload", `"><img src=x`} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q unescaped", name, bad)
			}
		}
	}
	if !strings.Contains(pages["case page"], "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the name is not shown as text")
	}
}

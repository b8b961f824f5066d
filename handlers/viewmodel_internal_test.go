package handlers

import (
	"strings"
	"testing"

	"caseverify/store"
)

// A member's view model holds the stored details only when revealed; masked,
// none of them, nor any of their digits beyond what the mask keeps.
func TestMemberView_MasksUnlessRevealed(t *testing.T) {
	m := &store.Member{ID: 7, FirstName: "Rae", LastName: "Reyes", Relationship: "self", Position: 1, Language: "es",
		Email: "rae.secret@example.org", Phone: "+15552010123", DateOfBirth: "1990-02-03", SSNLast4: "5566"}
	masked := memberView(m, false)
	for _, secret := range []string{"rae.secret", "201", "0123", "1990", "5566"} {
		for _, shown := range []string{masked.Email, masked.Phone, masked.DateOfBirth, masked.SSNLast4} {
			if strings.Contains(shown, secret) {
				t.Errorf("masked view shows %q in %q", secret, shown)
			}
		}
	}
	if masked.Email != "r•••@example.org" || masked.Phone != "(•••) •••-••23" || masked.DateOfBirth != "••/••/••••" || masked.SSNLast4 != "•••-••-••••" || masked.Revealed {
		t.Errorf("masked: %+v", masked)
	}
	shown := memberView(m, true)
	if shown.Email != m.Email || shown.Phone != "(555) 201-0123" || shown.DateOfBirth != "Feb 3, 1990" || shown.SSNLast4 != "5566" || !shown.Revealed {
		t.Errorf("revealed: %+v", shown)
	}
	if shown.FullName != "Rae Reyes" || !shown.Primary || masked.FullName != "Rae Reyes" {
		t.Errorf("names: %+v", shown)
	}
	none := memberView(&store.Member{ID: 8, FirstName: "Bo"}, false)
	if none.Email != "" || none.Phone != "" || none.DateOfBirth != "" || none.SSNLast4 != "" {
		t.Errorf("nothing on file shows something: %+v", none)
	}
	views := memberViews([]*store.Member{m, {ID: 9, Email: "x@y.org"}}, 7)
	if !views[0].Revealed || views[1].Revealed || views[1].Email != "x•••@y.org" {
		t.Errorf("only the revealed member is shown: %+v", views)
	}
}

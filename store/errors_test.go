package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"caseverify/store"
)

// A store error names the operation that failed and still matches the
// store's sentinels, so handlers keep mapping ErrNotFound to 404.
func TestErrors_CarryOperationAndMatchSentinels(t *testing.T) {
	s, _, _ := mustOpen(t)
	f := mustFixture(t, s)
	ctx := context.Background()
	_, err := s.SaveReport(ctx, f.agencyA.ID, 999999, store.Report{Kind: "income", Data: []byte(`{}`)})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SaveReport of an unknown order: %v, want ErrNotFound", err)
	}
	if got := err.Error(); got != "store: SaveReport: not found" {
		t.Errorf("error = %q, want the operation named once, with one store: prefix", got)
	}
}

// The reason a password was refused survives any wrapping on its way up.
func TestPasswordProblem_Wrapped(t *testing.T) {
	weak := fmt.Errorf("%w: use at least 12 characters", store.ErrWeakPassword)
	for _, err := range []error{weak, fmt.Errorf("store: SetPassword: %w", weak)} {
		if got := store.PasswordProblem(err); got != "Password refused: use at least 12 characters." {
			t.Errorf("PasswordProblem(%q) = %q", err, got)
		}
		if strings.Contains(store.PasswordProblem(err), "store:") {
			t.Errorf("internal text reaches the form: %q", store.PasswordProblem(err))
		}
	}
}

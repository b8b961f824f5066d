package views_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The views get view models that hold only what a page may show
// (handlers/viewmodel.go masks, with handlers/mask): no template or view
// helper takes a stored member or outbox message, and none masks. Fails if a
// page starts taking decrypted PII again.
func TestViews_SeeNoStoredPII(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil {
		t.Fatal(err)
	}
	goFiles, _ := filepath.Glob("*.go")
	files = append(files, goFiles...)
	banned := regexp.MustCompile(`\bstore\.(Member|OutboxMessage|DueCase|DueMember)\b|\bMask[A-Z]\w*\(`)
	for _, f := range files {
		if strings.HasSuffix(f, "_templ.go") || strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := banned.FindString(line); m != "" {
				t.Errorf("%s:%d: %s (pass a view model built in handlers/viewmodel.go)", f, i+1, m)
			}
		}
	}
}

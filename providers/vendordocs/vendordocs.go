// Package vendordocs checks provider test fixtures against the vendor texts
// they were copied from. Each provider's testdata/SOURCES lists a fixture,
// its vendor file and the 1-based inclusive line range it was copied from;
// Check compares the bytes when the vendor texts are at hand
// (CASEVERIFY_VENDOR_DOCS, else ../../../shared/providers from the package
// directory, where the project keeps them) and skips otherwise, so the
// module's tests stand alone. It is used by tests only.
package vendordocs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Source is one line of testdata/SOURCES.
type Source struct {
	Fixture     string // file name under testdata
	VendorFile  string // e.g. payscore-webhooks.txt
	First, Last int    // line range, 1-based, inclusive
}

// Sources reads testdata/SOURCES.
func Sources(t testing.TB) []Source {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "SOURCES"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Source
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Fields(line)
		if len(parts) != 3 {
			t.Fatalf("SOURCES: bad line %q", line)
		}
		a, b, ok := strings.Cut(parts[2], "-")
		first, err1 := strconv.Atoi(a)
		last, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || first < 1 || last < first {
			t.Fatalf("SOURCES: bad range in %q", line)
		}
		out = append(out, Source{Fixture: parts[0], VendorFile: parts[1], First: first, Last: last})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Check compares every fixture of testdata/SOURCES with its vendor lines.
func Check(t *testing.T) {
	t.Helper()
	dir := os.Getenv("CASEVERIFY_VENDOR_DOCS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "providers")
	}
	for _, s := range Sources(t) {
		vendor, err := os.ReadFile(filepath.Join(dir, s.VendorFile))
		if err != nil {
			t.Skipf("vendor text %s not at hand (%v): set CASEVERIFY_VENDOR_DOCS to check the fixtures against it", s.VendorFile, err)
		}
		lines := strings.Split(string(vendor), "\n")
		if s.Last > len(lines) {
			t.Errorf("%s: %s has %d lines, SOURCES says %d-%d", s.Fixture, s.VendorFile, len(lines), s.First, s.Last)
			continue
		}
		want := strings.Join(lines[s.First-1:s.Last], "\n") + "\n"
		got, err := os.ReadFile(filepath.Join("testdata", s.Fixture))
		if err != nil {
			t.Error(err)
			continue
		}
		if string(got) != want {
			t.Errorf("%s is not %s lines %d-%d byte for byte:\n%s", s.Fixture, s.VendorFile, s.First, s.Last, diffHint(string(got), want))
		}
	}
}

func diffHint(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("line %d: got %q, want %q", i+1, g[i], w[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(g), len(w))
}

package providers_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// providerNames are the provider slugs. A name is provider knowledge: it
// belongs in the provider's own package (providers/{name}/), which says
// everything the portal does differently for it in its Capabilities.
var providerNames = []string{"truv", "truework", "payscore", "accountchek", "truuth"}

// nameAllowed is where a provider's name may appear outside its package,
// and why. Comments may name providers anywhere (they explain); this test
// reads identifiers and string literals only, of the code that runs (not
// tests: they exercise real providers by name).
//
//   - web/: the composition root. It builds each provider from its settings
//     (web/provider_{name}.go) and lists the settings sandbox mode refuses.
//   - views/: prose a person reads (a label, a sentence on the applicant's
//     page): a string literal with a space in it. A bare name in views is
//     a decision about a provider and is not allowed.
//   - store/password.go: the words a password must not contain, this site's
//     vocabulary (the portal's and its providers' names), not a decision.
func nameAllowed(path string, ident bool, lit string) bool {
	switch {
	case strings.HasPrefix(path, "web/"):
		return true
	case strings.HasPrefix(path, "views/"):
		return !ident && strings.Contains(lit, " ")
	case path == "store/password.go":
		return !ident
	}
	return false
}

var nameRE = regexp.MustCompile(`(?i)` + strings.Join(providerNames, "|"))

// TestProviderNames_OnlyInTheirPackage fails when code outside a provider's
// package names it (issue 16): in an identifier or a string literal, in any
// case ("Truework", "TRUEWORK", trueworkFields), in every non-test Go file of
// the module, the generated templ files included (they carry the
// templates' text and expressions). A provider's package may name itself,
// not another provider.
func TestProviderNames_OnlyInTheirPackage(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	checked := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		own := ownProvider(rel)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		checked++
		report := func(pos token.Pos, ident bool, text string) {
			for _, m := range nameRE.FindAllString(text, -1) {
				if strings.EqualFold(m, own) || nameAllowed(rel, ident, text) {
					continue
				}
				bad = append(bad, fset.Position(pos).String()[len(root)+1:]+": "+strconv.Quote(text))
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				report(n.Pos(), true, n.Name)
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					s, err := strconv.Unquote(n.Value)
					if err != nil {
						s = n.Value
					}
					report(n.Pos(), false, s)
				}
			case *ast.ImportSpec:
				// An import of a provider's package is named by its path.
				path, _ := strconv.Unquote(n.Path.Value)
				if pkg, ok := strings.CutPrefix(path, "caseverify/providers/"); ok && nameRE.MatchString(pkg) && !strings.EqualFold(pkg, own) && !nameAllowed(rel, true, pkg) {
					bad = append(bad, fset.Position(n.Pos()).String()[len(root)+1:]+": imports "+path)
				}
				return false
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("checked only %d files under %s: the walk is wrong", checked, root)
	}
	for _, b := range bad {
		t.Error("provider name outside its package: " + b)
	}
}

// ownProvider is the provider whose package holds the file, or "".
func ownProvider(rel string) string {
	rest, ok := strings.CutPrefix(rel, "providers/")
	if !ok {
		return ""
	}
	pkg, _, _ := strings.Cut(rest, "/")
	for _, n := range providerNames {
		if pkg == n {
			return n
		}
	}
	return ""
}

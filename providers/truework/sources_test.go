package truework

import (
	"testing"

	"caseverify/providers/vendordocs"
)

// TestFixtures_CopiedFromVendor (issue 14): the example bodies are those of
// testdata/SOURCES, byte for byte; the webhook tests authenticate and parse
// each one.
func TestFixtures_CopiedFromVendor(t *testing.T) { vendordocs.Check(t) }

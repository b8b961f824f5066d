package accountchek

import (
	"context"
	"errors"
	"os"
	"testing"

	"caseverify/providers"
	"caseverify/providers/vendordocs"
)

// TestFixtures_CopiedFromVendor (issue 14): the fixtures listed in
// testdata/SOURCES are the vendor's example bodies, byte for byte, from the
// lines named there.
func TestFixtures_CopiedFromVendor(t *testing.T) { vendordocs.Check(t) }

// TestVendor422Shape: the vendor's 422 structure, verbatim (its values are
// the placeholder "string"), is read without failing: the general reason
// becomes the message and the property its field.
func TestVendor422Shape(t *testing.T) {
	c := stub(t, 422, nil, readVendor(t, "error_422_shape.json"))
	_, err := c.FetchStatus(context.Background(), providers.OrderRef{OrderID: testOrderID})
	var pe *providers.ProviderError
	if !errors.As(err, &pe) || pe.HTTPStatus != 422 || pe.Message != rejectedPrefix+"string" || pe.Fields["string"] != "string" {
		t.Fatalf("got %#v", err)
	}
}

func readVendor(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

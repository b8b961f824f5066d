package views

import (
	"context"
	"strings"

	"caseverify/store"
)

func isCurrent(ctx context.Context, href string) bool {
	p := ChromeFrom(ctx).Path
	return p == href || strings.HasPrefix(p, href+"/")
}

func agencyName(ctx context.Context) string {
	if n := ChromeFrom(ctx).AgencyName; n != "" {
		return n
	}
	return "your agency"
}

// Choices turns store options into select choices.
func Choices(opts []store.Option) []Choice {
	out := make([]Choice, len(opts))
	for i, o := range opts {
		out[i] = Choice{Value: o.Value, Label: o.Label}
	}
	return out
}

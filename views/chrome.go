// Package views holds the portal's templ components and the small view
// models and formatting helpers they use. Components render; they do not
// fetch data or decide anything. Generated *_templ.go files are committed.
package views

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"caseverify/store"
)

// Chrome is what every page's frame needs: who is signed in, the CSRF token
// for forms, a flash message and the mode. Handlers put it in the request
// context once (middleware) so page components take only their own data.
type Chrome struct {
	UserName   string
	UserRole   string
	AgencyName string
	IsAdmin    bool
	Role       store.Role // what the pages offer follows the role's permissions (store/roles.go)
	SignedIn   bool
	CSRFToken  string
	Flash      string
	Sandbox    bool
	Path       string         // the request path, to mark the current nav item
	Zone       *time.Location // the agency's time zone for displayed times
	Outbox     bool           // messages go to the outbox: show it in the navigation
	Rendered   time.Time      // when the page was made: the live stream sends only what changed after it
}

// EventsURL is a case's live-status stream, telling the server when this
// page was rendered so that it pushes only changes the page does not show.
func EventsURL(ctx context.Context, caseID int64) string {
	return fmt.Sprintf("/cases/%d/events?at=%d", caseID, ChromeFrom(ctx).Rendered.UnixMilli())
}

type chromeKey struct{}

// WithChrome returns ctx carrying ch.
func WithChrome(ctx context.Context, ch Chrome) context.Context {
	return context.WithValue(ctx, chromeKey{}, ch)
}

// ChromeFrom returns the Chrome in ctx (zero if none).
func ChromeFrom(ctx context.Context) Chrome {
	ch, _ := ctx.Value(chromeKey{}).(Chrome)
	return ch
}

func csrfToken(ctx context.Context) string { return ChromeFrom(ctx).CSRFToken }

// formToken is a new one-time token for one rendering of a form: 128
// random bits, so two renderings never share one.
func formToken() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// can says whether the signed-in user's role includes p: pages offer only
// what the server would allow (the routes check it again).
func can(ctx context.Context, p store.Permission) bool { return ChromeFrom(ctx).Role.Can(p) }

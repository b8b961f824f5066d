package providers

import (
	"context"
	"net/http"
	"slices"
	"time"
)

// Capabilities is everything the portal does differently for one provider,
// declared once in the provider's own package (its Verifier.Capabilities).
// The portal never branches on a provider's name: it asks this. A sixth
// provider fills one of these and needs no change outside its package and
// its wiring in web/ (README "Adding a provider").
type Capabilities struct {
	// Label is the provider's name as staff and applicants read it ("Truv").
	Label string
	// Flow is how the applicant reaches the provider's flow.
	Flow Flow
	// CanNotify: the provider can send the link to the applicant itself
	// (OrderRequest.ProviderNotifies), so "The provider sends it" is offered.
	CanNotify bool
	// CanResend: the provider can send its link again itself, on request
	// (the adapter implements Resender; Inviter too when a first invitation
	// can be asked for after the order exists).
	CanResend bool
	// InvitesOnly: the provider gives the portal no link to deliver, only
	// its own invitation, so "the provider sends it" is the only channel.
	InvitesOnly bool
	// Household: one order verifies several members together.
	Household bool
	// RenewsLinks: an open order can get a fresh applicant link in place
	// (the adapter implements LinkRenewer).
	RenewsLinks bool
	// Needs lists the member details every order requires, by the portal's
	// field names ("email", "ssn_last4", ...): a form that does not collect
	// them cannot offer the provider, and a send for a member without them
	// is stopped before the provider is called.
	Needs []string
	// NeedsFullSSN: an order needs the applicant's full SSN, typed by the
	// caseworker at send time and never stored. Only the send form asks
	// for it, so a new order for this provider never happens without a
	// caseworker (renewals queue it, the contact center does not offer it).
	NeedsFullSSN bool
	// AsksEmployers: the send form offers the employers to verify
	// (OrderRequest.Employers), optional.
	AsksEmployers bool

	// PerOrderWebhook: the provider's webhooks carry no credential of
	// their own; each order gets an unguessable URL, /webhooks/{name}/{secret},
	// and a delivery is bound to that order only.
	PerOrderWebhook bool
	// Webhooks says how far a delivery is believed (handlers/verify inbox).
	Webhooks WebhookTrust
	// AuthFailureStatus is the HTTP status a delivery that fails
	// authentication gets; 0 means 401.
	AuthFailureStatus int
	// Reopens lists the raw events or raw statuses that are a documented
	// way back from a final status (a re-open, a "needs update"). The
	// portal marks an update carrying one (store.StatusUpdate.Reopen);
	// anything else that would move a final order back is late or a
	// duplicate and is ignored.
	Reopens []string

	// Refresh says how the provider refreshes a completed order without
	// the applicant (renewals).
	Refresh RefreshRules
	// ReverifyWindow is how long after completion a widget order can be
	// reverified from its order page; 0 means it cannot.
	ReverifyWindow time.Duration
}

// Flow is how an applicant reaches a provider.
type Flow string

// The flows.
const (
	// FlowLink: a hosted link the portal (or the provider) delivers.
	FlowLink Flow = ""
	// FlowWidget: the provider's widget on the portal's own applicant page,
	// /v/{token} (the adapter implements Widget).
	FlowWidget Flow = "widget"
)

// WebhookTrust is how far a provider's webhook deliveries are believed.
type WebhookTrust string

// The trust levels.
const (
	// WebhooksSigned: each delivery is signed; its updates apply as they
	// come, and a completion shows once the report is fetched and stored.
	WebhooksSigned WebhookTrust = "signed"
	// WebhooksSharedSecret: a static token or the order's URL, which anyone
	// who learns it can post: a delivery never ends an order or sets an
	// outcome by itself; the portal reads the order's state first.
	WebhooksSharedSecret WebhookTrust = "shared_secret"
	// WebhooksHints: deliveries carry no id and no time (a captured one can
	// be replayed): each only triggers a read of the order's state, and the
	// report confirms a completion.
	WebhooksHints WebhookTrust = "hints"
)

// ReportConfirms says a completion is confirmed by fetching its report
// before it shows: the provider's webhooks are signed or only hints. The
// shared-secret providers' completions are confirmed by a status read.
func (t WebhookTrust) ReportConfirms() bool { return t == WebhooksSigned || t == WebhooksHints }

// RefreshRules is how a provider refreshes a completed order.
type RefreshRules struct {
	// InPlace maps each product to the service (sub-item id) the provider
	// refreshes on the same order, which gets a new report; one call per
	// service. Nil means a refresh makes a new order for the order's first
	// product.
	InPlace map[Product]string
	// InPlaceDefault is the product refreshed in place when the order
	// names none the map knows.
	InPlaceDefault Product
	// Limit refreshes per connection within Window at most (each billed);
	// the next one is never sent. 0 means no limit the portal must count.
	Limit  int
	Window time.Duration
}

// AuthStatus is the status for a delivery that fails authentication.
func (c Capabilities) AuthStatus() int {
	if c.AuthFailureStatus == 0 {
		return http.StatusUnauthorized
	}
	return c.AuthFailureStatus
}

// Reopener says an update's raw event or raw status is one of the
// documented ways back from a final status (Reopens).
func (c Capabilities) Reopener(rawEvent, rawStatus string) bool {
	return rawEvent != "" && slices.Contains(c.Reopens, rawEvent) || rawStatus != "" && slices.Contains(c.Reopens, rawStatus)
}

// Widget is a provider whose applicant flow is a widget the portal hosts
// on its own page (FlowWidget).
type Widget interface {
	Widget() WidgetSettings
	// SessionToken is a fresh widget session for an open order.
	SessionToken(ctx context.Context, ref OrderRef, applicantIndex int) (string, error)
}

// WidgetSettings is what the portal's applicant page needs to open a
// provider's widget.
type WidgetSettings struct {
	ScriptURL      string // the widget's script
	PublishableKey string
	// Env is "sandbox" or "production", as the widget wants it.
	Env string
	// FrameSources are origins the widget frames besides the script's own
	// (added to the page's Content-Security-Policy).
	FrameSources []string
}

// Resender is a provider that sends its link to the applicant again
// itself (CanResend).
type Resender interface {
	ResendInvite(ctx context.Context, ref OrderRef) error
}

// Inviter is a Resender that can also send a first invitation after the
// order exists, for an order whose link first went another way.
type Inviter interface {
	SendInvite(ctx context.Context, ref OrderRef) error
}

// LinkRenewer is a provider that gives an open order a fresh applicant link
// without a new order (RenewsLinks).
type LinkRenewer interface {
	NewSSOURL(ctx context.Context, ref OrderRef) (string, error)
}

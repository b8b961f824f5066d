package truv

import (
	"time"

	"caseverify/providers"
)

// Refresh limits (vendor doc "Refresh limits"): 3 refreshes per connection
// per 24 hours, each billed. The portal counts them before any call.
const (
	RefreshLimit  = 3
	RefreshWindow = 24 * time.Hour
)

// Capabilities: a hosted link Truv can also send itself (email/SMS);
// webhooks signed per delivery (X-WEBHOOK-SIGN); a refresh that fails
// (order-refresh-failed) is Truv's documented way back from completed.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Label:     "Truv",
		CanNotify: true,
		Webhooks:  providers.WebhooksSigned,
		Reopens:   []string{EventOrderRefreshFailed},
		Refresh:   providers.RefreshRules{Limit: RefreshLimit, Window: RefreshWindow},
	}
}

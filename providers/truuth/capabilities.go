package truuth

import "caseverify/providers"

// Capabilities: Truuth sends its invite itself, and again on request
// (Send / Resend Verification Invite); its webhooks carry a static
// Authorization value, a shared secret.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Label:     "Truuth",
		CanNotify: true,
		CanResend: true,
		Webhooks:  providers.WebhooksSharedSecret,
	}
}

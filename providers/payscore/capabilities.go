package payscore

import "caseverify/providers"

// Capabilities: Payscore screens a household as one group and sends its
// own invitations (a link only where the contract names its field); its
// webhooks carry no id and no time, so each is only a hint to read the
// group's state. RE_OPEN_SCREENING is its documented way back.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Label:       "Payscore",
		CanNotify:   true,
		InvitesOnly: !c.GivesLinks(),
		Household:   true,
		Webhooks:    providers.WebhooksHints,
		Reopens:     []string{CodeReOpenScreening},
	}
}

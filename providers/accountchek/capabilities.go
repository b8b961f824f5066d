package accountchek

import "caseverify/providers"

// Needs are the member details an AccountChek order requires, by the
// portal's field names: email and last4SSN are required on every order
// (S03: "Required"), with the first and last name the portal always has.
// A form that does not collect them cannot offer AccountChek.
var Needs = []string{"email", "ssn_last4"}

// Capabilities: AccountChek emails its own sign-in link and can issue a
// fresh one for an open order (a new SSO URL after 5010); its postbacks
// are unauthenticated form posts, so each order gets its own secret URL and
// a postback is a hint; 509 and 609 ("needs update") are its documented
// ways back. A refresh is in place: the same order, each service (VOA for
// assets, VOIE for income or employment, one call for both) gets a new
// report.
func (c *Client) Capabilities() providers.Capabilities {
	return providers.Capabilities{
		Label:           "AccountChek",
		CanNotify:       true,
		RenewsLinks:     true,
		Needs:           Needs,
		PerOrderWebhook: true,
		Webhooks:        providers.WebhooksSharedSecret,
		Reopens:         []string{"509", "609"},
		Refresh: providers.RefreshRules{
			InPlace: map[providers.Product]string{
				providers.ProductAssets: SubIDVOA, providers.ProductIncome: SubIDVOIE, providers.ProductEmployment: SubIDVOIE,
			},
			InPlaceDefault: providers.ProductAssets,
		},
	}
}

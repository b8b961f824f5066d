package handlers

import (
	"context"

	"caseverify/handlers/verify"
	"caseverify/views"
)

// LinkMessages writes the applicant's link messages for the workflows with
// the views' wording and templates, so that handlers/verify imports no page
// code (verify.Config.Messages).
type LinkMessages struct{}

var _ verify.Messages = LinkMessages{}

// LinkEmail renders the email with a text and an HTML part.
func (LinkMessages) LinkEmail(ctx context.Context, m verify.LinkMessage) (verify.EmailParts, error) {
	p, err := views.LinkEmail(ctx, views.LinkMessage(m))
	return verify.EmailParts(p), err
}

// LinkSMSVariants renders the text message, fullest wording first.
func (LinkMessages) LinkSMSVariants(m verify.LinkMessage) []string {
	return views.LinkSMSVariants(views.LinkMessage(m))
}

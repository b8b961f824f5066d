package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"caseverify/providers"
	"caseverify/store"
)

// HouseholdRequest asks one provider to verify several members of a case
// together (Payscore screens a household as one group).
type HouseholdRequest struct {
	User      *store.User
	CaseID    int64
	MemberIDs []int64
	Provider  string
	Products  []string
	Channel   string
	// MonthlyRentCents is sent when the program is housing.
	MonthlyRentCents int64
}

// SendHousehold creates one household order at the provider for the chosen
// members and sends each member their own link. The order's member is the
// first chosen (usually the primary applicant); every member's link and
// sub-item is kept with the order.
func (s *Service) SendHousehold(ctx context.Context, req HouseholdRequest) (*store.Order, error) {
	u := req.User
	cs, err := s.store.Case(ctx, u.AgencyID, req.CaseID)
	if err != nil {
		return nil, err
	}
	p := s.providers[req.Provider]
	problems := Problems{}
	if p == nil || !p.Caps.Household {
		problems["provider"] = "Choose a provider that verifies a household together."
	}
	if len(req.MemberIDs) < 1 {
		problems["members"] = "Choose the members to include."
	}
	if len(req.Products) == 0 {
		problems["products"] = "Choose what to verify."
	}
	switch {
	case req.Channel != ChannelEmail && req.Channel != ChannelSMS && req.Channel != ChannelProvider:
		problems["channel"] = "Choose email, text message, or the provider sends it."
	case p != nil && p.Caps.InvitesOnly && req.Channel != ChannelProvider:
		problems["channel"] = p.Label + " sends each member their own invitation; the portal gets no link to send. Choose “The provider sends it”."
	}
	var members []*store.Member
	for _, id := range req.MemberIDs {
		m, err := s.store.Member(ctx, u.AgencyID, req.CaseID, id)
		if err != nil {
			return nil, err
		}
		switch {
		case req.Channel == ChannelEmail && m.Email == "":
			problems["members"] = m.FirstName + " has no email address."
		case req.Channel == ChannelSMS && m.Phone == "":
			problems["members"] = m.FirstName + " has no mobile number."
		case m.Email == "":
			problems["members"] = m.FirstName + " needs an email address: " + providerLabel(p) + " invites each applicant by email."
		}
		members = append(members, m)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	for _, m := range members {
		if problems, err := s.checkingFirst(ctx, u, m, p); err != nil || len(problems) > 0 {
			return nil, cmp.Or[error](err, problems)
		}
	}
	notify := store.NotifyAgency
	if req.Channel == ChannelProvider {
		notify = store.NotifyProvider
	}
	ref := store.NewOrderReference()
	o, err := s.store.CreateOrder(ctx, u.AgencyID, store.NewOrder{CaseID: cs.ID, MemberID: members[0].ID, Reference: ref,
		Provider: p.Name, Products: req.Products, Notify: notify, CreatedBy: u.ID})
	if err != nil {
		return nil, err
	}
	// The members are kept with the order from the start: a create that
	// gets no answer leaves an order being checked, and the lookup that
	// confirms it pairs each member's link (settle).
	kept := make([]*store.OrderMember, len(members))
	var applicants []providers.Applicant
	for i, m := range members {
		kept[i] = &store.OrderMember{MemberID: m.ID, FirstName: m.FirstName}
		applicants = append(applicants, providers.Applicant{Ref: memberRef(m.ID), FirstName: m.FirstName,
			LastName: m.LastName, Email: m.Email, Phone: m.Phone, Language: m.Language})
	}
	if err := s.store.AddOrderMembers(ctx, u.AgencyID, o.ID, orderMembers(kept)); err != nil {
		return nil, errors.Join(err, s.store.DeleteOrder(context.WithoutCancel(ctx), u.AgencyID, o.ID))
	}
	rent := int64(0)
	if cs.Program == "housing" {
		rent = req.MonthlyRentCents
	}
	po, err := p.Verifier.CreateOrder(ctx, providers.OrderRequest{Reference: ref, CaseNumber: cs.Number, AgencyName: u.AgencyName,
		Program: cs.Program, Products: toProducts(req.Products), ProviderNotifies: notify == store.NotifyProvider,
		WebhookURL: s.baseURL + "/webhooks/" + p.Name, MonthlyRentCents: rent, Applicants: applicants})
	if err != nil {
		return s.createFailed(ctx, o, p, req.Channel, "", err, nil)
	}
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.FirstName
	}
	o, _, err = s.attachHousehold(ctx, u, o, p, po, kept, req.Channel,
		fmt.Sprintf("Household order %s created at %s by %s for %s.", ref, p.Label, u.Name, strings.Join(names, ", ")), false)
	return o, err
}

// attachHousehold records what the provider returned for a created (or,
// when confirm, a found) household order, each member's link and
// sub-item, and sends each member their own link by channel ("" sends
// none). Like attachCreated it reports whether it attached.
func (s *Service) attachHousehold(ctx context.Context, u *store.User, o *store.Order, p *Provider, po *providers.Order,
	members []*store.OrderMember, channel, detail string, confirm bool) (*store.Order, bool, error) {
	links := map[string]providers.ApplicantLink{}
	for _, l := range po.Links {
		links[l.ApplicantRef] = l
	}
	oms := make([]*store.OrderMember, len(members))
	for i, m := range members {
		l := links[memberRef(m.MemberID)]
		oms[i] = &store.OrderMember{MemberID: m.MemberID, SubID: l.SubID, Link: l.URL, ShortLink: l.ShortURL}
	}
	attach := store.ProviderOrder{OrderID: po.OrderID, UserID: po.UserID, Status: store.StatusCreated, Link: oms[0].Link,
		ShortLink: oms[0].ShortLink, ExpiresAt: po.ExpiresAt}
	if confirm {
		if ok, err := s.store.ConfirmOrder(ctx, o.AgencyID, o.ID, attach, detail); err != nil || !ok {
			return o, false, err
		}
	} else if err := s.attachMade(ctx, o.AgencyID, o.ID, attach, detail); err != nil {
		return nil, false, err
	}
	if err := s.store.AddOrderMembers(ctx, o.AgencyID, o.ID, orderMembers(oms)); err != nil {
		return nil, true, err
	}
	o, err := s.store.Order(ctx, o.AgencyID, o.ID)
	if err != nil || channel == "" {
		return o, true, err
	}
	var firstErr error
	for _, om := range oms {
		one := *o // each member gets their own link
		one.MemberID, one.Link, one.ShortLink = om.MemberID, om.Link, om.ShortLink
		if err := s.Deliver(ctx, u, &one, channel, store.DeliveryFirst); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return o, true, firstErr
	}
	o, err = s.store.Order(ctx, o.AgencyID, o.ID)
	return o, true, err
}

func orderMembers(ms []*store.OrderMember) []store.OrderMember {
	out := make([]store.OrderMember, len(ms))
	for i, m := range ms {
		out[i] = *m
	}
	return out
}

func providerLabel(p *Provider) string {
	if p == nil {
		return "The provider"
	}
	return p.Label
}

// householdStore is what household.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type householdStore interface {
	AddOrderMembers(ctx context.Context, agencyID, orderID int64, ms []store.OrderMember) error
	AttachProviderOrder(ctx context.Context, agencyID, orderID int64, p store.ProviderOrder, detail string) error
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	CheckingOrder(ctx context.Context, agencyID, memberID int64, provider string) (*store.Order, error)
	ConfirmOrder(ctx context.Context, agencyID, orderID int64, p store.ProviderOrder, detail string) (bool, error)
	CreateOrder(ctx context.Context, agencyID int64, in store.NewOrder) (*store.Order, error)
	DeleteOrder(ctx context.Context, agencyID, orderID int64) error
	Member(ctx context.Context, agencyID, caseID, memberID int64) (*store.Member, error)
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
}

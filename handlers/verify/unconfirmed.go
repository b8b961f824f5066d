package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// Orders whose create got no answer (issue 13 item 5). A provider that
// commits an order and then times out (or answers 5xx), when its adapter's
// own lookup by reference fails too, may have the order and bill it. The
// portal keeps its order instead of deleting it: "unconfirmed"
// (store.MarkUnconfirmed, Order.Checking), shown as "Checking with …",
// with its reference, which is the provider's idempotency key. Every
// create goes through createFailed: a send, a household send (its members
// kept with the order), a reverification and a renewal's refresh or new
// link (its item waits "checking" and settle's answer finishes it,
// checkedOutcome in renew.go). Then:
//
//   - the reconciler looks it up by that reference (providers.OrderFinder,
//     each provider's own lookup) until the provider answers: found, the
//     order is attached and its link goes out by the channel chosen at send;
//     not there, it ends failed and says so;
//   - a delivery for an order the portal does not know, from a provider with
//     orders being checked, looks those up at once: the late webhook then
//     finds its order by the provider's id (and waits in the inbox, kept 7
//     days, until it does); an AccountChek postback to a checking order's
//     own URL does the same;
//   - a new send of that provider to that member is refused while one is
//     being checked (checkingFirst), so nobody makes a second billed order.

// unconfirmedFirstCheck is how soon after an unanswered create the
// reconciler first looks the order up; after that, as any quiet order.
const unconfirmedFirstCheck = time.Minute

// checkingPace is the least time between two look-ups a delivery for an
// unknown order triggers, per provider.
const checkingPace = 5 * time.Second

// UnconfirmedError says a create got no answer and the order is kept,
// unconfirmed, while the portal asks the provider (Order). It is not a
// *providers.ProviderError: nothing is left to undo.
type UnconfirmedError struct {
	Order    *store.Order
	Provider string // the provider's label
	Err      error  // what the create got, for the log
}

func (e *UnconfirmedError) Error() string {
	return e.Provider + " did not answer the order; the portal is checking whether it was created: " + providers.Redact(e.Err.Error())
}

// Message is what the caseworker reads.
func (e *UnconfirmedError) Message() string {
	return fmt.Sprintf("%s did not answer in time, so the portal is checking with %s whether the order was created. "+
		"The case page shows the answer; do not send it again meanwhile.", e.Provider, e.Provider)
}

// createFailed is the one path for a create (or a refresh that makes a new
// order) that failed. When the provider may have the order
// (providers.CreateMayHaveLanded) it is kept unconfirmed (keepUnconfirmed)
// and an *UnconfirmedError returned; otherwise nothing exists at the
// provider and drop removes the portal's order (nil: delete it) and cause
// is returned.
func (s *Service) createFailed(ctx context.Context, o *store.Order, p *Provider, channel, secret string, cause error, drop func(context.Context)) (*store.Order, error) {
	ctx = context.WithoutCancel(ctx) // the provider's answer is recorded even when the request ended
	if providers.CreateMayHaveLanded(cause) {
		return s.keepUnconfirmed(ctx, o, p, channel, secret, cause)
	}
	if drop != nil {
		drop(ctx)
	} else if err := s.store.DeleteOrder(ctx, o.AgencyID, o.ID); err != nil {
		s.log.Error("delete refused order", "order_id", o.ID, "error", err)
	}
	return nil, cause
}

// keepUnconfirmed marks the order unconfirmed (channel and the per-order
// webhook secret kept for when it is confirmed) and returns it with an
// *UnconfirmedError.
func (s *Service) keepUnconfirmed(ctx context.Context, o *store.Order, p *Provider, channel, secret string, cause error) (*store.Order, error) {
	label := p.Label
	then := "the link goes out once " + label + " confirms it."
	if channel == ChannelQR || channel == ChannelCopy || channel == "" {
		then = "once " + label + " confirms it, show the link from this page."
	}
	if channel == ChannelProvider {
		then = label + " sends the link if it has the order."
	}
	detail := fmt.Sprintf("%s did not answer when the order was sent. The portal is checking with %s whether it has order %s; %s",
		label, label, o.Reference, then)
	if err := s.store.MarkUnconfirmed(ctx, o.AgencyID, o.ID, channel, secret, detail, unconfirmedFirstCheck); err != nil {
		return nil, errors.Join(cause, err)
	}
	s.log.Warn("create got no answer; order kept unconfirmed", "provider", p.Name, "order_id", o.ID,
		"error", providers.Redact(cause.Error()))
	kept, err := s.store.Order(ctx, o.AgencyID, o.ID)
	if err != nil {
		return nil, err
	}
	return kept, &UnconfirmedError{Order: kept, Provider: label, Err: cause}
}

// checkingFirst refuses a new order of provider p for member m while one of
// theirs is being checked: the first may exist, billed, at the provider.
func (s *Service) checkingFirst(ctx context.Context, u *store.User, m *store.Member, p *Provider) (Problems, error) {
	o, err := s.store.CheckingOrder(ctx, u.AgencyID, m.ID, p.Name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return Problems{"provider": fmt.Sprintf("%s has not confirmed order %s for %s yet: the portal is checking with %s whether it was created. "+
		"Send again only once the case page shows the answer, so %s does not get two orders.", p.Label, o.Reference, m.FirstName, p.Label, m.FirstName)}, nil
}

// settle looks an unconfirmed order up at its provider by its reference. It
// reports whether it settled the order. mayEnd lets it end the order failed
// when the provider has no such order, or cannot be asked (a lookup turned
// off by contract, where it is UNCONFIRMED): only the reconciler's checks
// may, after unconfirmedFirstCheck, never a webhook's early one.
func (s *Service) settle(ctx context.Context, o *store.Order, mayEnd bool) (bool, error) {
	p := s.providers[o.Provider]
	if p == nil || !o.Checking() {
		return false, nil
	}
	label := p.Label
	// A household order's members were kept with it (SendHousehold): the
	// lookup pairs each one's link with them.
	oms, err := s.store.OrderMembers(ctx, o.AgencyID, o.ID)
	if err != nil {
		return false, err
	}
	applicants := []providers.Applicant{{Ref: memberRef(o.MemberID)}}
	if len(oms) > 0 {
		applicants = applicants[:0]
		for _, om := range oms {
			applicants = append(applicants, providers.Applicant{Ref: memberRef(om.MemberID)})
		}
	}
	var po *providers.Order
	err = fmt.Errorf("%s: %w", p.Name, providers.ErrNotSupported)
	if finder, ok := providerVerifier(p).(providers.OrderFinder); ok {
		cs, cerr := s.store.Case(ctx, o.AgencyID, o.CaseID)
		if cerr != nil {
			return false, cerr
		}
		req := providers.OrderRequest{Reference: o.Reference, CaseNumber: cs.Number, Applicants: applicants}
		if o.RefreshOf != 0 {
			// A refresh or reverification: the adapter knows whether the
			// provider keeps the reference on it.
			prev, perr := s.store.Order(ctx, o.AgencyID, o.RefreshOf)
			if perr != nil {
				return false, perr
			}
			req.RefreshOf = prev.ProviderOrderID
		}
		po, err = finder.FindOrder(ctx, req)
	}
	switch {
	case err == nil:
		channel, err := s.store.UnconfirmedChannel(ctx, o.AgencyID, o.ID)
		if err != nil {
			return false, err
		}
		if channel == ChannelQR || channel == ChannelCopy {
			channel = "" // shown, not sent: the caseworker shows it from the order page
		}
		u, err := s.agencyUser(ctx, o)
		if err != nil {
			return false, err
		}
		detail := fmt.Sprintf("%s confirmed that it has order %s.", label, o.Reference)
		var attached bool
		if len(oms) > 0 {
			_, attached, err = s.attachHousehold(ctx, u, o, p, po, oms, channel, detail, true)
		} else {
			_, attached, err = s.attachCreated(ctx, u, o, p, po, "", channel, detail, true)
		}
		var derr *DeliveryError
		if errors.As(err, &derr) {
			s.log.Warn("confirmed order: link not sent", "order_id", o.ID, "channel", derr.Channel)
			err = nil // on the timeline; the caseworker resends
		}
		if attached {
			s.log.Info("unconfirmed order confirmed", "provider", o.Provider, "order_id", o.ID)
			s.checkedOutcome(ctx, o)
		}
		return attached, err
	case !mayEnd:
		return false, nil
	case errors.Is(err, providers.ErrNotFound):
		return true, s.endUnconfirmed(ctx, o, fmt.Sprintf("%s has no order %s: it never reached %s. Send a new verification.", label, o.Reference, label))
	case errors.Is(err, providers.ErrNotSupported):
		what := fmt.Sprintf("order %s", o.Reference)
		if o.RefreshOf != 0 {
			what = "the refresh the portal asked for"
		}
		return true, s.endUnconfirmed(ctx, o, fmt.Sprintf("%s cannot be asked whether it has %s. "+
			"Look for it in %s's dashboard before sending a new verification.", label, what, label))
	}
	return false, err
}

// memberRef is the applicant ref the portal gives a member at a provider.
func memberRef(memberID int64) string { return fmt.Sprintf("member-%d", memberID) }

func (s *Service) endUnconfirmed(ctx context.Context, o *store.Order, detail string) error {
	s.log.Info("unconfirmed order ended", "provider", o.Provider, "order_id", o.ID)
	ended, _, err := s.store.ApplyUpdate(ctx, o.AgencyID, o.ID, store.StatusUpdate{RawEvent: "lookup-by-reference",
		Status: store.StatusFailed, Detail: detail, Source: store.SourceSystem})
	if err == nil && ended != nil {
		s.checkedOutcome(ctx, ended)
	}
	return err
}

// settleChecking looks up the provider's orders being checked, on behalf of
// a delivery for an order the portal does not know (it may be one of them).
// At most once per checkingPace per provider. It reports whether it settled
// any.
func (s *Service) settleChecking(ctx context.Context, provider string) bool {
	s.checkMu.Lock()
	if last, ok := s.checkedAt[provider]; ok && s.store.Now().Sub(last) < checkingPace {
		s.checkMu.Unlock()
		return false
	}
	s.checkedAt[provider] = s.store.Now()
	s.checkMu.Unlock()
	orders, err := s.store.CheckingOrders(ctx, provider, 10)
	if err != nil {
		s.log.Warn("checking orders", "provider", provider, "error", err)
		return false
	}
	settledAny := false
	for _, o := range orders {
		settled, err := s.settle(ctx, o, false)
		if err != nil {
			s.log.Warn("look-up by reference failed", "provider", provider, "order_id", o.ID, "error", err)
		}
		settledAny = settledAny || settled
	}
	return settledAny
}

// unconfirmedStore is what unconfirmed.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type unconfirmedStore interface {
	ApplyUpdate(ctx context.Context, agencyID, orderID int64, u store.StatusUpdate) (*store.Order, bool, error)
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	CheckingOrder(ctx context.Context, agencyID, memberID int64, provider string) (*store.Order, error)
	CheckingOrders(ctx context.Context, provider string, limit int) ([]*store.Order, error)
	MarkUnconfirmed(ctx context.Context, agencyID, orderID int64, channel, secret, detail string, firstCheck time.Duration) error
	Now() time.Time
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
	OrderMembers(ctx context.Context, agencyID, orderID int64) ([]*store.OrderMember, error)
	UnconfirmedChannel(ctx context.Context, agencyID, orderID int64) (string, error)
}

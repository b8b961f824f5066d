package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// bulkSendItem sends one member of a bulk send a verification with the
// run's provider, products and channel, through Send (the send form's
// rules and path). It runs on the renewal engine (RenewNext): claimed with
// a lease, paced per provider, fenced before the message, recorded once.
func (s *Service) bulkSendItem(ctx context.Context, it *store.RenewalItem) error {
	status, detail, orderID := s.bulkSend(ctx, it)
	if status == leaseLost {
		s.log.Warn("bulk send item taken over by another worker", "item_id", it.ID)
		return nil
	}
	err := s.store.FinishRenewalItem(context.WithoutCancel(ctx), it, status, "send", detail, 0, orderID)
	if errors.Is(err, store.ErrLeaseLost) {
		s.log.Warn("bulk send item taken over before it was recorded", "item_id", it.ID)
		return nil
	}
	if err == nil && status == "checking" {
		s.settledMeanwhile(ctx, it.AgencyID, orderID)
	}
	return err
}

func (s *Service) bulkSend(ctx context.Context, it *store.RenewalItem) (status, detail string, orderID int64) {
	run, err := s.store.RenewalRun(ctx, it.AgencyID, it.RunID)
	if err != nil {
		return "failed", "The portal could not read the send.", 0
	}
	m, err := s.store.Member(ctx, it.AgencyID, it.CaseID, it.MemberID)
	if err != nil {
		return "failed", "The member could not be read.", 0
	}
	u, err := s.store.User(ctx, it.AgencyID, run.StartedBy)
	if err != nil {
		if u, err = s.agencyUser(ctx, &store.Order{AgencyID: it.AgencyID}); err != nil {
			return "failed", "The agency could not be read.", 0
		}
	}
	p := s.providers[run.Provider]
	req := SendRequest{User: u, CaseID: it.CaseID, MemberID: it.MemberID, Provider: run.Provider, Products: run.Products, Channel: run.Channel}
	// The send form's rules, once: a member without the channel's contact,
	// or without a detail the provider needs, is skipped with the reason.
	if problems := s.check(req, p, m); len(problems) > 0 {
		for _, k := range []string{"channel", "provider", "ssn", "products"} {
			if msg := problems[k]; msg != "" {
				return "skipped", msg, 0
			}
		}
	}
	if it.Attempts > 1 {
		// Taken over from a worker that stopped: it may have sent already.
		// Never send twice; an order it left half-made goes to the caseworker.
		if o, err := s.store.OrderSince(ctx, it.AgencyID, it.MemberID, run.Provider, run.CreatedAt); err == nil {
			if o.ProviderOrderID != "" {
				return "new_link", "Sent by an earlier attempt (before a restart).", o.ID
			}
			return "failed", "An earlier attempt stopped while sending. Check the case before sending again.", o.ID
		}
	}
	if err := s.paceProvider(ctx, run.Provider); err != nil {
		return "pending", "", 0 // shutting down: the item waits for the next worker
	}
	if s.store.ExtendRenewalLease(ctx, it, renewLease) != nil {
		return leaseLost, "", 0
	}
	o, err := s.Send(ctx, req)
	var perr *providers.ProviderError
	var derr *DeliveryError
	var uerr *UnconfirmedError
	switch {
	case errors.As(err, &uerr) && o != nil:
		// Kept, being checked (issue 13 item 5): the link goes out once the
		// provider confirms the order, and checkedOutcome records it.
		return "checking", fmt.Sprintf("%s did not answer in time. The portal is checking with %s whether the order was created; "+
			"once it is, the link goes out by %s.", uerr.Provider, uerr.Provider, ChannelWords(run.Channel)), o.ID
	case errors.As(err, &derr) && o != nil:
		return "failed", "The verification was created but the link was not sent: " + derr.Reason, o.ID
	case errors.As(err, &perr):
		return "failed", p.Label + " did not accept it: " + perr.Message, 0
	case err != nil:
		return "failed", "The verification could not be sent; send it from the case page.", 0
	}
	return "new_link", "Sent by " + ChannelWords(run.Channel) + ".", o.ID
}

// CheckBulkSend checks a bulk send's provider, products and channel by the
// send form's rules (check), as for a member who has every detail: what a
// member lacks becomes that member's reason to be skipped. Only email and
// text message reach many members at once.
func (s *Service) CheckBulkSend(provider string, products []string, channel string) Problems {
	if channel != ChannelEmail && channel != ChannelSMS {
		return Problems{"channel": "Choose email or text message."}
	}
	full := &store.Member{FirstName: "-", LastName: "-", Email: "-", Phone: "-", DateOfBirth: "-", SSNLast4: "-"}
	problems := s.check(SendRequest{Provider: provider, Products: products, Channel: channel}, s.providers[provider], full)
	if problems["ssn"] != "" {
		// The full SSN is typed at sending and never kept: one member at a time.
		problems["ssn"] = s.providers[provider].Label + " needs each member's full SSN, typed when sending: send those from each member's page."
	}
	return problems
}

// bulkStore is what bulk.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type bulkStore interface {
	ExtendRenewalLease(ctx context.Context, it *store.RenewalItem, lease time.Duration) error
	FinishRenewalItem(ctx context.Context, it *store.RenewalItem, status, path, detail string, prevOrderID, orderID int64) error
	Member(ctx context.Context, agencyID, caseID, memberID int64) (*store.Member, error)
	OrderSince(ctx context.Context, agencyID, memberID int64, provider string, since time.Time) (*store.Order, error)
	RenewalRun(ctx context.Context, agencyID, runID int64) (*store.RenewalRun, error)
	User(ctx context.Context, agencyID, userID int64) (*store.User, error)
}

package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// renewLease is how long a worker holds a member's renewal before another
// worker (after a crash or restart) may take it over.
const renewLease = 2 * time.Minute

// renewPerProvider is how many of a process's renewal workers may work on
// one provider's items at once (waiting for its rate, or calling it). A
// provider's calls are paced by its rate (pace); the cap keeps the other
// workers for the other providers, so that a run whose first thousand
// members are one provider's does not make the rest wait (issue 17).
const renewPerProvider = 8

// RunRenewals works through the items of runs, renewals and bulk sends
// (one engine: store.RunKind), until ctx ends. Items are claimed
// in the database one at a time, so two portal processes share the work and
// a member is never renewed twice; after a restart, items whose worker died
// are taken over when their lease ends. The pool has renewPerProvider
// workers for each provider (and for items of no known provider): the
// providers renew in parallel, each at its own rate.
func (s *Service) RunRenewals(ctx context.Context) {
	var wg sync.WaitGroup
	for range s.renewWorkers() {
		wg.Go(func() { s.work(ctx, "renewals", 2*time.Second, s.renewWake, s.RenewNext) })
	}
	wg.Wait()
}

func (s *Service) renewWorkers() int { return renewPerProvider * (len(s.providers) + 1) }

// NotifyRenewals wakes a renewal worker (a run was started, or a worker
// took an item and another may take the next). It never blocks.
func (s *Service) NotifyRenewals() {
	select {
	case s.renewWake <- struct{}{}:
	default:
	}
}

// claimRenewal claims an item of a provider that has fewer than
// renewPerProvider of this process's workers, and counts it in.
func (s *Service) claimRenewal(ctx context.Context) (*store.RenewalItem, error) {
	s.renewMu.Lock()
	defer s.renewMu.Unlock()
	var busy []string
	for name, n := range s.renewing {
		if n >= renewPerProvider {
			busy = append(busy, name)
		}
	}
	it, err := s.store.ClaimRenewalItemExcept(ctx, renewLease, busy)
	if err != nil {
		return nil, err
	}
	s.renewing[it.Provider]++
	return it, nil
}

// releaseRenewal counts a claimed item of provider out.
func (s *Service) releaseRenewal(provider string) {
	s.renewMu.Lock()
	defer s.renewMu.Unlock()
	if s.renewing[provider]--; s.renewing[provider] <= 0 {
		delete(s.renewing, provider)
	}
}

// RenewNext works one waiting item: renews the member, or sends them a bulk
// send's verification. It returns false when none waits.
func (s *Service) RenewNext(ctx context.Context) (bool, error) {
	it, err := s.claimRenewal(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer s.releaseRenewal(it.Provider)
	// While this item waits for its provider's rate, another worker takes
	// the next one (of whichever provider has room).
	s.NotifyRenewals()
	if it.Kind == store.RunBulkSend {
		return true, s.bulkSendItem(ctx, it)
	}
	status, path, detail, prev, next := s.renew(ctx, it)
	if status == leaseLost {
		s.log.Warn("renewal taken over by another worker", "item_id", it.ID)
		return true, nil
	}
	err = s.store.FinishRenewalItem(context.WithoutCancel(ctx), it, status, path, detail, prev, next)
	if errors.Is(err, store.ErrLeaseLost) {
		// Another worker, or the refresh's webhook, has recorded it.
		s.log.Warn("renewal taken over before it was recorded", "item_id", it.ID)
		return true, nil
	}
	if err != nil {
		return true, err
	}
	if status == "checking" {
		s.settledMeanwhile(ctx, it.AgencyID, next)
	}
	if status == "refreshing" && next != prev {
		// The refresh's webhook may have been processed while this worker
		// held the item (RenewalOutcome then leaves it alone): look at the
		// order now that the item says "refreshing".
		if o, err := s.store.Order(ctx, it.AgencyID, next); err == nil {
			s.RenewalOutcome(ctx, o)
		}
	}
	return true, nil
}

// leaseLost is the status renew returns when the item was taken over by
// another worker while this one held it: nothing is recorded.
const leaseLost = ""

// renew refreshes a member's last completed verification where the
// provider can, and otherwise falls back to a new link.
func (s *Service) renew(ctx context.Context, it *store.RenewalItem) (status, path, detail string, prevID, orderID int64) {
	if it.OrderID != 0 {
		// Taken over from a worker that stopped after reserving the refresh.
		// Whether the provider got the (billed) request is unknown: never
		// ask twice; hand it to the caseworker unless the answer was recorded.
		o, err := s.store.Order(ctx, it.AgencyID, it.OrderID)
		if err == nil && o.ProviderOrderID != "" {
			return "refreshing", "refresh", "Refresh requested; waiting for the provider.", it.PrevOrderID, o.ID
		}
		if err == nil {
			s.dropReserved(ctx, it, o.ID)
		}
		return "queued", "queue", "An earlier attempt stopped while asking the provider to refresh. To avoid a second billed refresh, check the provider's dashboard, then send a new link if needed.", it.PrevOrderID, 0
	}
	prev, err := s.store.LastCompleted(ctx, it.AgencyID, it.MemberID)
	if errors.Is(err, store.ErrNotFound) {
		return s.fallback(ctx, it, nil, "No completed verification to refresh.")
	}
	if err != nil {
		return "failed", "", "The portal could not read the member's verifications.", 0, 0
	}
	p := s.providers[prev.Provider]
	if p == nil {
		return s.fallback(ctx, it, prev, "The provider of the last verification is not configured.")
	}
	// A provider that bills each refresh and limits them per connection
	// (Caps.Refresh.Limit, e.g. Truv's 3 in 24 hours): the one over the
	// limit is never sent. Checked before any call.
	if lim := p.Caps.Refresh; lim.Limit > 0 {
		n, err := s.store.RefreshesSince(ctx, it.AgencyID, prev.ID, s.store.Now().Add(-lim.Window))
		if err != nil {
			return "failed", "", "The portal could not count this connection's refreshes.", prev.ID, 0
		}
		if n >= lim.Limit {
			return s.fallback(ctx, it, prev, fmt.Sprintf("%s allows %d refreshes per connection in %s and this connection has had %d; no refresh was sent.",
				p.Label, lim.Limit, hoursWords(lim.Window), n))
		}
	}
	// The baseline: the report the renewal compares the new one with. It is
	// recorded before the refresh because a refresh in place (AccountChek)
	// adds the new report to this same order.
	var reportID string
	var baseline int64
	if r, err := s.store.LatestReport(ctx, it.AgencyID, prev.ID); err == nil {
		reportID, baseline = r.ProviderReportID, r.ID
	}
	if err := s.store.SetRenewalBaseline(ctx, it.ID, prev.ID, baseline); err != nil {
		if isBusy(err) {
			return "pending", "", "", 0, 0 // nothing was sent: another try later
		}
		s.log.Warn("renewal: could not record the refresh", "step", "baseline", "order_id", prev.ID, "error", err)
		return "failed", "", "The portal could not record the refresh.", prev.ID, 0
	}
	it.PrevOrderID, it.PrevReportID = prev.ID, baseline
	products := refreshProducts(prev, p.Caps.Refresh)
	// Bulk renewal must not flood a provider: refresh calls are paced per
	// provider (RenewalRate; the providers' own limits are UNCONFIRMED except
	// Truework's 10/s, which its adapter also enforces).
	if err := s.paceProvider(ctx, p.Name); err != nil {
		return "pending", "", "", 0, 0
	}
	// Pacing can outlast the lease: a worker that lost the item to another
	// must not send a (billed) refresh too.
	if s.store.ExtendRenewalLease(ctx, it, renewLease) != nil {
		return leaseLost, "", "", 0, 0
	}
	// Reserve the order (and its reference) and tie it to the item before
	// the call, so a crash after the call is never followed by a second one.
	ref := store.NewOrderReference()
	o, err := s.store.CreateOrder(ctx, it.AgencyID, store.NewOrder{CaseID: prev.CaseID, MemberID: prev.MemberID, Reference: ref,
		Provider: prev.Provider, Products: productStrings(products), Notify: store.NotifyAgency, RefreshOf: prev.ID})
	if err != nil {
		if isBusy(err) {
			return "pending", "", "", 0, 0 // nothing was sent: another try later
		}
		s.log.Warn("renewal: could not record the refresh", "step", "order", "order_id", prev.ID, "error", err)
		return "failed", "", "The portal could not record the refresh.", prev.ID, 0
	}
	if err := s.store.SetRenewalOrder(ctx, it.ID, o.ID); err != nil {
		if isBusy(err) && s.store.DeleteOrder(ctx, it.AgencyID, o.ID) == nil {
			return "pending", "", "", 0, 0 // nothing was sent: another try later
		}
		s.log.Warn("renewal: could not record the refresh", "step", "item order", "order_id", prev.ID, "error", err)
		return "failed", "", "The portal could not record the refresh.", prev.ID, 0
	}
	// One product per request (Truv). A provider that refreshes in place
	// (AccountChek: same order, new report) refreshes each of the order's
	// services, VOA and VOIE, with its own call; one that makes a new order
	// refreshes the first product only.
	var po *providers.Order
	for _, product := range products {
		po, err = p.Verifier.Refresh(ctx, providers.OrderRef{OrderID: prev.ProviderOrderID, UserID: prev.ProviderUserID},
			providers.RefreshRequest{Reference: ref, Product: product, ReportID: reportID, Now: s.store.Now()})
		if err != nil || po.OrderID != prev.ProviderOrderID {
			break
		}
	}
	drop := func(ctx context.Context) { s.dropReserved(ctx, it, o.ID) } // no new order at the provider
	switch {
	case err != nil && p.Caps.Refresh.InPlace == nil:
		// A refresh that makes a new order is a create: with no answer the
		// provider may have it (billed), so the reserved order is kept,
		// being checked, and the item waits for the answer (checkedOutcome).
		var uerr *UnconfirmedError
		if _, kerr := s.createFailed(ctx, o, p, "", "", err, drop); errors.As(kerr, &uerr) {
			return "checking", "refresh", fmt.Sprintf("%s did not answer the refresh request. The portal is checking with %s whether it was made; "+
				"this renewal goes on when %s answers.", p.Label, p.Label, p.Label), prev.ID, o.ID
		}
	case err != nil || po.OrderID == prev.ProviderOrderID:
		drop(ctx)
	}
	var perr *providers.ProviderError
	switch {
	case errors.Is(err, providers.ErrNotSupported):
		return s.fallback(ctx, it, prev, p.Label+" cannot refresh data without the applicant.")
	case errors.As(err, &perr) && perr.Message != "":
		return s.fallback(ctx, it, prev, "Refresh refused: "+perr.Message) // the adapter's plain sentence
	case err != nil:
		// Staff read a sentence; the error, without personal data, goes to the log.
		s.log.Warn("renewal: refresh failed", "provider", p.Name, "order_id", prev.ID, "error", providers.Redact(err.Error()))
		return s.fallback(ctx, it, prev, p.Label+" did not take the refresh request.")
	}
	if po.OrderID == prev.ProviderOrderID {
		return s.completeInPlace(ctx, it, prev, p)
	}
	link := providers.ApplicantLink{}
	if len(po.Links) > 0 {
		link = po.Links[0]
	}
	if link.WidgetToken != "" && link.URL == "" {
		// A widget provider (Truework): the applicant's link, if the
		// reverification needs them, is the portal's own page.
		if link.URL, err = s.newApplicantPage(ctx, o); err != nil {
			return "failed", "", "The portal could not make the applicant's page.", prev.ID, o.ID
		}
	}
	if err := s.attachMade(ctx, it.AgencyID, o.ID, store.ProviderOrder{OrderID: po.OrderID, UserID: po.UserID,
		Status: store.StatusInProgress, Link: link.URL, ShortLink: link.ShortURL, WidgetToken: link.WidgetToken, ExpiresAt: po.ExpiresAt},
		fmt.Sprintf("Refresh of %s requested at %s for recertification.", prev.Reference, p.Label)); err != nil {
		s.log.Warn("renewal: could not record the refresh", "step", "provider order", "order_id", prev.ID, "error", err)
		return "failed", "", "The portal could not record the refresh.", prev.ID, 0
	}
	// The outcome arrives by webhook (RenewalOutcome); a refresh that already
	// completed is recorded now.
	if po.Status == providers.StatusCompleted {
		return "refreshed", "refresh", "Refreshed without the applicant.", prev.ID, o.ID
	}
	return "refreshing", "refresh", "Refresh requested; waiting for " + p.Label + ".", prev.ID, o.ID
}

// refreshProducts is what to ask a provider to refresh, one product per
// call. A provider that refreshes in place (Caps.Refresh.InPlace, e.g.
// AccountChek: VOA for assets, VOIE for income or employment, one call
// covering both) gets one product per service the order has. Every other
// provider gets the order's first product: it answers with a new order.
func refreshProducts(prev *store.Order, rules providers.RefreshRules) []providers.Product {
	if rules.InPlace == nil {
		if len(prev.Products) > 0 {
			return []providers.Product{providers.Product(prev.Products[0])}
		}
		return []providers.Product{providers.ProductIncome}
	}
	var out []providers.Product
	seen := map[string]bool{}
	for _, pr := range prev.Products {
		if svc := rules.InPlace[providers.Product(pr)]; svc != "" && !seen[svc] {
			out, seen[svc] = append(out, providers.Product(pr)), true
		}
	}
	if len(out) == 0 {
		out = []providers.Product{rules.InPlaceDefault}
	}
	return out
}

// refreshedServices names the services (the sub-item ids of FetchStatus)
// that refreshProducts refreshes in place.
func refreshedServices(prev *store.Order, rules providers.RefreshRules) []string {
	var out []string
	for _, pr := range refreshProducts(prev, rules) {
		out = append(out, rules.InPlace[pr])
	}
	return out
}

// hoursWords says a refresh window as the pages put it ("24 hours").
func hoursWords(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return d.String()
}

func productStrings(ps []providers.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

// completeInPlace finishes a refresh in place (AccountChek: the order keeps
// its id and each refreshed service gets a new report). The new report ids
// come from the provider's authenticated status call, never from a
// postback: a refreshed service's newest report is new when it is not one
// the order had at the baseline (it.PrevReportID). New reports are fetched
// and stored on the order. While a service still lists its old report (the
// provider is generating the new one), the item stays "refreshing" and the
// postback's processing (Apply, then RenewalOutcome) finishes it.
func (s *Service) completeInPlace(ctx context.Context, it *store.RenewalItem, prev *store.Order, p *Provider) (status, path, detail string, prevID, orderID int64) {
	waiting := func() (string, string, string, int64, int64) {
		return "refreshing", "refresh", "Refresh requested; waiting for " + p.Label + "'s new report.", prev.ID, prev.ID
	}
	updates, err := p.Verifier.FetchStatus(ctx, providers.OrderRef{OrderID: prev.ProviderOrderID, UserID: prev.ProviderUserID})
	if err != nil {
		s.log.Warn("renewal: status after refresh", "provider", prev.Provider, "order_id", prev.ID, "error", err)
		return waiting()
	}
	for _, u := range updates {
		providers.LogUnknown(s.log, p.Name, u)
	}
	var fresh []string
	for _, sub := range refreshedServices(prev, p.Caps.Refresh) {
		i := slices.IndexFunc(updates, func(u providers.Update) bool { return u.SubID == sub })
		if i < 0 {
			return waiting()
		}
		u := updates[i]
		switch u.Status {
		case providers.StatusActionRequired, providers.StatusFailed, providers.StatusExpired, providers.StatusCanceled:
			why := "The refresh failed"
			if u.Detail != "" {
				why += ": " + strings.TrimSuffix(u.Detail, ".")
			}
			return s.fallback(ctx, it, prev, why+".")
		}
		if !u.ReportReady || u.ReportID == "" {
			return waiting()
		}
		row, err := s.store.ReportRowID(ctx, prev.AgencyID, prev.ID, u.ReportID)
		if err != nil {
			return waiting()
		}
		if row != 0 && row <= it.PrevReportID {
			return waiting() // still the report the renewal started from
		}
		if row == 0 {
			fresh = append(fresh, u.ReportID)
		}
	}
	for _, id := range fresh {
		if err := s.FetchReport(ctx, prev, id); err != nil {
			s.log.Warn("renewal: refreshed report fetch failed", "provider", prev.Provider, "order_id", prev.ID, "error", err)
			return waiting()
		}
	}
	_ = s.store.AddEvent(ctx, prev.AgencyID, prev.ID, store.SourceSystem, "Data refreshed at recertification.")
	return "refreshed", "refresh", p.Label + " refreshed the data without the applicant.", prev.ID, prev.ID
}

// pace waits for a call of each of the rates named: RenewalRate calls a
// second each, shared by every process on the database
// (store.TakeRateSlot), so two portal processes renewing at once do not
// double a provider's rate. Names: "provider:<name>" for calls to a
// provider, "channel:<sms|email>" for the new-link messages a renewal
// sends. A slot is taken of each rate first and the wait is for the
// latest, so a new link waits once for its order and its message.
func (s *Service) pace(ctx context.Context, names ...string) error {
	var at time.Time
	for _, name := range names {
		slot, err := s.store.TakeRateSlot(ctx, name, s.renewRate)
		if err != nil {
			return err
		}
		if slot.After(at) {
			at = slot
		}
	}
	return providers.Sleep(ctx, time.Until(at))
}

// paceProvider paces a call to provider (pace).
func (s *Service) paceProvider(ctx context.Context, provider string) error {
	return s.pace(ctx, "provider:"+provider)
}

// fallback sends the member a new link by their preferred channel, or queues
// it for the caseworker (agency setting), and says why. A provider that
// needs the full SSN for a new order (Truework) is always queued: the
// portal never keeps the SSN, so only the caseworker can send it.
func (s *Service) fallback(ctx context.Context, it *store.RenewalItem, prev *store.Order, why string) (status, path, detail string, prevID, orderID int64) {
	if prev != nil {
		prevID = prev.ID
	}
	mode, err := s.store.RenewalFallback(ctx, it.AgencyID)
	if err != nil {
		return "failed", "", why + " The portal could not read the agency's settings.", prevID, 0
	}
	m, err := s.store.Member(ctx, it.AgencyID, it.CaseID, it.MemberID)
	if err != nil {
		return "failed", "", why + " The member could not be read.", prevID, 0
	}
	// The new link's provider and products: those of the last completed
	// verification; with none, the agency's defaults (Settings, the same
	// as the contact center's), so "send a new link" holds for a member
	// never verified too.
	var provider string
	var products []string
	if prev != nil {
		provider, products = prev.Provider, prev.Products
	} else if set, err := s.store.Settings(ctx, it.AgencyID); err != nil {
		return "failed", "", why + " The portal could not read the agency's settings.", prevID, 0
	} else if s.providers[set.DefaultProvider] != nil && len(set.DefaultProducts) > 0 {
		provider, products = set.DefaultProvider, set.DefaultProducts
	}
	if p := s.providers[provider]; p != nil && needsFullSSN(p, m) {
		return "queued", "queue", why + " A new " + p.Label + " verification needs the full SSN: send it from the case page.", prevID, 0
	}
	channel := ""
	switch {
	case m.Phone != "":
		channel = ChannelSMS
	case m.Email != "":
		channel = ChannelEmail
	}
	if mode == "queue" || channel == "" || provider == "" {
		reason := why + " Queued for the caseworker to send a new link."
		switch {
		case channel == "" && mode != "queue":
			reason = why + " The member has no email or mobile number: queued for the caseworker."
		case provider == "" && mode != "queue":
			reason = why + " The agency's default provider is not available: queued for the caseworker."
		}
		return "queued", "queue", reason, prevID, 0
	}
	u, err := s.agencyUser(ctx, &store.Order{AgencyID: it.AgencyID})
	if err != nil {
		return "failed", "", why, prevID, 0
	}
	// A new link is an order at the provider and a message: both paced,
	// like the refreshes (a bulk renewal's fallbacks came all at once).
	if s.pace(ctx, "provider:"+provider, "channel:"+channel) != nil {
		return "pending", "", "", 0, 0
	}
	// A message to the applicant is sent once: not by a worker that has
	// lost the item to another.
	if s.store.ExtendRenewalLease(ctx, it, renewLease) != nil {
		return leaseLost, "", "", 0, 0
	}
	o, err := s.Send(ctx, SendRequest{User: u, CaseID: it.CaseID, MemberID: it.MemberID, Provider: provider,
		Products: products, Channel: channel})
	if err != nil {
		var uerr *UnconfirmedError
		if errors.As(err, &uerr) && o != nil {
			// Kept, being checked: the link goes out by channel once the
			// provider confirms it (settle), and checkedOutcome records it.
			return "checking", "new_link", fmt.Sprintf("%s %s did not answer when the new link's order was sent. The portal is checking with %s whether it was created; "+
				"once it is, the link goes out by %s.", why, uerr.Provider, uerr.Provider, ChannelWords(channel)), prevID, o.ID
		}
		var derr *DeliveryError
		if errors.As(err, &derr) && o != nil {
			return "failed", "new_link", why + " A new link was created but not sent: " + derr.Reason, prevID, o.ID
		}
		return "failed", "new_link", why + " A new link could not be created; send one from the case page.", prevID, 0
	}
	return "new_link", "new_link", why + " A new link was sent by " + ChannelWords(channel) + ".", prevID, o.ID
}

// needsFullSSN says a new order at p needs the full SSN, which the portal
// does not keep: the same rule Send applies (checkSSN), asked with none.
func needsFullSSN(p *Provider, m *store.Member) bool {
	problems := Problems{}
	checkSSN(problems, SendRequest{}, p, m)
	return problems["ssn"] != ""
}

// RenewalOutcome follows a refresh order after a webhook changed it: a
// completed refresh marks the member refreshed; a failed one (Truv
// order-refresh-failed, an expired connection) falls back to a new link.
// For a refresh in place (AccountChek), the order is the original one: its
// new reports decide. The item is claimed first (ClaimRenewalOutcome), so
// two webhooks processed at once never both send a new link.
func (s *Service) RenewalOutcome(ctx context.Context, o *store.Order) {
	if o.RefreshOf == 0 {
		s.inPlaceOutcome(ctx, o)
		return
	}
	switch o.Status {
	case store.StatusCompleted, store.StatusActionRequired, store.StatusFailed, store.StatusExpired:
	default:
		return
	}
	it, err := s.store.ClaimRenewalOutcome(ctx, o.ID, renewLease)
	if err != nil {
		return // none open, or a worker holds it and looks at the order itself
	}
	var status, path, detail string
	var prevID, orderID int64
	switch {
	case o.Status == store.StatusCompleted:
		status, path, detail, prevID, orderID = "refreshed", "refresh", "Refreshed without the applicant.", it.PrevOrderID, o.ID
	case o.Status == store.StatusActionRequired && o.WidgetToken != "" && o.Link != "":
		// The reverification needs the applicant (Truework "connection
		// lost"): send them this order's own page rather than a new order,
		// which would need the full SSN again.
		status, path, detail, prevID, orderID = s.sendRefreshLink(ctx, it, o)
	default:
		prev, err := s.store.Order(ctx, o.AgencyID, o.RefreshOf)
		if err != nil {
			s.releaseOutcome(ctx, it)
			return
		}
		why := "The refresh failed"
		if o.Detail != "" {
			why += ": " + o.Detail
		}
		status, path, detail, prevID, orderID = s.fallback(ctx, it, prev, why+".")
	}
	s.finishOutcome(ctx, it, status, path, detail, prevID, orderID)
}

// inPlaceOutcome finishes a refresh in place (AccountChek) still waiting
// for its new report, when the order hears from the provider. It is called
// for every update of every order, so it reads before it claims.
func (s *Service) inPlaceOutcome(ctx context.Context, o *store.Order) {
	it, err := s.store.RenewalItemByOrder(ctx, o.ID)
	if err != nil || it.Status != "refreshing" || it.PrevOrderID != o.ID {
		return
	}
	p := s.providers[o.Provider]
	if p == nil {
		return
	}
	if it, err = s.store.ClaimRenewalOutcome(ctx, o.ID, renewLease); err != nil {
		return
	}
	status, path, detail, prevID, orderID := s.completeInPlace(ctx, it, o, p)
	s.finishOutcome(ctx, it, status, path, detail, prevID, orderID)
}

// checkedOutcome finishes the item waiting ("checking") on an order whose
// create or refresh got no answer, once the provider's look-up settled the
// order (settle, unconfirmed.go). Confirmed: a refresh waits for its result
// like any other (refreshing, then RenewalOutcome); a new link went out by
// the channel chosen, and the item says so. Never made: a refresh falls
// back to a new link; a new link fails, saying why.
func (s *Service) checkedOutcome(ctx context.Context, o *store.Order) {
	it, err := s.store.RenewalItemByOrder(ctx, o.ID)
	if err != nil || it.Status != "checking" {
		return
	}
	if it, err = s.store.ClaimRenewalOutcome(ctx, o.ID, renewLease); err != nil {
		return // a worker holds it and looks at the order itself (RenewNext)
	}
	if o, err = s.store.Order(ctx, o.AgencyID, o.ID); err != nil || it.Status != "checking" || o.Checking() {
		s.finishOutcome(ctx, it, it.Status, it.Path, it.Detail, it.PrevOrderID, it.OrderID) // as it was
		return
	}
	label := providerLabel(s.providers[o.Provider])
	failed := o.Status == store.StatusFailed
	switch {
	case it.Path == "refresh" && failed:
		prev, err := s.store.Order(ctx, o.AgencyID, it.PrevOrderID)
		if err != nil {
			s.finishOutcome(ctx, it, "failed", "refresh", label+" never got the refresh request, and the member's last verification could not be read.", it.PrevOrderID, o.ID)
			return
		}
		status, path, detail, prevID, orderID := s.fallback(ctx, it, prev, label+" never got the refresh request.")
		s.finishOutcome(ctx, it, status, path, detail, prevID, orderID)
	case it.Path == "refresh":
		s.finishOutcome(ctx, it, "refreshing", "refresh", fmt.Sprintf("%s confirmed the refresh request; waiting for its result.", label), it.PrevOrderID, o.ID)
		s.RenewalOutcome(ctx, o) // it may have its result already
	case failed:
		s.finishOutcome(ctx, it, "failed", it.Path, o.Detail, it.PrevOrderID, o.ID)
	default:
		sent, channel := s.firstSent(ctx, o)
		detail := fmt.Sprintf("%s confirmed the order; the new link was sent by %s.", label, ChannelWords(channel))
		status := "new_link"
		if !sent {
			status, detail = "failed", label+" confirmed the order, but its link was not sent: send it again from the case page."
		}
		s.finishOutcome(ctx, it, status, it.Path, detail, it.PrevOrderID, o.ID)
	}
}

// settledMeanwhile finishes an item just recorded "checking" when the
// provider's answer settled its order (a webhook's look-up) while the
// worker held the item: checkedOutcome could not take it then.
func (s *Service) settledMeanwhile(ctx context.Context, agencyID, orderID int64) {
	if o, err := s.store.Order(ctx, agencyID, orderID); err == nil && !o.Checking() {
		s.checkedOutcome(ctx, o)
	}
}

// firstSent says whether the order's first link went out, and by which
// channel.
func (s *Service) firstSent(ctx context.Context, o *store.Order) (bool, string) {
	ds, err := s.store.Deliveries(ctx, o.AgencyID, o.ID)
	if err != nil {
		return false, ""
	}
	for _, d := range ds {
		if d.Kind == store.DeliveryFirst && d.Result == store.DeliverySent {
			return true, d.Channel
		}
	}
	return false, ""
}

// finishOutcome records an outcome under the claim that produced it.
func (s *Service) finishOutcome(ctx context.Context, it *store.RenewalItem, status, path, detail string, prevID, orderID int64) {
	if status == leaseLost {
		return
	}
	if err := s.store.FinishRenewalItem(context.WithoutCancel(ctx), it, status, path, detail, prevID, orderID); err != nil {
		s.log.Error("renewal outcome", "item_id", it.ID, "error", err)
	}
}

// releaseOutcome gives a claimed item back as "refreshing", so that the
// next update of its order tries again. (A "working" item claimed here is
// one whose worker stopped after the provider took the refresh: waiting for
// the provider is what it is doing.)
func (s *Service) releaseOutcome(ctx context.Context, it *store.RenewalItem) {
	detail := it.Detail
	if it.Status != "refreshing" {
		detail = "Refresh requested; waiting for the provider."
	}
	s.finishOutcome(ctx, it, "refreshing", "refresh", detail, it.PrevOrderID, it.OrderID)
}

// sendRefreshLink delivers a refresh order's own applicant link by the
// member's text or email.
func (s *Service) sendRefreshLink(ctx context.Context, it *store.RenewalItem, o *store.Order) (status, path, detail string, prevID, orderID int64) {
	m, err := s.store.Member(ctx, o.AgencyID, o.CaseID, o.MemberID)
	if err != nil {
		return "failed", "", "The member could not be read.", it.PrevOrderID, o.ID
	}
	channel := ChannelEmail
	if m.Phone != "" {
		channel = ChannelSMS
	}
	if m.Phone == "" && m.Email == "" {
		return "queued", "queue", "The reverification needs the applicant, who has no email or mobile number: queued for the caseworker.", it.PrevOrderID, o.ID
	}
	u, err := s.agencyUser(ctx, o)
	if err != nil {
		return "failed", "", "The agency could not be read.", it.PrevOrderID, o.ID
	}
	if s.store.ExtendRenewalLease(ctx, it, renewLease) != nil {
		return leaseLost, "", "", 0, 0
	}
	if err := s.Deliver(ctx, u, o, channel, store.DeliveryFirst); err != nil {
		return "failed", "new_link", "The reverification needs the applicant, but their link was not sent.", it.PrevOrderID, o.ID
	}
	return "new_link", "new_link", "The reverification needs the applicant: their page was sent by " + ChannelWords(channel) + ".", it.PrevOrderID, o.ID
}

// dropReserved unlinks and deletes an order reserved for a refresh that did
// not create one at the provider.
func (s *Service) dropReserved(ctx context.Context, it *store.RenewalItem, orderID int64) {
	if err := s.store.SetRenewalOrder(ctx, it.ID, 0); err != nil {
		s.log.Error("renewal: unlink reserved order", "order_id", orderID, "error", err)
		return
	}
	if err := s.store.DeleteOrder(ctx, it.AgencyID, orderID); err != nil {
		s.log.Error("renewal: delete reserved order", "order_id", orderID, "error", err)
	}
}

// renewStore is what renew.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type renewStore interface {
	AddEvent(ctx context.Context, agencyID, orderID int64, source store.Source, detail string) error
	AttachProviderOrder(ctx context.Context, agencyID, orderID int64, p store.ProviderOrder, detail string) error
	ClaimRenewalItemExcept(ctx context.Context, lease time.Duration, busy []string) (*store.RenewalItem, error)
	ClaimRenewalOutcome(ctx context.Context, orderID int64, lease time.Duration) (*store.RenewalItem, error)
	CreateOrder(ctx context.Context, agencyID int64, in store.NewOrder) (*store.Order, error)
	DeleteOrder(ctx context.Context, agencyID, orderID int64) error
	Deliveries(ctx context.Context, agencyID, orderID int64) ([]*store.Delivery, error)
	ExtendRenewalLease(ctx context.Context, it *store.RenewalItem, lease time.Duration) error
	FinishRenewalItem(ctx context.Context, it *store.RenewalItem, status, path, detail string, prevOrderID, orderID int64) error
	LastCompleted(ctx context.Context, agencyID, memberID int64) (*store.Order, error)
	LatestReport(ctx context.Context, agencyID, orderID int64) (*store.Report, error)
	Member(ctx context.Context, agencyID, caseID, memberID int64) (*store.Member, error)
	Now() time.Time
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
	RefreshesSince(ctx context.Context, agencyID, orderID int64, since time.Time) (int, error)
	RenewalFallback(ctx context.Context, agencyID int64) (string, error)
	RenewalItemByOrder(ctx context.Context, orderID int64) (*store.RenewalItem, error)
	ReportRowID(ctx context.Context, agencyID, orderID int64, providerReportID string) (int64, error)
	SetRenewalBaseline(ctx context.Context, itemID, prevOrderID, prevReportID int64) error
	SetRenewalOrder(ctx context.Context, itemID, orderID int64) error
	Settings(ctx context.Context, agencyID int64) (store.AgencySettings, error)
	TakeRateSlot(ctx context.Context, name string, perSecond float64) (time.Time, error)
}

// isBusy says the database could not take a write in time (store.BusyError:
// a write lock held past DB_WAIT, or on PostgreSQL a transaction that kept
// losing races): the same write may well succeed a moment later.
func isBusy(err error) bool {
	var busy *store.BusyError
	return errors.As(err, &busy)
}

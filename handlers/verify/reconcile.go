package verify

import (
	"context"
	"slices"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// reconcileBatch is how many orders one claim takes. Each is polled in turn,
// so a batch is also the most a crashed process leaves waiting for its
// backoff to pass.
const reconcileBatch = 20

// reconcilePassLimit bounds one pass, so a provider that answers slowly
// cannot keep a pass running into the next tick; what is left waits for it.
const reconcilePassLimit = 500

// Reconcile polls the open orders that have been quiet too long, through
// the same apply path as webhooks (design.md "Receive an update"). It is
// run periodically by web/ (RECONCILE_EVERY).
//
// An order is polled when it is open (not final), its provider is
// configured here, nothing happened to it for s.reconcileQuiet
// (RECONCILE_QUIET, default 15 minutes), and its backoff has passed: an
// order that stays quiet is polled after 1×, 2×, 4×, 8×, then every 16× the
// quiet time (store.PollBackoff), and starts over when it has news. Orders
// are claimed in the database (store.ClaimQuietOrders), so two portal
// processes, or two overlapping passes, never poll the same order at once.
//
// AccountChek asks integrators to poll as well as to listen (its postbacks
// are unauthenticated hints and can be lost); for the other providers the
// same pass covers missed or late webhooks.
//
// Time is the store's clock (store.Options.Now): "quiet" is measured against
// the last_event_at the store writes, and tests push that clock ahead.
func (s *Service) Reconcile(ctx context.Context) {
	if len(s.order) == 0 {
		return
	}
	polled := 0
	for polled < reconcilePassLimit && ctx.Err() == nil {
		orders, err := s.store.ClaimQuietOrders(ctx, s.order, s.reconcileQuiet, min(reconcileBatch, reconcilePassLimit-polled))
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("reconcile: claim", "error", err)
			}
			return
		}
		for _, o := range orders {
			if ctx.Err() != nil {
				return // shutting down: the rest keep their claim and come back after it
			}
			s.reconcileOne(ctx, o)
		}
		polled += len(orders)
		if len(orders) < reconcileBatch {
			return
		}
	}
}

// reconcileOne polls one claimed order and records the poll.
func (s *Service) reconcileOne(ctx context.Context, o *store.Order) {
	start := time.Now()
	if o.Checking() {
		// Its create got no answer: ask the provider by its reference.
		settled, err := s.settle(ctx, o, true)
		if err != nil {
			s.log.Warn("reconcile: look-up by reference failed", "provider", o.Provider, "order_id", o.ID, "error", err)
		}
		if err := s.store.FinishPoll(context.WithoutCancel(ctx), o.ID, settled); err != nil {
			s.log.Error("reconcile: finish", "order_id", o.ID, "error", err)
		}
		return
	}
	err := s.Refetch(ctx, o)
	progressed := false
	if err != nil {
		s.log.Warn("reconcile: poll failed", "provider", o.Provider, "order_id", o.ID, "error", err)
	} else if after, aerr := s.store.Order(ctx, o.AgencyID, o.ID); aerr == nil {
		progressed = after.Status != o.Status || after.Detail != o.Detail
		if progressed {
			s.log.Info("reconcile: poll found a change", "provider", o.Provider, "order_id", o.ID,
				"from", string(o.Status), "to", string(after.Status))
		}
	}
	if err == nil && !progressed {
		if progressed, err = s.expireUnopened(ctx, o); err != nil {
			s.log.Warn("reconcile: expiry failed", "provider", o.Provider, "order_id", o.ID, "error", err)
		}
	}
	s.log.Debug("reconcile: polled", "provider", o.Provider, "order_id", o.ID, "took", time.Since(start))
	// Recorded even when ctx has ended: the claim is already made.
	if err := s.store.FinishPoll(context.WithoutCancel(ctx), o.ID, progressed); err != nil {
		s.log.Error("reconcile: finish", "order_id", o.ID, "error", err)
	}
}

// lifetimeEvent is the raw event of an order the portal ends because its
// link's lifetime passed unopened.
const lifetimeEvent = "link-lifetime"

// expireUnopened ends, as expired, an order that was never opened (still
// created or sent after the provider's answer was read) once its link's
// lifetime (the provider's ExpiresAt, stored as the link's expiry) has
// passed. Some providers never expire an order on their own (Truework: its
// lifetime is the adapter's contract), so without this an unopened order
// stays "sent" forever. It reports whether it changed the order.
func (s *Service) expireUnopened(ctx context.Context, o *store.Order) (bool, error) {
	cur, err := s.store.Order(ctx, o.AgencyID, o.ID)
	if err != nil {
		return false, err
	}
	if (cur.Status != store.StatusCreated && cur.Status != store.StatusSent) || cur.LinkExpiresAt.IsZero() ||
		s.store.Now().Before(cur.LinkExpiresAt) {
		return false, nil
	}
	return true, s.Apply(ctx, cur, providers.Update{OrderID: cur.ProviderOrderID, RawEvent: lifetimeEvent,
		Status: providers.StatusExpired, Detail: "Expired: the link was not opened in time."}, store.SourceSystem)
}

// reportStored reports whether a poll names a report the order already has
// (Apply then does not fetch it again). A poll reads every service of an
// order each time: an AccountChek order with VOA done and VOIE under way
// says "VOA report voa:<guid> ready" at every poll until the order ends.
// Only polls with a provider report id are checked; webhooks, and providers
// whose report is re-created on demand (no id), fetch as before.
func (s *Service) reportStored(ctx context.Context, o *store.Order, u providers.Update, source store.Source) bool {
	if source != store.SourcePoll || u.ReportID == "" {
		return false
	}
	have, err := s.store.HasReport(ctx, o.AgencyID, o.ID, u.ReportID)
	if err != nil {
		s.log.Warn("report lookup failed", "provider", o.Provider, "order_id", o.ID, "error", err)
		return false
	}
	return have
}

// arrangeRead prepares a status read (Verifier.FetchStatus) for applying,
// so that the order is derived from all of its sub-items (spec.md §7):
//
//   - Updates that leave their item open come before those that end it
//     (stable otherwise). The store derives the order from the items it has
//     seen so far; applied in the provider's order, [VOA completed, VOIE in
//     progress] would see VOA alone, complete the order, and a final order
//     does not go back.
//   - When the read reports sub-items, an order-level "in progress" is only
//     informational: the items say whether the order is in progress or
//     needs action (AccountChek's order stays "inprogress" while its VOA
//     says 509; applied as a status it would clear the action required).
//     Order-level final statuses, and action required, still apply.
func arrangeRead(updates []providers.Update) []providers.Update {
	out := slices.Clone(updates)
	hasItems := slices.ContainsFunc(out, func(u providers.Update) bool { return u.SubID != "" && u.Status != "" })
	for i := range out {
		if hasItems && out[i].SubID == "" && out[i].Status == providers.StatusInProgress {
			out[i].Status = ""
		}
	}
	slices.SortStableFunc(out, func(a, b providers.Update) int { return final(a) - final(b) })
	return out
}

func final(u providers.Update) int {
	if store.OrderStatus(u.Status).Final() {
		return 1
	}
	return 0
}

// reconcileStore is what reconcile.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type reconcileStore interface {
	ClaimQuietOrders(ctx context.Context, providers []string, quiet time.Duration, limit int) ([]*store.Order, error)
	FinishPoll(ctx context.Context, orderID int64, progressed bool) error
	HasReport(ctx context.Context, agencyID, orderID int64, providerReportID string) (bool, error)
	Now() time.Time
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
}

package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// inboxLease is how long a worker holds a claimed delivery before another
// may take it (a crashed worker's deliveries come back after it).
const inboxLease = time.Minute

// unknownOrderGrace is how long a delivery for an order the portal does not
// know yet is retried: a provider's "created" webhook can arrive before the
// portal has stored the provider's order id.
const unknownOrderGrace = 2 * time.Minute

// ProcessNext processes one due webhook delivery from the inbox. It returns
// false when nothing was due.
func (s *Service) ProcessNext(ctx context.Context) (bool, error) {
	it, err := s.store.ClaimInbox(ctx, inboxLease)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	errText, retryAt := s.process(ctx, it)
	return true, s.store.FinishInbox(ctx, it.ID, errText, retryAt)
}

// process applies one delivery. It returns a reason when the delivery is
// dropped (dead letter), or a time to try again.
func (s *Service) process(ctx context.Context, it *store.InboxItem) (string, time.Time) {
	p := s.providers[it.Provider]
	if p == nil {
		return "provider not configured", time.Time{}
	}
	updates, err := p.Webhooks.Parse(providers.Delivery{Body: it.Body, Path: it.Path})
	if err != nil {
		// Authentic but unreadable: kept as a dead letter, never retried.
		s.log.Warn("webhook unreadable", "provider", it.Provider, "inbox_id", it.ID)
		return "unreadable: " + errorKind(err), time.Time{}
	}
	// An unauthenticated provider's delivery belongs to the order whose
	// secret URL it came to, and to nothing else.
	var bound *store.Order
	if p.PerOrderWebhook {
		if bound, err = s.store.OrderByInboxPath(ctx, it.Provider, it.Path); err != nil {
			return "no order for this webhook URL", time.Time{}
		}
	}
	for _, u := range updates {
		if u.OrderID == "" && u.Also == (providers.AltIDs{}) {
			continue // nothing names an order to attach it to
		}
		if bound != nil && u.OrderID != bound.ProviderOrderID {
			s.log.Warn("webhook names another order than its URL; ignored", "provider", it.Provider, "order_id", bound.ID)
			continue
		}
		o, err := s.orderFor(ctx, it.Provider, u)
		if errors.Is(err, store.ErrNotFound) {
			if time.Since(it.ReceivedAt) < unknownOrderGrace {
				return "order not known yet", time.Now().Add(5 * time.Second)
			}
			s.log.Info("webhook for an unknown order ignored", "provider", it.Provider, "inbox_id", it.ID)
			continue
		}
		if err != nil {
			return err.Error(), time.Now().Add(10 * time.Second)
		}
		if err := s.Apply(ctx, o, s.asReceived(p, u), "webhook"); err != nil {
			return err.Error(), time.Now().Add(10 * time.Second)
		}
	}
	return "", time.Time{}
}

// asReceived is what the portal takes from a webhook delivery's update
// before it reads anything from the provider: the one place that decides
// how far a provider's webhooks are believed.
func (s *Service) asReceived(p *Provider, u providers.Update) providers.Update {
	return u
}

// orderFor finds the order an update belongs to: by its order id, else by
// another id it carries (Truv task events name no order: store.
// OrderByProviderKeys). The ids it carries are recorded with the order, so
// a later event that carries only one of them (a task id, a link id) finds
// it too.
func (s *Service) orderFor(ctx context.Context, provider string, u providers.Update) (*store.Order, error) {
	var o *store.Order
	var err error
	if u.OrderID != "" {
		o, err = s.store.OrderByProviderID(ctx, provider, u.OrderID)
	} else {
		o, err = s.store.OrderByProviderKeys(ctx, provider, u.Also.Keys())
	}
	if err != nil {
		return nil, err
	}
	if err := s.store.RememberProviderKeys(ctx, provider, o.ID, u.Also.Keys(), u.OrderID != ""); err != nil {
		return nil, err
	}
	return o, nil
}

func errorKind(err error) string {
	if errors.Is(err, providers.ErrMalformed) {
		return "malformed"
	}
	return "parse error"
}

// Apply applies one provider update to an order through the store's rules,
// then does what the update asks: re-read the authoritative state, fetch
// the report. Provider calls that fail are logged and left to the sweeps.
func (s *Service) Apply(ctx context.Context, o *store.Order, u providers.Update, source string) error {
	return s.apply(ctx, o, u, source, &reportFetches{})
}

// reportFetches is what one delivery (or one status read) has fetched, so
// that a report it asks for twice is fetched once: Payscore's
// SCREENING_GROUP_COMPLETED both asks for a re-read, whose group status says
// the report is ready, and says so itself (two fetches, two stored copies,
// before). Keyed by the provider's report id ("" when the provider names
// none). Each delivery gets its own, so a re-fire still fetches.
type reportFetches struct {
	tried  map[string]bool
	stored int
	err    error // the last failed fetch
}

// reportWarningLead is how long before expiry a provider warns that a
// report expires soon: Payscore's REPORT_SOON_TO_EXPIRE comes two days
// before its 14 (spec.md §3.3), and the report page's banner shows within
// this window.
const reportWarningLead = 48 * time.Hour

func (s *Service) apply(ctx context.Context, o *store.Order, u providers.Update, source string, rf *reportFetches) error {
	o, _, err := s.store.ApplyUpdate(ctx, o.AgencyID, o.ID, storeUpdate(u, s.memberDetail(ctx, o, u), source))
	if err != nil {
		return err
	}
	s.RenewalOutcome(ctx, o) // a refresh's result decides its renewal
	if u.ReportExpired {
		// The provider's report is gone (Payscore, 14 days): so is its data here.
		if err := s.store.PurgeReports(ctx, o.AgencyID, o.ID); err != nil {
			return err
		}
	} else if u.ReportExpiresSoon {
		// The provider's clock says when: the stored expiry (which the
		// "expires soon" banner reads) comes forward if it was later.
		if err := s.store.ReportExpiresBy(ctx, o.AgencyID, o.ID, s.store.Now().Add(reportWarningLead)); err != nil {
			return err
		}
	}
	if u.Refetch && source != "poll" {
		if err := s.refetch(ctx, o, rf); err != nil {
			s.log.Warn("refetch failed", "provider", o.Provider, "order_id", o.ID, "error", err)
		}
	}
	if u.ReportReady {
		if rf.tried[u.ReportID] || s.reportStored(ctx, o, u, source) {
			return nil
		}
		if rf.tried == nil {
			rf.tried = map[string]bool{}
		}
		rf.tried[u.ReportID] = true
		if err := s.FetchReport(ctx, o, u.ReportID); err != nil {
			rf.err = err
			s.log.Warn("report fetch failed", "provider", o.Provider, "order_id", o.ID, "error", err)
		} else {
			rf.stored++
		}
	}
	return nil
}

// storeUpdate is the store's view of a provider update. At, the provider's
// time of the event, orders sideways moves (store.Newer).
func storeUpdate(u providers.Update, detail, source string) store.StatusUpdate {
	return store.StatusUpdate{SubID: u.SubID, RawEvent: u.RawEvent, RawStatus: u.RawStatus, Status: store.OrderStatus(u.Status),
		Outcome: string(u.Outcome), Detail: detail, At: u.At, Source: source, AboutReport: u.ReportExpiresSoon || u.ReportExpired}
}

// memberDetail names the household member an update is about in front of
// its detail ("Leo: Said they have no income."): a household order has one
// timeline for several people. Only the first name, which staff may see;
// the detail itself is PII-free. Other updates keep their detail.
func (s *Service) memberDetail(ctx context.Context, o *store.Order, u providers.Update) string {
	if u.SubID == "" || u.Detail == "" {
		return u.Detail
	}
	name, err := s.store.OrderMemberFirstName(ctx, o.AgencyID, o.ID, u.SubID)
	if err != nil {
		s.log.Warn("household member lookup failed", "order_id", o.ID, "error", err)
	}
	if name == "" {
		return u.Detail
	}
	return name + ": " + u.Detail
}

// Refetch reads an order's authoritative state from the provider and applies
// it (source "poll").
func (s *Service) Refetch(ctx context.Context, o *store.Order) error {
	return s.refetch(ctx, o, &reportFetches{})
}

func (s *Service) refetch(ctx context.Context, o *store.Order, rf *reportFetches) error {
	p := s.providers[o.Provider]
	if p == nil {
		return fmt.Errorf("provider %s not configured", o.Provider)
	}
	updates, err := p.Verifier.FetchStatus(ctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID})
	if err != nil {
		return err
	}
	for _, u := range arrangeRead(updates) {
		u.Refetch = false
		if err := s.apply(ctx, o, u, "poll", rf); err != nil {
			return err
		}
	}
	return nil
}

// FetchReport fetches an order's report from the provider and stores it.
func (s *Service) FetchReport(ctx context.Context, o *store.Order, reportID string) error {
	p := s.providers[o.Provider]
	if p == nil {
		return fmt.Errorf("provider %s not configured", o.Provider)
	}
	r, err := p.Verifier.FetchReport(ctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID}, reportID)
	if err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err = s.store.SaveReport(ctx, o.AgencyID, o.ID, store.Report{ProviderReportID: r.ReportID, Kind: string(r.Kind),
		Data: data, ExpiresAt: r.ExpiresAt}); err != nil {
		return err
	}
	s.log.Info("report saved", "provider", o.Provider, "order_id", o.ID)
	return nil
}

// ReportPDF fetches a report's PDF from the provider on demand (PDF links
// expire, so they are never stored).
func (s *Service) ReportPDF(ctx context.Context, o *store.Order, reportID string) ([]byte, error) {
	p := s.providers[o.Provider]
	if p == nil {
		return nil, fmt.Errorf("provider %s not configured", o.Provider)
	}
	return p.Verifier.FetchReportPDF(ctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID}, reportID)
}

// Notify wakes the inbox worker (after a webhook was stored). It never blocks.
func (s *Service) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunInbox processes deliveries until ctx ends. A wake-up
// (Notify) starts a pass at once; otherwise it looks every second, which
// also picks up deliveries stored by another process.
func (s *Service) RunInbox(ctx context.Context) {
	s.work(ctx, "inbox", time.Second, s.wake, s.ProcessNext)
}

// work runs next until it has nothing more to do, then waits for a wake-up
// or the interval, until ctx ends: the loop of every claim-one-row worker.
func (s *Service) work(ctx context.Context, name string, interval time.Duration, wake <-chan struct{}, next func(context.Context) (bool, error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			ok, err := next(ctx)
			if err != nil {
				s.log.Error(name, "error", err)
				break
			}
			if !ok {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// reportSweepQuiet is how long a completed order stays quiet before the
// report sweep looks at it, and the first wait after a failed try (the
// waits double up to store's cap).
const reportSweepQuiet = 30 * time.Second

// errNoReportListed says the provider's status names no report ready yet.
var errNoReportListed = errors.New("the provider lists no report for this order yet")

// SweepReports fetches the reports of completed orders that have none, for
// when a fetch right after completion failed (provider briefly down).
//
// It goes through the status read (Refetch), then fetches the reports the
// status names, by their ids: a report id guessed without it can be the
// wrong one (AccountChek's "newest VOA report" 404s forever on an
// income-only order). The status read of every provider says when a report
// is ready (by id where it has one). A failed try waits before the next
// (store.ReportBackoff) and is noted on the timeline once, not at every try.
func (s *Service) SweepReports(ctx context.Context) {
	orders, err := s.store.OrdersMissingReport(ctx, s.store.Now().Add(-reportSweepQuiet), 20)
	if err != nil {
		s.log.Error("report sweep", "error", err)
		return
	}
	for _, o := range orders {
		if ctx.Err() != nil {
			return
		}
		rf := &reportFetches{}
		err := s.refetch(ctx, o, rf)
		switch {
		case err != nil: // the status read failed: err says why
		case rf.stored > 0:
			continue
		case rf.err != nil:
			err = rf.err
		default:
			err = errNoReportListed
		}
		s.log.Warn("report sweep fetch failed", "provider", o.Provider, "order_id", o.ID, "error", err)
		attempts, ferr := s.store.ReportFetchFailed(ctx, o.ID, reportSweepQuiet)
		if ferr != nil {
			s.log.Error("report sweep", "order_id", o.ID, "error", ferr)
			continue
		}
		if attempts == 1 {
			_ = s.store.AddEvent(ctx, o.AgencyID, o.ID, "system", "The report could not be fetched yet; the portal will try again.")
		}
	}
}

// PurgeExpiredReports deletes the data of reports past their expiry
// (Payscore's 14 days), whether or not the provider's "expired" webhook
// came. Run periodically by web/.
func (s *Service) PurgeExpiredReports(ctx context.Context) {
	if n, err := s.store.PurgeExpiredReports(ctx); err != nil {
		s.log.Error("report expiry sweep", "error", err)
	} else if n > 0 {
		s.log.Info("expired reports purged", "count", n)
	}
}

// PurgeOld removes personal data past its retention: processed webhook
// bodies and outbox messages older than keep.
func (s *Service) PurgeOld(ctx context.Context, keep time.Duration) {
	cutoff := time.Now().Add(-keep)
	if n, err := s.store.PurgeInboxBodies(ctx, cutoff); err != nil {
		s.log.Error("retention: inbox", "error", err)
	} else if n > 0 {
		s.log.Info("retention: webhook bodies purged", "count", n)
	}
	if n, err := s.store.PurgeOutbox(ctx, cutoff); err != nil {
		s.log.Error("retention: outbox", "error", err)
	} else if n > 0 {
		s.log.Info("retention: outbox messages purged", "count", n)
	}
}

package verify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// inboxLease is how long a worker holds a claimed delivery before another
// may take it (a crashed worker's deliveries come back after it).
const inboxLease = time.Minute

// unknownOrderKeep is how long a delivery for an order the portal does not
// know is kept and tried again (with the inbox's backoff, at most every 10
// minutes): a provider's "created" webhook can arrive before the portal has
// stored the provider's order id, and an order whose create got no answer
// may only be recorded later. When an order is recorded, its waiting
// deliveries are due at once (store.AttachProviderOrder).
const unknownOrderKeep = 7 * 24 * time.Hour

// ProcessNext processes one due webhook delivery from the inbox. It returns
// false when nothing was due (or every due delivery's provider is at its
// limit or its circuit is open). RunInbox does the same for many at once.
func (s *Service) ProcessNext(ctx context.Context) (bool, error) {
	it, err := s.claim(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	d := s.processItem(ctx, it)
	if err := s.store.FinishInbox(context.WithoutCancel(ctx), d.ID, d.Err, d.RetryAt); err != nil {
		return true, err
	}
	return true, nil
}

// processItem processes a claimed delivery, ends its turn at its provider
// (release) and says what to write for it.
func (s *Service) processItem(ctx context.Context, it *store.InboxItem) store.InboxDone {
	started := time.Now()
	errText, retryAt, failed := s.process(ctx, it)
	s.release(it.Provider, failed)
	result := "done"
	if !retryAt.IsZero() {
		// Back off by the attempts so far, not at the head of the queue;
		// the delivery's order waits behind it, others go on.
		retryAt = laterOf(retryAt, s.store.Now().Add(retryBackoff(it.Attempts)))
		result = "retry"
	} else if errText != "" {
		result = "dead_letter"
	}
	s.metrics.Processed(it.Provider, result, time.Since(started), s.store.Now().Sub(it.ReceivedAt))
	return store.InboxDone{ID: it.ID, Err: errText, RetryAt: retryAt}
}

// inboxPool sizes the inbox pool (issue 13 item 4; issue 17).
type inboxPool struct {
	// workers is how many deliveries are processed at once.
	workers int
	// perProvider is how many of them may wait on one provider whose
	// deliveries make the portal call it (hints, shared-secret webhooks: a
	// read of the order each): a hung provider holds at most this many
	// workers, and the provider sees at most this many calls at once.
	perProvider int
	// signed is the same for a provider whose signed deliveries carry
	// their updates (providers.WebhooksSigned), which only call it for a
	// report.
	signed int
}

// sqlitePool: on SQLite most of a delivery's time is spent waiting for a
// commit it shares with others (store.ClaimInboxBatch, ApplyUpdate ride in
// the intake's group commit), so the more at once, the more each commit
// carries: 8 processed about 300 a second, 64 several times that (make
// bench). A signed provider may take half the pool, so a hung one still
// leaves the other half to the others.
var sqlitePool = inboxPool{workers: 64, perProvider: 4, signed: 32}

// postgresPool: on PostgreSQL each status change is a SERIALIZABLE
// transaction of its own and nothing shares a commit: the pool stays as it
// was before issue 17 (RunInbox).
var postgresPool = inboxPool{workers: 8, perProvider: 2, signed: 2}

// Inbox pool settings that do not depend on the engine.
const (
	// breakerFailures consecutive failed deliveries of a provider open its
	// circuit for breakerOpen: its deliveries stay in the inbox, untouched,
	// until then; the next one tries again (and one more failure reopens it).
	breakerFailures = 5
	breakerOpen     = 30 * time.Second
	// retryCap is the longest wait between two tries of a delivery.
	retryCap = 10 * time.Minute
)

// retryBackoff is the wait before the next try of a delivery tried
// attempts times: 2 s, 4 s, 8 s … up to retryCap.
func retryBackoff(attempts int) time.Duration {
	return min(2*time.Second<<min(max(attempts-1, 0), 12), retryCap)
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// providerGate is one provider's share of the pool: deliveries in flight
// and its circuit breaker.
type providerGate struct {
	inFlight  int
	failures  int
	openUntil time.Time
}

// claim takes the next due delivery whose provider has room and a closed
// (or half-open) circuit, and counts it in flight.
func (s *Service) claim(ctx context.Context) (*store.InboxItem, error) {
	s.gateMu.Lock()
	defer s.gateMu.Unlock()
	it, err := s.store.ClaimInboxExcept(ctx, inboxLease, s.fullProviders())
	if err != nil {
		return nil, err
	}
	s.gate(it.Provider).inFlight++
	return it, nil
}

// claimBatch writes done and claims up to max due deliveries in one
// transaction, of the configured providers with room (not at their limit,
// circuit not open), at most as many of each as it has room for, and
// counts them in flight.
func (s *Service) claimBatch(ctx context.Context, max int, done []store.InboxDone) ([]*store.InboxItem, error) {
	s.gateMu.Lock()
	defer s.gateMu.Unlock()
	room := map[string]int{}
	now := time.Now()
	for name := range s.providers {
		if g := s.gate(name); !now.Before(g.openUntil) {
			room[name] = s.providerLimit(name) - g.inFlight
		}
	}
	its, err := s.store.ClaimInboxBatch(ctx, store.InboxClaim{Done: done, Lease: inboxLease, Max: max, Room: room})
	if err != nil {
		return nil, err
	}
	for _, it := range its {
		s.gate(it.Provider).inFlight++
	}
	return its, nil
}

// providerLimit is how many of a provider's deliveries may be processed at
// once.
func (s *Service) providerLimit(name string) int {
	if s.caps(name).Webhooks == providers.WebhooksSigned {
		return s.pool.signed
	}
	return s.pool.perProvider
}

// fullProviders names the providers at their limit or with an open
// circuit (gateMu held).
func (s *Service) fullProviders() []string {
	var skip []string
	now := time.Now()
	for name, g := range s.gates {
		if g.inFlight >= s.providerLimit(name) || now.Before(g.openUntil) {
			skip = append(skip, name)
		}
	}
	return skip
}

// gate is a provider's gate, made on first use (gateMu held).
func (s *Service) gate(provider string) *providerGate {
	g := s.gates[provider]
	if g == nil {
		g = &providerGate{}
		s.gates[provider] = g
	}
	return g
}

// release ends a delivery's turn and records whether its provider failed.
func (s *Service) release(provider string, failed bool) {
	s.gateMu.Lock()
	defer s.gateMu.Unlock()
	g := s.gates[provider]
	if g == nil {
		return
	}
	g.inFlight--
	if !failed {
		g.failures = 0
		return
	}
	g.failures++
	if g.failures >= breakerFailures {
		g.openUntil = time.Now().Add(breakerOpen)
		s.log.Warn("inbox: provider failing; its deliveries wait", "provider", provider, "for", breakerOpen)
	}
	select {
	case s.wake <- struct{}{}: // a worker may now take another provider's delivery
	default:
	}
}

// Partition names the provider order a delivery is about, for the inbox's
// ordering (store.AddInboxFor): "provider:order id", the per-order URL's
// hash, or "" when the delivery names none (then it is ordered with
// nothing). Parsing here calls no provider.
func (s *Service) Partition(p *Provider, d providers.Delivery, storedPath string) string {
	if p.Caps.PerOrderWebhook {
		return p.Name + ":" + storedPath
	}
	ups, err := p.Webhooks.Parse(d)
	if err != nil {
		return ""
	}
	for _, u := range ups {
		if u.OrderID != "" {
			return p.Name + ":" + u.OrderID
		}
	}
	return ""
}

// process applies one delivery. It returns a reason when the delivery is
// dropped (dead letter), or a time to try again.
func (s *Service) process(ctx context.Context, it *store.InboxItem) (string, time.Time, bool) {
	p := s.providers[it.Provider]
	if p == nil {
		return "provider not configured", time.Time{}, false
	}
	updates, err := p.Webhooks.Parse(providers.Delivery{Body: it.Body, Path: it.Path})
	if errors.Is(err, providers.ErrUnsupportedVersion) {
		// Authentic, in a version the adapter does not read: a setting
		// to change at the provider, said plainly (the message is PII-free).
		s.log.Error("webhook refused: unsupported version", "provider", it.Provider, "inbox_id", it.ID, "reason", err.Error())
		return "refused: " + err.Error(), time.Time{}, false
	}
	if err != nil {
		// Authentic but unreadable: kept as a dead letter, never retried.
		s.log.Warn("webhook unreadable", "provider", it.Provider, "inbox_id", it.ID)
		return "unreadable: " + errorKind(err), time.Time{}, false
	}
	for _, u := range updates {
		providers.LogUnknown(s.log, p.Name, u) // a value to teach the adapter
	}
	// An unauthenticated provider's delivery belongs to the order whose
	// secret URL it came to, and to nothing else.
	var bound *store.Order
	if p.Caps.PerOrderWebhook {
		if bound, err = s.store.OrderByInboxPath(ctx, it.Provider, it.Path); err != nil {
			return "no order for this webhook URL", time.Time{}, false
		}
		if bound.Checking() {
			// Its create got no answer: the postback says the provider has
			// it. Look it up now; until then the delivery waits.
			if settled, err := s.settle(ctx, bound, false); err != nil || !settled {
				return "order not known yet", s.store.Now().Add(5 * time.Second), false
			}
			if bound, err = s.store.Order(ctx, bound.AgencyID, bound.ID); err != nil {
				return err.Error(), s.store.Now().Add(10 * time.Second), false
			}
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
		if errors.Is(err, store.ErrNotFound) && s.settleChecking(ctx, it.Provider) {
			// It may be an order whose create got no answer, now settled.
			o, err = s.orderFor(ctx, it.Provider, u)
		}
		if errors.Is(err, store.ErrNotFound) {
			if s.store.Now().Sub(it.ReceivedAt) < unknownOrderKeep {
				return "order not known yet", s.store.Now().Add(5 * time.Second), false
			}
			s.log.Info("webhook for an unknown order ignored", "provider", it.Provider, "inbox_id", it.ID)
			continue
		}
		if err != nil {
			return err.Error(), s.store.Now().Add(10 * time.Second), false
		}
		if p.Caps.Webhooks == providers.WebhooksHints {
			err = s.applyHint(ctx, p, o, it, u)
		} else {
			err = s.Apply(ctx, o, s.asReceived(p, u), store.SourceWebhook)
		}
		if err != nil {
			// A provider read or fetch failed (or the database did): tried
			// again with backoff, and counted against the provider.
			return err.Error(), s.store.Now().Add(10 * time.Second), true
		}
	}
	return "", time.Time{}, false
}

// How far a provider's webhooks are believed is its Caps.Webhooks
// (providers.WebhookTrust): shared-secret webhooks (a static token, or the
// order's URL, which anyone who learns it can post) never decide an outcome
// on their own (asReceived); hints only trigger a read (applyHint); for
// signed webhooks and hints the report is the provider's own word that the
// verification finished, so it is fetched before "completed" shows
// (reportFirst). The shared-secret providers' completions are confirmed by
// the status read instead, and their reports fetched after it (and by the
// report sweep when that fails).

// caps is a provider's capabilities; the zero value for one not configured.
func (s *Service) caps(provider string) providers.Capabilities {
	if p := s.providers[provider]; p != nil {
		return p.Caps
	}
	return providers.Capabilities{}
}

// reportFirst says an update completes something whose report must be
// stored before it is applied.
func (s *Service) reportFirst(provider string, u providers.Update) bool {
	return s.caps(provider).Webhooks.ReportConfirms() && u.ReportReady && u.Status == providers.StatusCompleted
}

// asReceived is what the portal takes from a webhook delivery's update
// before it reads anything from the provider: the one place that decides
// how far a provider's webhooks are believed. A shared-secret provider's
// update that would end the order or set an outcome is kept as a note and a
// request to read the order's state from the provider's API (Refetch); the
// state read decides (issue 13 item 2).
func (s *Service) asReceived(p *Provider, u providers.Update) providers.Update {
	if p.Caps.Webhooks != providers.WebhooksSharedSecret || !(store.OrderStatus(u.Status).Final() || u.Outcome != "" || u.ReportReady) {
		return u
	}
	label := cmp.Or(p.Label, p.Name)
	u.Status, u.Outcome, u.ReportReady, u.ReportID = "", "", false, ""
	u.Refetch = true
	u.Detail = label + " says the verification ended; the portal is confirming it with " + label + "."
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

// applyHint handles a Payscore delivery (issue 13 item 3). The delivery
// itself changes no status: it triggers a read of the group's state from
// Payscore's API (status, and whether the report expired), at most one per
// order every hintInterval, and none when a read that began after this
// delivery was stored already has the state. What the delivery says goes
// on the timeline the first time its (code, body) is seen for the order;
// a byte-identical re-fire is recorded and causes nothing again. The read
// may re-open a member's screening only when the hint is a re-open and the
// API says so, fetches a report only on completion (or when the order has
// none), and purges reports only when the API says the report expired: a
// replay never moves the order backwards or purges.
func (s *Service) applyHint(ctx context.Context, p *Provider, o *store.Order, it *store.InboxItem, u providers.Update) error {
	sum := sha256.Sum256(it.Body)
	hash := hex.EncodeToString(sum[:])
	_, seen, err := s.store.WebhookEffect(ctx, o.ID, u.RawEvent, hash)
	if err != nil {
		return err
	}
	if err := s.hintRead(ctx, o, it.ID, u.RawEvent); err != nil {
		return err
	}
	if seen {
		s.log.Info("webhook repeat: nothing more to do", "provider", p.Name, "order_id", o.ID, "code", u.RawEvent)
		return nil
	}
	if u.ReportExpired {
		// Only the read says whether the report expired (and purges it):
		// noted only when it did.
		if r, err := s.store.LatestReport(ctx, o.AgencyID, o.ID); err != nil || !r.Purged {
			return s.store.RecordWebhookEffect(ctx, o.ID, u.RawEvent, hash, "not confirmed by the API")
		}
	}
	effect := "noted"
	note := providers.Update{OrderID: u.OrderID, SubID: u.SubID, RawEvent: u.RawEvent, RawStatus: u.RawStatus, Detail: u.Detail, At: u.At,
		ReportExpiresSoon: u.ReportExpiresSoon, ReportExpired: u.ReportExpired}
	if (u.Status == providers.StatusInProgress || u.Status == providers.StatusActionRequired) && !p.Caps.Reopener(u.RawEvent, "") {
		// What the API cannot say (a bank problem: action required), the
		// first delivery may: after the read, so a member the API shows
		// finished does not go back. Final statuses and outcomes come
		// from the read only.
		note.Status, effect = u.Status, "status "+string(u.Status)
	}
	if _, _, err := s.store.ApplyUpdate(ctx, o.AgencyID, o.ID, s.storeUpdate(o, note, s.memberDetail(ctx, o, u), store.SourceWebhook)); err != nil {
		return err
	}
	if u.ReportExpiresSoon {
		// Payscore's API says only whether a report expired, not when: the
		// first warning brings the stored expiry within two days.
		effect = "report expiry brought forward"
		if err := s.store.ReportExpiresBy(ctx, o.AgencyID, o.ID, s.store.Now().Add(reportWarningLead)); err != nil {
			return err
		}
	}
	return s.store.RecordWebhookEffect(ctx, o.ID, u.RawEvent, hash, effect)
}

// hintRead reads an order's state for a hint: at most one read per order
// every hintInterval, across every worker, process and restart (the pace is
// the order's hint_fetched_at, store.ClaimHintRead), and none when a read
// this process began after the delivery was stored already has its news
// (hintCovered). The pace is wall-clock time, as it protects Payscore's API
// from bursts; the store's clock is the business clock (which tests move).
func (s *Service) hintRead(ctx context.Context, o *store.Order, inboxID int64, code string) error {
	s.hintMu.Lock()
	covered := s.hintCovered[o.ID]
	s.hintMu.Unlock()
	if covered >= inboxID {
		return nil // a read that began after this delivery was stored has its news
	}
	for {
		next, ok, err := s.store.ClaimHintRead(ctx, o.AgencyID, o.ID, time.Now(), s.hintInterval)
		if err != nil {
			return err
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(next)):
		}
	}
	covered, err := s.store.LastInboxID(ctx)
	if err != nil {
		return err
	}
	s.hintMu.Lock()
	s.hintCovered[o.ID] = covered
	s.hintMu.Unlock()
	return s.read(ctx, o, &reportFetches{}, code)
}

func errorKind(err error) string {
	if errors.Is(err, providers.ErrMalformed) {
		return "malformed"
	}
	return "parse error"
}

// Apply applies one provider update to an order through the store's rules,
// then does what the update asks: re-read the authoritative state, fetch
// the report. A webhook's re-read happens first and its failure is returned
// (the delivery is tried again); a completed status with a report ready is
// applied only once its report is stored, so "completed" never shows
// without it.
func (s *Service) Apply(ctx context.Context, o *store.Order, u providers.Update, source store.Source) error {
	return s.apply(ctx, o, u, source, &reportFetches{})
}

// reportFetches is what one delivery (or one status read) has fetched, so
// that a report it asks for twice is fetched once: Payscore's
// SCREENING_GROUP_COMPLETED both asks for a re-read, whose group status says
// the report is ready, and says so itself (two fetches, two stored copies,
// before). Keyed by the provider's report id ("" when the provider names
// none), with the fetch's error.
type reportFetches struct {
	tried  map[string]error
	stored int
	err    error // the last failed fetch
}

// reportWarningLead is how long before expiry a provider warns that a
// report expires soon: Payscore's REPORT_SOON_TO_EXPIRE comes two days
// before its 14 (spec.md §3.3), and the report page's banner shows within
// this window.
const reportWarningLead = 48 * time.Hour

func (s *Service) apply(ctx context.Context, o *store.Order, u providers.Update, source store.Source, rf *reportFetches) error {
	return s.applyAs(ctx, o, u, source, rf, false)
}

// applyAs is apply; forwardOnly marks a status read that cannot tell in
// progress from action required (store.StatusUpdate.ForwardOnly).
func (s *Service) applyAs(ctx context.Context, o *store.Order, u providers.Update, source store.Source, rf *reportFetches, forwardOnly bool) error {
	if u.Refetch && source != store.SourcePoll {
		// A hint, or an outcome to confirm: the provider's API decides.
		if err := s.refetch(ctx, o, rf); err != nil {
			return fmt.Errorf("read the order at %s: %w", o.Provider, err)
		}
	}
	ready := s.reportFirst(o.Provider, u)
	if ready {
		// The report first: an order shows completed with its report.
		if err := s.fetchReportOnce(ctx, o, u, source, rf); err != nil {
			return err
		}
	}
	su := s.storeUpdate(o, u, s.memberDetail(ctx, o, u), source)
	su.ForwardOnly = forwardOnly
	o, _, err := s.store.ApplyUpdate(ctx, o.AgencyID, o.ID, su)
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
	if u.ReportReady && !ready {
		if err := s.fetchReportOnce(ctx, o, u, source, rf); err != nil {
			s.log.Warn("report fetch failed", "provider", o.Provider, "order_id", o.ID, "error", err)
		}
	}
	return nil
}

// fetchReportOnce fetches the report an update says is ready, unless this
// delivery already tried it or the order has it: by the provider's report
// id when it names one, otherwise when the order is already completed with
// a report (a provider saying again that the report is ready, or a replay,
// does not make another copy).
func (s *Service) fetchReportOnce(ctx context.Context, o *store.Order, u providers.Update, source store.Source, rf *reportFetches) error {
	if err, ok := rf.tried[u.ReportID]; ok {
		return err
	}
	if s.reportStored(ctx, o, u, source) {
		return nil
	}
	if u.ReportID == "" {
		cur, err := s.store.Order(ctx, o.AgencyID, o.ID)
		if err != nil {
			return err
		}
		if cur.Status == store.StatusCompleted {
			if have, err := s.store.HasAnyReport(ctx, o.AgencyID, o.ID); err != nil || have {
				return err
			}
		}
	}
	if rf.tried == nil {
		rf.tried = map[string]error{}
	}
	err := s.FetchReport(ctx, o, u.ReportID)
	rf.tried[u.ReportID] = err
	if err != nil {
		rf.err = err
		return fmt.Errorf("fetch the report: %w", err)
	}
	rf.stored++
	return nil
}

// storeUpdate is the store's view of a provider update. At, the provider's
// time of the event, orders sideways moves (store.Newer).
func (s *Service) storeUpdate(o *store.Order, u providers.Update, detail string, source store.Source) store.StatusUpdate {
	return store.StatusUpdate{SubID: u.SubID, RawEvent: u.RawEvent, RawStatus: u.RawStatus, Status: store.OrderStatus(u.Status),
		Outcome: store.Outcome(u.Outcome), Detail: detail, At: u.At, Source: source, AboutReport: u.ReportExpiresSoon || u.ReportExpired,
		Reopen: s.caps(o.Provider).Reopener(u.RawEvent, u.RawStatus)}
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
	return s.read(ctx, o, rf, "")
}

// read is refetch for a hint: hint is the hint's code. Only a re-open hint
// lets the read take a member's screening back from completed (store
// reopeners), so a replayed hint never re-opens what Payscore keeps closed.
func (s *Service) read(ctx context.Context, o *store.Order, rf *reportFetches, hint string) error {
	p := s.providers[o.Provider]
	if p == nil {
		return fmt.Errorf("provider %s not configured", o.Provider)
	}
	updates, err := p.Verifier.FetchStatus(ctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID})
	if err != nil {
		return err
	}
	for _, u := range updates {
		providers.LogUnknown(s.log, p.Name, u)
	}
	updates = arrangeRead(updates)
	for _, u := range updates {
		// A read that completes the order (through its sub-items or its
		// own status) fetches the report first, so "completed" never shows
		// without it.
		if s.reportFirst(o.Provider, u) {
			if err := s.fetchReportOnce(ctx, o, u, store.SourcePoll, rf); err != nil {
				return err
			}
		}
	}
	for _, u := range updates {
		u.Refetch = false
		if hint != "" && s.caps(o.Provider).Reopener(hint, "") && u.SubID != "" {
			u.RawEvent = hint
		}
		if err := s.applyAs(ctx, o, u, store.SourcePoll, rf, s.caps(o.Provider).Webhooks == providers.WebhooksHints); err != nil {
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
	data, err := providers.EncodeReport(r)
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

// Notify wakes an inbox worker (after a webhook was stored). It never blocks.
func (s *Service) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunInbox processes deliveries with a pool of s.pool.workers until ctx
// ends. One order's deliveries are applied one at a time in the order
// received (store.ClaimInboxBatch), different orders and providers in
// parallel; a provider holds at most its providerLimit workers, and one
// that keeps failing has its circuit opened (claimBatch, release).
//
// One goroutine claims for the pool: each of its write transactions writes
// the outcomes the workers have handed back since the last one and claims
// as many due deliveries as there are idle workers (issue 17: a claim and
// a finish per delivery, each its own commit, took the one write connection
// twice per delivery from webhook intake). While one commits, outcomes
// gather for the next, so under load a commit serves many deliveries. A
// wake-up (Notify) claims at once; otherwise it looks every second, which
// also picks up deliveries stored by another process.
//
// On PostgreSQL each worker claims and finishes its own deliveries
// (ProcessNext) with the pool as it was before issue 17 (postgresPool):
// there claims do not share the intake's commits, so batching them gains
// little, and the batched claimer with 64 workers left deliveries
// unprocessed for minutes in the PostgreSQL pass
// (TestInbox_HungProviderDoesNotStallOthers, TestRenew_Bulk500WithRestart;
// not yet explained, see notes/i17land.md).
func (s *Service) RunInbox(ctx context.Context) {
	if s.store.Postgres() {
		var wg sync.WaitGroup
		for range s.pool.workers {
			wg.Go(func() { s.work(ctx, "inbox", time.Second, s.wake, s.ProcessNext) })
		}
		wg.Wait()
		return
	}
	items := make(chan *store.InboxItem, s.pool.workers)
	results := make(chan store.InboxDone, s.pool.workers)
	var wg sync.WaitGroup
	for range s.pool.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				results <- s.processItem(ctx, it)
			}
		}()
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	idle := s.pool.workers
	var done []store.InboxDone
	gather := func(d store.InboxDone) {
		done = append(done, d)
		idle++
		for {
			select {
			case d := <-results:
				done = append(done, d)
				idle++
			default:
				return
			}
		}
	}
	for ctx.Err() == nil {
		var its []*store.InboxItem
		var err error
		if idle > 0 || len(done) > 0 {
			its, err = s.claimBatch(ctx, idle, done)
		}
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("inbox", "error", err)
			}
			// The outcomes stay in done for the next try; the claimed
			// deliveries (none) come back when their lease ends.
		} else {
			done = done[:0]
			for _, it := range its {
				items <- it
				idle--
			}
		}
		if err == nil && len(its) > 0 && idle > 0 {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
		case d := <-results:
			gather(d)
		case <-s.wake:
		case <-t.C:
		}
		if err != nil && ctx.Err() == nil {
			select { // a failed write (the database busy): wait a moment
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	// Stopping: the workers finish what they hold; their outcomes are
	// written (with ctx's values but not its end) before RunInbox returns.
	close(items)
	go func() { wg.Wait(); close(results) }()
	for d := range results {
		done = append(done, d)
	}
	if len(done) > 0 {
		if _, err := s.claimBatch(context.WithoutCancel(ctx), 0, done); err != nil {
			s.log.Error("inbox", "error", err)
		}
	}
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

// reportSweepLease is how long an order the sweep claimed stays its own (no
// other replica's sweep takes it): longer than a sweep of 20 orders takes,
// each bounded by the providers' HTTP timeouts. A replica that dies
// mid-sweep delays those orders' next try by this much.
const reportSweepLease = 10 * time.Minute

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
	orders, err := s.store.ClaimOrdersMissingReport(ctx, s.store.Now().Add(-reportSweepQuiet), reportSweepLease, 20)
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
			_ = s.store.AddEvent(ctx, o.AgencyID, o.ID, store.SourceSystem, "The report could not be fetched yet; the portal will try again.")
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
// bodies and outbox messages older than keep, and uploaded CSV files held
// longer than a day.
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
	// Uploaded CSV files are kept a day whatever keep says: long enough to
	// preview and import them.
	if n, err := s.store.PurgeIntakes(ctx); err != nil {
		s.log.Error("retention: csv files", "error", err)
	} else if n > 0 {
		s.log.Info("retention: uploaded csv files wiped", "count", n)
	}
}

// inboxStore is what inbox.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type inboxStore interface {
	AddEvent(ctx context.Context, agencyID, orderID int64, source store.Source, detail string) error
	ApplyUpdate(ctx context.Context, agencyID, orderID int64, u store.StatusUpdate) (*store.Order, bool, error)
	ClaimInboxBatch(ctx context.Context, c store.InboxClaim) ([]*store.InboxItem, error)
	Postgres() bool
	ClaimInboxExcept(ctx context.Context, lease time.Duration, skip []string) (*store.InboxItem, error)
	FinishInbox(ctx context.Context, id int64, errText string, retryAt time.Time) error
	HasAnyReport(ctx context.Context, agencyID, orderID int64) (bool, error)
	ClaimHintRead(ctx context.Context, agencyID, orderID int64, now time.Time, interval time.Duration) (time.Time, bool, error)
	LastInboxID(ctx context.Context) (int64, error)
	LatestReport(ctx context.Context, agencyID, orderID int64) (*store.Report, error)
	Now() time.Time
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
	OrderByInboxPath(ctx context.Context, provider, path string) (*store.Order, error)
	OrderByProviderID(ctx context.Context, provider, providerOrderID string) (*store.Order, error)
	OrderByProviderKeys(ctx context.Context, provider string, keys []string) (*store.Order, error)
	OrderMemberFirstName(ctx context.Context, agencyID, orderID int64, subID string) (string, error)
	ClaimOrdersMissingReport(ctx context.Context, quietSince time.Time, lease time.Duration, limit int) ([]*store.Order, error)
	PurgeExpiredReports(ctx context.Context) (int, error)
	PurgeInboxBodies(ctx context.Context, cutoff time.Time) (int64, error)
	PurgeIntakes(ctx context.Context) (int64, error)
	PurgeOutbox(ctx context.Context, cutoff time.Time) (int64, error)
	PurgeReports(ctx context.Context, agencyID, orderID int64) error
	RecordWebhookEffect(ctx context.Context, orderID int64, code, bodyHash, effect string) error
	RememberProviderKeys(ctx context.Context, provider string, orderID int64, keys []string, moved bool) error
	ReportExpiresBy(ctx context.Context, agencyID, orderID int64, by time.Time) error
	ReportFetchFailed(ctx context.Context, orderID int64, base time.Duration) (int, error)
	SaveReport(ctx context.Context, agencyID, orderID int64, r store.Report) (*store.Report, error)
	WebhookEffect(ctx context.Context, orderID int64, code, bodyHash string) (effect string, seen bool, err error)
}

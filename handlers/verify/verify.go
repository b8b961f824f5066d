// Package verify holds the portal's verification workflows, the ones that a
// page handler and a background worker both need: send a link, deliver it,
// process a webhook delivery, fetch a report. They live here once; Echo
// handlers and the workers in web/ call them. Nothing here knows HTTP pages.
package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"caseverify/handlers/mask"
	"caseverify/metrics"
	"caseverify/providers"
	"caseverify/providers/email"
	"caseverify/providers/sms"
	"caseverify/store"
)

// Provider is one configured verification provider. What the portal does
// differently for it is its Caps, declared in its own package
// (providers.Capabilities); nothing here branches on its name.
type Provider struct {
	Name     string // the slug; Verifier.Name() when empty
	Label    string // shown to staff, e.g. "Truv"; Caps.Label when empty
	Verifier providers.Verifier
	Webhooks providers.WebhookReceiver
	// Sandbox says this provider is its local emulator.
	Sandbox bool
	// SandboxHint tells a newcomer which test details the emulator accepts
	// (shown on the send form in sandbox mode only).
	SandboxHint string
	// Caps is Verifier.Capabilities(), read once by New.
	Caps providers.Capabilities
}

// Complete fills Caps from the Verifier, and Name and Label when they are
// empty. New calls it; web/ calls it as it builds each provider.
func (p *Provider) Complete() *Provider {
	if p.Verifier != nil {
		p.Caps = p.Verifier.Capabilities()
		p.Name = cmp.Or(p.Name, p.Verifier.Name())
	}
	p.Label = cmp.Or(p.Label, p.Caps.Label, p.Name)
	return p
}

// Service runs the workflows.
type Service struct {
	// store is the union of the small interfaces each workflow file declares
	// for itself (inboxStore in inbox.go, renewStore in renew.go, ...).
	store     storeAPI
	pool      inboxPool // the inbox pool's size (inbox.go)
	log       *slog.Logger
	providers map[string]*Provider
	order     []string // provider names in display order
	smtp      email.Sender
	twilio    sms.Sender
	messages  Messages
	baseURL   string
	wake      chan struct{}
	renewWake chan struct{}
	renewRate float64 // refresh calls a second, per provider
	// renewing counts, per provider (RenewalItem.Provider), the renewal
	// items this process's workers hold (claimRenewal).
	renewMu  sync.Mutex
	renewing map[string]int
	// reconcileQuiet is how long an open order may go without news before
	// the reconciler asks its provider.
	reconcileQuiet time.Duration
	// hintInterval paces the status reads a hint triggers, per order
	// (in the database: store.ClaimHintRead).
	hintInterval time.Duration
	// hintCovered is, per order, the newest inbox id this process's last
	// hint-triggered read covers (it began after that delivery was stored).
	hintMu      sync.Mutex
	hintCovered map[int64]int64
	// checkedAt paces the look-ups of unconfirmed orders that deliveries
	// for unknown orders trigger, per provider (settleChecking).
	checkMu   sync.Mutex
	checkedAt map[string]time.Time
	// gates is each provider's share of the inbox pool (claim, release).
	gateMu sync.Mutex
	gates  map[string]*providerGate
	// metrics records operations metrics (nil: none).
	metrics *metrics.Metrics
}

// defaultHintInterval paces hint-triggered status reads: a burst of replayed
// deliveries costs one read of the order, not one each.
const defaultHintInterval = 500 * time.Millisecond

// Config wires a Service.
type Config struct {
	Providers []*Provider
	// SMTP and Twilio, when set, send real messages; nil means the outbox.
	SMTP   email.Sender
	Twilio sms.Sender
	// BaseURL is the portal's public URL (webhook URLs for providers that
	// take one per order).
	BaseURL string
	// ReconcileQuiet is how long an open order may go without news before
	// the reconciler polls its provider (default 15 minutes).
	ReconcileQuiet time.Duration
	// HintInterval is the least time between two status reads of one order
	// that Payscore's webhooks (hints) trigger (default 500 ms).
	HintInterval time.Duration
	// RenewalRate is how many refresh calls a second a bulk renewal makes to
	// one provider (default 5).
	RenewalRate float64
	// Metrics records the inbox's processing and the links delivered (nil:
	// nothing is recorded).
	Metrics *metrics.Metrics
	// Messages writes the applicant's email and text message. The views do
	// (web wires handlers.LinkMessages): the workflow decides what is sent,
	// to whom and when, and imports no page code. Nil: email and SMS
	// deliveries fail.
	Messages Messages
}

// LinkMessage is what an applicant's message says: who asks, for what, the
// link and until when it works. It is rendered in the applicant's language.
type LinkMessage struct {
	Lang       string // "en", "es"; others fall back to English
	AgencyName string
	FirstName  string
	Products   []string // income, employment, assets, identity
	Link       string
	Expires    time.Time // zero when unknown
	Reminder   bool
}

// EmailParts is a rendered email.
type EmailParts struct {
	Subject string
	Text    string
	HTML    string
}

// Messages renders the applicant's link message.
type Messages interface {
	// LinkEmail renders the email with a text and an HTML part.
	LinkEmail(ctx context.Context, m LinkMessage) (EmailParts, error)
	// LinkSMSVariants renders the text message from the fullest wording to
	// the shortest; Deliver sends the first that fits one segment.
	LinkSMSVariants(m LinkMessage) []string
}

// errNoMessages is a wiring mistake: Config.Messages was not set.
var errNoMessages = errors.New("verify: no Messages configured to write the applicant's message")

// New returns a Service.
func New(st *store.Store, log *slog.Logger, cfg Config) *Service {
	s := &Service{store: st, log: log, providers: map[string]*Provider{}, smtp: cfg.SMTP, twilio: cfg.Twilio,
		baseURL: strings.TrimRight(cfg.BaseURL, "/"), wake: make(chan struct{}, sqlitePool.workers), gates: map[string]*providerGate{}, renewWake: make(chan struct{}, 1), renewing: map[string]int{}, reconcileQuiet: cfg.ReconcileQuiet,
		renewRate: cfg.RenewalRate, hintInterval: cfg.HintInterval, hintCovered: map[int64]int64{},
		metrics: cfg.Metrics, checkedAt: map[string]time.Time{}, messages: cfg.Messages}
	s.pool = sqlitePool
	if st.Postgres() {
		s.pool = postgresPool
	}
	if s.hintInterval <= 0 {
		s.hintInterval = defaultHintInterval
	}
	if s.renewRate <= 0 {
		s.renewRate = 5
	}
	if s.reconcileQuiet <= 0 {
		s.reconcileQuiet = 15 * time.Minute
	}
	for _, p := range cfg.Providers {
		p.Complete()
		s.providers[p.Name] = p
		s.order = append(s.order, p.Name)
	}
	return s
}

// Providers returns the configured providers in display order.
func (s *Service) Providers() []*Provider {
	out := make([]*Provider, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.providers[n])
	}
	return out
}

// Provider returns a configured provider or nil.
func (s *Service) Provider(name string) *Provider { return s.providers[name] }

// UsesOutbox reports whether any channel goes to the outbox.
func (s *Service) UsesOutbox() bool { return s.smtp == nil || s.twilio == nil }

// Channels a link can reach the applicant by.
const (
	ChannelEmail    = "email"
	ChannelSMS      = "sms"
	ChannelQR       = "qr"
	ChannelCopy     = "copy"
	ChannelProvider = "provider" // the provider sends it
)

// SendRequest is a caseworker's request to send a member a verification link.
type SendRequest struct {
	User     *store.User
	CaseID   int64
	MemberID int64
	Provider string
	Products []string
	Channel  string
	// SSN is the full SSN for providers that need it (Truework), typed at
	// send time, used for the call, never stored or logged.
	SSN       string
	Employers []string
}

// Problems are what is wrong with a SendRequest, by form field.
type Problems = store.ValidationError

// Send creates the order at the provider and delivers the link. Provider
// errors come back as *providers.ProviderError and nothing is left behind;
// a create that got no answer comes back as *UnconfirmedError with the
// order kept, being checked (createFailed).
func (s *Service) Send(ctx context.Context, req SendRequest) (*store.Order, error) {
	u := req.User
	cs, err := s.store.Case(ctx, u.AgencyID, req.CaseID)
	if err != nil {
		return nil, err
	}
	m, err := s.store.Member(ctx, u.AgencyID, req.CaseID, req.MemberID)
	if err != nil {
		return nil, err
	}
	p := s.providers[req.Provider]
	if problems := s.check(req, p, m); len(problems) > 0 {
		return nil, problems
	}
	if problems, err := s.checkingFirst(ctx, u, m, p); err != nil || len(problems) > 0 {
		return nil, cmp.Or[error](err, problems)
	}
	req.SSN = ssnFor(p, req.SSN) // only a provider that needs it gets it
	notify := store.NotifyAgency
	if req.Channel == ChannelProvider {
		notify = store.NotifyProvider
	}
	ref := store.NewOrderReference()
	webhookURL, secret := s.baseURL+"/webhooks/"+p.Name, ""
	if p.Caps.PerOrderWebhook {
		secret = store.NewSessionToken() // 256 random bits
		webhookURL += "/" + secret
	}
	o, err := s.store.CreateOrder(ctx, u.AgencyID, store.NewOrder{CaseID: cs.ID, MemberID: m.ID, Reference: ref,
		Provider: p.Name, Products: req.Products, Notify: notify, CreatedBy: u.ID})
	if err != nil {
		return nil, err
	}
	po, err := p.Verifier.CreateOrder(ctx, providers.OrderRequest{
		Reference: ref, CaseNumber: cs.Number, AgencyName: u.AgencyName, Program: cs.Program,
		Products: toProducts(req.Products), Employers: req.Employers, ProviderNotifies: notify == store.NotifyProvider,
		WebhookURL: webhookURL,
		Applicants: []providers.Applicant{{Ref: fmt.Sprintf("member-%d", m.ID), FirstName: m.FirstName, LastName: m.LastName,
			Email: m.Email, Phone: m.Phone, DateOfBirth: m.DateOfBirth, SSN: req.SSN, SSNLast4: m.SSNLast4, Language: m.Language}},
	})
	if err != nil {
		// Refused: nothing is left. No answer: the provider may have the
		// order (and bill it), so ours is kept, unconfirmed (unconfirmed.go).
		return s.createFailed(ctx, o, p, req.Channel, secret, err, nil)
	}
	s.keepSSNLast4(ctx, m, req.SSN)
	o, _, err = s.attachCreated(ctx, u, o, p, po, secret, req.Channel, fmt.Sprintf("Order %s created at %s by %s.", ref, p.Label, u.Name), false)
	return o, err
}

// attachCreated records what the provider returned for a created (or, when
// confirm, a found) order and delivers the link by channel. It returns the
// order and whether it attached (a confirm finds an order another process
// already settled: nothing more to do).
func (s *Service) attachCreated(ctx context.Context, u *store.User, o *store.Order, p *Provider, po *providers.Order, secret, channel, detail string, confirm bool) (*store.Order, bool, error) {
	link := providers.ApplicantLink{}
	if len(po.Links) > 0 {
		link = po.Links[0]
	}
	var err error
	if link.WidgetToken != "" && link.URL == "" {
		// A widget provider (Truework Direct): the applicant's link is the
		// portal's own page, /v/{token}, that opens the widget (truework.go).
		if link.URL, err = s.newApplicantPage(ctx, o); err != nil {
			return nil, false, err
		}
	}
	status := store.StatusCreated
	if po.Status == providers.StatusSent {
		status = store.StatusSent
	}
	attach := store.ProviderOrder{OrderID: po.OrderID, UserID: po.UserID, Status: status, Link: link.URL,
		ShortLink: link.ShortURL, WidgetToken: link.WidgetToken, ExpiresAt: po.ExpiresAt, Secret: secret}
	if confirm {
		ok, err := s.store.ConfirmOrder(ctx, o.AgencyID, o.ID, attach, detail)
		if err != nil || !ok {
			return o, false, err
		}
	} else if err := s.attachMade(ctx, o.AgencyID, o.ID, attach, detail); err != nil {
		return nil, false, err
	}
	if o, err = s.store.Order(ctx, o.AgencyID, o.ID); err != nil {
		return nil, true, err
	}
	if channel == "" {
		return o, true, nil
	}
	if err := s.Deliver(ctx, u, o, channel, store.DeliveryFirst); err != nil {
		// The order exists at the provider; the caseworker can resend.
		return o, true, err
	}
	o, err = s.store.Order(ctx, o.AgencyID, o.ID)
	return o, true, err
}

func (s *Service) check(req SendRequest, p *Provider, m *store.Member) Problems {
	problems := Problems{}
	if p == nil {
		problems["provider"] = "Choose a provider."
		return problems
	}
	if len(req.Products) == 0 {
		problems["products"] = "Choose what to verify."
	}
	for _, prod := range req.Products {
		if !slices.Contains(p.Verifier.Products(), providers.Product(prod)) {
			problems["products"] = fmt.Sprintf("%s cannot verify %s.", p.Label, prod)
		}
	}
	switch req.Channel {
	case ChannelEmail:
		if m.Email == "" {
			problems["channel"] = m.FirstName + " has no email address. Add one to the member, or choose another way."
		}
	case ChannelSMS:
		if m.Phone == "" {
			problems["channel"] = m.FirstName + " has no mobile number. Add one to the member, or choose another way."
		}
	case ChannelProvider:
		if !p.Caps.CanNotify {
			problems["channel"] = p.Label + " cannot send the link itself. Choose another way."
		} else if m.Email == "" && m.Phone == "" {
			problems["channel"] = p.Label + " needs an email address or mobile number to send the link."
		}
	case ChannelQR, ChannelCopy:
	default:
		problems["channel"] = "Choose how the link reaches the applicant."
	}
	checkSSN(problems, req, p, m)
	if missing := MissingDetails(p, m); len(missing) > 0 {
		problems["provider"] = fmt.Sprintf("%s needs %s's %s. Add them to the member, or choose another provider.",
			p.Label, m.FirstName, joinWords(missing))
	}
	return problems
}

// detailWords are the portal's words for the member details a provider can
// need (Provider.Needs).
var detailWords = map[string]string{
	"email":         "email address",
	"ssn_last4":     "last 4 digits of the Social Security number",
	"date_of_birth": "date of birth",
	"phone":         "mobile number",
	"first_name":    "first name",
	"last_name":     "last name",
}

// MissingDetails lists, in the portal's words, the details p needs that m
// does not have.
func MissingDetails(p *Provider, m *store.Member) []string {
	if p == nil {
		return nil
	}
	have := map[string]bool{"email": m.Email != "", "ssn_last4": m.SSNLast4 != "", "date_of_birth": m.DateOfBirth != "",
		"phone": m.Phone != "", "first_name": m.FirstName != "", "last_name": m.LastName != ""}
	var out []string
	for _, n := range p.Caps.Needs {
		if !have[n] {
			out = append(out, cmp.Or(detailWords[n], n))
		}
	}
	return out
}

// CollectsAll says a form that collects the member fields given can send
// with p: it collects everything p needs.
func CollectsAll(p *Provider, collected ...string) bool {
	for _, n := range p.Caps.Needs {
		if !slices.Contains(collected, n) {
			return false
		}
	}
	return true
}

// joinWords joins "a", "b" and "c" as "a, b and c".
func joinWords(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " and " + ws[len(ws)-1]
}

func toProducts(ps []string) []providers.Product {
	out := make([]providers.Product, len(ps))
	for i, p := range ps {
		out[i] = providers.Product(p)
	}
	return out
}

// Deliver sends an order's link by a channel and records the delivery.
// kind is first, reminder or resend. Email, SMS, QR and the link shown to
// staff (copy) carry a tracked link of the portal's own (/l/{code}) that
// records the first open per channel and forwards to the provider: staff
// read out or paste a short link, not the provider's (which can run to 136
// characters).
//
// A message is recorded before it is sent (store.StartDelivery) and its
// outcome after: once SMTP or Twilio accepted it, the applicant's /l/ link
// always has its row.
func (s *Service) Deliver(ctx context.Context, u *store.User, o *store.Order, channel string, kind store.DeliveryKind) error {
	m, err := s.store.Member(ctx, o.AgencyID, o.CaseID, o.MemberID)
	if err != nil {
		return err
	}
	msg := LinkMessage{Lang: m.Language, AgencyName: u.AgencyName, FirstName: m.FirstName, Products: o.Products,
		Link: o.Link, Expires: o.LinkExpiresAt, Reminder: kind == store.DeliveryReminder}
	d := store.Delivery{OrderID: o.ID, MemberID: o.MemberID, Channel: channel, Language: m.Language, Kind: kind, CreatedBy: u.ID}
	if channel == ChannelEmail || channel == ChannelSMS || channel == ChannelQR || channel == ChannelCopy {
		d.LinkCode = store.NewLinkCode()
		msg.Link = s.TrackedLink(d.LinkCode)
	}
	var detail string
	var sendErr error
	// send sends the message, when there is one, and returns the message
	// service's id.
	var send func() (string, error)
	switch channel {
	case ChannelEmail:
		if m.Email == "" {
			return Problems{"channel": m.FirstName + " has no email address."}
		}
		if s.messages == nil {
			return errNoMessages
		}
		d.RecipientMasked = mask.Email(m.Email)
		parts, err := s.messages.LinkEmail(ctx, msg)
		if err != nil {
			return err
		}
		send = func() (string, error) {
			return s.emailSender(o.AgencyID).Send(ctx, email.Message{To: m.Email, FromName: u.AgencyName,
				Subject: parts.Subject, Text: parts.Text, HTML: parts.HTML})
		}
		detail = "Link emailed to " + d.RecipientMasked + "."
	case ChannelSMS:
		if m.Phone == "" {
			return Problems{"channel": m.FirstName + " has no mobile number."}
		}
		if s.messages == nil {
			return errNoMessages
		}
		d.RecipientMasked = mask.Phone(m.Phone)
		detail = "Link texted to " + d.RecipientMasked + "."
		if out, err := s.store.OptedOut(ctx, m.Phone); err != nil {
			return err
		} else if out {
			sendErr = sms.ErrOptedOut
			break
		}
		send = func() (string, error) {
			id, err := s.smsSender(o.AgencyID).Send(ctx, sms.Message{To: m.Phone, Body: oneSegment(s.messages.LinkSMSVariants(msg)),
				StatusCallback: s.smsStatusURL()})
			if errors.Is(err, sms.ErrOptedOut) {
				if oerr := s.store.OptOut(context.WithoutCancel(ctx), m.Phone); oerr != nil {
					s.log.Error("record opt-out", "order_id", o.ID, "error", oerr)
				}
			}
			return id, err
		}
	case ChannelQR:
		d.Result, detail = store.DeliveryShown, "QR code shown for the applicant to scan."
	case ChannelCopy:
		d.Result, detail = store.DeliveryShown, "Link shown to staff to read out or paste."
	case ChannelProvider:
		p := s.providers[o.Provider]
		if p == nil {
			return fmt.Errorf("provider %s not configured", o.Provider)
		}
		if kind == store.DeliveryFirst {
			// The provider was asked to send it when the order was created
			// (OrderRequest.ProviderNotifies).
			d.Result, detail = store.DeliverySent, p.Label+" sends the link to the applicant."
			break
		}
		invite, err := s.providerInvite(ctx, o)
		if err != nil {
			return err
		}
		send = func() (string, error) { return "", invite() }
		detail = "Asked " + p.Label + " to send the link to the applicant again."
	default:
		return fmt.Errorf("verify: unknown channel %q", channel)
	}
	if send != nil {
		started, err := s.store.StartDelivery(ctx, o.AgencyID, d)
		if err != nil {
			return err // nothing was sent
		}
		d.ID = started.ID
		d.MessageID, sendErr = send()
	}
	if d.Result == "" {
		d.Result = store.DeliverySent
	}
	if sendErr != nil {
		d.Result, d.Error = store.DeliveryFailed, messageError(sendErr)
		detail = fmt.Sprintf("Sending by %s failed: %s", ChannelWords(channel), d.Error)
		s.log.Warn("delivery failed", "order_id", o.ID, "channel", channel, "error", d.Error)
	}
	switch kind {
	case store.DeliveryReminder:
		detail = "Reminder: " + lowerFirst(detail)
	case store.DeliveryResend:
		detail = "Sent again: " + lowerFirst(detail)
	}
	if d.ID != 0 {
		// The message went (or was refused): record its outcome even if the
		// request that sent it is gone.
		if err := s.store.FinishDelivery(context.WithoutCancel(ctx), o.AgencyID, d.ID, d.Result, d.Error, d.MessageID, detail); err != nil {
			if sendErr != nil {
				return err
			}
			// The applicant has the message and its link works (the row
			// exists); only its result is stale. Do not ask staff to send
			// it again.
			s.log.Error("record delivery result", "order_id", o.ID, "delivery_id", d.ID, "error", err)
		}
	} else if _, err := s.store.AddDelivery(ctx, o.AgencyID, d, detail); err != nil {
		return err
	}
	s.metrics.Message(channel, string(d.Result))
	if sendErr != nil {
		return &DeliveryError{Channel: channel, Reason: d.Error}
	}
	if kind == store.DeliveryFirst && o.Notify == store.NotifyAgency {
		return s.scheduleReminders(ctx, o)
	}
	return nil
}

// TrackedLink is the applicant's tracked link of a delivery's code.
func (s *Service) TrackedLink(code string) string { return s.baseURL + "/l/" + code }

// QRLink is what the order's QR code opens: the tracked link of its newest
// QR delivery to the order's member, so scans count as opens of the QR
// channel. With none (the link went out another way and staff open the QR
// page or the handout), it records a QR delivery first. u is who shows it.
func (s *Service) QRLink(ctx context.Context, u *store.User, o *store.Order) (string, error) {
	if code, err := s.trackedCode(ctx, o, ChannelQR); err != nil || code != "" {
		return s.TrackedLink(code), err
	}
	if err := s.Deliver(ctx, u, o, ChannelQR, store.DeliveryResend); err != nil {
		return "", err
	}
	code, err := s.trackedCode(ctx, o, ChannelQR)
	if err == nil && code == "" {
		err = errors.New("verify: the QR delivery has no link code")
	}
	return s.TrackedLink(code), err
}

// ExistingQRLink is the tracked link of the order's newest QR delivery, or
// "" when there is none. It records nothing: the QR page and handout are
// GETs, and only QRLink (behind a POST) records a delivery.
func (s *Service) ExistingQRLink(ctx context.Context, o *store.Order) (string, error) {
	return s.ExistingTrackedLink(ctx, o, ChannelQR)
}

// ExistingTrackedLink is the tracked link of the order's newest delivery by
// channel to its member, or "" when there is none (or it predates tracked
// links on that channel). It records nothing. The order page shows the copy
// channel's to read out or paste.
func (s *Service) ExistingTrackedLink(ctx context.Context, o *store.Order, channel string) (string, error) {
	code, err := s.trackedCode(ctx, o, channel)
	if err != nil || code == "" {
		return "", err
	}
	return s.TrackedLink(code), nil
}

// QRImageLink is what the QR image encodes: the tracked link of the newest
// QR delivery, or the provider's link for an order whose QR deliveries
// predate tracked QR links. It records nothing (an image request is a GET).
func (s *Service) QRImageLink(ctx context.Context, o *store.Order) (string, error) {
	code, err := s.trackedCode(ctx, o, ChannelQR)
	if err != nil || code == "" {
		return o.Link, err
	}
	return s.TrackedLink(code), nil
}

// trackedCode is the code of the order's newest tracked delivery by channel
// to its member, or "".
func (s *Service) trackedCode(ctx context.Context, o *store.Order, channel string) (string, error) {
	ds, err := s.store.Deliveries(ctx, o.AgencyID, o.ID)
	if err != nil {
		return "", err
	}
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		if d.Channel == channel && d.LinkCode != "" && (d.MemberID == 0 || d.MemberID == o.MemberID) {
			return d.LinkCode, nil
		}
	}
	return "", nil
}

// resender is the provider's way to send its link again itself, or the
// Problem to show when it has none.
func (s *Service) resender(provider string) (providers.Resender, error) {
	p := s.providers[provider]
	r, ok := providerVerifier(p).(providers.Resender)
	if !ok || p == nil || !p.Caps.CanResend || !p.Caps.CanNotify {
		label := provider
		if p != nil {
			label = p.Label
		}
		return nil, Problems{"channel": label + " cannot send the link again itself. Choose another way."}
	}
	return r, nil
}

// providerInvite returns the call that makes the provider send the link
// again, or a Problem when it has none: nothing would be sent.
func (s *Service) providerInvite(ctx context.Context, o *store.Order) (func() error, error) {
	r, err := s.resender(o.Provider)
	if err != nil {
		return nil, err
	}
	ref := providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID}
	invited := o.Notify == store.NotifyProvider
	if !invited {
		ds, err := s.store.Deliveries(ctx, o.AgencyID, o.ID)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			invited = invited || d.Channel == ChannelProvider && d.Result == store.DeliverySent
		}
	}
	// A resend needs a first invite at the provider; an order whose link
	// went another way gets its first one.
	if i, ok := r.(providers.Inviter); ok && !invited {
		return func() error { return i.SendInvite(ctx, ref) }, nil
	}
	return func() error { return r.ResendInvite(ctx, ref) }, nil
}

// scheduleReminders sets the first reminder from the agency's settings.
// Provider-managed orders get none: the provider reminds.
func (s *Service) scheduleReminders(ctx context.Context, o *store.Order) error {
	set, err := s.store.Settings(ctx, o.AgencyID)
	if err != nil {
		return err
	}
	if set.ReminderCount <= 0 {
		return nil
	}
	return s.store.ScheduleReminders(ctx, o.ID, s.store.Now().Add(time.Duration(set.ReminderFirstHours)*time.Hour))
}

// SendReminders sends every reminder that is due. Each is claimed in the
// database before it is sent, so two workers never send the same one.
func (s *Service) SendReminders(ctx context.Context) {
	for {
		o, n, err := s.store.ClaimReminder(ctx)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			s.log.Error("reminders", "error", err)
			return
		}
		if err := s.remind(ctx, o); err != nil {
			var de *DeliveryError
			if !errors.As(err, &de) {
				s.log.Error("reminder", "order_id", o.ID, "number", n, "error", err)
			}
		}
	}
}

func (s *Service) remind(ctx context.Context, o *store.Order) error {
	// A household order reminds each member whose part is still open, with
	// their own link.
	oms, err := s.store.OrderMembers(ctx, o.AgencyID, o.ID)
	if err != nil {
		return err
	}
	if len(oms) > 1 {
		var firstErr error
		for _, om := range oms {
			if om.Status.Final() {
				continue
			}
			one := *o
			one.MemberID, one.Link, one.ShortLink = om.MemberID, om.Link, om.ShortLink
			if err := s.remindMember(ctx, &one); err != nil && firstErr == nil {
				firstErr = err
			}
		}
		return firstErr
	}
	return s.remindMember(ctx, o)
}

// remindMember reminds the order's member by the agency's reminder channel.
func (s *Service) remindMember(ctx context.Context, o *store.Order) error {
	set, err := s.store.Settings(ctx, o.AgencyID)
	if err != nil {
		return err
	}
	m, err := s.store.Member(ctx, o.AgencyID, o.CaseID, o.MemberID)
	if err != nil {
		return err
	}
	channel := set.ReminderChannel
	if channel == "same" {
		channel, err = s.firstChannel(ctx, o)
		if err != nil {
			return err
		}
	}
	// A QR code or a link read out cannot be repeated from afar: remind by
	// text or email, whichever the member has.
	if channel != ChannelEmail && channel != ChannelSMS || channel == ChannelSMS && m.Phone == "" || channel == ChannelEmail && m.Email == "" {
		switch {
		case m.Phone != "":
			channel = ChannelSMS
		case m.Email != "":
			channel = ChannelEmail
		default:
			return nil
		}
	}
	a, err := s.agencyUser(ctx, o)
	if err != nil {
		return err
	}
	return s.Deliver(ctx, a, o, channel, store.DeliveryReminder)
}

func (s *Service) firstChannel(ctx context.Context, o *store.Order) (string, error) {
	ds, err := s.store.Deliveries(ctx, o.AgencyID, o.ID)
	if err != nil || len(ds) == 0 {
		return "", err
	}
	return ds[0].Channel, nil
}

// agencyUser is who a system action (a reminder) is done as: the portal on
// behalf of the agency, with the agency's name for the message.
func (s *Service) agencyUser(ctx context.Context, o *store.Order) (*store.User, error) {
	name, err := s.store.AgencyName(ctx, o.AgencyID)
	if err != nil {
		return nil, err
	}
	return &store.User{AgencyID: o.AgencyID, AgencyName: name}, nil
}

// Resend sends the link again by a channel (the same or another), on a
// caseworker's request.
func (s *Service) Resend(ctx context.Context, u *store.User, o *store.Order, channel string) error {
	if o.Status.Final() {
		return Problems{"channel": "This verification has ended; send a new one instead."}
	}
	if o.Link == "" {
		return Problems{"channel": "This provider's link cannot be sent again from here."}
	}
	if o.LinkExpired(s.store.Now()) {
		return Problems{"channel": "This link has expired; send a new link instead."}
	}
	return s.Deliver(ctx, u, o, channel, store.DeliveryResend)
}

// Cancel cancels an order at the provider and in the portal, and stops its
// reminders.
func (s *Service) Cancel(ctx context.Context, u *store.User, o *store.Order) error {
	if o.Status.Final() {
		return Problems{"cancel": "This verification has already ended."}
	}
	if o.Checking() {
		return Problems{"cancel": "The portal is still checking whether the provider has this order; cancel it once it has the answer."}
	}
	p := s.providers[o.Provider]
	if p == nil {
		return fmt.Errorf("provider %s not configured", o.Provider)
	}
	err := p.Verifier.Cancel(ctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID})
	if err != nil && !errors.Is(err, providers.ErrNotSupported) {
		return err
	}
	detail := "Canceled by " + u.Name + "."
	if errors.Is(err, providers.ErrNotSupported) {
		detail = "Canceled in the portal by " + u.Name + " (" + p.Label + " has no cancel call; the link may still open)."
	}
	if _, _, err := s.store.ApplyUpdate(ctx, o.AgencyID, o.ID, store.StatusUpdate{Status: store.StatusCanceled,
		Source: store.SourceCaseworker, Detail: detail}); err != nil {
		return err
	}
	return s.store.StopReminders(ctx, o.ID)
}

// RenewsLinks reports whether an open order of this provider can get a
// fresh link in place.
func (s *Service) RenewsLinks(provider string) bool {
	_, ok := s.linkRenewer(s.providers[provider])
	return ok
}

// linkRenewer is the provider's way to renew an open order's link in
// place (Caps.RenewsLinks), if it has one.
func (s *Service) linkRenewer(p *Provider) (providers.LinkRenewer, bool) {
	if p == nil || !p.Caps.RenewsLinks {
		return nil, false
	}
	r, ok := p.Verifier.(providers.LinkRenewer)
	return r, ok
}

// NewLink sends the member a new link: for a provider that renews links in
// place (AccountChek), a fresh sign-in link for the same open order;
// otherwise a new verification for the same provider and products, when the
// old link expired or the order failed.
func (s *Service) NewLink(ctx context.Context, u *store.User, o *store.Order, channel string) (*store.Order, error) {
	p := s.providers[o.Provider]
	if r, ok := s.linkRenewer(p); ok && !o.Status.Final() {
		if channel == ChannelProvider {
			// Refused before a fresh link is issued that no one would send.
			if _, err := s.resender(o.Provider); err != nil {
				return nil, err
			}
		}
		link, err := r.NewSSOURL(ctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID})
		if err != nil {
			return nil, err
		}
		if err := s.store.ReplaceLink(ctx, o.AgencyID, o.ID, link, "A fresh sign-in link was issued by "+u.Name+"."); err != nil {
			return nil, err
		}
		if o, err = s.store.Order(ctx, o.AgencyID, o.ID); err != nil {
			return nil, err
		}
		return o, s.Deliver(ctx, u, o, channel, store.DeliveryResend)
	}
	if !o.Status.Final() && (o.LinkExpiresAt.IsZero() || s.store.Now().Before(o.LinkExpiresAt)) {
		return nil, Problems{"channel": "The current link still works: send it again instead."}
	}
	n, err := s.Send(ctx, SendRequest{User: u, CaseID: o.CaseID, MemberID: o.MemberID, Provider: o.Provider, Products: o.Products,
		Channel: channel})
	if n != nil && !o.Status.Final() {
		// The new order replaces the old one, whose link no longer works:
		// its reminders would only send the applicant a dead link next to
		// the new one. (It stays open: a late result from its provider is
		// still recorded.)
		if serr := s.store.StopReminders(context.WithoutCancel(ctx), o.ID); serr != nil {
			s.log.Error("stop the replaced order's reminders", "order_id", o.ID, "error", serr)
		}
	}
	return n, err
}

// ChannelWords names a channel in a sentence.
func ChannelWords(c string) string {
	switch c {
	case ChannelEmail:
		return "email"
	case ChannelSMS:
		return "text message"
	case ChannelQR:
		return "QR code"
	case ChannelCopy:
		return "link shown"
	case ChannelProvider:
		return "the provider"
	}
	return c
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func (s *Service) smsStatusURL() string {
	if s.twilio == nil {
		return ""
	}
	return s.baseURL + "/webhooks/twilio/status"
}

// DeliveryError says a link could not be sent; the order exists.
type DeliveryError struct {
	Channel string
	Reason  string
}

// Error implements error.
func (e *DeliveryError) Error() string { return "sending by " + e.Channel + " failed: " + e.Reason }

// messageError turns a sending error into a PII-free sentence.
func messageError(err error) string {
	var se *sms.Error
	var pe *providers.ProviderError
	switch {
	case errors.Is(err, sms.ErrOptedOut):
		return "the applicant replied STOP to this number and gets no more texts from it."
	case errors.Is(err, sms.ErrInvalidNumber):
		return "the mobile number cannot receive texts."
	case errors.As(err, &se):
		return "the text message service refused it (code " + fmt.Sprint(se.Code) + ")."
	case errors.Is(err, email.ErrInvalidMessage):
		return "the email address cannot be used."
	case errors.As(err, &pe) && pe.Message != "":
		// The adapters word provider errors plainly and without PII.
		return pe.Message
	}
	return "the message service did not answer; try again shortly."
}

func (s *Service) emailSender(agencyID int64) email.Sender {
	if s.smtp != nil {
		return s.smtp
	}
	return outboxEmail{store: s.store, agencyID: agencyID}
}

func (s *Service) smsSender(agencyID int64) sms.Sender {
	if s.twilio != nil {
		return s.twilio
	}
	return outboxSMS{store: s.store, agencyID: agencyID}
}

// outboxEmail "sends" email into the database outbox (the default).
type outboxEmail struct {
	store    outboxStore
	agencyID int64
}

func (o outboxEmail) Send(ctx context.Context, m email.Message) (string, error) {
	id, err := o.store.AddOutbox(ctx, o.agencyID, store.OutboxMessage{Channel: "email", To: m.To,
		Subject: m.Subject, Body: m.Text, HTML: m.HTML})
	return fmt.Sprintf("outbox-%d", id), err
}

// outboxSMS "sends" text messages into the database outbox (the default).
type outboxSMS struct {
	store    outboxStore
	agencyID int64
}

func (o outboxSMS) Send(ctx context.Context, m sms.Message) (string, error) {
	id, err := o.store.AddOutbox(ctx, o.agencyID, store.OutboxMessage{Channel: "sms", To: m.To, Body: m.Body})
	return fmt.Sprintf("outbox-%d", id), err
}

// oneSegment picks the first wording that fits one SMS segment (cheaper and
// never split on old phones), or the shortest.
func oneSegment(variants []string) string {
	for _, v := range variants {
		if _, n := sms.Segments(v); n == 1 {
			return v
		}
	}
	return variants[len(variants)-1]
}

func providerVerifier(p *Provider) providers.Verifier {
	if p == nil {
		return nil
	}
	return p.Verifier
}

// verifyStore is what verify.go uses of the store (declared here, where it is used; *store.Store satisfies it).
type verifyStore interface {
	AddDelivery(ctx context.Context, agencyID int64, d store.Delivery, detail string) (*store.Delivery, error)
	AgencyName(ctx context.Context, agencyID int64) (string, error)
	ApplyUpdate(ctx context.Context, agencyID, orderID int64, u store.StatusUpdate) (*store.Order, bool, error)
	AttachProviderOrder(ctx context.Context, agencyID, orderID int64, p store.ProviderOrder, detail string) error
	Case(ctx context.Context, agencyID, caseID int64) (*store.Case, error)
	ClaimReminder(ctx context.Context) (*store.Order, int, error)
	ConfirmOrder(ctx context.Context, agencyID, orderID int64, p store.ProviderOrder, detail string) (bool, error)
	CreateOrder(ctx context.Context, agencyID int64, in store.NewOrder) (*store.Order, error)
	DeleteOrder(ctx context.Context, agencyID, orderID int64) error
	Deliveries(ctx context.Context, agencyID, orderID int64) ([]*store.Delivery, error)
	FinishDelivery(ctx context.Context, agencyID, deliveryID int64, result store.DeliveryResult, errText, messageID, detail string) error
	Member(ctx context.Context, agencyID, caseID, memberID int64) (*store.Member, error)
	Now() time.Time
	OptOut(ctx context.Context, phone string) error
	OptedOut(ctx context.Context, phone string) (bool, error)
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
	OrderMembers(ctx context.Context, agencyID, orderID int64) ([]*store.OrderMember, error)
	ReplaceLink(ctx context.Context, agencyID, orderID int64, link, detail string) error
	ScheduleReminders(ctx context.Context, orderID int64, first time.Time) error
	Settings(ctx context.Context, agencyID int64) (store.AgencySettings, error)
	StartDelivery(ctx context.Context, agencyID int64, d store.Delivery) (*store.Delivery, error)
	StopReminders(ctx context.Context, orderID int64) error
}

// outboxStore is what the outbox senders (outboxEmail, outboxSMS) use of the store.
type outboxStore interface {
	AddOutbox(ctx context.Context, agencyID int64, m store.OutboxMessage) (int64, error)
}

// storeAPI is what the workflows use of the store, file by file; New takes
// the *store.Store that satisfies it.
type storeAPI interface {
	bulkStore
	contactStore
	householdStore
	inboxStore
	incomeStore
	reconcileStore
	renewStore
	applicantPageFlowStore
	unconfirmedStore
	verifyStore
	outboxStore
}

// attachMade records the order a provider has just made. The provider has
// it (and may bill it), so a record that lost its races (a
// *store.BusyError: PostgreSQL's serialization failures when many sends or
// renewals touch one case at once, or SQLite's write lock held past
// DB_WAIT) is tried again for a few seconds, instead of reporting a failure
// that the provider's order would contradict.
func (s *Service) attachMade(ctx context.Context, agencyID, orderID int64, p store.ProviderOrder, detail string) error {
	pause := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.store.AttachProviderOrder(ctx, agencyID, orderID, p, detail)
		if !isBusy(err) || attempt == 5 {
			return err
		}
		if providers.Sleep(ctx, pause) != nil {
			return err
		}
		pause *= 2
	}
}

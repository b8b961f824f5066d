package verify

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"caseverify/providers"
	"caseverify/store"
)

// A widget provider (providers.FlowWidget, e.g. Truework Direct) has no
// hosted link: the applicant's link is the portal's own public page,
// /v/{token}, which loads the provider's script and opens it with the
// order's session token (handlers/applicant.go). The workflows here make
// that page, send a fresh one, and reverify a completed order within the
// provider's Caps.ReverifyWindow.

// sessionTimeout bounds the fresh-token call made while an applicant waits
// for the page; the stored token is the fallback.
const sessionTimeout = 5 * time.Second

// IsWidget says a provider's applicant flow is a widget the portal hosts.
func (s *Service) IsWidget(name string) bool {
	_, w := s.widget(name)
	return w != nil
}

func (s *Service) widget(name string) (*Provider, providers.Widget) {
	p := s.providers[name]
	if p == nil || p.Caps.Flow != providers.FlowWidget {
		return p, nil
	}
	w, ok := p.Verifier.(providers.Widget)
	if !ok {
		return p, nil
	}
	return p, w
}

// newApplicantPage makes an applicant page for an order and returns its
// public URL, which becomes the order's link (email, SMS, QR all carry it).
func (s *Service) newApplicantPage(ctx context.Context, o *store.Order) (string, error) {
	tok := store.NewApplicantPageToken()
	if err := s.store.CreateApplicantPage(ctx, o.AgencyID, o.ID, tok, s.store.Now().Add(store.ApplicantPageTTL)); err != nil {
		return "", err
	}
	return s.baseURL + "/v/" + tok, nil
}

// checkSSN adds a problem when a provider that needs the full SSN
// (Caps.NeedsFullSSN) did not get a usable one. When the member's last 4 are on
// file, the typed SSN must end with them (a typo check). The SSN itself is
// never part of a message.
func checkSSN(problems Problems, req SendRequest, p *Provider, m *store.Member) {
	if p == nil || !p.Caps.NeedsFullSSN {
		return
	}
	if len(req.SSN) != 9 || !allDigits(req.SSN) {
		problems["ssn"] = "Type " + m.FirstName + "'s full 9-digit Social Security number: " + p.Label + " needs it. The portal keeps only the last 4."
		return
	}
	if m.SSNLast4 != "" && subtle.ConstantTimeCompare([]byte(req.SSN[5:]), []byte(m.SSNLast4)) != 1 {
		problems["ssn"] = "This number does not end in the last 4 digits on file for " + m.FirstName + ". Check it, or correct the member's details."
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ssnFor returns the full SSN for a provider that needs it
// (Caps.NeedsFullSSN), and "" for every other, which never gets it.
func ssnFor(p *Provider, ssn string) string {
	if p == nil || !p.Caps.NeedsFullSSN {
		return ""
	}
	return ssn
}

// keepSSNLast4 stores the last 4 digits of the SSN typed at send time on a
// member who has none on file. The full number is never stored.
func (s *Service) keepSSNLast4(ctx context.Context, m *store.Member, ssn string) {
	if len(ssn) != 9 || m.SSNLast4 != "" {
		return
	}
	in := store.MemberInput{FirstName: m.FirstName, LastName: m.LastName, Relationship: m.Relationship, Email: m.Email,
		Phone: m.Phone, DateOfBirth: m.DateOfBirth, SSNLast4: ssn[5:], Language: m.Language}
	if err := s.store.UpdateMember(ctx, m.AgencyID, m.CaseID, m.ID, in); err != nil {
		// Never the error's fields: they could name values.
		s.log.Warn("keep SSN last 4", "member_id", m.ID, "error_kind", fmt.Sprintf("%T", err))
	}
}

// WidgetPage is what the applicant's page shows: the member's first name and
// the agency's name, and what Truework.js needs. Ended means the page or the
// verification is over (the plain "link ended" page).
type WidgetPage struct {
	Lang           string
	FirstName      string
	AgencyName     string
	Ended          bool
	ExpiredOn      time.Time // set when it ended because the link's lifetime passed
	ScriptURL      string
	FrameSources   []string // origins the widget frames (its Content-Security-Policy)
	PublishableKey string
	Env            string // "sandbox" or "production"
	SessionToken   string
}

// OpenWidgetPage finds the applicant page of a token and what it shows.
// Unknown tokens are store.ErrNotFound. Truework asks for one session token
// per widget open, so a fresh one is fetched (bounded by a short timeout);
// the order's stored token is the fallback.
func (s *Service) OpenWidgetPage(ctx context.Context, token string) (*WidgetPage, error) {
	pg, err := s.store.OpenApplicantPage(ctx, token)
	if err != nil {
		return nil, err
	}
	o, err := s.store.Order(ctx, pg.AgencyID, pg.OrderID)
	if err != nil {
		return nil, err
	}
	m, err := s.store.Member(ctx, o.AgencyID, o.CaseID, o.MemberID)
	if err != nil {
		return nil, err
	}
	agency, err := s.store.AgencyName(ctx, o.AgencyID)
	if err != nil {
		return nil, err
	}
	v := &WidgetPage{Lang: m.Language, FirstName: m.FirstName, AgencyName: agency}
	_, w := s.widget(o.Provider)
	if o.LinkExpired(s.store.Now()) && !o.Status.Final() {
		v.Ended, v.ExpiredOn = true, o.LinkExpiresAt // the provider's or the agency's lifetime passed
		return v, nil
	}
	if w == nil || !pg.Usable(s.store.Now()) || o.Status.Final() || o.WidgetToken == "" {
		v.Ended = true
		return v, nil
	}
	ws := w.Widget()
	v.ScriptURL, v.PublishableKey, v.Env, v.SessionToken = ws.ScriptURL, ws.PublishableKey, ws.Env, o.WidgetToken
	v.FrameSources = ws.FrameSources
	cctx, cancel := context.WithTimeout(ctx, sessionTimeout)
	defer cancel()
	if tok, err := w.SessionToken(cctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID}, 0); err != nil {
		s.log.Warn("fresh widget session failed; using the stored one", "provider", o.Provider, "order_id", o.ID, "error", err)
	} else if tok != "" {
		v.SessionToken = tok
	}
	return v, nil
}

// WidgetScript returns the widget script URL of a provider, or "" when it
// has none (the applicant page's Content-Security-Policy allows it).
func (s *Service) WidgetScript(provider string) string {
	if _, w := s.widget(provider); w != nil {
		return w.Widget().ScriptURL
	}
	return ""
}

// WidgetScripts returns the widget script URLs of every configured widget
// provider.
func (s *Service) WidgetScripts() []string {
	var out []string
	for _, name := range s.order {
		if u := s.WidgetScript(name); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// SendFreshSession gets a new widget session token for an open widget order
// (after order.applicant_action_required, or when the page expired), makes
// a new applicant page (the older ones stop working) and sends it by
// channel. It returns the order as it is now.
func (s *Service) SendFreshSession(ctx context.Context, u *store.User, o *store.Order, channel string) (*store.Order, error) {
	p, w := s.widget(o.Provider)
	if w == nil {
		return nil, Problems{"channel": "This provider has no applicant page to send."}
	}
	if o.Status.Final() {
		return nil, Problems{"channel": "This verification has ended; a fresh session cannot be sent."}
	}
	switch channel {
	case ChannelEmail, ChannelSMS, ChannelQR, ChannelCopy:
	default:
		return nil, Problems{"channel": "Choose how the page reaches the applicant."}
	}
	tok, err := w.SessionToken(ctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID}, 0)
	if err != nil {
		return nil, err
	}
	if tok == "" {
		return nil, &providers.ProviderError{Provider: p.Name, Message: p.Label + " did not return a session for the applicant; try again shortly."}
	}
	page := store.NewApplicantPageToken()
	link := s.baseURL + "/v/" + page
	detail := fmt.Sprintf("New %s session and applicant page made by %s; the earlier page no longer works.", p.Label, u.Name)
	if err := s.store.RenewApplicantPage(ctx, o.AgencyID, o.ID, page, s.store.Now().Add(store.ApplicantPageTTL), link, tok, detail); err != nil {
		return nil, err
	}
	if o, err = s.store.Order(ctx, o.AgencyID, o.ID); err != nil {
		return nil, err
	}
	return o, s.Deliver(ctx, u, o, channel, store.DeliveryResend)
}

// WidgetActions is what the order page offers for a widget order.
type WidgetActions struct {
	// FreshSession: the order is open and needs the applicant (action
	// required) or its applicant page no longer works.
	FreshSession bool
	// Reverify: a completed order within Caps.ReverifyWindow; Until is when the
	// window closes. NoReverify explains why a completed order is past it.
	Reverify   bool
	Until      time.Time
	NoReverify string
	// NewVerification: the order ended without a result (expired, failed,
	// canceled) or is past reverification. A new order needs the full SSN
	// again, which only the send form asks for, so the page links there
	// with the provider and products preselected rather than offering a
	// one-click new link.
	NewVerification bool
}

// WidgetActionsFor says what the order page offers for o; nil when its
// provider is not a widget provider.
func (s *Service) WidgetActionsFor(ctx context.Context, o *store.Order) (*WidgetActions, error) {
	p, w := s.widget(o.Provider)
	if w == nil {
		return nil, nil
	}
	a := &WidgetActions{}
	switch {
	case o.Status == store.StatusActionRequired:
		a.FreshSession = true
	case !o.Status.Final():
		ok, err := s.store.HasUsableApplicantPage(ctx, o.AgencyID, o.ID)
		if err != nil {
			return nil, err
		}
		a.FreshSession = !ok && o.WidgetToken != ""
	case o.Status == store.StatusCompleted && !o.CompletedAt.IsZero() && p.Caps.ReverifyWindow > 0:
		a.Until = o.CompletedAt.Add(p.Caps.ReverifyWindow)
		if s.store.Now().Before(a.Until) {
			a.Reverify = true
		} else {
			a.NoReverify = fmt.Sprintf("Reverification is not offered: %s reverifies a report only within %s of the original verification, and this one completed on %s. Send a new verification instead.",
				p.Label, windowWords(p.Caps.ReverifyWindow), o.CompletedAt.Format("January 2, 2006"))
			a.NewVerification = true
		}
	case o.Status == store.StatusExpired || o.Status == store.StatusFailed || o.Status == store.StatusCanceled:
		a.NewVerification = true
	}
	return a, nil
}

// Reverify asks the provider to reverify a completed order's report
// (Truework POST /orders/reverification, within 90 days). The new order
// links to the original (RefreshOf). It may complete by itself, or need
// the applicant: then it turns action required and the caseworker sends the
// applicant page with a fresh session (SendFreshSession).
func (s *Service) Reverify(ctx context.Context, u *store.User, o *store.Order) (*store.Order, error) {
	p, w := s.widget(o.Provider)
	if w == nil {
		return nil, Problems{"reverify": "This provider does not reverify from here."}
	}
	if o.Status != store.StatusCompleted || o.CompletedAt.IsZero() {
		return nil, Problems{"reverify": "Only a completed verification can be reverified."}
	}
	if p.Caps.ReverifyWindow <= 0 {
		return nil, Problems{"reverify": "This provider does not reverify from here."}
	}
	if !s.store.Now().Before(o.CompletedAt.Add(p.Caps.ReverifyWindow)) {
		return nil, Problems{"reverify": fmt.Sprintf("%s reverification is only possible within %s of the original verification. Send a new verification instead.",
			p.Label, windowWords(p.Caps.ReverifyWindow))}
	}
	rep, err := s.store.LatestReport(ctx, o.AgencyID, o.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (rep.Purged || rep.ProviderReportID == "") {
		return nil, Problems{"reverify": "The report has not arrived yet; reverify once it has."}
	}
	if err != nil {
		return nil, err
	}
	m, err := s.store.Member(ctx, o.AgencyID, o.CaseID, o.MemberID)
	if err != nil {
		return nil, err
	}
	if problems, err := s.checkingFirst(ctx, u, m, p); err != nil || len(problems) > 0 {
		return nil, cmp.Or[error](err, problems)
	}
	ref := store.NewOrderReference()
	n, err := s.store.CreateOrder(ctx, o.AgencyID, store.NewOrder{CaseID: o.CaseID, MemberID: o.MemberID, Reference: ref,
		Provider: o.Provider, Products: o.Products, Notify: store.NotifyAgency, CreatedBy: u.ID, RefreshOf: o.ID})
	if err != nil {
		return nil, err
	}
	po, err := p.Verifier.Refresh(ctx, providers.OrderRef{OrderID: o.ProviderOrderID, UserID: o.ProviderUserID},
		providers.RefreshRequest{Reference: ref, ReportID: rep.ProviderReportID, Now: s.store.Now()})
	if err != nil {
		// No answer: the reverification may exist (and be billed); it is
		// kept, being checked, like any create (createFailed).
		kept, err := s.createFailed(ctx, n, p, "", "", err, nil)
		if kept != nil {
			if nerr := s.noteReverification(context.WithoutCancel(ctx), u, o, ref); nerr != nil {
				s.log.Error("note reverification", "order_id", o.ID, "error", nerr)
			}
		}
		return kept, err
	}
	link := providers.ApplicantLink{}
	if len(po.Links) > 0 {
		link = po.Links[0]
	}
	if link.WidgetToken != "" && link.URL == "" {
		if link.URL, err = s.newApplicantPage(ctx, n); err != nil {
			return nil, err
		}
	}
	status := store.OrderStatus(po.Status)
	if !status.Valid() || status.Final() {
		// A final state arrives through the webhooks and the refetch, with
		// its report.
		status = store.StatusCreated
	}
	if err := s.attachMade(ctx, o.AgencyID, n.ID, store.ProviderOrder{OrderID: po.OrderID, UserID: po.UserID,
		Status: status, Link: link.URL, ShortLink: link.ShortURL, WidgetToken: link.WidgetToken, ExpiresAt: po.ExpiresAt},
		fmt.Sprintf("Reverification %s of order %s started at %s by %s.", ref, o.Reference, p.Label, u.Name)); err != nil {
		return nil, err
	}
	if err := s.noteReverification(ctx, u, o, ref); err != nil {
		return nil, err
	}
	return s.store.Order(ctx, o.AgencyID, n.ID)
}

// noteReverification puts the request on the original order's timeline.
func (s *Service) noteReverification(ctx context.Context, u *store.User, o *store.Order, ref string) error {
	return s.store.AddEvent(ctx, o.AgencyID, o.ID, store.SourceCaseworker, fmt.Sprintf("Reverification requested by %s (order %s).", u.Name, ref))
}

// windowWords says a window in days ("90 days"), as the pages put it.
func windowWords(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// applicantPageFlowStore is what truework.go (the applicant-page flow) uses of the store (declared here, where it is used; *store.Store satisfies it).
type applicantPageFlowStore interface {
	AddEvent(ctx context.Context, agencyID, orderID int64, source store.Source, detail string) error
	AgencyName(ctx context.Context, agencyID int64) (string, error)
	AttachProviderOrder(ctx context.Context, agencyID, orderID int64, p store.ProviderOrder, detail string) error
	CheckingOrder(ctx context.Context, agencyID, memberID int64, provider string) (*store.Order, error)
	CreateApplicantPage(ctx context.Context, agencyID, orderID int64, token string, expires time.Time) error
	CreateOrder(ctx context.Context, agencyID int64, in store.NewOrder) (*store.Order, error)
	DeleteOrder(ctx context.Context, agencyID, orderID int64) error
	HasUsableApplicantPage(ctx context.Context, agencyID, orderID int64) (bool, error)
	LatestReport(ctx context.Context, agencyID, orderID int64) (*store.Report, error)
	Member(ctx context.Context, agencyID, caseID, memberID int64) (*store.Member, error)
	Now() time.Time
	OpenApplicantPage(ctx context.Context, token string) (*store.ApplicantPage, error)
	Order(ctx context.Context, agencyID, orderID int64) (*store.Order, error)
	RenewApplicantPage(ctx context.Context, agencyID, orderID int64, token string, expires time.Time,
		link, widgetToken, detail string) error
	UpdateMember(ctx context.Context, agencyID, caseID, memberID int64, in store.MemberInput) error
}

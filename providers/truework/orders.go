package truework

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"caseverify/providers"
)

// reverificationWindow is how long after completion a report can be
// reverified [T01, S00].
const reverificationWindow = 90 * 24 * time.Hour

// CreateOrder creates a Truework Direct order with one target per applicant
// and returns one link per applicant whose WidgetToken is the target's
// session token (the portal's own page opens Truework.js with it).
//
// It is idempotent on req.Reference: the reference is sent as search_key
// (and metadata.reference), and an order already found under it with GET
// /orders?search_key= is returned instead of creating a second one, so the
// portal may simply call CreateOrder again after a timeout.
func (c *Client) CreateOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	kind, err := targetType(req.Products)
	if err != nil {
		return nil, err
	}
	in := directOrderInput{SearchKey: req.Reference}
	if len(req.Applicants) == 0 {
		return nil, validationError("Add the household member to verify before sending a Truework verification.", map[string]string{"applicants": "At least one is required."})
	}
	for _, a := range req.Applicants {
		t, err := c.target(a, kind, req)
		if err != nil {
			return nil, err
		}
		in.Targets = append(in.Targets, t)
	}

	// The reference is the order's search key: looked up before the POST,
	// and again when the POST's answer was lost (providers.Create).
	o, err := providers.Create[orderResource]{
		Reference:   req.Reference,
		LookupFirst: true,
		Lookup:      func(ctx context.Context) (*orderResource, error) { return c.findByReference(ctx, req.Reference) },
		Post: func(ctx context.Context) (*orderResource, error) {
			var o orderResource
			_, err := c.getJSON(ctx, call{method: http.MethodPost, path: "/orders/truework-direct", body: in}, "order", &o)
			return &o, err
		},
		Check: func(o *orderResource) error {
			if o.ID == "" {
				return decodeError(http.StatusCreated, "order", errors.New("order without id"))
			}
			return nil
		},
	}.Do(ctx)
	if err != nil {
		return nil, err
	}
	return c.orderFrom(o, req.Applicants), nil
}

// FindOrder looks the order up by search_key (the portal's reference, GET
// /orders, documented) and creates nothing (providers.OrderFinder).
func (c *Client) FindOrder(ctx context.Context, req providers.OrderRequest) (*providers.Order, error) {
	if req.RefreshOf != "" {
		// A reverification takes only the report id (spec §1.7): it has no
		// search key, so the portal's reference cannot find it, and "none"
		// would be a guess.
		return nil, fmt.Errorf("truework: a reverification has no search key to look up: %w", providers.ErrNotSupported)
	}
	o, err := c.findByReference(ctx, req.Reference)
	if err != nil {
		return nil, err
	}
	if o == nil {
		return nil, fmt.Errorf("truework: no order %s: %w", req.Reference, providers.ErrNotFound)
	}
	return c.orderFrom(o, req.Applicants), nil
}

// targetType picks the Direct target type for the requested products:
// income includes employment ("employment-income"), employment alone is
// "employment". Other products are not Truework's.
func targetType(products []providers.Product) (string, error) {
	switch {
	case slices.Contains(products, providers.ProductIncome):
		return "employment-income", nil
	case slices.Contains(products, providers.ProductEmployment):
		return "employment", nil
	default:
		return "", fmt.Errorf("truework verifies income and employment only: %w", providers.ErrNotSupported)
	}
}

// target builds one Direct target, refusing early (with the field names,
// never the values) what Truework requires and the portal may not have.
func (c *Client) target(a providers.Applicant, kind string, req providers.OrderRequest) (targetInput, error) {
	fields := map[string]string{}
	ssn, ok := formatSSN(a.SSN)
	if !ok {
		fields["ssn"] = "Truework needs the full 9-digit SSN."
	}
	if strings.TrimSpace(a.FirstName) == "" {
		fields["first_name"] = "Required."
	}
	if strings.TrimSpace(a.LastName) == "" {
		fields["last_name"] = "Required."
	}
	if strings.TrimSpace(a.Email) == "" {
		fields["email"] = "Truework needs the applicant's email."
	}
	if _, err := time.Parse(time.DateOnly, a.DateOfBirth); err != nil {
		fields["date_of_birth"] = "Truework needs the date of birth."
	}
	if len(fields) > 0 {
		return targetInput{}, validationError("Truework needs each applicant's name, full SSN, date of birth and email.", fields)
	}
	t := targetInput{
		FirstName:          strings.TrimSpace(a.FirstName),
		LastName:           strings.TrimSpace(a.LastName),
		SSN:                ssn,
		ContactEmail:       strings.TrimSpace(a.Email),
		DateOfBirth:        a.DateOfBirth,
		PermissiblePurpose: c.purpose,
		UseCase:            c.useCase,
		Type:               kind,
		// The phone number goes as the portal holds it (E.164); the Truework
		// format is not documented (UNCONFIRMED) and the field is optional.
		PhoneNumber: a.Phone,
	}
	if req.Reference != "" {
		t.Metadata = map[string]string{"reference": req.Reference}
	}
	for _, name := range req.Employers {
		if name = strings.TrimSpace(name); name != "" {
			// S00 recommends action "verify" for every company the applicant should verify.
			t.Companies = append(t.Companies, companyInput{Name: name, Action: "verify"})
		}
	}
	return t, nil
}

// formatSSN turns the portal's digits-only SSN into the dashed form the API
// examples use (000-00-0000) [T08, T09].
func formatSSN(s string) (string, bool) {
	var d []byte
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			d = append(d, s[i])
		case s[i] == '-' || s[i] == ' ':
		default:
			return "", false
		}
	}
	if len(d) != 9 {
		return "", false
	}
	return string(d[:3]) + "-" + string(d[3:5]) + "-" + string(d[5:]), true
}

// findByReference returns the order created earlier under reference, or nil.
// search_key is not unique at Truework, so the exact key is checked; the
// portal's references are unique per order.
func (c *Client) findByReference(ctx context.Context, reference string) (*orderResource, error) {
	q := url.Values{"search_key": {reference}, "limit": {"10"}}
	var list orderList
	if _, err := c.getJSON(ctx, call{method: http.MethodGet, path: "/orders", query: q}, "order list", &list); err != nil {
		return nil, err
	}
	for i := range list.Results {
		if list.Results[i].SearchKey == reference && list.Results[i].ID != "" {
			return &list.Results[i], nil
		}
	}
	return nil, nil
}

// orderFrom builds the portal's Order from Truework's order resource.
// Targets and verification requests are paired by position when their
// counts match (INFERENCE: the order resource does not link them
// explicitly); otherwise SubID stays empty and the updates carry it.
func (c *Client) orderFrom(o *orderResource, applicants []providers.Applicant) *providers.Order {
	out := &providers.Order{OrderID: o.ID}
	targets := o.sessionTargets()
	for i, t := range targets {
		l := providers.ApplicantLink{WidgetToken: t.SessionToken}
		if i < len(applicants) {
			l.ApplicantRef = applicants[i].Ref
		}
		if len(o.VerificationRequests) == len(targets) {
			l.SubID = o.VerificationRequests[i].ID
		}
		out.Links = append(out.Links, l)
	}
	var sts []providers.Status
	for _, u := range c.updatesFromOrder(o) {
		if u.Status != "" {
			sts = append(sts, u.Status)
		}
	}
	out.Status = deriveStatus(sts)
	// A session link means Truework emails the applicant itself (§7.1: sent).
	if out.Status == providers.StatusCreated && o.SessionLink != nil && *o.SessionLink != "" {
		out.Status = providers.StatusSent
	}
	if o.Reverification != nil {
		out.RefreshOf = o.Reverification.ParentOrderID
	}
	// Truework's orders never expire on their own: the contract's lifetime
	// (UNCONFIRMED, default 7 days) is when an unopened one ends.
	out.ExpiresAt = c.now().Add(c.lifetime)
	return out
}

// FetchStatus reads GET /orders/{id} and returns one Update per
// verification request (Truework orders have no state of their own).
func (c *Client) FetchStatus(ctx context.Context, ref providers.OrderRef) ([]providers.Update, error) {
	o, err := c.getOrder(ctx, ref.OrderID)
	if err != nil {
		return nil, err
	}
	return c.updatesFromOrder(o), nil
}

// getOrder reads one order.
func (c *Client) getOrder(ctx context.Context, id string) (*orderResource, error) {
	if id == "" {
		return nil, validationError("This order has no Truework order id.", nil)
	}
	var o orderResource
	if _, err := c.getJSON(ctx, call{method: http.MethodGet, path: "/orders/" + url.PathEscape(id)}, "order", &o); err != nil {
		return nil, err
	}
	if o.ID == "" {
		o.ID = id
	}
	return &o, nil
}

// updatesFromOrder maps each verification request. A completed request
// says ReportReady with its first report; a request with several reports
// (one per employer, S00) adds one Update per further report, so that the
// portal learns every report id.
func (c *Client) updatesFromOrder(o *orderResource) []providers.Update {
	var out []providers.Update
	for _, vr := range o.VerificationRequests {
		u := providers.Update{
			OrderID:   o.ID,
			SubID:     vr.ID,
			RawStatus: vr.State.Canonical,
		}
		u.Status, u.Detail = c.mapState(vr.State.Canonical, vr.State.Raw)
		u.Unknown = c.unknownState(vr.State.Canonical, vr.State.Raw)
		if vr.State.Canonical == StateCanceled {
			u.Status, u.Detail = mapCanceled(vr.CancellationReason)
		}
		if t, ok := parseTime(vr.DateOfCompletion); ok {
			u.At = t
		}
		var reports []string
		for _, r := range vr.Reports {
			if r.ID != "" {
				reports = append(reports, r.ID)
			}
		}
		if vr.State.Canonical == StateCompleted {
			u.Outcome = providers.OutcomeVerified
			if len(reports) == 0 {
				u.Outcome = providers.OutcomeNoData
			}
		}
		if u.Status == providers.StatusCompleted && len(reports) > 0 {
			u.ReportReady, u.ReportID = true, reports[0]
		}
		out = append(out, u)
		if u.ReportReady {
			for _, id := range reports[1:] {
				extra := u
				extra.ReportID = id
				out = append(out, extra)
			}
		}
	}
	return out
}

// Cancel cancels every verification request of the order that is not
// finished yet (PUT /orders/{id}/cancel, reason "other").
func (c *Client) Cancel(ctx context.Context, ref providers.OrderRef) error {
	if ref.OrderID == "" {
		return validationError("This order has no Truework order id.", nil)
	}
	body := map[string]string{"cancellation_reason": "other"}
	_, err := c.do(ctx, call{method: http.MethodPut, path: "/orders/" + url.PathEscape(ref.OrderID) + "/cancel", body: body})
	return err
}

// Refresh reverifies a completed report (POST /orders/reverification) and
// returns the new order, whose RefreshOf is the parent order. Truework
// allows this only within 90 days of the report's completion, so the report
// is read first and an older one is refused here with an error wrapping
// providers.ErrLimitReached, without a call that would fail anyway.
//
// The new order may complete by itself (the applicant's payroll connection
// is still active) or need the applicant again: then Truework sends
// order.applicant_action_required and the links carry fresh session tokens.
func (c *Client) Refresh(ctx context.Context, ref providers.OrderRef, req providers.RefreshRequest) (*providers.Order, error) {
	if req.ReportID == "" {
		return nil, validationError("Truework reverifies a completed report; this order has none yet.", map[string]string{"report_id": "Required."})
	}
	var rep reportResource
	if _, err := c.getJSON(ctx, call{method: http.MethodGet, path: "/reports/" + url.PathEscape(req.ReportID)}, "report", &rep); err != nil {
		return nil, err
	}
	now := req.Now
	if now.IsZero() {
		now = c.now()
	}
	if done, ok := parseTime(rep.Completed); ok && now.Sub(done) > reverificationWindow {
		return nil, &providers.ProviderError{
			Provider: ProviderName,
			Code:     CodeReverificationWindow,
			Message:  MsgReverificationWindow,
			Err:      providers.ErrLimitReached,
		}
	}
	var o orderResource
	body := map[string]string{"report_id": req.ReportID}
	if _, err := c.getJSON(ctx, call{method: http.MethodPost, path: "/orders/reverification", body: body}, "order", &o); err != nil {
		return nil, err
	}
	if o.ID == "" {
		return nil, decodeError(http.StatusCreated, "order", errors.New("order without id"))
	}
	return c.orderFrom(&o, nil), nil
}

// SessionToken returns a fresh Truework.js session token for the
// applicant at applicantIndex (request order), for a re-send after
// order.applicant_action_required or when the first token has expired.
//
// INFERENCE: GET /orders/{id} returns the targets with
// truework_direct_session_token (S00 "Get Session Token from API"), and a
// target that is not finished gets a new token on each read; the emulator
// behaves so. A reverification order carries its targets under
// reverification.targets.
func (c *Client) SessionToken(ctx context.Context, ref providers.OrderRef, applicantIndex int) (string, error) {
	o, err := c.getOrder(ctx, ref.OrderID)
	if err != nil {
		return "", err
	}
	targets := o.sessionTargets()
	if applicantIndex < 0 || applicantIndex >= len(targets) {
		return "", &providers.ProviderError{Provider: ProviderName, Code: CodeNotFound,
			Message: "Truework has no applicant at this position on the order.", Err: providers.ErrNotFound}
	}
	tok := targets[applicantIndex].SessionToken
	if tok == "" {
		return "", &providers.ProviderError{Provider: ProviderName, Code: CodeNotFound,
			Message: "Truework gave no session for this applicant; the verification may be finished or canceled.", Err: providers.ErrNotFound}
	}
	return tok, nil
}

// parseTime reads Truework timestamps (RFC 3339) and dates (YYYY-MM-DD).
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

package truework

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// createOrder is POST /orders/truework-direct.
func (e *Emulator) createOrder(w http.ResponseWriter, r *http.Request, _ bool) {
	var in struct {
		Targets   []targetInput `json:"targets"`
		LoanID    string        `json:"loan_id"`
		SearchKey string        `json:"search_key"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		invalid(w, "the body must be a JSON order")
		return
	}
	if len(in.Targets) == 0 {
		invalid(w, "targets must list at least one target")
		return
	}
	people := make([]sandboxPerson, len(in.Targets))
	for i, t := range in.Targets {
		if msg := validateTarget(t); msg != "" {
			invalid(w, msg)
			return
		}
		p, ok := findSandboxPerson(t.SSN)
		if !ok {
			invalid(w, "social_security_number is not a sandbox test SSN; the sandbox only accepts the test SSNs listed on the emulator's start page")
			return
		}
		people[i] = p
	}

	e.mu.Lock()
	now := e.now()
	o := &emOrder{id: newID(42), searchKey: in.SearchKey, created: now}
	for i, t := range in.Targets {
		tg := &emTarget{in: t, person: people[i], vr: emVR{id: newID(30), created: now, state: StatePendingApproval}}
		o.targets = append(o.targets, tg)
		e.issueTokenLocked(o, i)
	}
	e.orders[o.id] = o
	e.orderIDs = append(e.orderIDs, o.id)
	out := e.orderOutLocked(o, false)
	e.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// validateTarget checks one target against the schema (§1.2) and returns
// what is wrong, naming the field only.
func validateTarget(t targetInput) string {
	switch {
	case strings.TrimSpace(t.FirstName) == "":
		return "first_name is required"
	case strings.TrimSpace(t.LastName) == "":
		return "last_name is required"
	case !dashedSSN(t.SSN):
		return "social_security_number must be formatted like the examples (three, two and four digits with dashes)"
	case !strings.Contains(t.ContactEmail, "@"):
		return "contact_email must be an email address"
	case !validDate(t.DateOfBirth):
		return "date_of_birth must be a date (YYYY-MM-DD)"
	case !slices.Contains(permissiblePurposes(), t.PermissiblePurpose):
		return "permissible_purpose is not an allowed value"
	case !slices.Contains(useCases(), t.UseCase):
		return "use_case is not an allowed value"
	case !slices.Contains([]string{"employment-income", "employment", "tenant-screening"}, t.Type):
		return "type is not an allowed value"
	}
	for _, c := range t.Companies {
		if strings.TrimSpace(c.Name) == "" || (c.Action != "" && c.Action != "verify" && c.Action != "do-not-verify") {
			return "companies need a name and an action of verify or do-not-verify"
		}
	}
	return ""
}

// issueTokenLocked gives the target a new session token.
func (e *Emulator) issueTokenLocked(o *emOrder, i int) string {
	now := e.now()
	// Every read of an open order issues a token (and the portal's
	// reconciler reads often), so expired ones are swept now and then.
	if e.issued++; e.issued%1000 == 0 {
		for k, s := range e.sessions {
			if !now.Before(s.expires) {
				delete(e.sessions, k)
			}
		}
	}
	tok := newID(32)
	e.sessions[tok] = &emSession{orderID: o.id, target: i, expires: now.Add(e.cfg.SessionTTL)}
	o.targets[i].token = tok
	return tok
}

// terminal reports whether a state is final.
func terminal(state string) bool {
	return state == StateCompleted || state == StateCanceled || state == StateInvalid
}

// orderOutLocked renders an order. With fresh, every target that is not
// finished gets a new session token (INFERENCE, see Client.SessionToken).
func (e *Emulator) orderOutLocked(o *emOrder, fresh bool) emOrderOut {
	out := emOrderOut{ID: o.id, SearchKey: strPtr(o.searchKey)}
	var direct []emTargetOut
	var rever []emReverTarget
	for i, t := range o.targets {
		var tok *string
		if !terminal(t.vr.state) {
			s := t.token
			if fresh {
				s = e.issueTokenLocked(o, i)
			}
			tok = &s
		}
		if o.parentOrderID != "" {
			rever = append(rever, emReverTarget{FirstName: t.in.FirstName, LastName: t.in.LastName, SessionToken: tok})
		} else {
			direct = append(direct, emTargetOut{
				FirstName: t.in.FirstName, LastName: t.in.LastName, SSN: maskSSN(t.in.SSN),
				ContactEmail: t.in.ContactEmail, DateOfBirth: t.in.DateOfBirth, PhoneNumber: strPtr(t.in.PhoneNumber),
				PermissiblePurpose: t.in.PermissiblePurpose, UseCase: t.in.UseCase, Type: t.in.Type,
				Companies: t.in.Companies, Metadata: t.in.Metadata, SessionToken: tok,
			})
		}
		out.VerificationRequests = append(out.VerificationRequests, e.vrOut(t))
	}
	if o.parentOrderID != "" {
		out.Reverification = &struct {
			ParentOrderID string          `json:"parent_order_id"`
			Targets       []emReverTarget `json:"targets"`
		}{ParentOrderID: o.parentOrderID, Targets: rever}
	} else {
		out.TrueworkDirect = &struct {
			Targets []emTargetOut `json:"targets"`
		}{Targets: direct}
	}
	return out
}

// vrOut renders a verification request.
func (e *Emulator) vrOut(t *emTarget) emVROut {
	v := emVROut{
		ID:                 t.vr.id,
		Created:            stamp(t.vr.created),
		Metadata:           t.in.Metadata,
		Type:               t.in.Type,
		PermissiblePurpose: emValue{t.in.PermissiblePurpose, t.in.PermissiblePurpose},
		UseCase:            emValue{t.in.UseCase, t.in.UseCase},
		Target:             map[string]any{"first_name": t.in.FirstName, "last_name": t.in.LastName, "companies": t.in.Companies},
		State:              emValue{t.vr.state, t.vr.state},
		Reports:            []emReportRef{},
		Documents:          []any{},
		ApplicantDocuments: []any{},
		TurnaroundTime:     map[string]string{"best_estimate": "24", "lower_bound": "1", "upper_bound": "72"},
	}
	if !t.vr.completed.IsZero() {
		v.DateOfCompletion = strPtr(stamp(t.vr.completed))
	}
	if t.vr.reason != "" {
		v.CancellationReason = &emValue{t.vr.reason, t.vr.reason}
	}
	for _, id := range t.vr.reports {
		v.Reports = append(v.Reports, emReportRef{ID: id})
	}
	return v
}

// maskSSN keeps the last four digits, as Truework obfuscates SSNs.
func maskSSN(ssn string) string {
	if len(ssn) < 4 {
		return "***-**-****"
	}
	return "***-**-" + ssn[len(ssn)-4:]
}

// getOrder is GET /orders/{id}.
func (e *Emulator) getOrder(w http.ResponseWriter, r *http.Request, _ bool) {
	e.mu.Lock()
	o, ok := e.orders[r.PathValue("id")]
	var out emOrderOut
	if ok {
		out = e.orderOutLocked(o, true)
	}
	e.mu.Unlock()
	if !ok {
		writeAPIError(w, http.StatusNotFound, "Order not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listOrders is GET /orders with search_key (required here), limit and offset.
func (e *Emulator) listOrders(w http.ResponseWriter, r *http.Request, _ bool) {
	q := r.URL.Query()
	limit, offset := 25, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			invalid(w, "limit must be a positive number up to one hundred")
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			invalid(w, "offset must not be negative")
			return
		}
		offset = n
	}
	// The emulator serves every agency of a portal: it lists only the
	// orders of the search_key asked for (the portal's per-order
	// reference), never everyone's.
	key := q.Get("search_key")
	if key == "" {
		invalid(w, "search_key (the sandbox lists orders only by search_key)")
		return
	}
	e.mu.Lock()
	var match []*emOrder
	for i := len(e.orderIDs) - 1; i >= 0; i-- { // newest first
		o := e.orders[e.orderIDs[i]]
		if o.searchKey == key {
			match = append(match, o)
		}
	}
	out := emListOut{Count: len(match), Results: []emOrderOut{}}
	for i := offset; i < len(match) && i < offset+limit; i++ {
		out.Results = append(out.Results, e.orderOutLocked(match[i], true))
	}
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// orderEvents is GET /orders/{id}/events.
func (e *Emulator) orderEvents(w http.ResponseWriter, r *http.Request, _ bool) {
	e.mu.Lock()
	o, ok := e.orders[r.PathValue("id")]
	var evs []emEventOut
	if ok {
		evs = slices.Clone(o.events)
	}
	e.mu.Unlock()
	if !ok {
		writeAPIError(w, http.StatusNotFound, "Order not found")
		return
	}
	if evs == nil {
		evs = []emEventOut{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": len(evs), "next": nil, "previous": nil, "results": evs})
}

// cancelOrder is PUT /orders/{id}/cancel: it cancels the requests that are
// not final, then sends their state changes and order.completed.
func (e *Emulator) cancelOrder(w http.ResponseWriter, r *http.Request, _ bool) {
	var in struct {
		Reason  string `json:"cancellation_reason"`
		Details string `json:"cancellation_details"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !isVerifierReason(in.Reason) {
		invalid(w, "cancellation_reason must be one of immediate, high-turnaround-time, competitor, wrong-info, other")
		return
	}
	status, out := e.cancelRequests(r.PathValue("id"), in.Reason, in.Details)
	writeJSON(w, status, out)
}

// cancelRequests cancels an order's open requests under the lock and
// returns the answer, which the handler writes after unlocking.
func (e *Emulator) cancelRequests(id, reason, details string) (int, any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orders[id]
	if !ok {
		return http.StatusNotFound, apiErrorBody("Order not found")
	}
	var hooks []emHook
	for _, t := range o.targets {
		if terminal(t.vr.state) {
			continue
		}
		t.vr.reason = reason
		e.setStateLocked(o, t, StateCanceled)
		hooks = append(hooks, e.stateHookLocked(o, t))
	}
	if len(hooks) > 0 {
		hooks = append(hooks, e.orderHookLocked(o, EventOrderCompleted))
		e.enqueueLocked(func(ctx context.Context) { e.deliverAll(ctx, hooks) })
	}
	out := emCancelOut{ID: o.id}
	for _, t := range o.targets {
		v := e.vrOut(t)
		out.VerificationRequests = append(out.VerificationRequests, emCancelVROut{
			ID: v.ID, State: v.State, CancellationReason: v.CancellationReason, CancellationDetails: strPtr(details),
			Created: v.Created, DateOfCompletion: v.DateOfCompletion, TurnaroundTime: v.TurnaroundTime,
		})
	}
	return http.StatusOK, out
}

// setStateLocked moves a request to state; completing it creates one
// report per employer of the sandbox person.
func (e *Emulator) setStateLocked(o *emOrder, t *emTarget, state string) {
	now := e.now()
	t.vr.state = state
	if terminal(state) {
		t.vr.completed = now
	}
	if state == StateCompleted {
		for _, job := range t.person.Jobs {
			rep := &emReport{
				id: newID(30), orderID: o.id, vrID: t.vr.id, vrCreated: t.vr.created,
				typ: t.in.Type, created: now, person: t.person, job: job,
			}
			e.reports[rep.id] = rep
			t.vr.reports = append(t.vr.reports, rep.id)
		}
	}
	o.events = append(o.events, emEventOut{
		ID: newID(16), Created: stamp(now), Message: "Verification request moved to " + state,
		Strategy: "credentials", Type: "state-change", VerificationRequestID: t.vr.id,
	})
}

// allTerminalLocked reports whether every request of the order is final.
func allTerminalLocked(o *emOrder) bool {
	for _, t := range o.targets {
		if !terminal(t.vr.state) {
			return false
		}
	}
	return true
}

// reverify is POST /orders/reverification. The new order's request starts
// in processing; then, by the parent's SSN: 000-22-0000 loses the
// connection (action-required, a fresh session token and
// order.applicant_action_required); every other fixture, 000-23-0000
// among them, completes by itself. S00 says the seamless case needs "no
// webhook"; the emulator reads that as "no applicant webhook" and still
// sends the state changes and order.completed, as for any order, because
// the portal learns the result from them (SilentSeamlessReverification
// switches to the literal reading).
func (e *Emulator) reverify(w http.ResponseWriter, r *http.Request, _ bool) {
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Request-Sync"))) {
	case "", "async":
	case "sync":
		invalid(w, "Request-Sync sync is only allowed when the original verification was synchronous")
		return
	default:
		invalid(w, "Request-Sync must be sync or async")
		return
	}
	var in struct {
		ReportID string `json:"report_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ReportID == "" {
		invalid(w, "report_id is required")
		return
	}
	status, out := e.startReverification(in.ReportID)
	writeJSON(w, status, out)
}

// startReverification creates the reverification order under the lock and
// returns the answer, which the handler writes after unlocking.
func (e *Emulator) startReverification(reportID string) (int, any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rep, ok := e.reports[reportID]
	if !ok {
		return http.StatusNotFound, apiErrorBody("Report not found")
	}
	now := e.now()
	if now.Sub(rep.created) > reverificationWindow {
		return http.StatusBadRequest, apiErrorBody("Invalid field values provided: report_id was completed more than ninety days ago; reverification is only possible within ninety days")
	}
	parent := e.orders[rep.orderID]
	var src *emTarget
	for _, t := range parent.targets {
		if t.vr.id == rep.vrID {
			src = t
		}
	}
	if src == nil {
		return http.StatusNotFound, apiErrorBody("Report not found")
	}
	o := &emOrder{id: newID(42), created: now, parentOrderID: parent.id}
	t := &emTarget{in: src.in, person: src.person, vr: emVR{id: newID(30), created: now, state: StateProcessing}}
	o.targets = []*emTarget{t}
	e.issueTokenLocked(o, 0)
	e.orders[o.id] = o
	e.orderIDs = append(e.orderIDs, o.id)

	processing := e.stateHookLocked(o, t)
	lost := src.person.Scenario == scenarioReverifyLost
	silent := !lost && e.cfg.SilentSeamlessReverification
	e.enqueueLocked(func(ctx context.Context) {
		if !silent {
			e.deliver(ctx, processing)
		}
		e.mu.Lock()
		if t.vr.state != StateProcessing { // canceled meanwhile
			e.mu.Unlock()
			return
		}
		var hooks []emHook
		if lost {
			e.setStateLocked(o, t, StateActionRequired)
			tok := e.issueTokenLocked(o, 0)
			hooks = append(hooks, e.stateHookLocked(o, t))
			h := e.orderHookLocked(o, EventApplicantActionRequired)
			h.data["verification_request_id"] = t.vr.id
			h.data["truework_direct_session_token"] = tok
			hooks = append(hooks, h)
		} else {
			e.setStateLocked(o, t, StateCompleted)
			if !silent {
				hooks = append(hooks, e.stateHookLocked(o, t), e.orderHookLocked(o, EventOrderCompleted))
			}
		}
		e.mu.Unlock()
		e.deliverAll(ctx, hooks)
	})
	return http.StatusCreated, e.orderOutLocked(o, false)
}

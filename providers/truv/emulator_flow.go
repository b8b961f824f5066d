package truv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"caseverify/providers"
)

// This file is the emulator's behaviour: the sandbox sign-in scenarios
// (spec §2.8), refreshes (§2.7), cancel, and the ordered, signed webhook
// timeline each of them produces (§2.4).

// catalogItem is an employer or bank the applicant can pick in Bridge.
type catalogItem struct {
	ID, Name string
}

// employerCatalog is the short employer list of the sandbox Bridge.
func employerCatalog() []catalogItem {
	return []catalogItem{
		{"acme-health", "Acme Health Services"},
		{"bluebird-grocery", "Bluebird Grocery"},
		{"city-transit", "City Transit Authority"},
		{"lakeside-schools", "Lakeside School District"},
		{"sunrise-care", "Sunrise Home Care"},
	}
}

// bankCatalog is the bank list shown for assets-only orders.
func bankCatalog() []catalogItem {
	return []catalogItem{
		{"truv-bank", "Truv Bank"},
		{"first-community", "First Community Credit Union"},
	}
}

// assetsOnly says the applicant connects a bank rather than payroll.
func assetsOnly(o *emuOrder) bool {
	return len(o.products) > 0 && !slices.ContainsFunc(o.products, func(p string) bool { return p != "assets" })
}

// catalogFor returns the list an order's applicant picks from: banks for an
// assets-only order, employers otherwise.
func catalogFor(o *emuOrder) []catalogItem {
	if assetsOnly(o) {
		return bankCatalog()
	}
	return employerCatalog()
}

func findItem(items []catalogItem, id string) (catalogItem, bool) {
	for _, it := range items {
		if it.ID == id {
			return it, true
		}
	}
	return catalogItem{}, false
}

// loginOutcome is what one sign-in attempt leads to.
type loginOutcome int

const (
	outcomeConnected  loginOutcome = iota // data follows
	outcomeMFA                            // a code is asked for
	outcomeLoginError                     // wrong credentials; try again
	outcomeMFAError                       // the code failed; try again
	outcomeNoData                         // connected, nothing usable
)

// scenario is what a username/password pair does in the sandbox.
type scenario struct {
	outcome loginOutcome
	profile string // pay profile on success
	slow    bool   // goodlogin/longcheck
	mfa     bool   // success needs the code 12345
}

// classify maps sandbox credentials to a scenario (spec §2.8). nodata /
// goodpassword is our addition (Truv's table has no no-data login).
func classify(username, password string) scenario {
	switch {
	case username == "goodlogin" && password == "goodpassword":
		return scenario{outcome: outcomeConnected, profile: "biweekly"}
	case username == "goodlogin" && password == "mfa":
		return scenario{outcome: outcomeMFA, profile: "biweekly", mfa: true}
	case username == "goodlogin" && password == "longcheck":
		return scenario{outcome: outcomeConnected, profile: "biweekly", slow: true}
	case username == "fulltime" && password == "goodpassword":
		return scenario{outcome: outcomeConnected, profile: "salaried"}
	case username == "hourly.part-time" && password == "goodpassword":
		return scenario{outcome: outcomeConnected, profile: "hourly"}
	case username == "nodata" && password == "goodpassword":
		return scenario{outcome: outcomeNoData}
	case username == "error.user" && password == "mfa_error":
		return scenario{outcome: outcomeMFAError}
	}
	// error.user/login_error and anything else.
	return scenario{outcome: outcomeLoginError}
}

// MFACode is the sandbox verification code that succeeds.
const MFACode = "12345"

// mfaState is a sign-in waiting for its code.
type mfaState struct {
	subID, taskID string
	sc            scenario
}

// step is one beat of a flow: after the pause it runs under the emulator's
// lock, changes state, and returns the webhook to send (or nil).
type step struct {
	extraDelay time.Duration
	run        func(now time.Time) *wireEvent
}

// flowQueue holds one order's pending steps. One goroutine drains it, so an
// order's webhooks leave in the order real life produces them.
type flowQueue struct {
	steps   []step
	running bool
}

// enqueueLocked appends steps to the order's queue and starts its drainer.
func (e *Emulator) enqueueLocked(orderID string, steps ...step) {
	if e.closed {
		return
	}
	q := e.queues[orderID]
	if q == nil {
		q = &flowQueue{}
		e.queues[orderID] = q
	}
	q.steps = append(q.steps, steps...)
	if !q.running {
		q.running = true
		e.wg.Add(1)
		go e.drain(orderID, q)
	}
}

// drain runs an order's steps one by one until the queue is empty or the
// emulator closes.
func (e *Emulator) drain(orderID string, q *flowQueue) {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		if len(q.steps) == 0 || e.closed {
			q.running = false
			delete(e.queues, orderID)
			e.mu.Unlock()
			return
		}
		s := q.steps[0]
		q.steps = q.steps[1:]
		e.mu.Unlock()

		if providers.Sleep(e.ctx, e.cfg.WebhookDelay+s.extraDelay) != nil {
			e.mu.Lock()
			q.running = false
			delete(e.queues, orderID)
			e.mu.Unlock()
			return
		}
		e.mu.Lock()
		ev := s.run(e.now())
		var body []byte
		copies := 0
		if ev != nil && e.cfg.WebhookURL != "" {
			body = ev.vendorJSON()
			e.webhooks++
			copies = 1
			if e.cfg.DuplicateEvery > 0 && e.webhooks%e.cfg.DuplicateEvery == 0 {
				copies = 2
			}
			if e.cfg.DropRate > 0 && e.rng.Float64() < e.cfg.DropRate {
				copies = 0
			}
		}
		e.mu.Unlock()
		for range copies {
			e.deliver(body, ev.EventType)
		}
	}
}

// deliver POSTs one signed webhook, retrying up to 3 times with a short
// backoff on a network error or a non-2xx answer.
func (e *Emulator) deliver(body []byte, eventType string) {
	sig := Sign(e.cfg.AccessSecret, body)
	for attempt := 0; attempt <= 3; attempt++ {
		if attempt > 0 && providers.Sleep(e.ctx, time.Duration(50<<attempt)*time.Millisecond) != nil {
			return
		}
		req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.cfg.WebhookURL, bytes.NewReader(body))
		if err != nil {
			e.log.Error("truv emulator: bad webhook URL", "err", err)
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Truv-Webhook-Service/2.0")
		req.Header.Set("X-WEBHOOK-SIGN", sig)
		resp, err := e.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
				return
			}
			e.log.Warn("truv emulator: webhook refused", "event_type", eventType, "status", resp.StatusCode, "attempt", attempt+1)
			continue
		}
		if e.ctx.Err() != nil {
			return
		}
		e.log.Warn("truv emulator: webhook not delivered", "event_type", eventType, "attempt", attempt+1, "err", err)
	}
}

// eventLocked builds a webhook body with the common fields (spec §2.4).
func (e *Emulator) eventLocked(o *emuOrder, s *emuSub, eventType, status string, now time.Time) *wireEvent {
	ts := formatTime(now)
	ev := &wireEvent{
		WebhookID: newHex(16), EventType: eventType, EventCreatedAt: ts, UpdatedAt: ts,
		UserID: flexString(o.userID), OrderID: flexString(o.id), OrderNumber: flexString(o.orderNumber),
		Status: flexString(status), TemplateID: flexString(o.templateID),
	}
	if len(o.products) > 0 {
		ev.Product = flexString(o.products[0])
	}
	if s != nil {
		ev.EmployerID = flexString(s.id)
		ev.LinkID = flexString(s.linkID)
		if s.linkID != "" {
			ev.DataSource = "payroll"
			if s.bank {
				ev.DataSource = "financial_accounts"
			}
		}
	}
	return ev
}

// taskStep is a task-status-updated beat for one sign-in attempt.
func (e *Emulator) taskStep(o *emuOrder, s *emuSub, taskID, status string, extra time.Duration) step {
	return step{extraDelay: extra, run: func(now time.Time) *wireEvent {
		ev := e.eventLocked(o, s, EventTaskStatusUpdated, status, now)
		ev.TaskID = flexString(taskID)
		ev.TrackingInfo = flexString(s.id)
		return ev
	}}
}

// subForLocked finds or creates the suborder for the picked employer or bank.
func (e *Emulator) subForLocked(o *emuOrder, item catalogItem) *emuSub {
	for _, s := range o.subs {
		if s.companyID == item.ID {
			return s
		}
	}
	// An applicant who tried one employer and then picks another keeps one
	// suborder, so no never-connected suborder lingers as "pending".
	for _, s := range o.subs {
		if s.status == "pending" && e.conns[s.linkID] == nil {
			s.companyID, s.company, s.linkID = item.ID, item.Name, ""
			return s
		}
	}
	now := e.now()
	s := &emuSub{
		id: newHex(16), status: "pending", number: strconv.Itoa(len(o.subs) + 1),
		companyID: item.ID, company: item.Name, bank: assetsOnly(o),
		createdAt: now, updatedAt: now,
	}
	o.subs = append(o.subs, s)
	return s
}

// orderOpenLocked says whether an order still takes sign-ins.
func (e *Emulator) orderOpenLocked(o *emuOrder) bool {
	e.expireLocked(o)
	return o.bridgeResult == "" && (o.status == "pending" || o.status == "sent")
}

// signInLocked runs one sign-in attempt at the picked employer and queues
// its webhooks: login first, then the outcome.
func (e *Emulator) signInLocked(o *emuOrder, item catalogItem, username, password string) loginOutcome {
	sc := classify(username, password)
	delete(e.mfaPending, o.bridgeToken) // a new sign-in replaces one waiting for a code
	s := e.subForLocked(o, item)
	taskID := newHex(16)
	login := e.taskStep(o, s, taskID, "login", 0)
	switch sc.outcome {
	case outcomeConnected:
		if s.linkID == "" {
			s.linkID = newHex(16)
		}
		o.bridgeResult = "completed"
		var extra time.Duration
		if sc.slow {
			extra = e.cfg.LongCheckDelay
		}
		e.enqueueLocked(o.id, login, e.taskStep(o, s, taskID, "parse", extra))
		e.enqueueLocked(o.id, e.finishSteps(o, s, taskID, sc)...)
	case outcomeMFA:
		if s.linkID == "" {
			s.linkID = newHex(16)
		}
		e.mfaPending[o.bridgeToken] = mfaState{subID: s.id, taskID: taskID, sc: sc}
		e.enqueueLocked(o.id, login, e.taskStep(o, s, taskID, "mfa", 0))
	case outcomeMFAError:
		e.enqueueLocked(o.id, login, e.taskStep(o, s, taskID, "mfa", 0), e.taskStep(o, s, taskID, "mfa_error", 0))
	case outcomeNoData:
		if s.linkID == "" {
			s.linkID = newHex(16)
		}
		o.bridgeResult = "no_data"
		e.enqueueLocked(o.id, login, e.taskStep(o, s, taskID, "parse", 0), e.taskStep(o, s, taskID, "no_data", 0),
			step{run: func(now time.Time) *wireEvent {
				s.status, s.updatedAt = "no_data", now
				e.rollUpLocked(o, now)
				return e.eventLocked(o, s, EventOrderStatusUpdated, "no_data", now)
			}})
	default:
		e.enqueueLocked(o.id, login, e.taskStep(o, s, taskID, "login_error", 0))
	}
	return sc.outcome
}

// finishSteps are the beats after a successful sign-in (and code): the rest
// of the parse, done, then the suborder's order-status-updated.
func (e *Emulator) finishSteps(o *emuOrder, s *emuSub, taskID string, sc scenario) []step {
	done := e.taskStep(o, s, taskID, "done", 0)
	announce := done.run
	// A task that is done has its data (spec §2.5: done is the successful
	// end of the pull), and the portal creates the report on that webhook;
	// so the connection exists before "done" leaves, not only from the
	// order-status-updated after it (a report made in between got a 400).
	done.run = func(now time.Time) *wireEvent {
		c := e.conns[s.linkID]
		if c == nil {
			c = &emuConn{linkID: s.linkID, userID: o.userID, companyID: s.companyID, company: s.company,
				bank: s.bank, profile: sc.profile, mfa: sc.mfa, connectedAt: now,
				firstName: o.firstName, lastName: o.lastName}
			e.conns[s.linkID] = c
		}
		c.syncedAt = now
		return announce(now)
	}
	return []step{
		e.taskStep(o, s, taskID, "full_parse", 0),
		done,
		{run: func(now time.Time) *wireEvent {
			s.status, s.updatedAt = "completed", now
			e.rollUpLocked(o, now)
			return e.eventLocked(o, s, EventOrderStatusUpdated, "completed", now)
		}},
	}
}

// rollUpLocked derives the order status from its suborders: completed when
// one is completed, no_data when all are no_data.
func (e *Emulator) rollUpLocked(o *emuOrder, now time.Time) {
	allNoData := len(o.subs) > 0
	for _, s := range o.subs {
		if s.status == "completed" {
			if o.status != "completed" {
				o.status, o.completedAt = "completed", now
			}
			o.updatedAt = now
			return
		}
		if s.status != "no_data" {
			allNoData = false
		}
	}
	if allNoData {
		o.status, o.updatedAt = "no_data", now
	}
}

// submitMFALocked checks the code of a pending sign-in.
func (e *Emulator) submitMFALocked(o *emuOrder, code string) (loginOutcome, error) {
	st, ok := e.mfaPending[o.bridgeToken]
	if !ok {
		return 0, errors.New("truv emulator: no sign-in is waiting for a code")
	}
	delete(e.mfaPending, o.bridgeToken)
	var s *emuSub
	for _, x := range o.subs {
		if x.id == st.subID {
			s = x
		}
	}
	if s == nil {
		return 0, errors.New("truv emulator: the suborder is gone")
	}
	if code != MFACode {
		e.enqueueLocked(o.id, e.taskStep(o, s, st.taskID, "mfa_error", 0))
		return outcomeMFAError, nil
	}
	o.bridgeResult = "completed"
	e.enqueueLocked(o.id, e.taskStep(o, s, st.taskID, "parse", 0))
	e.enqueueLocked(o.id, e.finishSteps(o, s, st.taskID, st.sc)...)
	return outcomeConnected, nil
}

// cancelLocked cancels an open order and queues its order-status-updated.
func (e *Emulator) cancelLocked(o *emuOrder) {
	now := e.now()
	o.status, o.canceledAt, o.updatedAt = "canceled", now, now
	for _, s := range o.subs {
		if s.status == "pending" {
			s.status, s.updatedAt = "canceled", now
		}
	}
	delete(e.mfaPending, o.bridgeToken)
	e.enqueueLocked(o.id, step{run: func(now time.Time) *wireEvent {
		return e.eventLocked(o, nil, EventOrderStatusUpdated, "canceled", now)
	}})
}

// refreshAllowed says which products an order may be refreshed as: an
// income order as income or employment, others only as themselves (§2.7).
func refreshAllowed(orig []string, p string) bool {
	if slices.Contains(orig, p) {
		return true
	}
	return p == "employment" && slices.Contains(orig, "income")
}

// refreshLocked creates a refresh order for a completed order (spec §2.7)
// and queues its outcome. The limit is RefreshLimit refreshes per
// connection per RefreshWindow, counted on accepted requests; the 429 code
// refresh_limit_exceeded is UNCONFIRMED (Truv documents the limit only).
func (e *Emulator) refreshLocked(o *emuOrder, products, employerIDs []string, orderNumber string) (*emuOrder, *apiError) {
	if len(products) != 1 {
		return nil, badParam("products", "Exactly one product is required.")
	}
	p := products[0]
	if !validProduct(p) || !refreshAllowed(o.products, p) {
		return nil, badParam("products", "This order cannot be refreshed as "+p+".")
	}
	if o.status != "completed" {
		return nil, badParam("order", "Only a completed order can be refreshed.")
	}
	var subs []*emuSub
	for _, s := range o.subs {
		if s.status == "completed" && s.linkID != "" && e.conns[s.linkID] != nil &&
			(len(employerIDs) == 0 || slices.Contains(employerIDs, s.id) || slices.Contains(employerIDs, s.number)) {
			subs = append(subs, s)
		}
	}
	if len(subs) == 0 {
		return nil, badParam("employers", "No connected employer matches.")
	}
	now := e.now()
	for _, s := range subs {
		c := e.conns[s.linkID]
		c.refreshes = slices.DeleteFunc(c.refreshes, func(t time.Time) bool { return !now.Before(t.Add(e.cfg.RefreshWindow)) })
		if len(c.refreshes) >= e.cfg.RefreshLimit {
			return nil, &apiError{
				status: http.StatusTooManyRequests, code: "refresh_limit_exceeded",
				message:    fmt.Sprintf("Refresh limit of %d per connection per %s reached", e.cfg.RefreshLimit, e.cfg.RefreshWindow),
				retryAfter: c.refreshes[0].Add(e.cfg.RefreshWindow).Sub(now),
			}
		}
	}
	n := &emuOrder{
		id: newHex(16), userID: o.userID, bridgeToken: newHex(16), groupID: newHex(16), shortCode: newShortCode(),
		products: []string{p}, firstName: o.firstName, lastName: o.lastName, email: o.email, phone: o.phone,
		orderNumber: orderNumber, externalUserID: o.externalUserID, templateID: o.templateID, locale: o.locale,
		suppress: true, status: "pending", createdAt: now, updatedAt: now, expiresAt: now.Add(e.cfg.OrderTTL),
		initialOrder: o.id,
	}
	o.refreshOrder, o.updatedAt = n.id, now
	forced := e.refreshFail[o.id]
	steps := []step{{run: func(now time.Time) *wireEvent { return e.eventLocked(n, nil, EventOrderCreated, "pending", now) }}}
	for i, s := range subs {
		c := e.conns[s.linkID]
		c.refreshes = append(c.refreshes, now)
		ns := &emuSub{id: newHex(16), status: "pending", number: strconv.Itoa(i + 1), linkID: s.linkID,
			companyID: s.companyID, company: s.company, bank: s.bank, createdAt: now, updatedAt: now}
		n.subs = append(n.subs, ns)
		failure := forced
		switch {
		case failure != "":
		case now.Sub(c.connectedAt) > e.cfg.ConnectionTTL:
			failure = "login_error" // the payroll session expired
		case c.mfa:
			failure = "mfa_error" // a refresh cannot answer a code prompt
		}
		if failure != "" {
			steps = append(steps, step{run: func(now time.Time) *wireEvent {
				ns.status, ns.updatedAt = failure, now
				n.updatedAt = now
				return e.eventLocked(n, ns, EventOrderRefreshFailed, failure, now)
			}})
			continue
		}
		steps = append(steps, step{run: func(now time.Time) *wireEvent {
			c.syncedAt = now
			ns.status, ns.updatedAt = "completed", now
			e.rollUpLocked(n, now)
			return e.eventLocked(n, ns, EventOrderStatusUpdated, "completed", now)
		}})
	}
	e.addOrderLocked(n)
	n.bridgeResult = "refresh" // a refresh needs no applicant
	e.enqueueLocked(n.id, steps...)
	return n, nil
}

// Complete runs the Bridge sign-in for an order without a browser, at the
// first employer (or bank) of the sandbox list, with sandbox credentials
// (see classify). With password "mfa" it stops at the code prompt: call
// SubmitMFA next. Failed sign-ins are outcomes, not errors: the webhooks
// tell. For tests and sandbox tooling.
func (e *Emulator) Complete(orderID, username, password string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orders[orderID]
	if !ok {
		return fmt.Errorf("truv emulator: no order %s", orderID)
	}
	if !e.orderOpenLocked(o) {
		return ErrOrderClosed
	}
	e.signInLocked(o, catalogFor(o)[0], username, password)
	return nil
}

// SubmitMFA answers the code prompt of an order's pending sign-in (MFACode
// succeeds, anything else is an mfa_error). For tests and sandbox tooling.
func (e *Emulator) SubmitMFA(orderID, code string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orders[orderID]
	if !ok {
		return fmt.Errorf("truv emulator: no order %s", orderID)
	}
	if !e.orderOpenLocked(o) {
		return ErrOrderClosed
	}
	_, err := e.submitMFALocked(o, code)
	return err
}

// SetRefreshFailure forces the next refreshes of the order orderID (the
// order being refreshed) to fail with status, e.g. "login_error" or
// "mfa_error"; "" restores the normal rule (the original sign-in decides).
// For tests and sandbox tooling.
func (e *Emulator) SetRefreshFailure(orderID, status string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if status == "" {
		delete(e.refreshFail, orderID)
		return
	}
	e.refreshFail[orderID] = status
}

// Flush waits until every queued flow step has run (and its webhooks were
// sent or given up), or ctx ends. For tests and sandbox tooling.
func (e *Emulator) Flush(ctx context.Context) error {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		e.mu.Lock()
		idle := len(e.queues) == 0
		e.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// OrderStatus returns the emulator's current status of an order and of its
// suborders, in order. For tests and sandbox tooling.
func (e *Emulator) OrderStatus(orderID string) (order string, subs []string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orders[orderID]
	if !ok {
		return "", nil, false
	}
	e.expireLocked(o)
	for _, s := range o.subs {
		subs = append(subs, s.status)
	}
	return o.status, subs, true
}

// OrderCount returns how many orders the emulator holds whose order_number
// is orderNumber ("" counts all). For tests (create idempotency).
func (e *Emulator) OrderCount(orderNumber string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, o := range e.orders {
		if orderNumber == "" || o.orderNumber == orderNumber {
			n++
		}
	}
	return n
}

// vendorKeys are the keys of Truv's example webhook bodies, in their order
// (spec.md §2.4, V04, V05; testdata/*.json): the emulator sends exactly
// these, so the adapter is tested against the vendor's shape. Notably
// task-status-updated has no order_id, order_number or employer_id.
var vendorKeys = map[string][]string{
	EventOrderCreated: {"webhook_id", "event_type", "event_created_at", "updated_at", "product", "link_id", "user_id",
		"data_source", "order_id", "order_number", "employer_id", "status", "template_id"},
	EventOrderStatusUpdated: {"webhook_id", "event_type", "event_created_at", "product", "link_id", "user_id", "data_source",
		"order_id", "order_number", "employer_id", "status", "template_id", "updated_at"},
	EventTaskStatusUpdated: {"webhook_id", "task_id", "link_id", "product", "data_source", "tracking_info", "event_type",
		"event_created_at", "updated_at", "status", "user_id", "template_id"},
}

// vendorJSON renders ev with the keys Truv's examples have for its event
// type, empty values as null as Truv sends them. Event types without an
// example keep the order-status-updated keys.
func (ev *wireEvent) vendorJSON() []byte {
	keys, ok := vendorKeys[ev.EventType]
	if !ok {
		keys = vendorKeys[EventOrderStatusUpdated]
	}
	vals := map[string]string{
		"webhook_id": ev.WebhookID, "event_type": ev.EventType, "event_created_at": ev.EventCreatedAt, "updated_at": ev.UpdatedAt,
		"product": string(ev.Product), "task_id": string(ev.TaskID), "tracking_info": string(ev.TrackingInfo),
		"link_id": string(ev.LinkID), "user_id": string(ev.UserID), "data_source": string(ev.DataSource),
		"order_id": string(ev.OrderID), "order_number": string(ev.OrderNumber), "employer_id": string(ev.EmployerID),
		"status": string(ev.Status), "template_id": string(ev.TemplateID),
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		if v := vals[k]; v != "" {
			vb, _ := json.Marshal(v)
			b.Write(vb)
		} else {
			b.WriteString("null")
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

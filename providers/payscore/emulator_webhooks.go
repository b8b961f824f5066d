package payscore

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"caseverify/providers"
)

// hookQueue is the FIFO of webhooks waiting to be sent. One sender drains
// it, so deliveries leave in the order the applicant caused them
// (BEGIN_SCREENING before SCREENING_COMPLETED, RE_OPEN_SCREENING before the
// next SCREENING_COMPLETED), as they would from Payscore.
type hookQueue struct {
	mu    sync.Mutex
	items []outbound
	wake  chan struct{}
}

type outbound struct {
	url     string
	code    string
	groupID string
	body    []byte
}

// hookOut is the webhook body, fields in the vendor document's order [S02].
type hookOut struct {
	Code             string `json:"code"`
	ScreeningGroupID string `json:"screening_group_id"`
	ScreeningID      string `json:"screening_id,omitempty"`
	BankConnectionID string `json:"bank_connection_id,omitempty"`
	Value            any    `json:"value,omitempty"`
}

// applicantOut is the APPLICANT_ADDED / APPLICANT_REMOVED value; the phone
// number is null when there is none [S02].
type applicantOut struct {
	FirstName string  `json:"applicant_first_name"`
	LastName  string  `json:"applicant_last_name"`
	Email     string  `json:"applicant_email"`
	Phone     *string `json:"applicant_phone_number"`
}

func applicantValueOut(s *screening) applicantOut {
	a := applicantOut{FirstName: s.first, LastName: s.last, Email: s.email}
	if s.phone != "" {
		p := s.phone
		a.Phone = &p
	}
	return a
}

// send queues one webhook for g, under e.mu so that queue order is the
// order of events. Codes in DropCodes are skipped; codes in DuplicateCodes
// are queued twice.
func (e *Emulator) send(g *group, code, screeningID, bankConnectionID string, value any) {
	target := g.webhookURL
	if target == "" {
		target = e.cfg.WebhookURL
	}
	if target == "" {
		e.log.Debug("payscore emulator: no webhook URL", "screening_group_id", g.id, "code", code)
		return
	}
	if e.drop[code] {
		e.log.Info("payscore emulator: webhook dropped on purpose", "screening_group_id", g.id, "code", code)
		return
	}
	body, err := json.Marshal(hookOut{Code: code, ScreeningGroupID: g.id, ScreeningID: screeningID, BankConnectionID: bankConnectionID, Value: value})
	if err != nil {
		e.log.Error("payscore emulator: encode webhook", "code", code, "err", err)
		return
	}
	n := 1
	if e.dup[code] {
		n = 2
	}
	e.hooks.mu.Lock()
	for range n {
		e.hooks.items = append(e.hooks.items, outbound{url: target, code: code, groupID: g.id, body: body})
	}
	e.hooks.mu.Unlock()
	select {
	case e.hooks.wake <- struct{}{}:
	default: // the sender is already awake
	}
}

// sendLoop delivers queued webhooks one at a time until Close.
func (e *Emulator) sendLoop() {
	defer e.wg.Done()
	for {
		e.hooks.mu.Lock()
		var item outbound
		ok := len(e.hooks.items) > 0
		if ok {
			item = e.hooks.items[0]
			e.hooks.items = e.hooks.items[1:]
		}
		e.hooks.mu.Unlock()
		if !ok {
			select {
			case <-e.ctx.Done():
				return
			case <-e.hooks.wake:
				continue
			}
		}
		if providers.Sleep(e.ctx, e.cfg.WebhookDelay) != nil {
			return
		}
		e.deliver(item)
	}
}

// deliver POSTs one webhook, retrying up to 3 times with a doubling backoff
// on a network error or a non-2xx answer.
func (e *Emulator) deliver(item outbound) {
	wait := e.backoff
	for attempt := 1; attempt <= 4; attempt++ {
		status, err := e.post(item)
		if err == nil && status >= 200 && status < 300 {
			e.log.Info("payscore emulator: webhook sent", "screening_group_id", item.groupID, "code", item.code, "status", status)
			return
		}
		e.log.Warn("payscore emulator: webhook failed", "screening_group_id", item.groupID, "code", item.code, "status", status, "attempt", attempt)
		if attempt == 4 || providers.Sleep(e.ctx, wait) != nil {
			return
		}
		wait *= 2
	}
}

func (e *Emulator) post(item outbound) (int, error) {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, item.url, bytes.NewReader(item.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(e.secret, item.body))
	req.Header.Set("User-Agent", "Payscore-Webhooks (caseverify sandbox)")
	res, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	// Drain a little so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return res.StatusCode, nil
}

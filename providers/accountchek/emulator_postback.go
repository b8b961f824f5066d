package accountchek

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"caseverify/providers"
)

// postback is one queued AccountChek postback.
type postback struct {
	orderID  string
	url      string
	status   string
	reportID string // sent as reportId (507) or voeReportId (607)
	vodID    string
}

// body encodes the postback as AccountChek does: a form with orderId,
// VOD_ID (VOA only; deprecated but still listed by the vendor),
// orderStatus, and reportId with 507 or voeReportId with 607.
func (p postback) body() string {
	var b strings.Builder
	add := func(k, val string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(val))
	}
	add("orderId", p.orderID)
	voa := strings.HasPrefix(p.status, "5")
	if voa {
		add("VOD_ID", p.vodID)
	}
	add("orderStatus", p.status)
	switch {
	case p.reportID != "" && voa:
		add("reportId", p.reportID)
	case p.reportID != "":
		add("voeReportId", p.reportID)
	}
	return b.String()
}

// enqueue queues a postback for o, keeping per-order order: one sender
// goroutine per order drains its queue, so "501" always arrives before
// "507". Drops and duplicates (DropRate, DuplicateRate) are decided here.
// Caller holds e.mu.
func (e *Emulator) enqueue(o *emuOrder, status, reportID string) {
	if e.closed || o.NotificationURL == "" {
		return
	}
	if strings.HasPrefix(status, "6") && e.cfg.NoVOIEPostbacks {
		return
	}
	if e.cfg.DropRate > 0 && e.rng.Float64() < e.cfg.DropRate {
		e.cfg.Logger.Info("accountchek emulator: postback dropped on purpose", "order_id", o.ID, "status", status)
		return
	}
	p := postback{orderID: o.ID, url: o.NotificationURL, status: status, reportID: reportID, vodID: o.VODID}
	o.queue = append(o.queue, p)
	if e.cfg.DuplicateRate > 0 && e.rng.Float64() < e.cfg.DuplicateRate {
		o.queue = append(o.queue, p)
	}
	if !o.sending {
		o.sending = true
		e.wg.Add(1)
		go e.drain(o)
	}
}

// drain sends o's queued postbacks one after another.
func (e *Emulator) drain(o *emuOrder) {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		if len(o.queue) == 0 || e.closed {
			o.sending = false
			e.mu.Unlock()
			return
		}
		p := o.queue[0]
		o.queue = o.queue[1:]
		e.mu.Unlock()
		e.send(p)
	}
}

// send posts one postback, retrying up to 3 times with a doubling pause on
// a network error or a non-2xx answer.
func (e *Emulator) send(p postback) {
	if providers.Sleep(e.ctx, e.cfg.WebhookDelay) != nil {
		return
	}
	backoff := e.cfg.RetryBackoff
	for attempt := 1; attempt <= 4; attempt++ {
		status, err := e.post(p)
		if err == nil && status >= 200 && status <= 299 {
			e.cfg.Logger.Info("accountchek emulator: postback sent", "order_id", p.orderID, "status", p.status, "http_status", status, "attempt", attempt)
			return
		}
		e.cfg.Logger.Warn("accountchek emulator: postback failed", "order_id", p.orderID, "status", p.status, "http_status", status, "attempt", attempt)
		if attempt == 4 || providers.Sleep(e.ctx, backoff) != nil {
			return
		}
		backoff *= 2
	}
}

// post makes one attempt and returns the HTTP status.
func (e *Emulator) post(p postback) (int, error) {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, p.url, strings.NewReader(p.body()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "AccountChek Webhook")
	resp, err := e.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

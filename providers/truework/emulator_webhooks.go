package truework

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"caseverify/providers"
)

// webhookAttempts is one delivery plus up to three retries on a non-2xx
// answer or a network error. Truework itself retries over 48 hours [T03];
// the emulator keeps it short so a sandbox never hangs on a dead endpoint.
const webhookAttempts = 4

// webhookBackoff is the pause before the first retry; it doubles after.
const webhookBackoff = 100 * time.Millisecond

// emHook is one webhook to send: its event and data object.
type emHook struct {
	event string
	data  map[string]any
}

// stateHookLocked builds verification_request.state.change for the
// request's current state [T06].
func (e *Emulator) stateHookLocked(o *emOrder, t *emTarget) emHook {
	return emHook{event: EventStateChange, data: map[string]any{
		"order_id":                  o.id,
		"state":                     t.vr.state,
		"verification_request_id":   t.vr.id,
		"credentials_session_token": strPtr(t.token),
		"metadata":                  metadataOf(t),
	}}
}

// orderHookLocked builds an order-level event (order.completed [T05], or
// order.applicant_action_required, whose payload is UNCONFIRMED: the same
// envelope with data.order_id, INFERENCE).
func (e *Emulator) orderHookLocked(o *emOrder, event string) emHook {
	var md map[string]string
	if len(o.targets) > 0 {
		md = metadataOf(o.targets[0])
	}
	return emHook{event: event, data: map[string]any{"order_id": o.id, "metadata": md}}
}

// metadataOf is the target's metadata, never null.
func metadataOf(t *emTarget) map[string]string {
	if t.in.Metadata == nil {
		return map[string]string{}
	}
	return t.in.Metadata
}

// enqueueLocked adds a job for the sender goroutine. Jobs run one at a time
// in the order they were added, so webhooks leave in the order the states
// changed.
func (e *Emulator) enqueueLocked(job func(context.Context)) {
	if e.closed {
		return
	}
	e.jobs = append(e.jobs, job)
	select {
	case e.wake <- struct{}{}:
	default: // already signalled
	}
}

// runJobs is the sender goroutine.
func (e *Emulator) runJobs() {
	defer e.wg.Done()
	for {
		e.mu.Lock()
		if len(e.jobs) == 0 {
			e.mu.Unlock()
			select {
			case <-e.wake:
				continue
			case <-e.ctx.Done():
				return
			}
		}
		job := e.jobs[0]
		e.jobs = e.jobs[1:]
		e.mu.Unlock()
		if e.ctx.Err() != nil {
			return
		}
		job(e.ctx)
	}
}

// deliverAll sends hooks one after the other.
func (e *Emulator) deliverAll(ctx context.Context, hooks []emHook) {
	for _, h := range hooks {
		e.deliver(ctx, h)
	}
}

// deliver sends one webhook in the 2023-10-30 envelope with a new integer
// hook.id, after WebhookDelay, with retries; twice with DuplicateWebhooks.
func (e *Emulator) deliver(ctx context.Context, h emHook) {
	if e.cfg.WebhookURL == "" {
		return
	}
	orderID, _ := h.data["order_id"].(string)
	if slices.Contains(e.cfg.DropWebhookEvents, h.event) {
		e.log.Info("truework emulator: webhook dropped on purpose", "event", h.event, "order_id", orderID)
		return
	}
	if e.cfg.WebhookDelay > 0 && providers.Sleep(ctx, e.cfg.WebhookDelay) != nil {
		return
	}
	body, err := json.Marshal(map[string]any{
		"version": apiVersion,
		"hook": map[string]any{
			"id":           e.hookID.Add(1),
			"event":        h.event,
			"target":       e.cfg.WebhookURL,
			"triggered_at": stamp(e.now()),
		},
		"data": h.data,
	})
	if err != nil {
		e.log.Error("truework emulator: encode webhook", "event", h.event, "err", err)
		return
	}
	copies := 1
	if e.cfg.DuplicateWebhooks {
		copies = 2
	}
	for range copies {
		e.post(ctx, h.event, orderID, body)
	}
}

// post sends one body with retries.
func (e *Emulator) post(ctx context.Context, event, orderID string, body []byte) {
	wait := webhookBackoff
	for attempt := 1; attempt <= webhookAttempts; attempt++ {
		status, err := e.postOnce(ctx, body)
		if err == nil && status >= 200 && status <= 299 {
			e.log.Info("truework emulator: webhook sent", "event", event, "order_id", orderID, "status", status, "attempt", attempt)
			return
		}
		e.log.Warn("truework emulator: webhook failed", "event", event, "order_id", orderID, "status", status, "attempt", attempt, "err", err)
		if attempt == webhookAttempts || providers.Sleep(ctx, wait) != nil {
			return
		}
		wait *= 2
	}
}

// postOnce makes one attempt and returns the HTTP status.
func (e *Emulator) postOnce(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TokenHeader, e.cfg.WebhookToken)
	req.Header.Set("User-Agent", "Truework-Webhooks (caseverify emulator)")
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = readLimited(resp.Body, 64<<10) // drain so the connection is reused
	return resp.StatusCode, nil
}

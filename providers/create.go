package providers

import (
	"context"
	"errors"
	"net/http"
)

// Create is how an adapter creates one order at the provider at most once
// per reference (OrderRequest.Reference is the idempotency key): look the
// reference up first, POST, and when the answer to a POST may have been
// lost after the order landed, look it up again before anything else. The
// adapters fill in their calls; the order of them, and what counts as a
// lost answer, is this one rule (issue 16: it was written four times).
type Create[T any] struct {
	// Reference is the portal's order reference; empty means one POST, no
	// lookups.
	Reference string
	// LookupFirst looks the reference up before the first POST (a retry by
	// the portal after a timeout finds what the first attempt made).
	LookupFirst bool
	// Lookup finds the order made for Reference; nil, nil when none.
	Lookup func(ctx context.Context) (*T, error)
	// LookupUnsupported says a first lookup's error means only that the
	// provider cannot look up: the POST goes ahead. Nil: every error stops.
	LookupUnsupported func(error) bool
	// Post makes one create call and decodes its answer, errors as
	// *ProviderError.
	Post func(ctx context.Context) (*T, error)
	// Check refuses an answer the portal cannot follow up (no order id),
	// in the provider's words. Optional.
	Check func(*T) error
	// Lost says the answer to a POST may have been lost after the order
	// landed; default AnswerLost.
	Lost func(error) bool
	// Attempts bounds the POSTs (default 1): each after the first only when
	// a lookup proved the previous one did not land.
	Attempts int
	// LookupFailed hears a lookup after a lost answer that failed (the
	// original error is returned, never a second POST). Optional.
	LookupFailed func(error)
}

// Do creates the order.
func (c Create[T]) Do(ctx context.Context) (*T, error) {
	if c.Reference != "" && c.LookupFirst {
		found, err := c.Lookup(ctx)
		switch {
		case err == nil && found != nil:
			return found, nil
		case err != nil && (c.LookupUnsupported == nil || !c.LookupUnsupported(err)):
			return nil, err
		}
	}
	lost := c.Lost
	if lost == nil {
		lost = AnswerLost
	}
	for attempt := 1; ; attempt++ {
		o, err := c.Post(ctx)
		if err == nil && c.Check != nil {
			err = c.Check(o)
		}
		if err == nil {
			return o, nil
		}
		if !lost(err) || c.Reference == "" || ctx.Err() != nil {
			return nil, err
		}
		// The POST may have been committed before its answer was lost:
		// only a lookup that finds nothing allows another POST.
		found, lerr := c.Lookup(ctx)
		if lerr != nil {
			if c.LookupFailed != nil {
				c.LookupFailed(lerr)
			}
			return nil, err
		}
		if found != nil {
			return found, nil
		}
		if attempt >= max(c.Attempts, 1) {
			return nil, err
		}
	}
}

// AnswerLost says a call may have reached the provider without the portal
// hearing its answer: no answer at all (a timeout, a reset connection), or
// a gateway's 502, 503 or 504. A refusal, or a call the caller canceled,
// is not lost.
func AnswerLost(err error) bool {
	var pe *ProviderError
	if !errors.As(err, &pe) || errors.Is(err, context.Canceled) {
		return false
	}
	switch pe.HTTPStatus {
	case 0:
		return pe.Retryable
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

package providers

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestCreate: an order lands at most once per reference, whatever the
// provider answers (issue 16: one create path for every adapter). Each
// case scripts the lookups and POSTs and says which calls are made.
func TestCreate(t *testing.T) {
	type order struct{ ID string }
	lost := &ProviderError{HTTPStatus: 0, Retryable: true, Message: "no answer"}
	gateway := &ProviderError{HTTPStatus: 504, Retryable: true}
	refused := &ProviderError{HTTPStatus: 400, Message: "refused"}
	unsupported := &ProviderError{HTTPStatus: 404}
	for _, tt := range []struct {
		name        string
		ref         string
		lookupFirst bool
		attempts    int
		lookups     []any // *order, nil (none) or error, in turn
		posts       []any
		check       bool
		want        string // the order id, or "error: ..." of the error returned
		calls       string
	}{
		{"no reference: one POST", "", true, 2, nil, []any{&order{"o1"}}, false, "o1", "P"},
		{"found first", "R", true, 2, []any{&order{"old"}}, nil, false, "old", "L"},
		{"none found, POST", "R", true, 2, []any{nil}, []any{&order{"o1"}}, false, "o1", "LP"},
		{"no first lookup", "R", false, 2, nil, []any{&order{"o1"}}, false, "o1", "P"},
		{"first lookup fails", "R", true, 2, []any{refused}, nil, false, "error: refused", "L"},
		{"lookup unsupported: POST anyway", "R", true, 2, []any{unsupported}, []any{&order{"o1"}}, false, "o1", "LP"},
		{"refused: no lookup, no retry", "R", true, 2, []any{nil}, []any{refused}, false, "error: refused", "LP"},
		{"lost, it landed", "R", true, 2, []any{nil, &order{"landed"}}, []any{lost}, false, "landed", "LPL"},
		{"lost at the gateway, it landed", "R", false, 1, []any{&order{"landed"}}, []any{gateway}, false, "landed", "PL"},
		{"lost, not landed, retried", "R", true, 2, []any{nil, nil}, []any{lost, &order{"o2"}}, false, "o2", "LPLP"},
		{"lost twice: the error, never a third POST", "R", true, 2, []any{nil, nil, nil}, []any{lost, lost}, false, "error: no answer", "LPLPL"},
		{"lost, lookup fails: the error", "R", true, 2, []any{nil, refused}, []any{lost}, false, "error: no answer", "LPL"},
		{"lost without a reference: the error", "", true, 2, nil, []any{lost}, false, "error: no answer", "P"},
		{"an answer without an id", "R", false, 1, nil, []any{&order{""}}, true, "error: no id", "P"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var calls strings.Builder
			next := func(script *[]any) (*order, error) {
				if len(*script) == 0 {
					t.Fatalf("an unexpected call after %q", calls.String())
				}
				v := (*script)[0]
				*script = (*script)[1:]
				switch v := v.(type) {
				case *order:
					return v, nil
				case error:
					return nil, v
				}
				return nil, nil
			}
			lookups, posts := tt.lookups, tt.posts
			c := Create[order]{
				Reference: tt.ref, LookupFirst: tt.lookupFirst, Attempts: tt.attempts,
				Lookup:            func(context.Context) (*order, error) { calls.WriteString("L"); return next(&lookups) },
				Post:              func(context.Context) (*order, error) { calls.WriteString("P"); return next(&posts) },
				LookupUnsupported: func(err error) bool { return errors.Is(err, unsupported) },
			}
			if tt.check {
				c.Check = func(o *order) error {
					if o.ID == "" {
						return errors.New("no id")
					}
					return nil
				}
			}
			o, err := c.Do(context.Background())
			got := ""
			if err != nil {
				got = "error: " + strings.TrimPrefix(err.Error(), ": ")
				var pe *ProviderError
				if errors.As(err, &pe) {
					got = "error: " + pe.Message
				}
			} else {
				got = o.ID
			}
			if got != tt.want || calls.String() != tt.calls {
				t.Errorf("got %s after %s, want %s after %s", got, calls.String(), tt.want, tt.calls)
			}
		})
	}
}

// TestAnswerLost: what may have landed without an answer.
func TestAnswerLost(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&ProviderError{HTTPStatus: 0, Retryable: true}, true},
		{&ProviderError{HTTPStatus: 0}, false}, // refused before any call
		{&ProviderError{HTTPStatus: 502}, true},
		{&ProviderError{HTTPStatus: 503}, true},
		{&ProviderError{HTTPStatus: 504}, true},
		{&ProviderError{HTTPStatus: 500}, false},
		{&ProviderError{HTTPStatus: 409}, false},
		{&ProviderError{HTTPStatus: 0, Retryable: true, Err: context.Canceled}, false},
		{errors.New("plain"), false},
	} {
		if got := AnswerLost(tt.err); got != tt.want {
			t.Errorf("AnswerLost(%#v) = %v", tt.err, got)
		}
	}
}

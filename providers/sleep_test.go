package providers

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep_WaitsOrStopsWithTheContext(t *testing.T) {
	start := time.Now()
	if err := Sleep(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatalf("a full wait: %v", err)
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("returned after %v, before the 20ms", waited)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled during the wait: %v, want context.Canceled", err)
	}
	// A cancelled caller stops even when there is nothing to wait for.
	if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("no wait, cancelled: %v, want context.Canceled", err)
	}
	if err := Sleep(context.Background(), -time.Second); err != nil {
		t.Fatalf("no wait: %v", err)
	}
}

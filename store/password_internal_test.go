package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// With both hashing slots taken and the queue full, a sign-in's password
// check is answered ErrBusy at once instead of waiting behind the others.
func TestHashQueue_Bounded(t *testing.T) {
	hash := HashPassword("unused here")
	for range hashSlotCount {
		hashSlots <- struct{}{}
	}
	defer func() {
		for range hashSlotCount {
			releaseHashSlot()
		}
	}()
	waiters := make(chan error, hashQueue)
	for range hashQueue {
		go func() { waiters <- acquireHashSlot(context.Background()) }()
	}
	for hashWaiting.Load() < hashQueue {
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		_, err := checkPassword(context.Background(), hash, "guess", true)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("full queue: %v, want ErrBusy", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a check waited behind a full queue")
	}
	// The waiters give up after their bounded wait rather than forever.
	for range hashQueue {
		select {
		case err := <-waiters:
			if !errors.Is(err, ErrBusy) {
				t.Fatalf("waiter: %v, want ErrBusy", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a waiter waited without bound")
		}
	}
}

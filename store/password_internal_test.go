package store

import (
	"context"
	"errors"
	"strings"
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

// The unknown-email hash costs what a real one costs: the same parameters.
func TestDummyHash_SameParameters(t *testing.T) {
	real, dummy := strings.Split(HashPassword("x"), "$"), strings.Split(dummyHash(), "$")
	if len(dummy) != 6 || dummy[1] != real[1] || dummy[2] != real[2] || dummy[3] != real[3] || len(dummy[5]) != len(real[5]) {
		t.Fatalf("dummy hash %q does not match the parameters of %q", dummyHash(), HashPassword("x"))
	}
}

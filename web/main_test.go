package main

import (
	"testing"

	"caseverify/store"
	"caseverify/store/pgtest"
)

// TestMain stops the throwaway PostgreSQL the PostgreSQL tests used
// (store/pgtest); on SQLite it only runs the tests.
func TestMain(m *testing.M) { pgtest.Main(m, store.Migrate) }

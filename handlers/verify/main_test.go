package verify_test

import (
	"testing"

	"caseverify/store"
	"caseverify/store/pgtest"
)

// TestMain stops the throwaway PostgreSQL the suite used when it ran with
// CASEVERIFY_TEST_POSTGRES=1 (store/pgtest); on SQLite it only runs the tests.
func TestMain(m *testing.M) { pgtest.Main(m, store.Migrate) }

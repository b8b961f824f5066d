package verify_test

import (
	"testing"

	"caseverify/providers"
	"caseverify/store"
)

// The store keeps the providers' outcomes as its own type (it imports no
// other package of ours): the values the portal acts on must be the same
// words on both sides.
func TestOutcomes_SameWordsInStoreAndProviders(t *testing.T) {
	for _, p := range []struct {
		provider providers.Outcome
		store    store.Outcome
	}{
		{providers.OutcomeNone, store.OutcomeNone}, {providers.OutcomeVerified, store.OutcomeVerified},
		{providers.OutcomeNoData, store.OutcomeNoData}, {providers.OutcomePass, store.OutcomePass},
		{providers.OutcomeReview, store.OutcomeReview}, {providers.OutcomeFail, store.OutcomeFail},
		{providers.OutcomeNoIncome, store.OutcomeNoIncome}, {providers.OutcomeNoBank, store.OutcomeNoBank},
		{providers.OutcomeSharedBank, store.OutcomeSharedBank},
	} {
		if string(p.provider) != string(p.store) {
			t.Errorf("providers %q != store %q", p.provider, p.store)
		}
	}
	if string(providers.ReportIncome) != store.ReportIncome {
		t.Errorf("report kind: providers %q != store %q", providers.ReportIncome, store.ReportIncome)
	}
}

package e2e

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// eachFresh runs fn once per database, each time on a new migrated database of its own: the
// reconciliation job looks at every open attempt, so these tests must not see other tests'.
func eachFresh(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d)
			_, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			fn(t, s)
		})
	}
}

// TestStripeReconciliationRotatesThroughOpenAttempts: more attempts stay open than one run looks
// at. Each run takes those looked at longest ago, so the abandoned oldest ones do not starve the
// newest, whose payment (with its webhook lost) is found within ceil(open/batch) runs.
func TestStripeReconciliationRotatesThroughOpenAttempts(t *testing.T) {
	eachFresh(t, func(t *testing.T, s *store.Store) {
		w := newStripeWorld(t, s)
		sp := stripeProcessor(t, w)
		sp.ReconcileBatch = 3
		const n = 7
		ids, pis := make([]string, n), make([]string, n)
		index := map[string]int{}
		for i := range ids {
			ids[i], pis[i] = w.pay(t, int64(1000+i))
			index[pis[i]] = i
		}
		// The six oldest were abandoned in 3-D Secure (requires_action: they stay open); the
		// newest was paid at Stripe, and its webhook never arrived.
		for i := 0; i < n-1; i++ {
			w.stripe.SetPaymentIntent(pis[i], "requires_action", "", int64(1000+i), "EUR")
		}
		w.stripe.SetPaymentIntent(pis[n-1], "succeeded", "ch_rotation", 1000+n-1, "EUR")

		run := func() []int {
			t.Helper()
			from := len(w.stripe.Retrieved())
			asked, err := sp.Reconcile(ctx, 0)
			require.NoError(t, err)
			var got []int
			for _, pi := range w.stripe.Retrieved()[from:] {
				i, ok := index[pi]
				require.True(t, ok, "asked about %s, not an attempt of this test", pi)
				got = append(got, i)
			}
			require.Equal(t, asked, len(got), "what Reconcile reports is what Stripe was asked")
			return got
		}
		var runs [][]int
		checked := map[int]bool{}
		for r := 0; r < (n+2)/3; r++ { // ceil(7/3) runs
			got := run()
			require.Len(t, got, 3, "one batch per run (run %d)", r+1)
			for _, i := range got {
				checked[i] = true
			}
			runs = append(runs, got)
		}
		require.Len(t, checked, n, "every open attempt asked about within ceil(open/batch) runs: %v", runs)
		require.Equal(t, [][]int{{0, 1, 2}, {3, 4, 5}, {6, 0, 1}}, runs,
			"the never-looked-at first (by age), then those looked at longest ago")
		require.Equal(t, domain.TxnSucceeded, w.status(t, ids[n-1]), "the newest attempt's payment is found")
		for _, id := range ids[:n-1] {
			require.Equal(t, domain.TxnInitiated, w.status(t, id), "an unpaid attempt stays open")
		}
		// The paid one has left the queue; the rotation goes on where it stopped.
		require.Equal(t, []int{2, 3, 4}, run())
		require.Equal(t, []int{5, 0, 1}, run())
	})
}


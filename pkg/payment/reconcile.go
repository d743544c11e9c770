package payment

import (
	"context"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
)

// DefaultReconcileBatch is how many open attempts one reconciliation run looks at.
const DefaultReconcileBatch = 200

// ReconcileCheck asks the provider about one open transaction and applies what it says. asked
// reports whether the provider was asked (a check may decide it is too early to).
type ReconcileCheck = providers.ReconcileCheck

// ReconcileOpen is the reconciliation job of every provider: it takes up to batch transactions
// of provider type pt still open and neither changed nor looked at for olderThan, those looked
// at longest ago first, runs check on each and marks each as looked at, whatever the outcome.
// A run therefore goes on where the last one stopped: attempts that stay open (abandoned ones)
// go to the back of the queue and never starve newer ones, and every open attempt is reached
// within ceil(open/batch) runs. A check that fails is logged and does not stop the run. It
// returns how many transactions the provider was asked about.
func (s *Service) ReconcileOpen(ctx context.Context, pt domain.ProviderType, olderThan time.Duration, batch int, check ReconcileCheck) (int, error) {
	if batch <= 0 {
		batch = DefaultReconcileBatch
	}
	st := s.store
	open, err := st.ListStaleOpenTransactions(ctx, pt, domain.Now().Add(-olderThan), batch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range open {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		t, err := st.GetTransaction(ctx, o.OrganizationID, o.ID)
		if err != nil {
			return n, err
		}
		asked, err := check(ctx, t)
		if asked {
			n++
		}
		if err != nil {
			s.Log().WarnContext(ctx, "reconcile transaction with its provider", "provider_type", string(pt), "transaction_id", t.ID, "error", err)
		}
		if err := st.MarkReconciled(ctx, t.OrganizationID, t.ID); err != nil {
			return n, err
		}
	}
	return n, nil
}

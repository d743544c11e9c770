package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/mollie"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestMollieLostWebhooksAreFoundBySyncAndReconciliation: Mollie's calls never arrive. The
// buyer's return (status?sync=1) reads the payment and applies it; a payment whose return is
// lost too is found by the reconciliation the platform's loop runs, which reads Mollie; late
// calls delivered afterwards (in any order) change nothing. Both databases.
func TestMollieLostWebhooksAreFoundBySyncAndReconciliation(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newMollieWorld(t, s)
		w.fake.HoldWebhooks(true)

		id, checkout := w.start(t, 1200, "EUR")
		w.decide(t, checkout, "pay", id)
		require.Equal(t, domain.TxnInitiated, w.txn(t, id).Status, "no webhook: nothing known yet")
		res := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.Equal(t, "succeeded", res.JSON(t)["status"], "the return asks Mollie")

		id2, checkout2 := w.start(t, 800, "EUR")
		w.decide(t, checkout2, "fail", id2)
		id3, _ := w.start(t, 900, "EUR") // still open at Mollie
		mo, err := w.env.Main.Services.Payment.Provider(mollie.Type)
		require.NoError(t, err)
		n, err := mo.(providers.Syncer).Reconcile(ctx, 0)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 2)
		require.Equal(t, domain.TxnFailed, w.txn(t, id2).Status)
		require.Equal(t, domain.TxnInitiated, w.txn(t, id3).Status, "open at Mollie, and its checkout can still be paid")

		// The calls arrive late, the failed one first, then one about the paid payment twice.
		pm1 := w.txn(t, id).ProviderData[mollie.DataPayment].(string)
		pm2 := w.txn(t, id2).ProviderData[mollie.DataPayment].(string)
		for _, pm := range []string{pm2, pm1, pm1} {
			code, err := w.fake.Webhook(ctx, pm)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}
		w.settle(t)
		require.Equal(t, domain.TxnSucceeded, w.txn(t, id).Status)
		require.Equal(t, domain.TxnFailed, w.txn(t, id2).Status)
		w.ipns(t, id, domain.IPNInitiated, domain.IPNSucceeded)
		w.ipns(t, id2, domain.IPNInitiated, domain.IPNFailed)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
	})
}

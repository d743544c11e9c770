package e2e

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/paypal"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestPayPalCapturesOnceAndIgnoresStaleWebhooks, on both databases: the buyer's return and the
// CHECKOUT.ORDER.APPROVED webhook race to capture (through a 429 and a 500 from PayPal): one
// capture. The capture is PENDING, then COMPLETED; the PENDING event delivered after the
// COMPLETED one (out of order) changes nothing, because events are applied by reading the
// capture's current state. An approval whose return and webhook were both lost is captured by
// reconciliation.
func TestPayPalCapturesOnceAndIgnoresStaleWebhooks(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newPPWorld(t, s)
		const capture = "POST /v2/checkout/orders/{id}/capture"
		w.pp.PendCaptures(true)
		id, order, approve, m := w.start(t, 4200)
		w.approve(t, approve)
		w.pp.FailNext(http.StatusTooManyRequests, http.StatusInternalServerError)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			res := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
			assert.Equal(t, http.StatusOK, res.Status, string(res.Body))
		}()
		go func() {
			defer wg.Done()
			assert.Equal(t, http.StatusOK, w.hook(t, w.pp.Sign(w.pp.OrderApproved(order))).Status)
		}()
		wg.Wait()
		w.waitStatus(t, id, domain.TxnPendingProvider)
		waitEventsApplied(t, w, 1)
		require.Equal(t, 1, w.pp.Calls(capture), "the return and the webhook capture once")
		capID := w.pp.Order(order).PurchaseUnits[0].Payments.Captures[0].ID

		pending := w.pp.Sign(w.pp.CaptureEvent("PENDING", capID))
		w.pp.CompleteCapture(capID, true)
		require.Equal(t, http.StatusOK, w.hook(t, w.pp.Sign(w.pp.CaptureEvent("COMPLETED", capID))).Status)
		txn := w.waitStatus(t, id, domain.TxnSucceeded)
		require.Equal(t, capID, *txn.ProviderPaymentID)
		require.Equal(t, http.StatusOK, w.hook(t, pending).Status, "the stale PENDING event, late")
		waitEventsApplied(t, w, 3)
		require.Equal(t, domain.TxnSucceeded, w.waitStatus(t, id, domain.TxnSucceeded).Status)
		ipnsOf(t, m, domain.IPNInitiated, domain.IPNPending, domain.IPNSucceeded)

		// Lost return, lost webhook: reconciliation captures the approved order.
		w.pp.PendCaptures(false)
		id2, _, approve2, m2 := w.start(t, 1300)
		w.approve(t, approve2)
		pp, err := w.env.Main.Services.Payment.Provider(paypal.Type)
		require.NoError(t, err)
		n, err := pp.(providers.Syncer).Reconcile(ctx, 0)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 1)
		w.waitStatus(t, id2, domain.TxnSucceeded)
		require.Equal(t, 2, w.pp.Calls(capture))
		ipnsOf(t, m2, domain.IPNInitiated, domain.IPNSucceeded)
	})
}

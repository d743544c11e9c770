package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/gcapi/gcfake"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestGoCardlessLateFailureReopensTheCheckout: a Direct Debit confirmed, then failed (a late
// failure GoCardless reports days later), was the checkout's only payment: the order is not
// left completed. The checkout is open again and can be paid another way; the merchant heard
// "succeeded", then "failed"; a confirmation resent afterwards does not complete it again.
func TestGoCardlessLateFailureReopensTheCheckout(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		id, pm := w.pay(t, 2500)
		w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm)
		w.waitStatus(t, id, domain.TxnSucceeded)
		checkoutID := w.txn(t, id).CheckoutID
		c, err := s.GetCheckout(ctx, w.tn.Org.ID, checkoutID)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutCompleted, c.Status)
		confirmed := w.eventsFor("payment", pm)

		w.simulate(t, gcfake.ScenarioPaymentFailed, pm)
		w.waitStatus(t, id, domain.TxnFailed)
		w.waitIPNsFor(t, id, -1, 0, 1, 2)
		c, err = s.GetCheckout(ctx, w.tn.Org.ID, checkoutID)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutOpen, c.Status, "the only payment failed: the order is not paid")
		require.Nil(t, c.CompletedAt)
		evs, err := s.ListCheckoutEvents(ctx, w.tn.Org.ID, checkoutID)
		require.NoError(t, err)
		var reopened int
		for _, e := range evs {
			if e.Type == domain.EventCheckoutReopened {
				reopened++
				require.Equal(t, id, e.Data["transactionId"])
			}
		}
		require.Equal(t, 1, reopened, "the reopening is on the checkout's timeline")

		// The confirmations, resent under new ids after the failure, change nothing.
		for i := range confirmed {
			confirmed[i].ID = ""
		}
		body, sig := w.gc.WebhookBatch(confirmed...)
		require.Equal(t, http.StatusNoContent, w.post(t, body, sig))
		w.settle(t)
		require.Equal(t, domain.TxnFailed, w.status(t, id))
		c, err = s.GetCheckout(ctx, w.tn.Org.ID, checkoutID)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutOpen, c.Status)

		// The buyer can pay the order another way (the site's wire transfer).
		res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": c.SessionPublicID, "providerId": w.tn.Provider.ID, "billingAddress": gcBuyer})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	})
}

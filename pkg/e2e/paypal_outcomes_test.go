package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers/paypal/paypalfake"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// paid starts a PayPal payment, approves it and captures it on the buyer's return; it returns
// the transaction, its capture and the merchant notified.
func (w *ppWorld) paid(t *testing.T, amount int64) (string, string, *wooMerchant) {
	t.Helper()
	id, order, approve, m := w.start(t, amount)
	w.approve(t, approve)
	res := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/transactions/"+id+"/status?sync=1", "", nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	w.waitStatus(t, id, domain.TxnSucceeded)
	ipnsOf(t, m, domain.IPNInitiated, domain.IPNSucceeded)
	return id, w.pp.Order(order).PurchaseUnits[0].Payments.Captures[0].ID, m
}

// TestPayPalRefundFailing: PayPal answers a refund with status FAILED (the fake's "refund
// failing" switch: REFUND_FAILED_INSUFFICIENT_FUNDS): the refund is recorded failed, the
// transaction stays paid with nothing refunded and the merchant is told nothing more; PayPal's
// later PAYMENT.REFUND.FAILED event about it changes nothing; once PayPal refunds again, the
// whole payment can be refunded — on both databases.
func TestPayPalRefundFailing(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newPPWorld(t, s)
		id, capID, m := w.paid(t, 3000)
		refunds := w.env.AdminURL + "/api/v1/transactions/" + id + "/refunds"

		w.pp.FailRefunds(true)
		bad := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{"amount": 1200, "reason": "damaged"})
		require.Equal(t, http.StatusCreated, bad.Status, string(bad.Body))
		rid := bad.JSON(t)["id"].(string)
		require.Equal(t, "failed", bad.JSON(t)["status"], "PayPal's answer says FAILED")
		require.Eventually(t, func() bool {
			r, err := s.GetRefund(ctx, w.tn.Org.ID, rid)
			return err == nil && r.Status == domain.RefundFailed
		}, 15*time.Second, 20*time.Millisecond, "the refund PayPal failed is recorded failed")
		txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
		require.NoError(t, err)
		require.Equal(t, domain.TxnSucceeded, txn.Status)
		require.EqualValues(t, 0, txn.RefundedAmount, "nothing refunded")
		require.Equal(t, "COMPLETED", w.pp.CaptureEvent("X", capID).Resource.(paypalfake.Capture).Status, "PayPal kept the money")
		failed, err := s.GetRefund(ctx, w.tn.Org.ID, rid)
		require.NoError(t, err)
		require.NotNil(t, failed.ProviderReference)
		require.Equal(t, http.StatusOK, w.hook(t, w.pp.Sign(w.pp.RefundEvent("PAYMENT.REFUND.FAILED", *failed.ProviderReference))).Status)
		waitEventsApplied(t, w, 1)
		txn, err = s.GetTransaction(ctx, w.tn.Org.ID, id)
		require.NoError(t, err)
		require.EqualValues(t, 0, txn.RefundedAmount, "the failed refund's event refunds nothing")

		w.pp.FailRefunds(false)
		ok := apptest.Do(t, http.MethodPost, refunds, w.tn.TestKey, map[string]any{"reason": "damaged"})
		require.Equal(t, http.StatusCreated, ok.Status, string(ok.Body))
		require.Equal(t, "succeeded", ok.JSON(t)["status"])
		require.EqualValues(t, 3000, ok.JSON(t)["amount"], "the whole payment is still refundable")
		require.EqualValues(t, 3000, w.waitStatus(t, id, domain.TxnRefunded).RefundedAmount)
		ipnsOf(t, m, domain.IPNInitiated, domain.IPNSucceeded, domain.IPNRefunded)
	})
}

// TestPayPalDisputeWon: a dispute opened on a capture (CUSTOMER.DISPUTE.CREATED) makes the
// transaction disputed; resolved in the seller's favour (CUSTOMER.DISPUTE.RESOLVED, outcome
// RESOLVED_SELLER_FAVOUR) it is won and the transaction is paid again (a succeeded IPN); a duplicate of the
// resolution changes nothing — on both databases.
func TestPayPalDisputeWon(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newPPWorld(t, s)
		id, capID, m := w.paid(t, 4500)
		d := w.pp.Dispute("PP-D-"+domain.RandomString(6), capID, "OPEN", "")
		require.Equal(t, http.StatusOK, w.hook(t, w.pp.Sign(w.pp.DisputeEvent("CREATED", d))).Status)
		txn := w.waitStatus(t, id, domain.TxnDisputed)
		require.Equal(t, "open", txn.DisputeStatus)
		ipnsOf(t, m, domain.IPNInitiated, domain.IPNSucceeded, domain.IPNDisputed)

		d.Status, d.DisputeOutcome = "RESOLVED", &paypalfake.DisputeOutcome{OutcomeCode: "RESOLVED_SELLER_FAVOUR"}
		resolved := w.pp.Sign(w.pp.DisputeEvent("RESOLVED", d))
		require.Equal(t, http.StatusOK, w.hook(t, resolved).Status)
		txn = w.waitStatus(t, id, domain.TxnSucceeded)
		require.Equal(t, "won", txn.DisputeStatus)
		dup := w.hook(t, resolved)
		require.Equal(t, http.StatusOK, dup.Status)
		require.EqualValues(t, 0, dup.JSON(t)["new"], "a duplicate webhook is stored once")
		waitEventsApplied(t, w, 2)
		txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
		require.NoError(t, err)
		require.Equal(t, domain.TxnSucceeded, txn.Status)
		require.EqualValues(t, 0, txn.RefundedAmount)
		// The merchant was told of the dispute, and that winning it made the payment succeeded
		// again (as with Stripe: the order leaves its dispute hold); the duplicate told nothing.
		ipnsOf(t, m, domain.IPNInitiated, domain.IPNSucceeded, domain.IPNDisputed, domain.IPNSucceeded)
	})
}

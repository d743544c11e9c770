package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// stripeSender is an independent Stripe webhook sender: it writes events as Stripe documents
// them (https://docs.stripe.com/api/events/object) and signs them with the Stripe-Signature
// scheme (t=<unix>,v1=hex(HMAC-SHA256(secret, "<t>.<payload>"))), without the platform's code
// or stripe-go.
type stripeSender struct {
	w *stripeWorld
	n int
}

// event builds one Stripe event of type typ about obj, created at unix second created.
func (ss *stripeSender) event(typ string, created int64, obj map[string]any) (id string, payload []byte) {
	ss.n++
	id = fmt.Sprintf("evt_order_%s_%d", domain.RandomString(10), ss.n)
	payload, _ = json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": "2023-10-16", "created": created, "livemode": false,
		"pending_webhooks": 1, "request": map[string]any{"id": nil, "idempotency_key": nil}, "type": typ,
		"data": map[string]any{"object": obj},
	})
	return id, payload
}

// send posts a signed event to the provider's webhook URL and requires Stripe's 200.
func (ss *stripeSender) send(t *testing.T, payload []byte) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(stripeHookSecret))
	mac.Write([]byte(ts + "." + string(payload)))
	sig := "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
	res := apptest.Do(t, http.MethodPost, ss.w.env.MainURL+"/hooks/stripe/"+ss.w.provider.ID, "", payload, "Stripe-Signature", sig)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
}

// paymentIntent is a PaymentIntent object as Stripe sends it in events.
func paymentIntent(piID, txnID, status string, amount int64) map[string]any {
	o := map[string]any{"id": piID, "object": "payment_intent", "amount": amount, "amount_received": 0, "currency": "eur",
		"status": status, "livemode": false, "latest_charge": "ch_" + piID[3:], "metadata": map[string]any{"transaction_id": txnID},
		"last_payment_error": nil}
	switch status {
	case "succeeded":
		o["amount_received"] = amount
	case "requires_payment_method":
		o["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "generic_decline",
			"message": "Your card was declined."}
	}
	return o
}

// settled waits until the platform has finished with everything it was told about a
// transaction: every stored Stripe event applied or ignored, every state change dispatched,
// every notification delivered to the merchant. Then the merchant's statuses are final.
func (w *stripeWorld) settled(t *testing.T, txnID string, eventIDs ...string) []float64 {
	t.Helper()
	var why string
	require.Eventually(t, func() bool {
		evs, err := w.env.Store.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 1000)
		require.NoError(t, err)
		done := 0
		for _, e := range evs {
			if slices.Contains(eventIDs, e.ExternalID) && e.Status != domain.ProviderEventReceived {
				done++
			}
		}
		if done != len(eventIDs) {
			why = fmt.Sprintf("%d of %d provider events applied", done, len(eventIDs))
			return false
		}
		tevs, err := w.env.Store.ListTransactionEvents(ctx, w.tn.Org.ID, txnID)
		require.NoError(t, err)
		for _, e := range tevs {
			if e.DispatchedAt == nil {
				why = "event " + e.Type + " not dispatched yet"
				return false
			}
		}
		ds, err := w.env.Store.ListIPNDeliveries(ctx, w.tn.Org.ID, txnID)
		require.NoError(t, err)
		for _, d := range ds {
			if d.Status != domain.IPNDeliveryDelivered {
				why = "notification " + d.ID + " is " + d.Status
				return false
			}
		}
		if got := w.merchantStatuses(txnID); len(got) != len(ds) {
			why = fmt.Sprintf("merchant has %v, %d delivered", got, len(ds))
			return false
		}
		return true
	}, 30*time.Second, 10*time.Millisecond, "transaction %s never settled: %s", txnID, &why)
	return w.merchantStatuses(txnID)
}

// merchantStatuses are the statuses the merchant accepted for one transaction, in order.
func (w *stripeWorld) merchantStatuses(txnID string) []float64 {
	m := w.merchant
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []float64
	for _, p := range m.accepted {
		if p["id"] == txnID {
			out = append(out, p["status"].(float64))
		}
	}
	return out
}

// TestStripeSuccessAfterDisputeNeverUndoesIt: Stripe does not order events. A success that
// arrives after the dispute (a second delivery, or the first one, late) changes nothing: the
// payment stays disputed, the merchant hears "succeeded" once and "disputed" once, and no
// refund can be made while the dispute is open.
func TestStripeSuccessAfterDisputeNeverUndoesIt(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newStripeWorld(t, s)
		ss := &stripeSender{w: w}
		t0 := time.Now().Add(-time.Hour).Unix()
		dispute := func(piID string) map[string]any {
			return map[string]any{"id": "dp_" + domain.RandomString(12), "object": "dispute", "amount": 3000, "currency": "eur",
				"charge": "ch_" + piID[3:], "payment_intent": piID, "reason": "fraudulent", "status": "needs_response", "livemode": false}
		}
		refundRefused := func(t *testing.T, id string) {
			res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/transactions/"+id+"/refunds", w.tn.TestKey, map[string]any{"amount": 1000})
			require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
			require.Equal(t, domain.CodePaymentDisputed, res.JSON(t)["code"])
			rs, err := s.ListRefunds(ctx, w.tn.Org.ID, id)
			require.NoError(t, err)
			require.Empty(t, rs, "no refund was recorded")
		}

		t.Run("SucceededDisputedThenALateSucceeded", func(t *testing.T) {
			id, pi := w.pay(t, 3000)
			ok, okPayload := ss.event("payment_intent.succeeded", t0, paymentIntent(pi, id, "succeeded", 3000))
			ss.send(t, okPayload)
			require.Equal(t, []float64{-1, 1}, w.settled(t, id, ok))
			dc, dcPayload := ss.event("charge.dispute.created", t0+600, dispute(pi))
			ss.send(t, dcPayload)
			require.Equal(t, []float64{-1, 1, 4}, w.settled(t, id, ok, dc))
			// The same success, delivered again under another event id (Stripe's own retry
			// of an event we never acknowledged looks the same to us).
			late, latePayload := ss.event("payment_intent.succeeded", t0, paymentIntent(pi, id, "succeeded", 3000))
			ss.send(t, latePayload)
			require.Equal(t, []float64{-1, 1, 4}, w.settled(t, id, ok, dc, late), "one succeeded and one disputed notification")
			require.Equal(t, domain.TxnDisputed, w.status(t, id))
			require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
			refundRefused(t, id)
		})

		t.Run("DisputeBeforeItsSuccessArrived", func(t *testing.T) {
			id, pi := w.pay(t, 3000)
			dc, dcPayload := ss.event("charge.dispute.created", t0+600, dispute(pi))
			ss.send(t, dcPayload)
			require.Equal(t, []float64{-1, 1, 4}, w.settled(t, id, dc), "a disputed charge was paid first")
			ok, okPayload := ss.event("payment_intent.succeeded", t0, paymentIntent(pi, id, "succeeded", 3000))
			ss.send(t, okPayload)
			require.Equal(t, []float64{-1, 1, 4}, w.settled(t, id, dc, ok))
			txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
			require.NoError(t, err)
			require.Equal(t, domain.TxnDisputed, txn.Status)
			require.Equal(t, "open", txn.DisputeStatus)
			refundRefused(t, id)
		})
	})
}

// TestStripeFailureAndSuccessFollowStripesOrder races a decline and a success of one
// PaymentIntent, many times, in both creation orders: the outcome and the merchant's
// notifications follow the order in which Stripe created the events, not the order in which
// they arrive or are applied.
func TestStripeFailureAndSuccessFollowStripesOrder(t *testing.T) {
	const runs = 30
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newStripeWorld(t, s)
		ss := &stripeSender{w: w}
		t0 := time.Now().Add(-time.Hour).Unix()

		// Each run is one PaymentIntent whose two events are sent back to back; the runs' events
		// are all sent first, then each run is checked once the platform is done with it.
		type run struct{ id, ok, bad string }
		race := func(t *testing.T, amount int64, okAt, badAt int64, badFirst bool) []run {
			var out []run
			for i := 0; i < runs; i++ {
				id, pi := w.pay(t, amount)
				ok, okPayload := ss.event("payment_intent.succeeded", okAt, paymentIntent(pi, id, "succeeded", amount))
				bad, badPayload := ss.event("payment_intent.payment_failed", badAt, paymentIntent(pi, id, "requires_payment_method", amount))
				if badFirst {
					ss.send(t, badPayload)
					ss.send(t, okPayload)
				} else {
					ss.send(t, okPayload)
					ss.send(t, badPayload)
				}
				out = append(out, run{id, ok, bad})
			}
			return out
		}

		t.Run("FailureCreatedBeforeDeliveredAfter", func(t *testing.T) {
			for i, r := range race(t, 1200, t0+1, t0, false) {
				id := r.id
				got := w.settled(t, id, r.ok, r.bad)
				require.Equal(t, []float64{-1, 1}, got, "run %d: the merchant never hears of the earlier decline", i)
				require.Equal(t, domain.TxnSucceeded, w.status(t, id), "run %d", i)
			}
		})

		t.Run("FailureCreatedAfterDeliveredFirst", func(t *testing.T) {
			for i, r := range race(t, 1300, t0, t0+1, true) {
				id := r.id
				got := w.settled(t, id, r.ok, r.bad)
				require.Equal(t, []float64{-1, 2}, got, "run %d: the older success is old news", i)
				txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
				require.NoError(t, err)
				require.Equal(t, domain.TxnFailed, txn.Status, "run %d", i)
				c, err := s.GetCheckout(ctx, w.tn.Org.ID, txn.CheckoutID)
				require.NoError(t, err)
				require.Equal(t, domain.CheckoutOpen, c.Status, "run %d: the order can still be paid", i)
			}
		})

		t.Run("FailureCreatedAfterDeliveredAfter", func(t *testing.T) {
			for i, r := range race(t, 1400, t0, t0+1, false) {
				id := r.id
				got := w.settled(t, id, r.ok, r.bad)
				// Whether the success was applied before the newer failure arrived or not, the
				// merchant's last word is the failure, and it never hears "succeeded" twice.
				require.Contains(t, [][]float64{{-1, 1, 2}, {-1, 2}}, got, "run %d", i)
				txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
				require.NoError(t, err)
				require.Equal(t, domain.TxnFailed, txn.Status, "run %d", i)
				c, err := s.GetCheckout(ctx, w.tn.Org.ID, txn.CheckoutID)
				require.NoError(t, err)
				require.NotEqual(t, domain.CheckoutCompleted, c.Status, "run %d: a failed payment does not complete the order", i)
			}
		})
	})
}

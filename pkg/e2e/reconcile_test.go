package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/gcapi"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/stripemock"
)

// ipnStatusesFor returns the statuses the merchant accepted for a transaction, in order.
func (m *wooMerchant) ipnStatusesFor(id string) []float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []float64
	for _, p := range m.accepted {
		if p["id"] == id {
			out = append(out, p["status"].(float64))
		}
	}
	return out
}

// TestStripeReconciliationRotatesThroughOpenAttempts: more attempts stay open than one run looks
// at. Each run takes those looked at longest ago, so the abandoned oldest ones do not starve the
// newest, whose payment (with its webhook lost) is found within ceil(open/batch) runs.
func TestStripeReconciliationRotatesThroughOpenAttempts(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
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

		changed := map[string]time.Time{}
		for _, id := range ids {
			txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
			require.NoError(t, err)
			changed[id] = txn.UpdatedAt
		}

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
			txn, err := s.GetTransaction(ctx, w.tn.Org.ID, id)
			require.NoError(t, err)
			require.Equal(t, domain.TxnInitiated, txn.Status, "an unpaid attempt stays open")
			require.True(t, changed[id].Equal(txn.UpdatedAt), "being looked at is not a change: updatedAt stays %s (now %s)", changed[id], txn.UpdatedAt)
		}
		// The paid one has left the queue; the rotation goes on where it stopped.
		require.Equal(t, []int{2, 3, 4}, run())
		require.Equal(t, []int{5, 0, 1}, run())
	})
}

// TestStripeUnpaidIntentIsNotAFailure: a PaymentIntent that is still requires_payment_method
// without a last_payment_error (or with one that names no code) is an attempt nobody has paid yet, whether Stripe is asked or
// an event says so: the transaction stays open, with no failure and no notification. With a
// last_payment_error it fails with Stripe's own code and message; card_declined is never made up.
func TestStripeUnpaidIntentIsNotAFailure(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newStripeWorld(t, s)
		org := w.tn.Org.ID
		unpaid, piU := w.pay(t, 1200)
		declined, piD := w.pay(t, 1300)
		unauthenticated, piA := w.pay(t, 1400)
		bare, piB := w.pay(t, 1500)
		w.stripe.SetPaymentIntent(piU, "requires_payment_method", "", 1200, "EUR")
		w.stripe.FailPaymentIntent(piD, stripemock.PaymentError{Code: "card_declined", DeclineCode: "expired_card", Message: "Your card has expired."})
		w.stripe.FailPaymentIntent(piA, stripemock.PaymentError{Code: "payment_intent_authentication_failure",
			Message: "We are unable to authenticate your payment method."})
		// Every attempt's creation is notified (-1) before anything else happens.
		for _, id := range []string{unpaid, declined, unauthenticated, bare} {
			require.Eventually(t, func() bool { return slices.Equal(w.merchant.ipnStatusesFor(id), []float64{-1}) }, 15*time.Second, 10*time.Millisecond)
		}
		eventsOf := func(id string) []string {
			evs, err := s.ListTransactionEvents(ctx, org, id)
			require.NoError(t, err)
			var out []string
			for _, e := range evs {
				out = append(out, e.ID+" "+e.Type)
			}
			return out
		}
		before := eventsOf(unpaid)
		beforeBare := eventsOf(bare)

		// Reconciliation asks Stripe about all four. bare's PaymentIntent is stripe-mock's own:
		// requires_payment_method with a last_payment_error that names no code (only a type,
		// idempotency_error): it reports no decline either.
		asked, err := stripeProcessor(t, w).Reconcile(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, 4, asked)

		d, err := s.GetTransaction(ctx, org, declined)
		require.NoError(t, err)
		require.Equal(t, domain.TxnFailed, d.Status)
		require.Equal(t, "expired_card", d.FailureCode, "Stripe's decline code")
		require.Equal(t, "Your card has expired.", d.FailureMessage)
		a, err := s.GetTransaction(ctx, org, unauthenticated)
		require.NoError(t, err)
		require.Equal(t, domain.TxnFailed, a.Status)
		require.Equal(t, "payment_intent_authentication_failure", a.FailureCode, "Stripe's error code when there is no decline code")

		// A payment_intent.payment_failed event whose PaymentIntent reports no attempt either.
		obj := map[string]any{"id": piB, "object": "payment_intent", "status": "requires_payment_method", "amount": 1500, "currency": "eur",
			"last_payment_error": nil, "metadata": map[string]string{"transaction_id": bare}}
		evID := "evt_nolpe_" + domain.RandomString(8)
		ev := stripemock.Event(evID, "payment_intent.payment_failed", obj)
		require.Equal(t, http.StatusOK, w.hook(t, ev, stripemock.Sign(ev, stripeHookSecret, 0)).Status)
		require.Eventually(t, func() bool {
			evs, err := s.ListProviderEvents(ctx, org, w.provider.ID, 100)
			require.NoError(t, err)
			for _, e := range evs {
				if e.ExternalID == evID {
					return e.Status == domain.ProviderEventProcessed
				}
			}
			return false
		}, 15*time.Second, 10*time.Millisecond, "the event is applied")

		// The declined attempts are notified as failed (2) ...
		for _, id := range []string{declined, unauthenticated} {
			require.Eventually(t, func() bool { return slices.Equal(w.merchant.ipnStatusesFor(id), []float64{-1, 2}) }, 15*time.Second, 10*time.Millisecond,
				"%s: %v", id, w.merchant.ipnStatusesFor(id))
		}
		// ... the unpaid ones are untouched: open, no failure, no new event, so nothing to notify.
		for id, was := range map[string][]string{unpaid: before, bare: beforeBare} {
			txn, err := s.GetTransaction(ctx, org, id)
			require.NoError(t, err)
			require.Equal(t, domain.TxnInitiated, txn.Status, id)
			require.Empty(t, txn.FailureCode, id)
			require.Empty(t, txn.FailureMessage, id)
			require.Equal(t, was, eventsOf(id), "no status change recorded for %s", id)
			dl, err := s.ListIPNDeliveries(ctx, org, id)
			require.NoError(t, err)
			require.Len(t, dl, 1, "only the creation's notification for %s", id)
			require.Equal(t, []float64{-1}, w.merchant.ipnStatusesFor(id))
			c, err := s.GetCheckout(ctx, org, txn.CheckoutID)
			require.NoError(t, err)
			require.Equal(t, domain.CheckoutOpen, c.Status)
		}
	})
}

// TestSignedMalformedWebhooksAre400Malformed: the signature is checked first; a correctly signed
// body that is not a well-formed event is a 400 that says "malformed" (MALFORMED_EVENT), not
// "invalid signature", while a wrong signature keeps its answer (Stripe 400, GoCardless 498).
func TestSignedMalformedWebhooksAre400Malformed(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		requireMalformed := func(t *testing.T, res *apptest.Response) {
			t.Helper()
			require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
			b := res.JSON(t)
			require.Equal(t, "MALFORMED_EVENT", b["code"], string(res.Body))
			require.Contains(t, b["error"], "malformed")
			require.Contains(t, b["message"], "malformed")
			require.NotContains(t, string(res.Body), "signature")
		}
		requireBadSignature := func(t *testing.T, res *apptest.Response, status int) {
			t.Helper()
			require.Equal(t, status, res.Status, string(res.Body))
			require.Equal(t, map[string]any{"error": "invalid signature"}, res.JSON(t))
		}

		t.Run("Stripe", func(t *testing.T) {
			w := newStripeWorld(t, s)
			_, pi := w.pay(t, 2000)
			for name, body := range map[string][]byte{
				"NotJSON":              []byte(`this is not an event`),
				"NotAnObject":          []byte(`["evt_1"]`),
				"NoType":               []byte(`{"id":"evt_malformed_1","object":"event","data":{"object":{"id":"` + pi + `","object":"payment_intent"}}}`),
				"NoID":                 []byte(`{"object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"` + pi + `","object":"payment_intent"}}}`),
				"NoDataObject":         []byte(`{"id":"evt_malformed_2","object":"event","type":"payment_intent.succeeded","data":{}}`),
				"ObjectIsAString":      []byte(`{"id":"evt_malformed_3","object":"event","type":"payment_intent.succeeded","data":{"object":"` + pi + `"}}`),
				"WrongFieldType":       []byte(`{"id":"evt_malformed_4","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"` + pi + `","object":"payment_intent","status":"succeeded","amount":"lots"}}}`),
				"PaymentIntentWithout": []byte(`{"id":"evt_malformed_5","object":"event","type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent","status":"succeeded"}}}`),
			} {
				t.Run(name, func(t *testing.T) {
					requireMalformed(t, w.hook(t, body, stripemock.Sign(body, stripeHookSecret, 0)))
					requireBadSignature(t, w.hook(t, body, stripemock.Sign(body, "whsec_wrong", 0)), http.StatusBadRequest)
				})
			}
			evs, err := s.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 100)
			require.NoError(t, err)
			require.Empty(t, evs, "nothing stored")
			// A well-formed event still goes through.
			ok := stripemock.Event("evt_fine_"+domain.RandomString(8), "customer.created", map[string]any{"id": "cus_1", "object": "customer"})
			require.Equal(t, http.StatusOK, w.hook(t, ok, stripemock.Sign(ok, stripeHookSecret, 0)).Status)
		})

		t.Run("GoCardless", func(t *testing.T) {
			w := newGCWorld(t, s)
			post := func(body []byte, sig string) *apptest.Response {
				return apptest.Do(t, http.MethodPost, w.env.MainURL+"/hooks/gocardless/"+w.provider.ID, "", body, gcapi.WebhookSignatureHeader, sig)
			}
			for name, body := range map[string][]byte{
				"NotJSON":      []byte(`this is not a batch`),
				"NotABatch":    []byte(`["not", "a", "batch"]`),
				"NoEvents":     []byte(`{"meta":{"webhook_id":"WB0001"}}`),
				"EventsIsNull": []byte(`{"events":null,"meta":{"webhook_id":"WB0002"}}`),
				"NoAction":     []byte(`{"events":[{"id":"EV0001","resource_type":"payments","links":{"payment":"PM0001"}}],"meta":{"webhook_id":"WB0003"}}`),
				"NoID":         []byte(`{"events":[{"resource_type":"payments","action":"confirmed","links":{"payment":"PM0001"}}],"meta":{"webhook_id":"WB0004"}}`),
				"BadTime":      []byte(`{"events":[{"id":"EV0002","created_at":"yesterday","resource_type":"payments","action":"confirmed"}],"meta":{"webhook_id":"WB0005"}}`),
			} {
				t.Run(name, func(t *testing.T) {
					requireMalformed(t, post(body, gcapi.SignWebhook(body, gcHookSecret)))
					requireBadSignature(t, post(body, gcapi.SignWebhook(body, "another_secret")), 498)
				})
			}
			evs, err := s.ListProviderEvents(ctx, w.tn.Org.ID, w.provider.ID, 100)
			require.NoError(t, err)
			require.Empty(t, evs, "nothing stored")
			fine := []byte(`{"events":[],"meta":{"webhook_id":"WB0006"}}`)
			require.Equal(t, http.StatusNoContent, post(fine, gcapi.SignWebhook(fine, gcHookSecret)).Status, "an empty batch is well-formed")
		})
	})
}

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/gcapi"
	"paygate.dev/pkg/gcapi/gcfake"
	"paygate.dev/pkg/providers/gocardless"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestGoCardlessConcurrentPartialRefunds sends ten partial refunds of one GoCardless payment at
// once over the Admin API, six times: GoCardless (the fake enforces total_amount_confirmation =
// every refund of the payment including this one) accepts all ten every time, because refund
// calls of one payment reach it one at a time, each with the running total it expects. The
// eleventh, which would exceed the payment, is refused before reaching GoCardless.
func TestGoCardlessConcurrentPartialRefunds(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		// GoCardless's network: calls sent at the same time may arrive in any order.
		w := newGCWorld(t, s, gcfake.WithJitter(20*time.Millisecond))
		for run := 1; run <= 6; run++ {
			t.Run(fmt.Sprintf("Run%d", run), func(t *testing.T) {
				id, pm := w.pay(t, 10000)
				w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm)
				w.waitStatus(t, id, domain.TxnSucceeded)
				gross := w.txn(t, id).GrossAmount
				amount := gross / 11
				url := w.env.AdminURL + "/api/v1/transactions/" + id + "/refunds"

				answers := make([]*apptest.Response, 10)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range answers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						answers[i] = apptest.Do(t, http.MethodPost, url, w.tn.TestKey, map[string]any{"amount": amount, "reason": fmt.Sprintf("part %d", i+1)})
					}()
				}
				close(start)
				wg.Wait()
				for i, a := range answers {
					require.Equal(t, http.StatusCreated, a.Status, "refund %d: %s", i+1, a.Body)
					v := a.JSON(t)
					require.Regexp(t, `^RF`, v["providerReference"], "refund %d was accepted by GoCardless", i+1)
					require.Equal(t, "pending", v["status"])
				}

				// What GoCardless saw for this payment: ten creates, running totals strictly increasing.
				var totals []int64
				for _, r := range w.gc.RequestsTo(http.MethodPost, "/refunds") {
					var raw map[string]map[string]any
					require.NoError(t, json.Unmarshal(r.Body, &raw))
					if raw["refunds"]["links"].(map[string]any)["payment"] != pm {
						continue
					}
					require.Equal(t, float64(amount), raw["refunds"]["amount"])
					totals = append(totals, int64(raw["refunds"]["total_amount_confirmation"].(float64)))
				}
				require.Len(t, totals, 10, "one call per refund, none refused and retried")
				for i, total := range totals {
					require.Equal(t, int64(i+1)*amount, total, "call %d carries the running total (all: %v)", i+1, totals)
				}
				p, ok := w.gc.Payment(pm)
				require.True(t, ok)
				require.Equal(t, 10*amount, p.AmountRefunded)
				require.LessOrEqual(t, p.AmountRefunded, gross)

				list, err := s.ListRefunds(ctx, w.tn.Org.ID, id)
				require.NoError(t, err)
				var promised int64
				for _, r := range list {
					require.Equal(t, domain.RefundPending, r.Status, "accepted, waiting to be paid")
					require.NotNil(t, r.ProviderReference)
					promised += r.Amount
				}
				require.Equal(t, 10*amount, promised)

				over := apptest.Do(t, http.MethodPost, url, w.tn.TestKey, map[string]any{"amount": gross - 10*amount + 1})
				require.Equal(t, http.StatusUnprocessableEntity, over.Status, string(over.Body))
				require.Equal(t, domain.CodeRefundExceedsBalance, over.JSON(t)["code"])
				require.Len(t, w.gc.RequestsTo(http.MethodPost, "/refunds"), len(totals)+countOtherRefundCalls(t, w, pm), "the refused refund never reached GoCardless")

				// The rest is refundable and completes the running total.
				rest := apptest.Do(t, http.MethodPost, url, w.tn.TestKey, map[string]any{})
				require.Equal(t, http.StatusCreated, rest.Status, string(rest.Body))
				p, _ = w.gc.Payment(pm)
				require.Equal(t, gross, p.AmountRefunded)
			})
		}
	})
}

// countOtherRefundCalls counts refund creates for other payments than pm.
func countOtherRefundCalls(t *testing.T, w *gcWorld, pm string) int {
	n := 0
	for _, r := range w.gc.RequestsTo(http.MethodPost, "/refunds") {
		var raw map[string]map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &raw))
		if raw["refunds"]["links"].(map[string]any)["payment"] != pm {
			n++
		}
	}
	return n
}

// TestDuplicatePaymentIsRefundable pays one checkout twice (a wire transfer the operator marks
// paid, and a direct debit GoCardless confirms after that): the second payment is recorded as a
// paid duplicate, the Admin API shows it as such and refunds it in full through GoCardless, and
// the merchant is told only about the first payment: nothing about the duplicate's success or
// refund reaches it.
func TestDuplicatePaymentIsRefundable(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		co := w.checkout(t, 4200, "EUR")
		buyer := map[string]any{"name": "Jane Doe", "email": "jane@example.com", "line1": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115", "country": "DE"}

		// Two tabs: a wire transfer and a direct debit of the same checkout.
		res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": w.tn.Provider.ID, "billingAddress": buyer})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		wireID := res.JSON(t)["transactionId"].(string)
		br := w.billingRequest(t, co)
		require.Equal(t, http.StatusOK, br.Status, string(br.Body))
		dupID := br.JSON(t)["transactionId"].(string)
		w.authorise(t, br.JSON(t)["authorisationUrl"].(string))
		w.markPending(t, dupID)
		w.waitIPNsFor(t, dupID, -1, 0)
		w.waitIPNsFor(t, wireID, -1, 0)

		// The transfer arrives first: it pays the order.
		paid := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/transactions/"+wireID+"/mark-paid", w.tn.TestKey, map[string]any{"note": "bank statement"})
		require.Equal(t, http.StatusOK, paid.Status, string(paid.Body))
		w.waitIPNsFor(t, wireID, -1, 0, 1)

		// Then GoCardless collects the direct debit too.
		pm := w.txn(t, dupID).ProviderData[gocardless.DataPayment]
		if pm == nil {
			b, ok := w.gc.BillingRequest(*w.txn(t, dupID).ProviderReference)
			require.True(t, ok)
			pm = b.Links.PaymentRequestPayment
		}
		w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm.(string))
		w.waitStatus(t, dupID, domain.TxnSucceeded)
		dup := w.txn(t, dupID)
		require.True(t, dup.Duplicate)
		require.Equal(t, "duplicate_payment", dup.FailureCode)
		require.Equal(t, domain.TxnSucceeded, w.status(t, wireID), "the first payment stays the order's payment")
		require.False(t, w.txn(t, wireID).Duplicate)

		view := apptest.Do(t, http.MethodGet, w.env.AdminURL+"/api/v1/transactions/"+dupID, w.tn.TestKey, nil)
		require.Equal(t, http.StatusOK, view.Status, string(view.Body))
		v := view.JSON(t)
		require.Equal(t, true, v["duplicate"])
		require.Equal(t, "succeeded", v["status"])
		require.Equal(t, "duplicate_payment", v["failureCode"])
		require.NotContains(t, v, "ipnStatus", "no notification is sent for it")
		first := apptest.Do(t, http.MethodGet, w.env.AdminURL+"/api/v1/transactions/"+wireID, w.tn.TestKey, nil).JSON(t)
		require.Equal(t, false, first["duplicate"])
		require.Equal(t, float64(1), first["ipnStatus"])

		// Refunded in full through GoCardless.
		refund := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/transactions/"+dupID+"/refunds", w.tn.TestKey, map[string]any{"reason": "duplicate"})
		require.Equal(t, http.StatusCreated, refund.Status, string(refund.Body))
		rv := refund.JSON(t)
		require.Equal(t, float64(dup.GrossAmount), rv["amount"])
		require.Regexp(t, `^RF`, rv["providerReference"])
		calls := w.gc.RequestsTo(http.MethodPost, "/refunds")
		require.Len(t, calls, 1)
		var sent map[string]map[string]any
		require.NoError(t, json.Unmarshal(calls[0].Body, &sent))
		require.Equal(t, pm, sent["refunds"]["links"].(map[string]any)["payment"])
		require.Equal(t, float64(dup.GrossAmount), sent["refunds"]["total_amount_confirmation"])
		w.deliver(t)
		w.simulate(t, gcfake.ScenarioRefundPaid, rv["providerReference"].(string))
		w.waitStatus(t, dupID, domain.TxnRefunded)
		require.Equal(t, dup.GrossAmount, w.txn(t, dupID).RefundedAmount)
		require.True(t, w.txn(t, dupID).Duplicate)
		again := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/transactions/"+dupID+"/refunds", w.tn.TestKey, map[string]any{})
		require.Equal(t, http.StatusConflict, again.Status, "refunded in full: nothing left")

		// Every event of both attempts has been through the dispatcher: the merchant was told
		// about the first payment only; the duplicate's success and refund made no notification.
		require.Eventually(t, func() bool {
			for _, id := range []string{wireID, dupID} {
				evs, err := s.ListTransactionEvents(ctx, w.tn.Org.ID, id)
				require.NoError(t, err)
				for _, e := range evs {
					if e.DispatchedAt == nil {
						return false
					}
				}
			}
			return true
		}, 30*time.Second, 10*time.Millisecond, "outbox dispatched")
		deliveries, err := s.ListIPNDeliveries(ctx, w.tn.Org.ID, dupID)
		require.NoError(t, err)
		require.Len(t, deliveries, 2, "only the attempt's own initiated and pending, from before it took the money")
		w.waitIPNsFor(t, dupID, -1, 0)
		w.waitIPNsFor(t, wireID, -1, 0, 1)
		require.Equal(t, domain.TxnSucceeded, w.status(t, wireID))
		chk, err := s.GetCheckout(ctx, w.tn.Org.ID, dup.CheckoutID)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutCompleted, chk.Status)
	})
}

// TestInterruptedRefundsAreResumed: refunds whose request ended before GoCardless accepted them
// (the process died before the call, or after GoCardless made the refund but before its answer
// was recorded) stay queued; ResumeRefunds (the refunds.resume job) sends them again with their
// own idempotency keys: the one never sent is made, the one already made is not made twice, and
// the running total of the next refund is right.
func TestInterruptedRefundsAreResumed(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		id, pm := w.pay(t, 10000)
		w.simulate(t, gcfake.ScenarioPaymentConfirmed, pm)
		w.waitStatus(t, id, domain.TxnSucceeded)
		txn := w.txn(t, id)
		queued := func(amount int64) *domain.Refund {
			r := &domain.Refund{ID: domain.NewID(domain.PrefixRefund), OrganizationID: txn.OrganizationID, TransactionID: id, Amount: amount,
				Currency: txn.Currency, Status: domain.RefundPending, Source: "api", CreatedBy: "test"}
			require.NoError(t, s.CreateRefund(ctx, r)) // allocated as Refund does, then the process died
			return r
		}
		made := queued(1000)
		// GoCardless made this one: the call went out, the answer was lost with the process.
		cl, err := gcapi.New(gcapi.Config{AccessToken: w.gc.AccessToken(), Environment: "sandbox", BaseURL: w.gc.URL()})
		require.NoError(t, err)
		_, err = cl.CreateRefund(ctx, gcapi.RefundCreate{Amount: 1000, TotalAmountConfirmation: 1000, PaymentID: pm,
			Metadata: map[string]string{"refund_id": made.ID, "transaction_id": id}}, "refund:"+made.ID)
		require.NoError(t, err)
		never := queued(2000)

		n, err := w.env.Services().Payment.ResumeRefunds(ctx, 0)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		for _, r := range []*domain.Refund{made, never} {
			got, err := s.GetRefund(ctx, txn.OrganizationID, r.ID)
			require.NoError(t, err)
			require.Equal(t, domain.RefundPending, got.Status)
			require.NotNil(t, got.ProviderReference, "accepted by GoCardless")
		}
		p, _ := w.gc.Payment(pm)
		require.Equal(t, int64(3000), p.AmountRefunded, "the refund GoCardless had made was not made again")

		next := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/transactions/"+id+"/refunds", w.tn.TestKey, map[string]any{"amount": 500})
		require.Equal(t, http.StatusCreated, next.Status, string(next.Body))
		p, _ = w.gc.Payment(pm)
		require.Equal(t, int64(3500), p.AmountRefunded)
		n, err = w.env.Services().Payment.ResumeRefunds(ctx, 0)
		require.NoError(t, err)
		require.Zero(t, n, "nothing left queued")
	})
}

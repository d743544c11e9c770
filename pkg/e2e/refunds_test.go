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
	"paygate.dev/pkg/gocardless/gcfake"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestGoCardlessConcurrentPartialRefunds sends ten partial refunds of one GoCardless payment at
// once over the Admin API, six times: GoCardless (the fake enforces total_amount_confirmation =
// every refund of the payment including this one) accepts all ten every time, because refund
// calls of one payment reach it one at a time, each with the running total it expects. The
// eleventh, which would exceed the payment, is refused before reaching GoCardless.
func TestGoCardlessConcurrentPartialRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
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

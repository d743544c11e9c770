package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// The buyer's runtime calls cannot move a payment the provider is processing, nor claim a
// payment the provider has not seen.
func TestRuntimeGuardsAgainstBuyerClaims(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)

		t.Run("MarkPendingAsksTheProvider", func(t *testing.T) {
			id, _ := w.start(t, 1500)
			res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/"+id+"/mark-pending", "", nil)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.Equal(t, "initiated", res.JSON(t)["status"], "not authorised at GoCardless: the buyer's word moves nothing")
			require.Equal(t, domain.TxnInitiated, w.status(t, id))
		})
		t.Run("AnAuthorisedPaymentCannotBeCancelledByTheBuyer", func(t *testing.T) {
			id, authURL := w.start(t, 1600)
			w.authorise(t, authURL)
			w.markPending(t, id)
			res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/"+id+"/cancel", "", nil)
			require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
			require.Equal(t, "PAYMENT_IN_PROGRESS", res.JSON(t)["code"])
			require.Equal(t, domain.TxnPendingProvider, w.status(t, id))
		})
		t.Run("PayingAgainWhileTheProviderProcessesIs409", func(t *testing.T) {
			co := w.checkout(t, 1700, "GBP")
			res := w.billingRequest(t, co)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			b := res.JSON(t)
			w.authorise(t, b["authorisationUrl"].(string))
			w.markPending(t, b["transactionId"].(string))
			again := w.billingRequest(t, co)
			require.Equal(t, http.StatusConflict, again.Status, string(again.Body))
			require.Equal(t, "PAYMENT_IN_PROGRESS", again.JSON(t)["code"])
		})
		t.Run("AnUnsentWireTransferCanBeAbandoned", func(t *testing.T) {
			co := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
				"amount": 900, "currency": "EUR", "externalReference": "guard-wire"}).JSON(t)
			res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
				"sessionPublicId": co["sessionPublicId"], "providerId": w.tn.Provider.ID, "billingAddress": map[string]any{}})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			id := res.JSON(t)["transactionId"].(string)
			require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/"+id+"/cancel", "", nil).Status)
			res = apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
				"sessionPublicId": co["sessionPublicId"], "providerId": w.tn.Provider.ID, "billingAddress": map[string]any{}})
			id2 := res.JSON(t)["transactionId"].(string)
			require.NotEqual(t, id, id2)
			require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/"+id2+"/mark-pending", "", nil).Status)
			res = apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/"+id2+"/cancel", "", nil)
			require.Equal(t, http.StatusConflict, res.Status, "once the buyer says the transfer is sent, it stays")
		})
	})
}

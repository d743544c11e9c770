package runtimesrv_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// paidWire pays a checkout by wire transfer and returns the transaction id.
func paidWire(t *testing.T, env *apptest.Env, tn *apptest.Tenant) string {
	t.Helper()
	co := wooCheckout(t, env, tn, nil)
	res := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
		"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID, "billingAddress": map[string]any{"country": "DE"}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	id := res.JSON(t)["transactionId"].(string)
	require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+id+"/mark-paid", tn.TestKey, nil).Status)
	return id
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t)
		id := paidWire(t, env, tn)
		url := env.AdminURL + "/api/v1/transactions/" + id + "/refunds"

		part := apptest.Do(t, http.MethodPost, url, tn.TestKey, map[string]any{"amount": 1900, "reason": "damaged"})
		require.Equal(t, http.StatusCreated, part.Status, string(part.Body))
		pv := part.JSON(t)
		require.Equal(t, "succeeded", pv["status"])
		require.Equal(t, true, pv["manual"], "wire refunds are manual")
		txn := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/transactions/"+id, tn.TestKey, nil).JSON(t)
		require.Equal(t, "partially_refunded", txn["status"])
		require.EqualValues(t, 1900, txn["refundedAmount"])

		over := apptest.Do(t, http.MethodPost, url, tn.TestKey, map[string]any{"amount": 10001})
		require.Equal(t, http.StatusUnprocessableEntity, over.Status)
		require.Equal(t, "REFUND_EXCEEDS_BALANCE", over.JSON(t)["code"])
		require.Equal(t, http.StatusBadRequest, apptest.Do(t, http.MethodPost, url, tn.TestKey, map[string]any{"amount": 0}).Status)

		rest := apptest.Do(t, http.MethodPost, url, tn.TestKey, map[string]any{})
		require.Equal(t, http.StatusCreated, rest.Status, string(rest.Body))
		require.EqualValues(t, 10000, rest.JSON(t)["amount"], "no amount refunds what is left")
		txn = apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/transactions/"+id, tn.TestKey, nil).JSON(t)
		require.Equal(t, "refunded", txn["status"])
		require.EqualValues(t, 3, txn["ipnStatus"])
		require.Len(t, txn["refunds"], 2)
		again := apptest.Do(t, http.MethodPost, url, tn.TestKey, map[string]any{})
		require.Equal(t, http.StatusConflict, again.Status, "a fully refunded payment takes no more refunds")

		list := apptest.Do(t, http.MethodGet, url, tn.TestKey, nil).JSON(t)
		require.Len(t, list["data"], 2)
	})
}

func TestConcurrentRefundsNeverExceedTheCapturedAmount(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t)
		id := paidWire(t, env, tn) // 11900
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+id+"/refunds", tn.TestKey, map[string]any{"amount": 5000})
			}()
		}
		wg.Wait()
		refunds, err := s.ListRefunds(ctx, tn.Org.ID, id)
		require.NoError(t, err)
		var total int64
		for _, r := range refunds {
			if r.Status == domain.RefundSucceeded {
				total += r.Amount
			}
		}
		require.Equal(t, int64(10000), total, "two of ten refunds of 50.00 fit in 119.00")
		txn, err := s.GetTransaction(ctx, tn.Org.ID, id)
		require.NoError(t, err)
		require.Equal(t, int64(10000), txn.RefundedAmount)
	})
}

package adminapi_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestExportsOverHTTP(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		svc := env.Services()
		var ids []string
		for i, ref := range []string{"=cmd|' /C calc'!A0", "plain-order", "@import"} {
			c, err := svc.Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{Amount: int64(1000 + i), Currency: "EUR",
				Email: "export.buyer@example.com", ExternalReference: ref, Mode: domain.ModeTest})
			require.NoError(t, err)
			ids = append(ids, c.ID)
			txn := storetest.Transaction(t, s, c, tn.Provider)
			require.NotEmpty(t, txn.ID)
		}
		res := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/exports/checkouts?q=export.buyer", tn.TestKey, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
		require.Contains(t, res.Header.Get("Content-Disposition"), `filename="checkouts.csv"`)
		rows, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 4)
		require.Equal(t, []string{ids[2], ids[1], ids[0]}, []string{rows[1][0], rows[2][0], rows[3][0]}, "newest first")
		require.Equal(t, "10.02", rows[1][5])
		require.Equal(t, "EUR", rows[1][6])
		require.Equal(t, "'@import", rows[1][9], "no formula reaches a spreadsheet")
		require.Equal(t, "'=cmd|' /C calc'!A0", rows[3][9])

		res = apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/exports/transactions?checkoutId="+ids[1], tn.TestKey, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		rows, err = csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 2)
		require.Equal(t, ids[1], rows[1][4])

		res = apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/exports/refunds", tn.TestKey, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.True(t, strings.HasPrefix(string(res.Body), "id,created_at,status,transaction_id,amount,currency"))

		live := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/exports/checkouts", tn.LiveKey, nil)
		require.Equal(t, http.StatusOK, live.Status)
		for _, id := range ids {
			require.NotContains(t, string(live.Body), id, "a live key exports no test checkout")
		}
		_, reader, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "reader", Mode: "test", Scopes: []string{"checkout:read"}})
		require.NoError(t, err)
		denied := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/exports/checkouts", reader, nil)
		require.Equal(t, http.StatusForbidden, denied.Status)
		require.Equal(t, domain.CodeInsufficientScope, denied.JSON(t)["code"])
		bad := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/exports/checkouts?createdFrom=yesterday", tn.TestKey, nil)
		require.Equal(t, http.StatusBadRequest, bad.Status, "a bad filter is an error before any byte of CSV")
	})
}

package runtimesrv_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// The hosted page sends its language with the start of a payment; the attempt records it (the
// buyer's receipt speaks it), and anything but a language tag is ignored.
func TestCreateTransactionRecordsThePageLanguage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t)
		for _, tc := range []struct{ sent, stored string }{{"pt-BR", "pt-BR"}, {"<script>", ""}} {
			co := wooCheckout(t, env, tn, nil)
			create := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
				"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID, "language": tc.sent,
				"billingAddress": map[string]any{"name": "Jane Doe", "email": "jane@example.com", "country": "DE"}})
			require.Equal(t, http.StatusOK, create.Status, string(create.Body))
			txn, err := s.GetTransaction(context.Background(), tn.Org.ID, create.JSON(t)["transactionId"].(string))
			require.NoError(t, err)
			require.Equal(t, tc.stored, txn.Language, "sent %q", tc.sent)
		}
	})
}

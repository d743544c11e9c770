package e2e

import (
	"net/http"
	"path"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// buyerStrings are the personal data of the buyer seeded by privateCheckout.
var buyerStrings = []string{"grace.hopper@example.org", "Grace", "Hopper", "Navy Yard 1", "Arlington", "22201",
	"+1 555 0100", "Shipping Lane 9", "Brewster", "DE811907980"}

func privateCheckout(t *testing.T, env *apptest.Env, tn *apptest.Tenant) map[string]any {
	t.Helper()
	res := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
		"amount": 2500, "currency": "EUR", "email": "grace.hopper@example.org", "externalReference": "pii-1",
		"billingAddress": map[string]any{"firstName": "Grace", "lastName": "Hopper", "address1": "Navy Yard 1", "city": "Arlington",
			"postcode": "22201", "country": "DE", "phone": "+1 555 0100", "vatId": "DE811907980"},
		"shippingAddress": map[string]any{"firstName": "Grace", "lastName": "Hopper", "address1": "Shipping Lane 9", "city": "Brewster",
			"postcode": "22201", "country": "DE"}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON(t)
}

// The sessionPublicId travels in every IPN (and so in merchants' logs): what it opens shows no
// personal data of the buyer. The short code (the payment link) still does.
func TestBuyerDataOnlyByShortCode(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{})
		tn := env.NewTenant(t)
		co := privateCheckout(t, env, tn)
		session, code := co["sessionPublicId"].(string), co["shortCode"].(string)

		t.Run("RuntimeCheckoutBySession", func(t *testing.T) {
			res := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+session, "", nil)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			for _, pii := range buyerStrings {
				require.NotContains(t, string(res.Body), pii)
			}
			require.NotContains(t, string(res.Body), code, "nor the short code that would show it")
			require.Equal(t, session, res.JSON(t)["sessionPublicId"])
		})
		t.Run("RuntimeCheckoutByShortCode", func(t *testing.T) {
			res := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+code, "", nil)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			for _, pii := range buyerStrings {
				require.Contains(t, string(res.Body), pii)
			}
		})
		t.Run("TransactionStatusBySessionAttempt", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
				"sessionPublicId": session, "providerId": tn.Provider.ID, "billingAddress": map[string]any{}})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			for _, pii := range buyerStrings {
				require.NotContains(t, string(res.Body), pii)
			}
			id := res.JSON(t)["transactionId"].(string)
			st := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/transactions/"+id+"/status", "", nil)
			require.Equal(t, http.StatusOK, st.Status, string(st.Body))
			for _, pii := range buyerStrings {
				require.NotContains(t, string(st.Body), pii)
			}
			again := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+session, "", nil)
			require.Equal(t, id, again.JSON(t)["transaction"].(map[string]any)["transactionId"], "the attempt shows, still without the buyer")
			for _, pii := range buyerStrings {
				require.NotContains(t, string(again.Body), pii)
			}
		})
		t.Run("HostedPageBySessionIs404", func(t *testing.T) {
			res := apptest.Do(t, http.MethodGet, env.FrontendURL+"/checkout/"+session, "", nil)
			require.Equal(t, http.StatusNotFound, res.Status)
			for _, pii := range buyerStrings {
				require.NotContains(t, string(res.Body), pii)
			}
			page := apptest.Do(t, http.MethodGet, env.FrontendURL+"/checkout/"+code, "", nil)
			require.Equal(t, http.StatusOK, page.Status)
			require.Contains(t, string(page.Body), "grace.hopper@example.org", "the payment link prefills the form")
		})
	})
}

// Starting a GoCardless payment with the sessionPublicId alone forwards none of the stored buyer
// details to GoCardless's prefilled page; the hosted page, which sends the short code too, does.
func TestProviderPrefillNeedsTheShortCode(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		flowOf := func(t *testing.T, extra ...string) map[string]any {
			co := w.checkout(t, 1800, "GBP") // e-mail buyer@example.com
			body := map[string]any{"sessionPublicId": co["sessionPublicId"], "providerId": w.provider.ID, "billingAddress": map[string]any{}}
			for i := 0; i+1 < len(extra); i += 2 {
				body[extra[i]] = co[extra[i+1]]
			}
			res := apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/billing-requests/create", "", body)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			return res.JSON(t)
		}
		b := flowOf(t)
		flow, ok := w.gc.BillingRequestFlow(path.Base(b["authorisationUrl"].(string)))
		require.True(t, ok)
		if flow.PrefilledCustomer != nil {
			require.Empty(t, flow.PrefilledCustomer.Email, "the session id alone forwards no stored e-mail")
		}
		b = flowOf(t, "shortCode", "shortCode")
		flow, ok = w.gc.BillingRequestFlow(path.Base(b["authorisationUrl"].(string)))
		require.True(t, ok)
		require.NotNil(t, flow.PrefilledCustomer)
		require.Equal(t, "buyer@example.com", flow.PrefilledCustomer.Email, "the payment link's holder gets the prefill")
	})
}

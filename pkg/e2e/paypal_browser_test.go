package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestBrowserPayPalPaysEndToEnd: the buyer chooses PayPal on the hosted page, is sent to
// PayPal's approve page, cancels there and is back at the payment methods, chooses PayPal
// again (the same order) (a top-level navigation: nothing of PayPal's runs on our page, so the
// CSP names no PayPal origin), presses "Pay Now", comes back to the hosted page, which asks for
// the outcome (status?sync=1: the approved order is captured), shows it paid and takes the
// buyer to the shop; the shop is told initiated, then paid, once. The hosted page needed no
// change: its generic redirect step and its ?transaction= return serve PayPal as they are.
func TestBrowserPayPalPaysEndToEnd(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newPPWorld(t, s)
		shop := merchant(t)
		m := newWooMerchant(t, w.tn.SiteHook, 0)
		res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
			"amount": 2499, "currency": "EUR", "email": "ada@example.com", "externalReference": "ppb-" + domain.RandomString(6), "language": "en",
			"returnUrl": shop.URL + "/thanks?tx={transactionId}", "cancelUrl": shop.URL + "/cart", "ipnUrl": m.srv.URL + "/ipn",
			"billingAddress": map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "country": "GB"},
			"items":          []map[string]any{{"name": "Garden chair", "quantity": 1, "unitPrice": 2499, "itemType": "physical"}},
		})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		co := res.JSON(t)
		pageURL := co["paymentUrl"].(string)
		csp := apptest.Do(t, http.MethodGet, pageURL, "", nil).Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self';")
		require.NotContains(t, csp, w.pp.URL, "PayPal is a top-level navigation: nothing of theirs runs on the page")

		b := browsertest.New(t)
		b.Navigate(pageURL)
		b.WaitVisible("#pay-form")
		hostedpagetest.FillBilling(t, b, ada)
		payPal := func() {
			b.Eval(`(function(){var r=document.querySelector('input[name=providerId][value="`+w.provider.ID+`"]');r.click();return r.checked})()`, nil)
			b.Click("#pay-btn")
			b.WaitFor(`!!document.getElementById('pp-approve')`, "PayPal's approve page")
		}
		payPal()
		// The buyer cancels at PayPal: back to the payment methods; paying with PayPal again
		// continues the same order.
		b.Click("#pp-cancel")
		b.WaitVisible("#pay-form")
		require.True(t, strings.HasPrefix(b.URL(), pageURL+"?paypal=cancel"), b.URL())
		hostedpagetest.FillBilling(t, b, ada)
		payPal()
		require.Equal(t, 1, w.pp.Calls("POST /v2/checkout/orders"), "one order for the attempt")
		require.True(t, strings.HasPrefix(b.URL(), w.pp.URL+"/checkoutnow?token="), b.URL())
		txns, err := w.env.Store.ListCheckoutTransactions(ctx, w.tn.Org.ID, co["id"].(string))
		require.NoError(t, err)
		require.Len(t, txns, 1)
		id := txns[0].ID
		require.Equal(t, domain.TxnInitiated, txns[0].Status)
		require.Equal(t, "EUR "+w.pp.Order(*txns[0].ProviderReference).PurchaseUnits[0].Amount.Value, b.Text("#pp-amount"),
			"PayPal is asked for the page's gross amount")
		b.Screenshot(t, "e2e-paypal-approve")

		b.Click("#pp-approve")
		back := hostedpagetest.WaitPaidAndReturned(t, b, shop.URL+"/thanks?tx="+id)
		require.Contains(t, back, id)
		txn := w.waitStatus(t, id, domain.TxnSucceeded)
		require.NotNil(t, txn.ProviderPaymentID)
		require.Equal(t, 1, w.pp.Calls("POST /v2/checkout/orders/{id}/capture"))
		ipnsOf(t, m, domain.IPNInitiated, domain.IPNSucceeded)
		requireCleanConsole(t, b)
	})
}

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
	"paygate.dev/pkg/providers/mollie"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestBrowserMolliePaysEndToEnd: the buyer chooses Mollie on the hosted page, is sent to
// Mollie's (fake) checkout, pays there; Mollie calls the webhook and sends the buyer back to
// the hosted page, which shows the payment received and takes the buyer to the shop. The shop
// was told initiated, then paid, once. The hosted page needed no change: a redirect provider
// returning with ?transaction= is handled by the page's generic return.
func TestBrowserMolliePaysEndToEnd(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newMollieWorld(t, s)
		shop := merchant(t)
		m := newWooMerchant(t, w.tn.SiteHook, 0)
		res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
			"amount": 2499, "currency": "EUR", "email": "jan@example.com", "externalReference": "mob-" + domain.RandomString(6), "language": "en",
			"returnUrl": shop.URL + "/thanks?tx={transactionId}", "cancelUrl": shop.URL + "/cart", "ipnUrl": m.srv.URL + "/ipn",
			"items": []map[string]any{{"name": "Garden chair", "quantity": 1, "unitPrice": 2499, "itemType": "physical"}},
		})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		co := res.JSON(t)
		w.merchants[co["id"].(string)] = m
		pageURL := co["paymentUrl"].(string)

		b := browsertest.New(t)
		b.Navigate(pageURL)
		b.WaitVisible("#pay-form")
		hostedpagetest.FillBilling(t, b, hostedpagetest.Buyer{Name: "Jan Jansen", Email: "jan@example.com", Line1: "Damrak 1", PostalCode: "1012 LG",
			City: "Amsterdam", Country: "NL"})
		b.Eval(`(function(){var r=document.querySelector('input[name=providerId][value="`+w.provider.ID+`"]');r.click();return r.checked})()`, nil)
		b.Click("#pay-btn")
		b.WaitFor(`!!document.getElementById('mollie-pay')`, "Mollie's checkout")
		require.True(t, strings.HasPrefix(b.URL(), w.fake.URL()+"/checkout/tr_"), b.URL())
		txns, err := w.env.Store.ListCheckoutTransactions(ctx, w.tn.Org.ID, co["id"].(string))
		require.NoError(t, err)
		require.Len(t, txns, 1)
		id := txns[0].ID
		pm, ok := w.fake.Payment(*txns[0].ProviderReference)
		require.True(t, ok)
		require.Equal(t, pageURL+"?transaction="+id+"&mollie=return", pm.RedirectURL)
		require.Contains(t, b.Text("#mollie-amount"), "EUR "+pm.ValueText())
		b.Screenshot(t, "e2e-mollie-checkout")

		b.Click("#mollie-pay")
		b.WaitVisible("#paid")
		b.WaitLive("Payment received")
		b.Screenshot(t, "e2e-mollie-paid")
		landed := hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?tx="+id)
		require.Equal(t, shop.URL+"/thanks?tx="+id, landed)

		txn := w.txn(t, id)
		require.Equal(t, domain.TxnSucceeded, txn.Status)
		require.Equal(t, pm.ID, *txn.ProviderPaymentID)
		require.Equal(t, mollie.Type, txn.ProviderType)
		w.ipns(t, id, domain.IPNInitiated, domain.IPNSucceeded)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
		requireCleanGCConsole(t, b, w.fake.URL()) // excuses only the fake's /favicon.ico
	})
}

package e2e

import (
	"net/http"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/gcapi/gcfake"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/providers/gocardless"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// shopCheckout creates a checkout as a shop plugin does: one line, the buyer's address, back to
// the shop with the transaction id, and notifications to a merchant that records them.
func (w *gcWorld) shopCheckout(t *testing.T, shop, currency string, billing map[string]any) map[string]any {
	t.Helper()
	m := newWooMerchant(t, w.tn.SiteHook, 0)
	res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
		"amount": 2499, "currency": currency, "email": billing["email"], "externalReference": "gcb-" + domain.RandomString(6), "language": "en",
		"returnUrl": shop + "/thanks?tx={transactionId}", "cancelUrl": shop + "/cart", "ipnUrl": m.srv.URL + "/ipn",
		"billingAddress": billing,
		"items":          []map[string]any{{"name": "Garden chair", "quantity": 1, "unitPrice": 2499, "itemType": "physical"}},
	})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	co := res.JSON(t)
	w.merchants[co["id"].(string)] = m
	return co
}

func (w *gcWorld) checkoutTransactions(t *testing.T, co map[string]any) []domain.Transaction {
	t.Helper()
	txns, err := w.env.Store.ListCheckoutTransactions(ctx, w.tn.Org.ID, co["id"].(string))
	require.NoError(t, err)
	return txns
}

var ada = hostedpagetest.Buyer{Name: "Ada Lovelace", Email: "ada@example.com", Line1: "1 High Street", PostalCode: "N1 9GU", City: "London", Country: "GB"}

// requireCleanGCConsole is requireCleanConsole for a walk through gcfake's authorisation page,
// which has no icon: the browser asks the fake for /favicon.ico, which its API answers 401. That
// failure, and only that one, is excused.
func requireCleanGCConsole(t *testing.T, b *browsertest.Browser, gcURL string) {
	t.Helper()
	var bad []string
	for _, m := range b.Console() {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException && m.Type != chromedp.ConsoleWarning {
			continue
		}
		require.NotContains(t, m.String(), "Content Security Policy", "a CSP violation")
		if m.URL == gcURL+"/favicon.ico" {
			continue
		}
		bad = append(bad, m.String()+" ("+m.URL+")")
	}
	require.Empty(t, bad, "console errors")
}

// TestBrowserGoCardlessPaysEndToEnd: the buyer chooses GoCardless on the hosted page, authorises
// the payment on GoCardless's page, comes back to "your bank payment is being processed"; days
// later GoCardless confirms it by webhook, the page shows it paid and takes the buyer to the
// shop, which was told initiated, pending, paid.
func TestBrowserGoCardlessPaysEndToEnd(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		shop := merchant(t)
		co := w.shopCheckout(t, shop.URL, "GBP", map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "country": "GB"})
		pageURL := co["paymentUrl"].(string)
		csp := apptest.Do(t, http.MethodGet, pageURL, "", nil).Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "script-src 'self';")
		require.NotContains(t, csp, w.gc.URL(), "GoCardless is a top-level navigation: nothing of theirs runs on the page")

		b := browsertest.New(t)
		b.Navigate(pageURL)
		b.WaitVisible("#pay-form")
		require.Equal(t, w.provider.ID, b.Value("input[name=providerId]:checked"), "the site's default method")
		// A buyer in the UK is an export: with prices including VAT they pay the net (README, Tax).
		require.Equal(t, "£21.00", b.Text("#totals [data-total=gross]"))
		hostedpagetest.FillBilling(t, b, ada)
		b.Screenshot(t, "e2e-gocardless-open")

		hostedpagetest.PayByGoCardless(t, b, w.provider.ID)
		require.True(t, strings.HasPrefix(b.URL(), w.gc.URL()+"/flow/BRF"), b.URL())
		require.Equal(t, "GBP 21.00", b.Text("#gc-amount"))
		txns := w.checkoutTransactions(t, co)
		require.Len(t, txns, 1)
		id := txns[0].ID
		require.Equal(t, domain.TxnInitiated, txns[0].Status)
		flow, ok := w.gc.BillingRequestFlow(path.Base(b.URL()))
		require.True(t, ok)
		require.Equal(t, pageURL+"?transaction="+id+"&gocardless=return", flow.RedirectURI)
		require.Equal(t, "Ada", flow.PrefilledCustomer.GivenName, "the billing details the buyer typed")
		require.Equal(t, "N1 9GU", flow.PrefilledCustomer.PostalCode)
		require.Equal(t, "1 High Street", flow.PrefilledCustomer.AddressLine1)
		b.Screenshot(t, "e2e-gocardless-authorisation")

		hostedpagetest.AuthoriseAtGoCardless(t, b)
		b.WaitLive("Your bank payment is being processed. It usually takes 1–3 working days.")
		require.True(t, b.FocusedMatches("#gc-h"))
		require.Contains(t, b.URL(), pageURL+"?transaction="+id+"&gocardless=return")
		require.False(t, b.Visible("#pay-form"))
		txn := w.txn(t, id)
		require.Equal(t, domain.TxnPendingProvider, txn.Status)
		require.NotNil(t, txn.BuyerMarkedPending, "the page said the buyer finished at GoCardless")
		require.Equal(t, shop.URL+"/thanks?tx="+id, b.Attr("#gc-return-link", "href"))
		b.Screenshot(t, "e2e-gocardless-pending")

		// GoCardless reports the fulfilment, then (days later) the confirmed payment.
		w.deliver(t)
		pm := w.txn(t, id).ProviderPaymentID
		require.NotNil(t, pm)
		require.Equal(t, domain.TxnPendingProvider, w.status(t, id))
		w.simulate(t, gcfake.ScenarioPaymentConfirmed, *pm)
		w.waitStatus(t, id, domain.TxnSucceeded)
		b.WaitVisible("#paid")
		b.WaitLive("Payment received")
		require.False(t, b.Visible("#gc"))
		b.Screenshot(t, "e2e-gocardless-paid")
		landed := hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?tx="+id)
		require.Equal(t, shop.URL+"/thanks?tx="+id, landed)

		w.waitIPNsFor(t, id, -1, 0, 1)
		require.Equal(t, 1, countEvents(t, s, w.tn.Org.ID, id, "transaction.succeeded"))
		require.Len(t, w.checkoutTransactions(t, co), 1, "one attempt")
		requireCleanGCConsole(t, b, w.gc.URL())
	})
}

// TestBrowserGoCardlessLeftThenPaysByWireEndToEnd: the buyer leaves GoCardless's page without
// paying. Back on the hosted page the attempt is cancelled (at GoCardless too), the payment
// methods are shown again, and the buyer pays by bank transfer.
func TestBrowserGoCardlessLeftThenPaysByWireEndToEnd(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newGCWorld(t, s)
		shop := merchant(t)
		co := w.shopCheckout(t, shop.URL, "EUR", map[string]any{"firstName": "Jane", "lastName": "Doe", "email": "jane.doe@example.com",
			"address1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"})
		pageURL := co["paymentUrl"].(string)
		b := browsertest.New(t)
		b.Navigate(pageURL)
		b.WaitVisible("#pay-form")
		hostedpagetest.PayByGoCardless(t, b, w.provider.ID)
		id := w.checkoutTransactions(t, co)[0].ID
		brID := *w.txn(t, id).ProviderReference

		hostedpagetest.LeaveGoCardless(t, b)
		b.WaitLive("You left GoCardless. Choose a payment method.")
		require.True(t, b.FocusedMatches("#gc-left"))
		require.Equal(t, pageURL, b.URL(), "the attempt is no longer in the address")
		require.False(t, b.Visible("#error-summary"), "leaving is no error")
		w.waitStatus(t, id, domain.TxnCanceled)
		require.Eventually(t, func() bool { br, _ := w.gc.BillingRequest(brID); return br.Status == "cancelled" }, 30*time.Second, 10*time.Millisecond,
			"the abandoned billing request is cancelled at GoCardless")
		b.Screenshot(t, "e2e-gocardless-left")

		shown := hostedpagetest.PayByWire(t, b, w.tn.Provider.ID)
		require.False(t, b.Visible("#gc-left"))
		require.Equal(t, "€24.99", shown.Amount)
		hostedpagetest.ConfirmTransferSent(t, b)
		txns := w.checkoutTransactions(t, co)
		require.Len(t, txns, 2)
		wireTxn := txns[1]
		require.Equal(t, domain.ProviderWireTransfer, wireTxn.ProviderType)
		paid := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/transactions/"+wireTxn.ID+"/mark-paid", w.tn.TestKey, map[string]any{"note": "bank statement"})
		require.Equal(t, http.StatusOK, paid.Status, string(paid.Body))
		landed := hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?tx="+wireTxn.ID)
		require.Equal(t, shop.URL+"/thanks?tx="+wireTxn.ID, landed)

		w.waitIPNsFor(t, id, -1, -2)
		require.Eventually(t, func() bool {
			got := w.ipnFor(t, wireTxn.ID)
			return len(got) > 0 && got[len(got)-1] == 1
		}, 30*time.Second, 10*time.Millisecond, "the shop is told the transfer is paid")
		require.Equal(t, domain.TxnCanceled, w.status(t, id))
		require.Empty(t, w.txn(t, id).ProviderData[gocardless.DataPayment], "nothing was paid at GoCardless")
		requireCleanGCConsole(t, b, w.gc.URL())
	})
}

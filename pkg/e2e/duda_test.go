package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/duda/dudafake"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/providers/wire"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// dudaSend makes a request the way Duda's servers do (no redirects followed).
func dudaSend(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	res, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, b
}

// A Duda store's shopper pays by bank transfer on the hosted page: Duda asks for the payment
// methods, the shopper arrives with a session, pays, Duda hears PENDING and the shopper lands
// back on Duda's return_url at once; the operator marks the transfer paid later and Duda hears
// PROCESSED. Duda then refunds the order from its dashboard, and the merchant is notified.
// Another shopper arrives at checkout_url with Duda's literal second "?" and is served too.
func TestBrowserDudaStoreEndToEnd(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		fake := dudafake.New(t)
		env := apptest.Start(t, s, apptest.Options{Workers: true, MainBackend: func(c *config.MainBackend) {
			c.DudaAPIOrigins = []string{fake.URL()}
			c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond }
		}})
		tn := env.NewTenant(t)
		merchant := newWooMerchant(t, tn.SiteHook, 0)

		// The operator connects Duda to the site and pastes the URLs into Duda's developer portal.
		creds := fake.Creds()
		res := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/duda/connections", tn.LiveKey, map[string]any{
			"siteId": tn.Site.ID, "appUuid": creds.AppUUID, "appUser": creds.AppUser, "appPassword": creds.AppPassword,
			"appSecret": creds.AppSecret, "ipnUrl": merchant.srv.URL + "/ipn"})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		conn := res.JSON(t)

		// A store installs the app: our gateway appears in its checkout.
		status, body := dudaSend(t, fake.SignedLifecycleRequest(http.MethodPost, conn["installUrl"].(string), fake.AddSite("bakery")))
		require.Equal(t, http.StatusOK, status, string(body))
		gws := fake.Gateways("bakery")
		require.Len(t, gws, 1)

		// At the payment step Duda asks the test payment-methods URL for buttons.
		spec := dudafake.SessionSpec{Mode: duda.ModeTest, PurchaseID: "cart_" + domain.RandomString(6), Email: "jane.doe@example.com", NumericAmounts: true,
			Items: []dudafake.Item{
				{Type: duda.ItemPhysical, Name: "Sourdough loaf", UnitPrice: "12.50", Quantity: 2, DiscountAmount: "5.00"},
				{Type: duda.ItemShipping, Name: "Courier", UnitPrice: "4.95"},
				{Type: duda.ItemTax, Name: "VAT", UnitPrice: "3.80"},
				{Type: duda.ItemDiscount, Name: "Coupon BREAD", UnitPrice: "2.00"},
			}}
		status, body = dudaSend(t, fake.PaymentMethodsRequest(gws[0].TestPaymentMethodsURL, fake.PaymentMethodsPayload("bakery", spec)))
		require.Equal(t, http.StatusOK, status)
		var methods []duda.PaymentMethod
		require.NoError(t, json.Unmarshal(body, &methods), string(body))
		require.Len(t, methods, 1)
		require.Equal(t, tn.Provider.ID, methods[0].ID)

		// The shopper picks it; Duda opens the session and sends the browser to checkout_url.
		ps := fake.CreateSession("bakery", spec)
		arrival := dudafake.CheckoutRedirectURL(methods[0].CheckoutURL, ps.ID, "bakery")
		b := browsertest.New(t)
		b.Navigate(arrival)
		b.WaitVisible("#pay-form")
		require.Equal(t, "€26.75", b.Text("#totals [data-total=gross]"), "exactly what Duda asks")
		require.Equal(t, methods[0].ID, b.Value("input[name=providerId]:checked"), "the method picked in the store comes first")
		b.Screenshot(t, "e2e-duda-hosted-open")

		hostedpagetest.FillBilling(t, b, hostedpagetest.Buyer{Name: "Jane Doe", Line1: "Hauptstr. 1", PostalCode: "10115", City: "Berlin", Country: "DE"})
		shown := hostedpagetest.PayByWire(t, b, tn.Provider.ID)
		require.Equal(t, "€26.75", shown.Amount)
		hostedpagetest.ConfirmTransferSent(t, b)

		c, err := s.GetCheckoutByOrigin(ctx, tn.Org.ID, domain.OriginDuda, ps.ID)
		require.NoError(t, err)
		txns, err := s.ListCheckoutTransactions(ctx, tn.Org.ID, c.ID)
		require.NoError(t, err)
		require.Len(t, txns, 1)
		txn := txns[0]

		// Duda hears the order is pending, with the transfer's details.
		require.Eventually(t, func() bool { return len(fake.Confirms(ps.ID)) == 1 }, 30*time.Second, 20*time.Millisecond, "PENDING confirmed")
		pending := fake.Confirms(ps.ID)[0]
		require.Equal(t, duda.StatePending, pending.State)
		require.Equal(t, txn.ID, pending.TransactionID)
		require.Contains(t, pending.Instructions, wire.FormatReference(*txn.PaymentReference))
		require.Contains(t, pending.Instructions, "DE89 3704 0044 0532 0130 00")

		// The order is Duda's now: the shopper goes back to the return_url Duda answered.
		landed := b.WaitURL("/store/thank-you")
		require.Equal(t, fake.URL()+"/store/thank-you?session="+ps.ID, landed)
		b.WaitText("h1", "Thank you for your order")
		b.Screenshot(t, "e2e-duda-back-in-the-store")
		sess, err := s.GetDudaSession(ctx, c.ID)
		require.NoError(t, err)
		require.Equal(t, "PENDING", sess.ConfirmedState)
		require.Len(t, fake.Confirms(ps.ID), 1, "nothing more until the money arrives")

		// Days later the operator sees the transfer on the bank statement.
		paid := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+txn.ID+"/mark-paid", tn.TestKey, map[string]any{"note": "bank statement"})
		require.Equal(t, http.StatusOK, paid.Status, string(paid.Body))

		require.Eventually(t, func() bool { return len(fake.Confirms(ps.ID)) == 2 }, 30*time.Second, 20*time.Millisecond, "PROCESSED confirmed")
		processed := fake.Confirms(ps.ID)[1]
		require.Equal(t, duda.StateProcessed, processed.State)
		require.Equal(t, txn.ID, processed.TransactionID)
		require.NotEmpty(t, processed.Links.Refunds)

		// The shopper's browser replays the arrival: the same checkout, no second one.
		again := apptest.Do(t, http.MethodGet, arrival, "", nil)
		require.Equal(t, http.StatusFound, again.Status)
		require.Equal(t, env.Hosts.PaymentURL(c.ShortCode)+"?provider="+methods[0].ID, again.Header.Get("Location"))
		list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, ExternalReference: spec.PurchaseID, Limit: 10})
		require.NoError(t, err)
		require.Len(t, list, 1)

		// The store refunds the order from Duda's dashboard.
		ri := fake.CreateRefundIntent("bakery", duda.RefundIntent{Mode: duda.ModeTest, OriginalTransactionID: txn.ID, PurchaseID: spec.PurchaseID,
			Currency: "EUR", Total: duda.NewDecimal("26.75"), Reason: "Stale bread"})
		refund := apptest.Do(t, http.MethodPost, processed.Links.Refunds, "", map[string]any{"refund_intent_id": ri.ID})
		require.Equal(t, http.StatusOK, refund.Status, string(refund.Body))
		r, err := s.GetRefund(ctx, tn.Org.ID, refund.JSON(t)["refundId"].(string))
		require.NoError(t, err)
		require.Equal(t, int64(2675), r.Amount)
		require.Equal(t, domain.RefundSucceeded, r.Status)
		require.Eventually(t, func() bool { return slices.Contains(merchant.statuses(), float64(domain.IPNRefunded)) }, 30*time.Second, 20*time.Millisecond,
			"the merchant hears of the refund: %v", merchant.statuses())
		require.Equal(t, []float64{domain.IPNInitiated, domain.IPNPending, domain.IPNSucceeded, domain.IPNRefunded}, merchant.statuses())

		// Another shopper: checkout_url already has a query, and Duda appends ?session_id=… literally.
		spec2 := dudafake.SessionSpec{Mode: duda.ModeTest, PurchaseID: "cart_" + domain.RandomString(6), NumericAmounts: true,
			Items: []dudafake.Item{{Type: duda.ItemPhysical, Name: "Rye loaf", UnitPrice: "7.40"}, {Type: duda.ItemTax, Name: "VAT", UnitPrice: "0.52"}}}
		ps2 := fake.CreateSession("bakery", spec2)
		literal := dudafake.LiteralCheckoutRedirectURL(methods[0].CheckoutURL, ps2.ID, "bakery")
		require.Equal(t, 2, strings.Count(literal, "?"), literal)
		b2 := browsertest.New(t)
		b2.Navigate(literal)
		b2.WaitVisible("#pay-form")
		require.Equal(t, "€7.92", b2.Text("#totals [data-total=gross]"))
		require.Equal(t, methods[0].ID, b2.Value("input[name=providerId]:checked"), "the method picked in the store comes first")
		c2, err := s.GetCheckoutByOrigin(ctx, tn.Org.ID, domain.OriginDuda, ps2.ID)
		require.NoError(t, err)
		require.Equal(t, spec2.PurchaseID, c2.ExternalReference)
	})
}

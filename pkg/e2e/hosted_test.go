package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/providers/wire"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// merchant is the shop the buyer returns to.
func merchant(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>Thanks</title><h1>Thank you for your order</h1>"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// createWooCheckout creates a checkout exactly as the WooCommerce plugin does: prices include
// tax, a shipping line, a negative coupon line, the buyer's addresses, return/cancel/IPN URLs.
func createWooCheckout(t *testing.T, env *apptest.Env, tn *apptest.Tenant, shop string) map[string]any {
	t.Helper()
	res := postWooCheckout(t, env, tn, shop)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON(t)
}

// postWooCheckout sends the WooCommerce plugin's checkout creation and returns the answer as is.
func postWooCheckout(t *testing.T, env *apptest.Env, tn *apptest.Tenant, shop string) *apptest.Response {
	t.Helper()
	ref := "wc-" + domain.RandomString(6)
	return apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
		"amount": 11900, "currency": "EUR", "email": "jane.doe@example.com", "externalReference": ref,
		"returnUrl": shop + "/thanks?tx={transactionId}", "cancelUrl": shop + "/cart", "ipnUrl": shop + "/ipn",
		"billingAddress": map[string]any{"firstName": "Jane", "lastName": "Doe", "address1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"},
		"items": []map[string]any{
			{"name": "Winter jacket", "quantity": 1, "unitPrice": 11405, "itemType": "physical"},
			{"name": "Shipping", "quantity": 1, "unitPrice": 995, "itemType": "shipping"},
			{"name": "Coupon WELCOME", "quantity": 1, "unitPrice": -500, "itemType": "discount"},
		},
	})
}

func TestBrowserHostedWireTransferEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{})
		tn := env.NewTenant(t)
		shop := merchant(t)
		co := createWooCheckout(t, env, tn, shop.URL)
		b := browsertest.New(t)
		b.Navigate(co["paymentUrl"].(string))
		b.WaitVisible("#pay-form")
		require.Contains(t, b.Text("h1, header"), "Shop", "the site's name")
		require.Equal(t, "€119.00", b.Text("#totals [data-total=gross]"))
		b.Screenshot(t, "e2e-hosted-open")

		hostedpagetest.FillBilling(t, b, hostedpagetest.Buyer{Name: "Jane Doe", Email: "jane.doe@example.com", Line1: "Hauptstr. 1", PostalCode: "10115", City: "Berlin"})
		// Prices include tax: for consumers in the EU the total stays and the VAT in it follows
		// the buyer; an export pays the net (the 19% German VAT in the prices is taken off).
		for _, step := range []struct{ country, vat, gross string }{{"FR", "VAT 20%", "€119.00"}, {"US", "", "€100.00"}, {"DE", "VAT 19%", "€119.00"}} {
			b.Select("#f-country", step.country)
			if step.vat != "" {
				b.WaitText("#totals [data-taxline] dt", step.vat)
			} else {
				b.WaitFor(`!document.querySelector("#totals [data-taxline]")`, "no VAT line for an export")
			}
			b.WaitText("#totals [data-total=gross]", step.gross)
			require.Equal(t, step.gross, b.Text("#totals [data-total=gross]"), step.country)
		}

		shown := hostedpagetest.PayByWire(t, b, tn.Provider.ID)
		require.True(t, wire.ValidReference(shown.Reference), "reference %q has a valid check digit", shown.Reference)
		require.Equal(t, "DE89 3704 0044 0532 0130 00", shown.IBAN)
		require.Equal(t, "€119.00", shown.Amount)
		b.Screenshot(t, "e2e-hosted-wire-instructions")
		hostedpagetest.ConfirmTransferSent(t, b)

		txns, err := s.ListCheckoutTransactions(ctx, tn.Org.ID, co["id"].(string))
		require.NoError(t, err)
		require.Len(t, txns, 1)
		txn := txns[0]
		require.NotNil(t, txn.BuyerMarkedPending)
		require.Equal(t, strings.ReplaceAll(shown.Reference, " ", ""), *txn.PaymentReference)

		paid := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+txn.ID+"/mark-paid", tn.TestKey, map[string]any{"note": "bank statement"})
		require.Equal(t, http.StatusOK, paid.Status, string(paid.Body))
		b.WaitVisible("#paid")
		b.Screenshot(t, "e2e-hosted-paid")
		landed := hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?tx="+txn.ID)
		require.Equal(t, shop.URL+"/thanks?tx="+txn.ID, landed)

		// The page now shows the paid state.
		b.Navigate(co["paymentUrl"].(string))
		b.WaitFor(`document.body.innerText.length > 0`, "page")
		require.False(t, b.Exists("#pay-form"), "a paid checkout takes no new payment")
	})
}

func TestBrowserHostedKeyboardOnlyAndExpired(t *testing.T) {
	s := storetest.Shared(t, store.Postgres)
	env := apptest.Start(t, s, apptest.Options{})
	tn := env.NewTenant(t)
	shop := merchant(t)
	co := createWooCheckout(t, env, tn, shop.URL)
	b := browsertest.New(t)
	b.Navigate(co["paymentUrl"].(string))
	b.WaitVisible("#pay-form")
	b.Press(browsertest.Tab)
	require.True(t, b.FocusedMatches(".skip"), "the skip link comes first")
	b.TabTo("input[name=providerId]:checked", 6)
	for _, f := range []struct{ id, text string }{{"#f-name", "Kim Keyboard"}, {"#f-line1", "Damrak 1"}, {"#f-postalCode", "1012 LG"}, {"#f-city", "Amsterdam"}} {
		b.TabTo(f.id, 6)
		b.TypeFocused(f.text)
	}
	b.TabTo("#f-country", 4)
	b.TypeFocused("Netherlands")
	require.Equal(t, "NL", b.Value("#f-country"))
	b.WaitText("#totals [data-taxline] dt", "VAT 21%")
	b.TabTo("#pay-btn", 6)
	b.Press(browsertest.Enter)
	b.WaitVisible("#wire")
	b.TabTo("#sent-btn", 6)
	b.Press(browsertest.Space)
	b.WaitVisible("#wire-waiting")
	txns, err := s.ListCheckoutTransactions(ctx, tn.Org.ID, co["id"].(string))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+txns[0].ID+"/mark-paid", tn.TestKey, nil).Status)
	b.WaitVisible("#paid")
	b.TabTo("#return-link", 4)
	b.Press(browsertest.Enter)
	b.WaitURL("/thanks?tx=" + txns[0].ID)

	t.Run("ExpiredPage", func(t *testing.T) {
		exp := createWooCheckout(t, env, tn, shop.URL)
		require.NoError(t, s.ExecAdmin(ctx, "UPDATE checkouts SET expires_at = '2020-01-01 00:00:00' WHERE id = '"+exp["id"].(string)+"'"))
		res := apptest.Do(t, http.MethodGet, exp["paymentUrl"].(string), "", nil)
		require.Equal(t, http.StatusGone, res.Status)
		b := b.WithT(t)
		b.Navigate(exp["paymentUrl"].(string))
		b.WaitFor(`document.body.innerText.toLowerCase().includes("expired")`, "the expired page")
		require.False(t, b.Exists("#pay-form"))
		b.Screenshot(t, "e2e-hosted-expired")
	})
	t.Run("UnknownCheckoutIs404", func(t *testing.T) {
		res := apptest.Do(t, http.MethodGet, env.FrontendURL+"/checkout/doesnotexist1", "", nil)
		require.Equal(t, http.StatusNotFound, res.Status)
	})
}

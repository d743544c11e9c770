package dudaapp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/duda/dudafake"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// fullCart has a line with its own discount, a digital item, shipping, Duda's tax line and a
// cart-wide discount: 2 × 12.50 − 5.00 + 9.99 + 4.95 + 3.80 − 2.00 = 36.74.
func fullCart(numeric bool) dudafake.SessionSpec {
	return dudafake.SessionSpec{
		Mode: duda.ModeTest, Email: "jane.doe@example.com", Language: "de", PurchaseID: "cart_7f3a", NumericAmounts: numeric, StringQuantities: numeric,
		Items: []dudafake.Item{
			{Type: duda.ItemPhysical, Name: "T-shirt", UnitPrice: "12.50", Quantity: 2, DiscountAmount: "5.00"},
			{Type: duda.ItemDigital, Name: "E-book", UnitPrice: "9.99"},
			{Type: duda.ItemShipping, Name: "Express", UnitPrice: "4.95"},
			{Type: duda.ItemTax, Name: "VAT", UnitPrice: "3.80"},
			{Type: duda.ItemDiscount, Name: "Coupon SUMMER", UnitPrice: "2.00"},
		},
		BillingAddress: &duda.Address{FirstName: "Jane", LastName: "Doe", Address1: "Hauptstr. 1", City: "Berlin", PostalCode: "10115",
			Country: "de", Phone: "+49 30 1234"},
		ShippingAddress: &duda.Address{FullName: "John Doe", StreetName: "Damrak", StreetNumber: "1", City: "Amsterdam", PostalCode: "1012 LG", Country: "NL"},
	}
}

func TestDudaArrival(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		w.install("shop-1")

		for _, numeric := range []bool{false, true} {
			name := "StringAmounts"
			if numeric {
				name = "NumericAmounts"
			}
			t.Run(name+"MapExactly", func(t *testing.T) {
				ps := w.fake.CreateSession("shop-1", fullCart(numeric))
				require.Equal(t, "36.74", ps.Invoice.Total.String())
				c := w.checkoutFor("shop-1", ps.ID)
				require.Equal(t, int64(3674), c.Amount)
				require.Equal(t, "EUR", c.Currency)
				require.Equal(t, domain.ModeTest, c.Mode)
				require.Equal(t, domain.OriginDuda, c.Origin)
				require.Equal(t, ps.ID, *c.OriginRef)
				require.Equal(t, "cart_7f3a", c.ExternalReference)
				require.Equal(t, "jane.doe@example.com", c.Email)
				require.Equal(t, "de", c.Language)
				require.Equal(t, ps.CancelURL, c.CancelURL)
				require.Equal(t, w.ipns.srv.URL+"/ipn", c.IPNURL)
				require.Equal(t, "duda", c.CreatedBy)
				require.Equal(t, map[string]any{"siteName": "shop-1", "sessionId": ps.ID, "purchaseId": "cart_7f3a"}, c.Metadata["duda"])
				require.Equal(t, &domain.Address{FirstName: "Jane", LastName: "Doe", Address1: "Hauptstr. 1", City: "Berlin", Postcode: "10115", Country: "DE", Phone: "+49 30 1234"}, c.BillingAddress)
				require.Equal(t, &domain.Address{FirstName: "John", LastName: "Doe", Address1: "Damrak 1", City: "Amsterdam", Postcode: "1012 LG", Country: "NL"}, c.ShippingAddress)
				type line struct {
					name      string
					qty, unit int64
					typ       domain.ItemType
				}
				var got []line
				for _, it := range c.Items {
					got = append(got, line{it.Name, it.Quantity, it.UnitPrice, it.ItemType})
				}
				require.Equal(t, []line{
					{"T-shirt", 2, 1250, domain.ItemGoods},
					{"Discount: T-shirt", 1, -500, domain.ItemDiscount},
					{"E-book", 1, 999, domain.ItemDigitalService},
					{"Express", 1, 495, domain.ItemShipping},
					{"VAT", 1, 380, domain.ItemTax},
					{"Coupon SUMMER", 1, -200, domain.ItemDiscount},
				}, got)

				// The shopper pays what Duda asks, whatever country they bill to.
				org, err := s.GetOrganization(ctx, w.tn.Org.ID)
				require.NoError(t, err)
				for _, country := range []string{"DE", "FR", "US"} {
					res, err := w.env.Main.Services.Payment.TaxFor(ctx, org, w.tn.Site, c, domain.BillingDetails{Country: country})
					require.NoError(t, err)
					require.Equal(t, int64(3674), res.TotalGross, country)
				}

				sess, err := s.GetDudaSession(ctx, c.ID)
				require.NoError(t, err)
				require.Equal(t, ps.ID, sess.SessionID)
				require.Equal(t, "shop-1", sess.SiteName)
				require.Equal(t, "cart_7f3a", sess.PurchaseID)
				require.Equal(t, "test", sess.Mode)
			})
		}

		t.Run("OnlyAProviderIdIsPassedOnToTheHostedPage", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", testSpec())
			for _, hint := range []string{"", "javascript:alert(1)", "prov_x&lang=de", w.tn.Provider.ID + "/../x"} {
				res := apptest.Do(t, http.MethodGet, dudafake.CheckoutRedirectURL(w.url("/checkout?provider="+url.QueryEscape(hint)), ps.ID, "shop-1"), "", nil)
				require.Equal(t, http.StatusFound, res.Status, string(res.Body))
				require.NotContains(t, res.Header.Get("Location"), "?", "hint %q", hint)
			}
		})
		t.Run("DudasLiteralSecondQuestionMarkIsServed", func(t *testing.T) {
			// checkout_url already has ?provider=…; Duda appends ?session_id=… literally.
			ps := w.fake.CreateSession("shop-1", testSpec())
			arrival := dudafake.LiteralCheckoutRedirectURL(w.url("/checkout?provider="+w.tn.Provider.ID), ps.ID, "shop-1")
			require.Equal(t, 2, strings.Count(arrival, "?"), arrival)
			res := apptest.Do(t, http.MethodGet, arrival, "", nil)
			require.Equal(t, http.StatusFound, res.Status, string(res.Body))
			c, err := s.GetCheckoutByOrigin(ctx, w.tn.Org.ID, domain.OriginDuda, ps.ID)
			require.NoError(t, err)
			require.Equal(t, w.env.Hosts.PaymentURL(c.ShortCode)+"?provider="+w.tn.Provider.ID, res.Header.Get("Location"),
				"the hosted page, told the method the shopper picked")
			again := apptest.Do(t, http.MethodGet, arrival, "", nil)
			require.Equal(t, res.Header.Get("Location"), again.Header.Get("Location"), "the same checkout")
		})
		t.Run("AReplayedArrivalMakesNoSecondCheckout", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", testSpec())
			first := w.arrive("shop-1", ps.ID)
			require.Equal(t, http.StatusFound, first.Status)
			fetches := w.fake.Count(http.MethodGet, "/payment-sessions/"+ps.ID)
			for i := 0; i < 3; i++ {
				again := w.arrive("shop-1", ps.ID)
				require.Equal(t, http.StatusFound, again.Status)
				require.Equal(t, first.Header.Get("Location"), again.Header.Get("Location"))
			}
			require.Equal(t, fetches, w.fake.Count(http.MethodGet, "/payment-sessions/"+ps.ID), "Duda is not asked again")
			list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: w.tn.Org.ID, ExternalReference: ps.Invoice.PurchaseID, Limit: 10})
			require.NoError(t, err)
			require.Len(t, list, 1)
		})
		t.Run("LinesThatDoNotMakeTheTotalBecomeOneLine", func(t *testing.T) {
			spec := testSpec()
			spec.Items = []dudafake.Item{{Name: "Lamp", UnitPrice: "10.00", Total: "10.00"}, {Type: duda.ItemShipping, Name: "Post", UnitPrice: "2.00"}}
			spec.Total = "12.50"
			ps := w.fake.CreateSession("shop-1", spec)
			c := w.checkoutFor("shop-1", ps.ID)
			require.Equal(t, int64(1250), c.Amount)
			require.Len(t, c.Items, 2, "the total, and a zero tax line: Duda's cart carried no tax")
			require.Equal(t, "Order "+ps.Invoice.PurchaseID, c.Items[0].Name)
			require.Equal(t, int64(1250), c.Items[0].UnitPrice)
			require.Equal(t, domain.ItemTax, c.Items[1].ItemType)
			require.Equal(t, int64(0), c.Items[1].UnitPrice)
		})
		t.Run("ALineWhosePartsDoNotAddUpKeepsItsTotal", func(t *testing.T) {
			spec := testSpec()
			spec.Items = []dudafake.Item{{Name: "Cable", UnitPrice: "3.33", Quantity: 3, Total: "9.99"}, {Name: "Plug", UnitPrice: "1.00", Quantity: 3, Total: "2.50"}}
			ps := w.fake.CreateSession("shop-1", spec)
			c := w.checkoutFor("shop-1", ps.ID)
			require.Equal(t, int64(1249), c.Amount)
			require.Equal(t, "Cable", c.Items[0].Name)
			require.Equal(t, int64(3), c.Items[0].Quantity)
			require.Equal(t, "Plug × 3", c.Items[1].Name)
			require.Equal(t, int64(1), c.Items[1].Quantity)
			require.Equal(t, int64(250), c.Items[1].UnitPrice)
		})
		t.Run("LiveSessionsAreLiveCheckouts", func(t *testing.T) {
			ps := w.fake.CreateSession("shop-1", liveSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			require.Equal(t, domain.ModeLive, c.Mode)
			require.Equal(t, "https://shop.example.com/cart", c.CancelURL)
			require.Empty(t, c.IPNURL, "an http IPN URL is for test checkouts only: left out, not fatal")
			rc, err := w.env.Main.Services.Payment.RuntimeCheckout(ctx, c.ShortCode)
			require.NoError(t, err)
			require.Len(t, rc.Providers, 1)
			require.Equal(t, w.live.ID, rc.Providers[0].ID, "live sessions pay with the live providers")
			spec := liveSpec()
			spec.CancelURL = ""
			ps = w.fake.CreateSession("shop-1", spec)
			c = w.checkoutFor("shop-1", ps.ID)
			require.Empty(t, c.CancelURL, "Duda's http cancel URL cannot be a live one: left out")
		})
		t.Run("PricesWithoutTaxGetNoVATOnTop", func(t *testing.T) {
			off := false
			_, err := w.env.Services().Tenancy.UpdateOrganization(ctx, w.tn.Admin, w.tn.Org.ID, tenancy.OrganizationInput{PricesIncludeTax: &off})
			require.NoError(t, err)
			t.Cleanup(func() {
				on := true
				_, _ = w.env.Services().Tenancy.UpdateOrganization(ctx, w.tn.Admin, w.tn.Org.ID, tenancy.OrganizationInput{PricesIncludeTax: &on})
			})
			ps := w.fake.CreateSession("shop-1", testSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			require.Equal(t, int64(3075), c.Amount)
			require.Len(t, c.Items, 2)
			require.Equal(t, domain.ItemTax, c.Items[1].ItemType)
			require.Equal(t, int64(0), c.Items[1].UnitPrice)
			org, err := s.GetOrganization(ctx, w.tn.Org.ID)
			require.NoError(t, err)
			res, err := w.env.Main.Services.Payment.TaxFor(ctx, org, w.tn.Site, c, domain.BillingDetails{Country: "DE"})
			require.NoError(t, err)
			require.Equal(t, int64(3075), res.TotalGross)
		})
		// What the hosted page shows comes from the runtime API's checkout view.
		pageTax := func(t *testing.T, c *domain.Checkout) map[string]any {
			t.Helper()
			res := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/checkouts/"+c.ShortCode, "", nil)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			return res.JSON(t)["tax"].(map[string]any)
		}
		t.Run("ACartWithoutATaxLineGetsNoVAT", func(t *testing.T) {
			// The organisation's prices include tax (the default): Duda's cart carries no TAX
			// line, so the store charged no tax, and the page shows none, for every buyer.
			org, err := s.GetOrganization(ctx, w.tn.Org.ID)
			require.NoError(t, err)
			require.True(t, org.PricesIncludeTax)
			ps := w.fake.CreateSession("shop-1", testSpec())
			c := w.checkoutFor("shop-1", ps.ID)
			require.Equal(t, int64(3075), c.Amount)
			require.Len(t, c.Items, 2)
			require.Equal(t, domain.ItemTax, c.Items[1].ItemType)
			require.Equal(t, int64(0), c.Items[1].UnitPrice)
			v := pageTax(t, c)
			require.Equal(t, float64(0), v["totalTax"], "no VAT shown")
			require.Equal(t, float64(3075), v["totalNet"])
			require.Equal(t, float64(3075), v["totalGross"])
			for _, b := range v["taxBreakdown"].([]any) {
				require.Equal(t, float64(0), b.(map[string]any)["taxAmount"])
			}
			for _, country := range []string{"DE", "FR", "US"} {
				res, err := w.env.Main.Services.Payment.TaxFor(ctx, org, w.tn.Site, c, domain.BillingDetails{Country: country})
				require.NoError(t, err)
				require.Equal(t, [3]int64{3075, 0, 3075}, [3]int64{res.TotalNet, res.TotalTax, res.TotalGross}, country)
			}
		})
		t.Run("ATaxLineShowsTheRateItAmountsTo", func(t *testing.T) {
			// 25.00 + 4.95 shipping = 29.95 net; Duda's tax line 5.69 is Germany's 19%.
			spec := fullCart(false)
			spec.Items = []dudafake.Item{
				{Type: duda.ItemPhysical, Name: "T-shirt", UnitPrice: "12.50", Quantity: 2},
				{Type: duda.ItemShipping, Name: "Express", UnitPrice: "4.95"},
				{Type: duda.ItemTax, Name: "VAT", UnitPrice: "5.69"},
			}
			ps := w.fake.CreateSession("shop-1", spec)
			c := w.checkoutFor("shop-1", ps.ID)
			require.Equal(t, int64(3564), c.Amount)
			v := pageTax(t, c)
			require.Equal(t, "merchant", v["treatment"])
			require.Equal(t, [3]float64{2995, 569, 3564}, [3]float64{v["totalNet"].(float64), v["totalTax"].(float64), v["totalGross"].(float64)})
			require.Equal(t, []any{map[string]any{"taxRate": float64(19), "taxRateCode": "merchant", "taxableBase": float64(2995), "taxAmount": float64(569)}},
				v["taxBreakdown"], "the rate Duda's tax amounts to, not 0 %")
		})
		t.Run("UnknownSessionSiteOrConnection", func(t *testing.T) {
			require.Equal(t, http.StatusNotFound, w.arrive("shop-1", "ps_unknown").Status)
			ps := w.fake.CreateSession("shop-1", testSpec())
			require.Equal(t, http.StatusNotFound, w.arrive("shop-2", ps.ID).Status)
			res := w.arrive("shop-1", "")
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Contains(t, res.Header.Get("Content-Type"), "text/html")
			spec := testSpec()
			spec.ID = "ps_" + domain.RandomString(10)
			spec.Raw = json.RawMessage(`{"id":"` + spec.ID + `","mode":"TEST","cancel_url":"https://shop.example.com/cart",` +
				`"invoice":{"purchase_id":"c1","currency":"ABC","total":"1.00","items":[]},"site_name":"shop-1"}`)
			w.fake.CreateSession("shop-1", spec)
			res = w.arrive("shop-1", spec.ID)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, "an order in a currency nobody takes")
			require.Contains(t, string(res.Body), `href="https://shop.example.com/cart"`, "back to the cart")
		})
	})
}

func TestDudaTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		w.install("shop-1")

		t.Run("AnExpiredTokenIsRefreshedOnceOnThe401", func(t *testing.T) {
			w.fake.ExpireTokens("shop-1")
			ps := w.fake.CreateSession("shop-1", testSpec())
			w.checkoutFor("shop-1", ps.ID)
			require.Equal(t, 1, w.fake.Refreshes("shop-1"))
			site, err := s.GetDudaSite(ctx, w.connID, "shop-1")
			require.NoError(t, err)
			tok, err := w.env.Main.Services.DudaConn.DudaTokens(ctx, site)
			require.NoError(t, err)
			require.Equal(t, w.fake.Tokens("shop-1"), tok, "the new tokens are kept")
			require.NotContains(t, site.Tokens, tok.AccessToken, "sealed")
			require.NotContains(t, site.Tokens, tok.RefreshToken, "sealed")
		})
		t.Run("ASecond401IsNotRetried", func(t *testing.T) {
			before := w.fake.Refreshes("shop-1")
			w.fake.FailAuth("shop-1", 2)
			ps := w.fake.CreateSession("shop-1", testSpec())
			require.Equal(t, http.StatusBadGateway, w.arrive("shop-1", ps.ID).Status)
			require.Equal(t, before+1, w.fake.Refreshes("shop-1"))
			// The next arrival works with the refreshed token.
			w.checkoutFor("shop-1", ps.ID)
		})
	})
}

func TestDudaTokenAboutToExpireIsRefreshedFirst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s, dudafake.WithTokenTTL(time.Minute)) // within the client's refresh margin
		w.install("shop-1")
		before := w.fake.Refreshes("shop-1")
		ps := w.fake.CreateSession("shop-1", testSpec())
		w.checkoutFor("shop-1", ps.ID)
		require.Equal(t, before+1, w.fake.Refreshes("shop-1"), "one refresh for the one call")
		for _, r := range w.fake.Requests() {
			require.NotEqual(t, http.StatusUnauthorized, r.Status, "refreshed before the call, not after a 401: %s %s", r.Method, r.Path)
		}
	})
}

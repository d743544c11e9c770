package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// restrictPayPal sets the PayPal provider's availability rules through the Admin API and
// returns the rules as it answers them.
func (w *ppWorld) restrictPayPal(t *testing.T, rules map[string]any) map[string]any {
	t.Helper()
	res := apptest.Do(t, http.MethodPatch, w.env.AdminURL+"/api/v1/providers/"+w.provider.ID, w.tn.TestKey, map[string]any{"availability": rules})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON(t)["availability"].(map[string]any)
}

// checkoutIn creates a checkout through the Admin API.
func (w *ppWorld) checkoutIn(t *testing.T, amount int64, currency string, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"amount": amount, "currency": currency, "externalReference": "av-" + domain.RandomString(6), "language": "en"}
	for k, v := range extra {
		body[k] = v
	}
	res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, body)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON(t)
}

func offeredIDs(t *testing.T, w *ppWorld, co map[string]any) []string {
	t.Helper()
	res := apptest.Do(t, http.MethodGet, w.env.MainURL+"/api/v1/checkouts/"+co["shortCode"].(string), "", nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var ids []string
	for _, p := range res.JSON(t)["providers"].([]any) {
		ids = append(ids, p.(map[string]any)["id"].(string))
	}
	return ids
}

// TestRuntimeAPIRefusesAProviderItsAvailabilityRulesExclude: PayPal restricted (through the
// Admin API) to EUR, at most 100.00 EUR, and buyers in Germany and the Netherlands is not
// offered for a USD or a 200.00 EUR checkout, and starting a PayPal payment on those, or for a
// buyer in France or of no country, is refused with 422 PROVIDER_NOT_AVAILABLE and writes
// nothing (no transaction, no PayPal order); a German buyer of a 25.00 EUR checkout pays; the
// unrestricted wire transfer is offered everywhere; rules with mistakes are refused with every
// mistake named — on both databases.
func TestRuntimeAPIRefusesAProviderItsAvailabilityRulesExclude(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newPPWorld(t, s)
		rules := w.restrictPayPal(t, map[string]any{"currencies": []string{"eur"}, "countries": []string{"nl", "DE"},
			"amountCurrency": "EUR", "maxAmount": 10000})
		require.Equal(t, []any{"DE", "NL"}, rules["countries"])
		require.Equal(t, []any{"EUR"}, rules["currencies"])
		require.EqualValues(t, 10000, rules["maxAmount"])
		stored, err := s.GetProvider(ctx, w.tn.Org.ID, w.provider.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"DE", "NL"}, stored.Availability.Countries, "stored with the provider")

		bad := apptest.Do(t, http.MethodPatch, w.env.AdminURL+"/api/v1/providers/"+w.provider.ID, w.tn.TestKey,
			map[string]any{"availability": map[string]any{"countries": []string{"Germany"}, "minAmount": 500, "maxAmount": 100}})
		require.Equal(t, http.StatusBadRequest, bad.Status, string(bad.Body))
		require.Equal(t, "VALIDATION_ERROR", bad.JSON(t)["code"])

		orders := func() int { return w.pp.Calls("POST /v2/checkout/orders") }
		startPayPal := func(co map[string]any, country string) *apptest.Response {
			return apptest.Do(t, http.MethodPost, w.env.MainURL+"/api/v1/transactions/create", "", map[string]any{
				"sessionPublicId": co["sessionPublicId"], "providerId": w.provider.ID, "shortCode": co["shortCode"],
				"billingAddress": map[string]any{"country": country}})
		}
		refused := func(co map[string]any, country string) {
			t.Helper()
			res := startPayPal(co, country)
			require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
			require.Equal(t, "PROVIDER_NOT_AVAILABLE", res.JSON(t)["code"])
			txns, err := s.ListCheckoutTransactions(ctx, w.tn.Org.ID, co["id"].(string))
			require.NoError(t, err)
			require.Empty(t, txns, "nothing is written")
			require.Equal(t, 0, orders(), "PayPal is not asked")
		}

		usd := w.checkoutIn(t, 2500, "USD", nil)
		require.Equal(t, []string{w.tn.Provider.ID}, offeredIDs(t, w, usd), "PayPal is not offered in USD; the wire transfer is")
		refused(usd, "DE")

		big := w.checkoutIn(t, 20000, "EUR", nil)
		require.Equal(t, []string{w.tn.Provider.ID}, offeredIDs(t, w, big), "above the maximum")
		refused(big, "DE")

		eur := w.checkoutIn(t, 2500, "EUR", nil)
		require.Equal(t, []string{w.provider.ID, w.tn.Provider.ID}, offeredIDs(t, w, eur), "offered, its countries matched when the buyer pays")
		refused(eur, "FR")
		refused(eur, "")
		res := startPayPal(eur, "de")
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.Equal(t, 1, orders())

		// Cleared rules offer PayPal everywhere again.
		require.Equal(t, []any{}, w.restrictPayPal(t, map[string]any{})["countries"])
		require.Equal(t, []string{w.provider.ID, w.tn.Provider.ID}, offeredIDs(t, w, usd))
	})
}

// TestBrowserAvailabilityRulesHidePayPal: availability rules hide PayPal for a currency it is
// not allowed in (a USD checkout shows only the wire transfer); restricted to buyers in the
// Netherlands, PayPal shows on a EUR checkout while the billing country is NL, is hidden (the
// wire transfer chosen instead) when the buyer picks France, and shows again for NL, without a
// reload; with PayPal the only method and France chosen, the page says that nothing can be
// paid from there and offers the way back to the shop. Without JavaScript the posted country
// is applied by the server.
func TestBrowserAvailabilityRulesHidePayPal(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newPPWorld(t, s)
		shop := merchant(t)
		w.restrictPayPal(t, map[string]any{"currencies": []string{"EUR"}, "countries": []string{"NL"}})
		b := browsertest.New(t)
		radio := `document.querySelector('input[name=providerId][value="` + w.provider.ID + `"]')`
		paypalShown := func() bool {
			var v bool
			b.Eval(`(function(){var r=`+radio+`;return !!r && !r.closest('.radio').hidden && !r.disabled})()`, &v)
			return v
		}

		usd := w.checkoutIn(t, 2500, "USD", map[string]any{"cancelUrl": shop.URL + "/cart"})
		b.Navigate(usd["paymentUrl"].(string))
		b.WaitVisible("#pay-form")
		var present bool
		b.Eval(`!!`+radio, &present)
		require.False(t, present, "PayPal is not on a USD page")
		require.True(t, b.Visible(`input[name=providerId][value="`+w.tn.Provider.ID+`"]`))

		eur := w.checkoutIn(t, 2500, "EUR", map[string]any{"cancelUrl": shop.URL + "/cart",
			"billingAddress": map[string]any{"country": "NL"}})
		b.Navigate(eur["paymentUrl"].(string))
		b.WaitVisible("#pay-form")
		require.True(t, paypalShown(), "offered to a buyer in the Netherlands")
		b.Select("#f-country", "FR")
		b.WaitFor(`(function(){var r=`+radio+`;return r.closest('.radio').hidden && r.disabled && !r.checked})()`, "PayPal hidden for France")
		var checked string
		b.Eval(`document.querySelector('input[name=providerId]:checked').value`, &checked)
		require.Equal(t, w.tn.Provider.ID, checked, "the wire transfer is chosen instead")
		require.False(t, b.Visible("#no-provider-country"))
		b.Select("#f-country", "NL")
		b.WaitFor(`(function(){var r=`+radio+`;return !r.closest('.radio').hidden && !r.disabled})()`, "PayPal shown again for NL")

		// PayPal alone: France leaves nothing to pay with, and the page says so.
		only := []string{w.provider.ID}
		_, err := w.env.Services().Tenancy.UpdateSite(ctx, w.tn.Admin, w.tn.Org.ID, w.tn.Site.ID, tenancy.SiteInput{ProviderIDs: &only, DefaultProviderID: &w.provider.ID})
		require.NoError(t, err)
		b.Navigate(eur["paymentUrl"].(string))
		b.WaitVisible("#pay-form")
		require.False(t, b.Visible("#no-provider-country"))
		b.Select("#f-country", "FR")
		b.WaitFor(`!document.getElementById('no-provider-country').hidden`, "the notice that nothing is offered to France")
		require.Contains(t, b.Text("#no-provider-country"), "No payment method is available for the selected country")
		var back string
		b.Eval(`document.querySelector('#no-provider-country a').href`, &back)
		require.Equal(t, shop.URL+"/cart", back, "the way back to the shop")
		requireCleanConsole(t, b)

		// Without JavaScript: the form posts the country, the server answers the page for it.
		page := apptest.Do(t, http.MethodGet, eur["paymentUrl"].(string)+"?country=FR", "", nil)
		require.Equal(t, http.StatusOK, page.Status)
		require.Contains(t, string(page.Body), `id="no-provider-country">`, "shown (not hidden) for France")
		page = apptest.Do(t, http.MethodGet, eur["paymentUrl"].(string)+"?country=NL", "", nil)
		require.Contains(t, string(page.Body), `id="no-provider-country" hidden>`)
	})
}

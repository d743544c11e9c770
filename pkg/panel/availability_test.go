package panel_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestProviderAvailabilityRulesAreEditedOnTheProviderForm: the provider form edits the
// availability rules; a form with several mistakes (a country name, an unknown currency, an
// amount that is not a number, a maximum below the minimum ...) is answered with every mistake
// at once, next to its field and in the summary, in words, and nothing is saved; a correct
// form stores them (amounts typed in major units, stored in minor units) and the page shows
// them back; emptied, they are cleared — on both databases.
func TestProviderAvailabilityRulesAreEditedOnTheProviderForm(t *testing.T) {
	t.Parallel()
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		c := signedIn(t, env, tn, domain.RoleAdmin)
		path := "/providers/" + tn.Provider.ID
		form := c.get(path)
		require.Equal(t, http.StatusOK, form.Status)
		for _, name := range []string{"availability.countries", "availability.currencies", "availability.amountCurrency",
			"availability.minAmount", "availability.maxAmount", "availability.modes"} {
			require.Equal(t, 1, form.Doc.Find(`[name="`+name+`"]`).Length(), name)
		}
		base := func() url.Values {
			v := url.Values{"name": {tn.Provider.Name}, "enabled": {"on"}}
			for k, val := range tn.Provider.Settings {
				v.Set("settings."+k, val)
			}
			return v
		}

		bad := base()
		bad.Set("availability.countries", "Germany, NL")
		bad.Set("availability.currencies", "EUR, XYZ")
		bad.Set("availability.amountCurrency", "EUR")
		bad.Set("availability.minAmount", "ten")
		bad.Set("availability.maxAmount", "-5")
		res := c.post(path, bad)
		require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
		require.Contains(t, text(res, "#f-availability-countries-error"), "GERMANY: not a country code")
		require.Contains(t, text(res, "#f-availability-currencies-error"), "XYZ: not a currency")
		require.Contains(t, text(res, "#f-availability-minAmount-error"), "The minimum amount must be an amount such as 10")
		require.Contains(t, text(res, "#f-availability-maxAmount-error"), "The maximum amount must be more than zero")
		require.Contains(t, text(res, "[role=alert]"), "Please correct the 4 highlighted fields")
		require.Equal(t, "Germany, NL", res.Doc.Find("#f-availability-countries").AttrOr("value", ""), "what was typed stays")
		stored, err := s.GetProvider(ctx, tn.Org.ID, tn.Provider.ID)
		require.NoError(t, err)
		require.True(t, stored.Availability.Unrestricted(), "nothing saved")

		// The platform's own verdicts alone (every field a number) are all shown too.
		bad = base()
		bad.Set("availability.countries", "XX1")
		bad.Set("availability.minAmount", "50")
		bad.Set("availability.maxAmount", "10")
		res = c.post(path, bad)
		require.Equal(t, http.StatusBadRequest, res.Status)
		require.Contains(t, text(res, "#f-availability-countries-error"), "XX1")
		require.Contains(t, text(res, "#f-availability-amountCurrency-error"), "Name the currency of the minimum and maximum amounts")
		require.Contains(t, text(res, "#f-availability-maxAmount-error"), "must not be below the minimum")

		ok := base()
		ok.Set("availability.countries", "nl be")
		ok.Set("availability.currencies", "eur")
		ok.Set("availability.amountCurrency", "eur")
		ok.Set("availability.minAmount", "10.50")
		ok.Set("availability.maxAmount", "5000")
		ok.Set("availability.modes", "test")
		res = c.post(path, ok)
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		stored, err = s.GetProvider(ctx, tn.Org.ID, tn.Provider.ID)
		require.NoError(t, err)
		require.Equal(t, domain.Availability{Countries: []string{"BE", "NL"}, Currencies: []string{"EUR"}, AmountCurrency: "EUR",
			MinAmount: ptr(int64(1050)), MaxAmount: ptr(int64(500000)), Modes: []domain.Mode{domain.ModeTest}}, stored.Availability)
		page := c.get(path)
		require.Equal(t, "BE, NL", page.Doc.Find("#f-availability-countries").AttrOr("value", ""))
		require.Equal(t, "10.50", page.Doc.Find("#f-availability-minAmount").AttrOr("value", ""))
		require.Equal(t, "5000.00", page.Doc.Find("#f-availability-maxAmount").AttrOr("value", ""))
		require.Equal(t, "test", page.Doc.Find("#f-availability-modes option[selected]").AttrOr("value", ""))

		res = c.post(path, base())
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		stored, err = s.GetProvider(ctx, tn.Org.ID, tn.Provider.ID)
		require.NoError(t, err)
		require.True(t, stored.Availability.Unrestricted(), "emptied, the rules are cleared")
	})
}

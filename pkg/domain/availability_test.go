package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
)

func i64(v int64) *int64 { return &v }

func TestAvailabilityMatchesCheckoutAndBuyer(t *testing.T) {
	eur := domain.Offer{Mode: domain.ModeTest, Currency: "EUR", Amount: 5000, Country: "NL"}
	with := func(f func(*domain.Offer)) domain.Offer { o := eur; f(&o); return o }
	cases := []struct {
		name  string
		rules domain.Availability
		offer domain.Offer
		unmet string
	}{
		{"no rules allow everything", domain.Availability{}, with(func(o *domain.Offer) { o.Country = "" }), ""},
		{"a listed currency", domain.Availability{Currencies: []string{"EUR", "GBP"}}, eur, ""},
		{"a currency not listed", domain.Availability{Currencies: []string{"EUR"}}, with(func(o *domain.Offer) { o.Currency = "USD" }), domain.RuleCurrency},
		{"currency in lower case", domain.Availability{Currencies: []string{"EUR"}}, with(func(o *domain.Offer) { o.Currency = "eur" }), ""},
		{"a listed mode", domain.Availability{Modes: []domain.Mode{domain.ModeTest}}, eur, ""},
		{"a mode not listed", domain.Availability{Modes: []domain.Mode{domain.ModeLive}}, eur, domain.RuleMode},
		{"at the minimum", domain.Availability{AmountCurrency: "EUR", MinAmount: i64(5000)}, eur, ""},
		{"below the minimum", domain.Availability{AmountCurrency: "EUR", MinAmount: i64(5001)}, eur, domain.RuleAmount},
		{"at the maximum", domain.Availability{AmountCurrency: "EUR", MaxAmount: i64(5000)}, eur, ""},
		{"above the maximum", domain.Availability{AmountCurrency: "EUR", MaxAmount: i64(4999)}, eur, domain.RuleAmount},
		{"bounds of another currency do not bind", domain.Availability{AmountCurrency: "GBP", MaxAmount: i64(1)}, eur, ""},
		{"a listed country", domain.Availability{Countries: []string{"BE", "NL"}}, eur, ""},
		{"a country in lower case", domain.Availability{Countries: []string{"NL"}}, with(func(o *domain.Offer) { o.Country = "nl" }), ""},
		{"a country not listed", domain.Availability{Countries: []string{"DE"}}, eur, domain.RuleCountry},
		{"no country yet", domain.Availability{Countries: []string{"NL"}}, with(func(o *domain.Offer) { o.Country = "" }), domain.RuleCountry},
		{"the checkout's rules come first", domain.Availability{Countries: []string{"DE"}, Currencies: []string{"GBP"}}, eur, domain.RuleCurrency},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.unmet, tc.rules.Unmet(tc.offer))
			require.Equal(t, tc.unmet == "", tc.rules.Matches(tc.offer))
			checkoutOnly := tc.unmet != "" && tc.unmet != domain.RuleCountry
			require.Equal(t, checkoutOnly, tc.rules.UnmetForCheckout(tc.offer) != "", "the checkout's part ignores the country")
		})
	}
}

func TestProviderOffersCheckoutCombinesTheProviderAndItsRules(t *testing.T) {
	p := domain.Provider{Type: domain.ProviderType("paypal"), Mode: domain.ModeTest, Enabled: true, Availability: domain.Availability{Currencies: []string{"EUR"}}}
	require.True(t, p.OffersCheckout(domain.Offer{Mode: domain.ModeTest, Currency: "EUR", Amount: 100}))
	require.False(t, p.OffersCheckout(domain.Offer{Mode: domain.ModeTest, Currency: "USD", Amount: 100}), "a currency the rules do not allow")
	require.False(t, p.OffersCheckout(domain.Offer{Mode: domain.ModeLive, Currency: "EUR", Amount: 100}), "the provider's own mode")
	p.Enabled = false
	require.False(t, p.OffersCheckout(domain.Offer{Mode: domain.ModeTest, Currency: "EUR", Amount: 100}), "disabled")
}

func TestAvailabilityNormalizeReportsEveryMistakeAtOnce(t *testing.T) {
	known := func(c string) bool { return c == "EUR" || c == "USD" || c == "GBP" }
	a := domain.Availability{Countries: []string{" nl", "DE", "nl", "XX1", "ZZZ"}, Currencies: []string{"eur", "ABC"},
		AmountCurrency: "usd", MinAmount: i64(-1), MaxAmount: i64(-5), Modes: []domain.Mode{"staging"}}
	err := a.Normalize("availability", known)
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	fields := map[string]string{de.Field: de.Message}
	for _, e := range de.Also {
		fields[e.Field] = e.Message
	}
	require.Equal(t, []string{"DE", "NL", "XX1", "ZZZ"}, a.Countries, "upper-cased, trimmed, sorted, de-duplicated")
	require.Contains(t, fields["availability.countries"], "XX1, ZZZ")
	require.Contains(t, fields["availability.currencies"], "ABC")
	require.Contains(t, fields["availability.amountCurrency"], "USD is not among the allowed currencies")
	require.Contains(t, fields["availability.minAmount"], "cannot be negative")
	require.Contains(t, fields["availability.maxAmount"], "must be more than zero")
	require.Contains(t, fields["availability.modes"], "staging")
	require.Len(t, fields, 6)

	ok := domain.Availability{Countries: []string{"be", "nl"}, Currencies: []string{"EUR"}, AmountCurrency: "eur", MinAmount: i64(100), MaxAmount: i64(100),
		Modes: []domain.Mode{domain.ModeLive, domain.ModeTest, domain.ModeLive}}
	require.NoError(t, ok.Normalize("availability", known))
	require.Equal(t, "EUR", ok.AmountCurrency)
	require.Equal(t, []domain.Mode{domain.ModeTest, domain.ModeLive}, ok.Modes)

	bounds := domain.Availability{MinAmount: i64(500), MaxAmount: i64(100)}
	err = bounds.Normalize("availability", known)
	require.ErrorAs(t, err, &de)
	require.Equal(t, "availability.amountCurrency", de.Field, "bounds name their currency")
	require.Len(t, de.Also, 1)
	require.Equal(t, "availability.maxAmount", de.Also[0].Field)

	none := domain.Availability{AmountCurrency: "EUR"}
	require.NoError(t, none.Normalize("availability", known))
	require.Empty(t, none.AmountCurrency, "a currency without amounts is dropped")
	require.True(t, none.Unrestricted())
}

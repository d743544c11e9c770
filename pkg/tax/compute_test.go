package tax

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var june2025 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ratePtr(s string) *Rate {
	r, err := ParseRate(s)
	if err != nil {
		panic(err)
	}
	return &r
}

func goods(price int64) Line { return Line{Type: SupplyGoods, Quantity: 1, UnitPrice: price} }
func digital(price int64) Line {
	return Line{Type: SupplyDigitalService, Quantity: 1, UnitPrice: price}
}

// germanShop is a German seller with gross prices, registered for OSS.
func germanShop(buyer Buyer, lines ...Line) Input {
	return Input{
		Settings: Settings{SellerCountry: "DE", PricesIncludeTax: true, OSSRegistered: true},
		Currency: "EUR",
		Lines:    lines,
		Buyer:    buyer,
		At:       june2025,
	}
}

func shippedTo(country string) Buyer {
	return Buyer{BillingCountry: country, ShippingCountry: country,
		BillingSource: "billing_form", ShippingSource: "checkout_shipping_address"}
}

type wantLine struct {
	net, tax, gross int64
	rate            Rate
	code            string
	country         string
	treatment       Treatment
}

func TestComputeGermanSeller(t *testing.T) {
	t.Parallel()
	noOSS := func(in Input) Input { in.Settings.OSSRegistered = false; return in }
	for _, tc := range []struct {
		name      string
		in        Input
		treatment Treatment
		lines     []wantLine
		ruleHas   string
	}{
		{
			name:      "german consumer pays 19% German VAT",
			in:        germanShop(shippedTo("DE"), goods(11900)),
			treatment: TreatmentDomestic,
			lines:     []wantLine{{10000, 1900, 11900, 1900, "DE-standard", "DE", TreatmentDomestic}},
			ruleHas:   "the seller's own country",
		},
		{
			name:      "french consumer pays 20% French VAT under OSS",
			in:        germanShop(shippedTo("FR"), goods(12000)),
			treatment: TreatmentOSS,
			lines:     []wantLine{{10000, 2000, 12000, 2000, "FR-standard", "FR", TreatmentOSS}},
			ruleHas:   "One-Stop-Shop",
		},
		{
			name:      "french consumer pays 19% German VAT when the seller is not in OSS",
			in:        noOSS(germanShop(shippedTo("FR"), goods(12000))),
			treatment: TreatmentDomestic,
			// 12000 * 19/119 = 1915.97 -> 1916
			lines:   []wantLine{{10084, 1916, 12000, 1900, "DE-standard", "DE", TreatmentDomestic}},
			ruleHas: "seller not registered for OSS",
		},
		{
			name: "french business with a well-formed VAT id is reverse charged",
			in: germanShop(Buyer{BillingCountry: "FR", VATID: "FR40303265045", VATIDStatus: VATIDFormatValid},
				digital(12000)),
			treatment: TreatmentReverseCharge,
			// Prices include VAT: the 19% German VAT in 120.00 (19.16) is taken off.
			lines:   []wantLine{{10084, 0, 10084, 0, "reverse_charge", "FR", TreatmentReverseCharge}},
			ruleHas: "EU business customer with VAT id FR40303265045 (format_valid), supply to FR: reverse charge (Art. 196 VAT Directive)",
		},
		{
			name:      "US buyer is an export at 0",
			in:        germanShop(shippedTo("US"), goods(12000)),
			treatment: TreatmentExport,
			lines:     []wantLine{{10084, 0, 10084, 0, "export", "US", TreatmentExport}},
			ruleHas:   "outside the EU",
		},
		{
			name: "digital service follows the billing country, not the shipping country",
			in: germanShop(Buyer{BillingCountry: "FR", ShippingCountry: "DE", BillingSource: "billing_form"},
				digital(12000)),
			treatment: TreatmentOSS,
			lines:     []wantLine{{10000, 2000, 12000, 2000, "FR-standard", "FR", TreatmentOSS}},
		},
		{
			name: "goods follow the shipping country, not the billing country",
			in: germanShop(Buyer{BillingCountry: "DE", ShippingCountry: "AT", ShippingSource: "checkout_shipping_address"},
				goods(12000)),
			treatment: TreatmentOSS,
			lines:     []wantLine{{10000, 2000, 12000, 2000, "AT-standard", "AT", TreatmentOSS}},
		},
		{
			name:      "explicit rate of 7% wins over the standard rate",
			in:        germanShop(shippedTo("DE"), Line{Type: SupplyGoods, Quantity: 1, UnitPrice: 10700, Rate: ratePtr("7")}),
			treatment: TreatmentDomestic,
			lines:     []wantLine{{10000, 700, 10700, 700, "explicit", "DE", TreatmentDomestic}},
			ruleHas:   "merchant-specified rate 7% applied",
		},
		{
			name:      "explicit rate of 0 makes the line exempt",
			in:        germanShop(shippedTo("DE"), Line{Type: SupplyGoods, Quantity: 1, UnitPrice: 10700, Rate: ratePtr("0")}),
			treatment: TreatmentExempt,
			lines:     []wantLine{{10700, 0, 10700, 0, "exempt", "DE", TreatmentExempt}},
		},
		{
			name: "explicit rate does not undo a reverse charge",
			in: germanShop(Buyer{BillingCountry: "FR", VATID: "FR40303265045", VATIDStatus: VATIDVIESValid},
				Line{Type: SupplyDigitalService, Quantity: 1, UnitPrice: 10700, Rate: ratePtr("7")}),
			treatment: TreatmentReverseCharge,
			// the explicit 7% is what the stated price contains: it is taken off
			lines: []wantLine{{10000, 0, 10000, 0, "reverse_charge", "FR", TreatmentReverseCharge}},
		},
		{
			name: "a business in the seller's own country pays domestic VAT",
			in: germanShop(Buyer{BillingCountry: "DE", VATID: "DE136695976", VATIDStatus: VATIDVIESValid},
				digital(11900)),
			treatment: TreatmentDomestic,
			lines:     []wantLine{{10000, 1900, 11900, 1900, "DE-standard", "DE", TreatmentDomestic}},
			ruleHas:   "no reverse charge",
		},
		{
			name: "an invalid VAT id makes the buyer a consumer",
			in: germanShop(Buyer{BillingCountry: "FR", VATID: "FR40303265045", VATIDStatus: VATIDInvalid},
				digital(12000)),
			treatment: TreatmentOSS,
			lines:     []wantLine{{10000, 2000, 12000, 2000, "FR-standard", "FR", TreatmentOSS}},
			ruleHas:   "invalid, treated as consumer",
		},
		{
			name: "VIES unavailable with a well-formed id still reverse charges",
			in: germanShop(Buyer{BillingCountry: "GR", VATID: "EL094259216", VATIDStatus: VATIDVIESUnavailable},
				digital(12400)),
			treatment: TreatmentReverseCharge,
			lines:     []wantLine{{10420, 0, 10420, 0, "reverse_charge", "GR", TreatmentReverseCharge}},
		},
		{
			name:      "no buyer country yet previews at the seller's rate",
			in:        germanShop(Buyer{}, goods(11900)),
			treatment: TreatmentDomestic,
			lines:     []wantLine{{10000, 1900, 11900, 1900, "DE-standard", "DE", TreatmentDomestic}},
			ruleHas:   "No buyer country yet",
		},
		{
			name: "seller outside the EU charges nothing",
			in: Input{Settings: Settings{SellerCountry: "US", PricesIncludeTax: true}, Currency: "USD",
				Lines: []Line{goods(10000)}, Buyer: shippedTo("DE"), At: june2025},
			treatment: TreatmentOutsideScope,
			lines:     []wantLine{{10000, 0, 10000, 0, "outside_scope", "DE", TreatmentOutsideScope}},
			ruleHas:   "Seller country US is outside the EU",
		},
		{
			name: "seller outside the EU applies an explicit rate",
			in: Input{Settings: Settings{SellerCountry: "us", PricesIncludeTax: true}, Currency: "usd",
				Lines: []Line{{Type: SupplyGoods, Quantity: 1, UnitPrice: 10825, Rate: ratePtr("8.25")}}, Buyer: shippedTo("us"), At: june2025},
			treatment: TreatmentOutsideScope,
			lines:     []wantLine{{10000, 825, 10825, 825, "explicit", "US", TreatmentOutsideScope}},
		},
		{
			name: "prices excluding tax add the tax on top",
			in: Input{Settings: Settings{SellerCountry: "DE"}, Currency: "EUR",
				Lines: []Line{{Type: SupplyGoods, Quantity: 2, UnitPrice: 4999}}, Buyer: shippedTo("DE"), At: june2025},
			treatment: TreatmentDomestic,
			// 9998 * 19% = 1899.62 -> 1900
			lines: []wantLine{{9998, 1900, 11898, 1900, "DE-standard", "DE", TreatmentDomestic}},
		},
		{
			name: "half a cent rounds away from zero",
			in: Input{Settings: Settings{SellerCountry: "DE"}, Currency: "EUR",
				Lines: []Line{goods(50)}, Buyer: shippedTo("DE"), At: june2025},
			treatment: TreatmentDomestic,
			// 50 * 19% = 9.5 -> 10
			lines: []wantLine{{50, 10, 60, 1900, "DE-standard", "DE", TreatmentDomestic}},
		},
		{
			name: "shipping follows the goods' country and different treatments make the checkout mixed",
			in: germanShop(Buyer{BillingCountry: "DE", ShippingCountry: "CH"},
				goods(10000), Line{Type: SupplyShipping, Quantity: 1, UnitPrice: 500}, digital(11900)),
			treatment: TreatmentMixed,
			lines: []wantLine{
				{8403, 0, 8403, 0, "export", "CH", TreatmentExport},
				{420, 0, 420, 0, "export", "CH", TreatmentExport},
				{10000, 1900, 11900, 1900, "DE-standard", "DE", TreatmentDomestic},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Compute(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.treatment, res.Treatment)
			require.Equal(t, tc.treatment, res.Evidence.Treatment)
			require.Len(t, res.Lines, len(tc.lines))
			var net, tax, gross int64
			for i, w := range tc.lines {
				got := res.Lines[i]
				require.Equal(t, w, wantLine{got.Net, got.Tax, got.Gross, got.Rate, got.RateCode, got.Country, got.Treatment}, "line %d", i)
				net, tax, gross = net+w.net, tax+w.tax, gross+w.gross
			}
			require.Equal(t, [3]int64{net, tax, gross}, [3]int64{res.TotalNet, res.TotalTax, res.TotalGross})
			require.Equal(t, tc.in.Settings.PricesIncludeTax, res.TaxIncluded)
			require.Contains(t, res.Evidence.Rule, tc.ruleHas)
			require.Equal(t, res.Breakdown, res.Evidence.Rates)
		})
	}
}

func TestComputeDiscountIsAllocatedProRataAtEachLinesRate(t *testing.T) {
	t.Parallel()
	in := germanShop(shippedTo("DE"),
		goods(10000), // 19%
		Line{Type: SupplyGoods, Quantity: 1, UnitPrice: 5000, Rate: ratePtr("7")},
		Line{Type: SupplyDiscount, Quantity: 1, UnitPrice: -1000},
	)
	res, err := Compute(in)
	require.NoError(t, err)

	// Shares of 1000 over 10000:5000 are 666.67 and 333.33; the leftover unit goes to the larger
	// remainder, so 667 and 333.
	// Line 0: 10000 gross, tax 10000*19/119 = 1596.64 -> 1597. After 667 off: 9333*19/119 =
	//   1490.14 -> 1490, so the discount part carries 1490-1597 = -107 tax.
	// Line 1: 5000 gross, tax 5000*7/107 = 327.10 -> 327. After 333 off: 4667*7/107 = 305.32
	//   -> 305, so the part carries -22 tax.
	require.Equal(t, LineResult{Net: 8403, Tax: 1597, Gross: 10000, Rate: 1900, RateCode: "DE-standard",
		Country: "DE", CountrySource: "checkout_shipping_address", Treatment: TreatmentDomestic,
		DiscountNet: -560, DiscountTax: -107, DiscountGross: -667}, res.Lines[0])
	require.Equal(t, LineResult{Net: 4673, Tax: 327, Gross: 5000, Rate: 700, RateCode: "explicit",
		Country: "DE", CountrySource: "checkout_shipping_address", Treatment: TreatmentDomestic,
		DiscountNet: -311, DiscountTax: -22, DiscountGross: -333}, res.Lines[1])
	require.Equal(t, LineResult{Net: -871, Tax: -129, Gross: -1000, Rate: 0, RateCode: RateCodeMixed,
		Country: "DE", CountrySource: "checkout_shipping_address", Treatment: TreatmentDomestic,
		Allocations: []Allocation{
			{Line: 0, Net: -560, Tax: -107, Gross: -667, Rate: 1900, RateCode: "DE-standard"},
			{Line: 1, Net: -311, Tax: -22, Gross: -333, Rate: 700, RateCode: "explicit"},
		}}, res.Lines[2])

	require.Equal(t, int64(12205), res.TotalNet)
	require.Equal(t, int64(1795), res.TotalTax)
	require.Equal(t, int64(14000), res.TotalGross)
	require.Equal(t, []BreakdownEntry{
		{Rate: 1900, RateCode: "DE-standard", TaxableBase: 7843, TaxAmount: 1490},
		{Rate: 700, RateCode: "explicit", TaxableBase: 4362, TaxAmount: 305},
	}, res.Breakdown)
}

func TestComputeDiscounts(t *testing.T) {
	t.Parallel()
	discount := func(v int64) Line { return Line{Type: SupplyDiscount, Quantity: 1, UnitPrice: -v} }
	shipping := func(v int64) Line { return Line{Type: SupplyShipping, Quantity: 1, UnitPrice: v} }

	t.Run("shipping is not discounted while there are goods", func(t *testing.T) {
		t.Parallel()
		res, err := Compute(germanShop(shippedTo("DE"), goods(11900), shipping(595), discount(1190)))
		require.NoError(t, err)
		require.Equal(t, int64(-1190), res.Lines[0].DiscountGross)
		require.Zero(t, res.Lines[1].DiscountGross)
		require.Equal(t, "DE-standard", res.Lines[2].RateCode)
		require.Equal(t, Rate(1900), res.Lines[2].Rate)
		require.Equal(t, int64(-190), res.Lines[2].Tax)
	})
	t.Run("with only shipping, shipping is discounted", func(t *testing.T) {
		t.Parallel()
		res, err := Compute(germanShop(shippedTo("DE"), shipping(595), discount(595)))
		require.NoError(t, err)
		require.Zero(t, res.TotalGross)
		require.Zero(t, res.TotalTax)
		require.Equal(t, int64(-595), res.Lines[0].DiscountGross)
	})
	t.Run("several discounts never take a line below zero", func(t *testing.T) {
		t.Parallel()
		// each discount alone would round its extra unit onto the first line
		res, err := Compute(germanShop(shippedTo("DE"), goods(1), goods(1), discount(1), discount(1)))
		require.NoError(t, err)
		require.Zero(t, res.TotalGross)
		for _, i := range []int{0, 1} {
			require.Zero(t, res.Lines[i].Gross+res.Lines[i].DiscountGross, "line %d", i)
		}
	})
	t.Run("a discount larger than what it discounts is an error", func(t *testing.T) {
		t.Parallel()
		_, err := Compute(germanShop(shippedTo("DE"), goods(1000), discount(1001)))
		require.ErrorIs(t, err, ErrInvalidInput)
		require.ErrorContains(t, err, "exceed")
	})
	t.Run("a discount with nothing to discount is an error", func(t *testing.T) {
		t.Parallel()
		_, err := Compute(germanShop(shippedTo("DE"), discount(1)))
		require.ErrorIs(t, err, ErrInvalidInput)
	})
	t.Run("a zero discount is harmless", func(t *testing.T) {
		t.Parallel()
		res, err := Compute(germanShop(shippedTo("DE"), goods(1190), discount(0)))
		require.NoError(t, err)
		require.Equal(t, LineResult{Rate: 1900, RateCode: "DE-standard", Country: "DE",
			CountrySource: "checkout_shipping_address", Treatment: TreatmentDomestic}, res.Lines[1])
	})
	t.Run("a discount on reverse-charged lines carries no tax", func(t *testing.T) {
		t.Parallel()
		res, err := Compute(germanShop(Buyer{BillingCountry: "NL", VATID: "NL004495445B01", VATIDStatus: VATIDVIESValid},
			digital(5000), digital(5000), discount(2500)))
		require.NoError(t, err)
		// Prices include VAT: each half of the 25.00 off contained 1.99 of German VAT, taken off too.
		require.Equal(t, LineResult{Net: -2102, Gross: -2102, RateCode: RateCodeReverseCharge, Country: "NL",
			CountrySource: "billing_country", Treatment: TreatmentReverseCharge, RemovedVAT: -398, Allocations: []Allocation{
				{Line: 0, Net: -1051, Gross: -1051, RateCode: RateCodeReverseCharge, RemovedVAT: -199},
				{Line: 1, Net: -1051, Gross: -1051, RateCode: RateCodeReverseCharge, RemovedVAT: -199},
			}}, res.Lines[2])
		require.Equal(t, int64(6302), res.TotalGross, "the net of 75.00: 2 x (50.00 - 7.98) - 21.02")
	})
}

func TestComputeMerchantTaxLines(t *testing.T) {
	t.Parallel()
	res, err := Compute(germanShop(shippedTo("FR"),
		goods(10000),
		Line{Type: SupplyShipping, Quantity: 1, UnitPrice: 500, Rate: ratePtr("20")}, // ignored
		Line{Type: SupplyDiscount, Quantity: 1, UnitPrice: -1000},
		Line{Type: SupplyTax, Quantity: 1, UnitPrice: 1900},
	))
	require.NoError(t, err)
	require.Equal(t, TreatmentMerchant, res.Treatment)
	require.False(t, res.TaxIncluded, "merchant tax lines are added on top")
	for i, want := range [][3]int64{{10000, 0, 10000}, {500, 0, 500}, {-1000, 0, -1000}, {0, 1900, 1900}} {
		lr := res.Lines[i]
		require.Equal(t, want, [3]int64{lr.Net, lr.Tax, lr.Gross}, "line %d", i)
		require.Equal(t, TreatmentMerchant, lr.Treatment)
		require.Equal(t, RateCodeMerchant, lr.RateCode)
	}
	require.Equal(t, [3]int64{9500, 1900, 11400}, [3]int64{res.TotalNet, res.TotalTax, res.TotalGross})
	// The rate the merchant's tax amounts to is shown, not 0: 19.00 on 95.00 is France's 20%.
	require.Equal(t, []BreakdownEntry{{Rate: 2000, RateCode: "merchant", TaxableBase: 9500, TaxAmount: 1900}}, res.Breakdown)
	require.Equal(t, Rate(2000), res.Lines[3].Rate)
	require.Contains(t, res.Evidence.Rule, "Merchant supplied its own tax lines")
}

func TestComputeMerchantTaxRate(t *testing.T) {
	t.Parallel()
	rate := func(buyer Buyer, lines ...Line) Rate {
		t.Helper()
		res, err := Compute(germanShop(buyer, lines...))
		require.NoError(t, err)
		require.Equal(t, TreatmentMerchant, res.Treatment)
		require.Len(t, res.Breakdown, 1)
		return res.Breakdown[0].Rate
	}
	tax := func(v int64) Line { return Line{Type: SupplyTax, Quantity: 1, UnitPrice: v} }
	// 73611 * 19% = 13986.09: the seller's rate reproduces the tax exactly
	require.Equal(t, Rate(1900), rate(Buyer{}, goods(73611), tax(13986)))
	// a small amount where the effective rate (0.10/0.50 = 20%) is not the rate used (19%)
	require.Equal(t, Rate(1900), rate(shippedTo("DE"), goods(50), tax(10)))
	// France's reduced 5.5% on a French buyer
	require.Equal(t, Rate(550), rate(shippedTo("FR"), goods(10000), tax(550)))
	// no table rate fits: the effective rate, to a hundredth of a percent
	require.Equal(t, Rate(1234), rate(shippedTo("DE"), goods(10000), tax(1234)))
	// no tax, or more tax than net: no rate
	require.Equal(t, Rate(0), rate(shippedTo("DE"), goods(10000), tax(0)))
	require.Equal(t, Rate(0), rate(shippedTo("DE"), goods(100), tax(101)))
}

func TestComputeZeroRatedLinesPayTheNet(t *testing.T) {
	t.Parallel()
	frBusiness := Buyer{BillingCountry: "FR", ShippingCountry: "FR", VATID: "FR40303265045", VATIDStatus: VATIDFormatValid}
	for _, tc := range []struct {
		name                  string
		inclusive             bool
		buyer                 Buyer
		line                  Line
		net, tax, gross, rmvd int64
		removed               Rate
		treatment             Treatment
	}{
		{"inclusive, domestic: the stated gross", true, shippedTo("DE"), goods(87597), 73611, 13986, 87597, 0, 0, TreatmentDomestic},
		{"inclusive, OSS: the stated gross at the buyer's rate", true, shippedTo("FR"), goods(87597), 72997, 14600, 87597, 0, 0, TreatmentOSS},
		{"inclusive, reverse charge: the net", true, frBusiness, goods(87597), 73611, 0, 73611, 13986, 1900, TreatmentReverseCharge},
		{"inclusive, export: the net", true, shippedTo("US"), goods(87597), 73611, 0, 73611, 13986, 1900, TreatmentExport},
		{"inclusive, exempt: the stated price, no VAT in it", true, shippedTo("DE"), Line{Type: SupplyGoods, Quantity: 1, UnitPrice: 87597, Rate: ratePtr("0")}, 87597, 0, 87597, 0, 0, TreatmentExempt},
		{"exclusive, domestic", false, shippedTo("DE"), goods(73611), 73611, 13986, 87597, 0, 0, TreatmentDomestic},
		{"exclusive, OSS", false, shippedTo("FR"), goods(73611), 73611, 14722, 88333, 0, 0, TreatmentOSS},
		{"exclusive, reverse charge", false, frBusiness, goods(73611), 73611, 0, 73611, 0, 0, TreatmentReverseCharge},
		{"exclusive, export", false, shippedTo("US"), goods(73611), 73611, 0, 73611, 0, 0, TreatmentExport},
		{"exclusive, exempt", false, shippedTo("DE"), Line{Type: SupplyGoods, Quantity: 1, UnitPrice: 73611, Rate: ratePtr("0")}, 73611, 0, 73611, 0, 0, TreatmentExempt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := germanShop(tc.buyer, tc.line)
			in.Settings.PricesIncludeTax = tc.inclusive
			res, err := Compute(in)
			require.NoError(t, err)
			require.Equal(t, tc.treatment, res.Treatment)
			require.Equal(t, [3]int64{tc.net, tc.tax, tc.gross}, [3]int64{res.TotalNet, res.TotalTax, res.TotalGross})
			require.Equal(t, tc.removed, res.Lines[0].RemovedRate)
			require.Equal(t, tc.rmvd, res.Lines[0].RemovedVAT)
		})
	}
}

func TestComputeRatesAreEffectiveDated(t *testing.T) {
	t.Parallel()
	finnish := func(at time.Time) Input {
		in := germanShop(shippedTo("FI"), goods(100000))
		in.At = at
		return in
	}
	estonian := func(at time.Time) Input {
		in := germanShop(shippedTo("EE"), goods(100000))
		in.At = at
		return in
	}
	for _, tc := range []struct {
		name string
		in   Input
		rate Rate
		tax  int64
	}{
		// Helsinki is UTC+3 in summer: the new rate starts at 2024-08-31T21:00Z
		{"Finland charges 24% until the end of August 2024", finnish(time.Date(2024, 8, 31, 20, 59, 59, 0, time.UTC)), 2400, 19355},
		{"Finland charges 25.5% from 1 September 2024 local time", finnish(time.Date(2024, 8, 31, 21, 0, 0, 0, time.UTC)), 2550, 20319},
		{"Estonia charges 22% until the end of June 2025", estonian(time.Date(2025, 6, 30, 20, 59, 59, 0, time.UTC)), 2200, 18033},
		{"Estonia charges 24% from 1 July 2025 local time", estonian(time.Date(2025, 6, 30, 21, 0, 0, 0, time.UTC)), 2400, 19355},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := Compute(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.rate, res.Lines[0].Rate)
			require.Equal(t, tc.tax, res.TotalTax)
			require.Equal(t, tc.in.At.UTC(), res.Evidence.RatesEffectiveAt)
		})
	}
	t.Run("a date before the rate table's coverage is an error", func(t *testing.T) {
		t.Parallel()
		_, err := Compute(finnish(time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)))
		require.ErrorIs(t, err, ErrInvalidInput)
		require.ErrorContains(t, err, "no standard VAT rate known for FI")
	})
}

func TestComputeRejectsInvalidInput(t *testing.T) {
	t.Parallel()
	valid := func() Input { return germanShop(shippedTo("FR"), goods(1000)) }
	for _, tc := range []struct {
		name   string
		modify func(*Input)
		msg    string
	}{
		{"unknown currency", func(in *Input) { in.Currency = "XXX" }, "unknown currency"},
		{"seller country missing", func(in *Input) { in.Settings.SellerCountry = "" }, "seller country is required"},
		{"seller country of three letters", func(in *Input) { in.Settings.SellerCountry = "DEU" }, "two-letter"},
		{"unassigned country code", func(in *Input) { in.Buyer.ShippingCountry = "QQ" }, "not an assigned"},
		{"EL instead of GR", func(in *Input) { in.Buyer.BillingCountry = "EL" }, `use "GR"`},
		{"UK instead of GB", func(in *Input) { in.Buyer.BillingCountry = "uk" }, `use "GB"`},
		{"missing At", func(in *Input) { in.At = time.Time{} }, "At is required"},
		{"quantity 0", func(in *Input) { in.Lines[0].Quantity = 0 }, "quantity 0 is below 1"},
		{"negative goods price", func(in *Input) { in.Lines[0].UnitPrice = -1 }, "only discounts may be"},
		{"positive discount", func(in *Input) { in.Lines[0] = Line{Type: SupplyDiscount, Quantity: 1, UnitPrice: 1} }, "must be negative"},
		{"unknown line type", func(in *Input) { in.Lines[0].Type = "gift" }, "unknown supply type"},
		{"explicit rate above 100%", func(in *Input) { r := Rate(10001); in.Lines[0].Rate = &r }, "outside 0..100"},
		{"negative explicit rate", func(in *Input) { r := Rate(-1); in.Lines[0].Rate = &r }, "outside 0..100"},
		{"valid status without id", func(in *Input) { in.Buyer.VATIDStatus = VATIDFormatValid }, "without a VAT id"},
		{"valid status with a malformed id", func(in *Input) {
			in.Buyer.VATID, in.Buyer.VATIDStatus = "FR123", VATIDFormatValid
		}, "does not match"},
		{"unknown VAT id status", func(in *Input) { in.Buyer.VATIDStatus = "maybe" }, "unknown VAT id status"},
		{"quantity times price overflows", func(in *Input) { in.Lines[0] = Line{Type: SupplyGoods, Quantity: 2, UnitPrice: math.MaxInt64} }, "overflows"},
		{"net plus tax overflows", func(in *Input) {
			in.Settings.PricesIncludeTax = false
			in.Lines[0].UnitPrice = math.MaxInt64
		}, "overflows"},
		{"totals overflow", func(in *Input) { in.Lines = []Line{goods(math.MaxInt64), goods(1)} }, "overflows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := valid()
			tc.modify(&in)
			_, err := Compute(in)
			require.ErrorIs(t, err, ErrInvalidInput)
			require.ErrorContains(t, err, tc.msg)
		})
	}
	t.Run("lower-case codes are normalised", func(t *testing.T) {
		t.Parallel()
		in := valid()
		in.Settings.SellerCountry, in.Buyer.ShippingCountry, in.Currency = "de", "fr", "eur"
		res, err := Compute(in)
		require.NoError(t, err)
		require.Equal(t, "FR-standard", res.Lines[0].RateCode)
		require.Equal(t, "DE", res.Evidence.SellerCountry)
		require.Equal(t, "EUR", res.Evidence.Currency)
	})
	t.Run("VIES's word beats our format table", func(t *testing.T) {
		t.Parallel()
		in := valid()
		in.Lines[0] = digital(1000)
		in.Buyer.VATID, in.Buyer.VATIDStatus = "FR123", VATIDVIESValid
		res, err := Compute(in)
		require.NoError(t, err)
		require.Equal(t, TreatmentReverseCharge, res.Treatment)
	})
}

func TestComputeEmptyCheckout(t *testing.T) {
	t.Parallel()
	res, err := Compute(germanShop(shippedTo("FR")))
	require.NoError(t, err)
	require.Equal(t, TreatmentOSS, res.Treatment, "the treatment a goods line would get")
	require.Empty(t, res.Lines)
	require.Zero(t, res.TotalGross)
}

func TestEvidenceIsCamelCaseJSON(t *testing.T) {
	t.Parallel()
	res, err := Compute(germanShop(Buyer{BillingCountry: "fr", BillingSource: "billing_form",
		VATID: "fr 40 303 265 045", VATIDStatus: VATIDFormatValid}, digital(1000)))
	require.NoError(t, err)
	b, err := json.Marshal(res.Evidence)
	require.NoError(t, err)
	require.JSONEq(t, `{
		"sellerCountry": "DE",
		"billingCountry": "FR",
		"billingSource": "billing_form",
		"currency": "EUR",
		"treatment": "reverse_charge",
		"rule": "EU business customer with VAT id FR40303265045 (format_valid), supply to FR: reverse charge (Art. 196 VAT Directive); Prices include VAT: the 19% VAT the stated price contains is taken off, the buyer pays the net",
		"vatId": "FR40303265045",
		"vatIdStatus": "format_valid",
		"pricesIncludeTax": true,
		"ossRegistered": true,
		"ratesEffectiveAt": "2025-06-01T12:00:00Z",
		"rates": [{"rate": 0, "rateCode": "reverse_charge", "taxableBase": 840, "taxAmount": 0}]
	}`, string(b))

	var back Evidence
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, res.Evidence, back)
}

func TestComputeErrorsAreOnlyInvalidInput(t *testing.T) {
	t.Parallel()
	// a reminder that callers can tell bad input from everything else
	_, err := Compute(Input{})
	require.True(t, errors.Is(err, ErrInvalidInput))
	require.True(t, strings.HasPrefix(err.Error(), "tax: invalid input: "))
}

package tax_test

import (
	"fmt"
	"time"

	"paygate.dev/pkg/tax"
)

func ExampleCompute() {
	seven := tax.Rate(700)
	res, err := tax.Compute(tax.Input{
		Settings: tax.Settings{SellerCountry: "DE", PricesIncludeTax: true, OSSRegistered: true},
		Currency: "EUR",
		Lines: []tax.Line{
			{Type: tax.SupplyGoods, Quantity: 2, UnitPrice: 2500},
			{Type: tax.SupplyGoods, Quantity: 1, UnitPrice: 1500, Rate: &seven}, // a book
			{Type: tax.SupplyDiscount, Quantity: 1, UnitPrice: -650},
		},
		Buyer: tax.Buyer{BillingCountry: "FR", ShippingCountry: "FR", ShippingSource: "checkout_shipping_address"},
		At:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	for _, e := range res.Breakdown {
		fmt.Printf("%s%% %s: base %d, tax %d\n", e.Rate, e.RateCode, e.TaxableBase, e.TaxAmount)
	}
	fmt.Println("total", res.TotalNet, res.TotalTax, res.TotalGross)
	fmt.Println(res.Evidence.Rule)
	// Output:
	// 20% FR-standard: base 3750, tax 750
	// 7% explicit: base 1262, tax 88
	// total 5012 838 5850
	// EU consumer in FR (checkout_shipping_address), seller registered for OSS: VAT of FR (place of supply Art. 33 VAT Directive, declared via the One-Stop-Shop); line 1: merchant-specified rate 7% applied
}

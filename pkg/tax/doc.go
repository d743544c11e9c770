// Package tax is the platform's VAT engine: it decides, line by line, which country's VAT
// applies to a checkout, at which rate, and how much tax that is in integer minor units, and it
// records the evidence for that decision.
//
// # Where a line is taxed
//
// Goods and shipping follow the shipping country (else the billing country); digital services
// follow the billing country (else the shipping country). With no buyer country yet the seller
// country is used, with source "seller_default", so that a checkout can show a preview.
//
// A seller outside the EU is "outside_scope": no tax, except on lines with an explicit rate.
// For an EU seller: a buyer in the seller's own country pays domestic VAT, business or not; a
// buyer outside the EU is an "export" at 0; a buyer in another member state whose VAT id has
// status format_valid, vies_valid or vies_unavailable, and whose id is from a member state
// other than the seller's, is a "reverse_charge" at 0 (Greek ids use the prefix EL); any other
// EU buyer is a consumer, charged the VAT of their own country ("oss") when the seller is
// registered for the One-Stop-Shop, and the seller's VAT ("domestic") otherwise. An "invalid"
// VAT id makes the buyer a consumer.
//
// A merchant's explicit rate on a line wins over the table on the taxable treatments (domestic,
// oss, outside_scope); an explicit 0% makes the line "exempt". Reverse charge and export stay 0.
// When any line is a merchant-computed "tax" line, nothing is computed: the treatment is
// "merchant" and the tax lines are the tax; the breakdown names the rate they amount to (a
// rate of the buyer's or seller's country that gives exactly that tax, else the effective rate).
//
// # What the buyer pays
//
// With prices excluding VAT the stated price is the net: domestic and OSS lines add VAT at the
// rate used, reverse-charged, exported and exempt lines are charged the net. With prices
// including VAT the stated price is the gross for domestic and OSS lines (the VAT is extracted
// at the rate used, so under OSS the net depends on the buyer's country) and for exempt lines
// (an explicit 0% says the price contains no VAT); a reverse-charged or exported line is charged
// its net: the stated price less the VAT it contains at the seller's standard rate (or the
// line's explicit rate), reported as LineResult.RemovedRate and RemovedVAT. So a business or
// export buyer pays the same whichever way the merchant states prices.
//
// # Amounts
//
// Money is int64 minor units and never a float; rates are integer hundredths of a percent. With
// prices including tax, tax = round(gross*r/(10000+r)) and net = gross-tax; otherwise
// tax = round(net*r/10000) and gross = net+tax. Rounding is half away from zero to the minor
// unit, in exact 128-bit integer arithmetic, so JPY, EUR and KWD (0, 2, 3 decimals) behave
// alike; results that do not fit int64 are errors, never wrapped values.
//
// Discount lines reduce the positive goods and digital-service lines (or, if there are none,
// all positive lines) in proportion to their amounts, by largest remainder so that the parts
// add up exactly; each part is taxed at the rate of the line it reduces. Every line result
// satisfies Net+Tax == Gross; totals are sums of line results and the per-rate breakdown sums
// the same numbers, so everything adds up to the minor unit. See LineResult for how discounts
// are represented.
//
// # Rates
//
// Standard and reduced rates of the 27 member states live in rates.csv, embedded in the binary.
// Each row says from which instant a rate applies (local midnight of the country), so a rate
// change is a new row, not new code. Standard rates are recorded from 2021-01-01 and reduced
// bands from 2024-01-01; earlier dates have no rate and Compute refuses them. LookupRate reads
// the table; Compute uses the standard rate unless a line has an explicit rate. A seller that
// is not registered for OSS is assumed to be under the EUR 10,000 distance-sales threshold.
//
// # VAT ids
//
// NormalizeVATID and ValidateVATIDFormat check the shape of EU, GB, CH and NO VAT ids;
// VIESClient asks the EU's VIES service whether an EU id is registered, CachedVIES remembers
// its answers, and VerifyVATID turns all that into the VATIDStatus Compute takes.
package tax

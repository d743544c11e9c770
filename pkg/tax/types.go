package tax

import "time"

// SupplyType says what a line sells; it decides which buyer country the line follows.
type SupplyType string

// Supply types.
const (
	SupplyGoods          SupplyType = "goods"
	SupplyDigitalService SupplyType = "digital_service"
	SupplyShipping       SupplyType = "shipping"
	SupplyDiscount       SupplyType = "discount" // negative; reduces the goods/service lines pro rata
	SupplyTax            SupplyType = "tax"      // a tax amount the merchant computed itself
)

// Settings are the merchant's tax settings.
type Settings struct {
	SellerCountry    string `json:"sellerCountry"`    // ISO 3166 alpha-2, e.g. "DE"
	PricesIncludeTax bool   `json:"pricesIncludeTax"` // unit prices are gross (tax extracted) rather than net (tax added)
	OSSRegistered    bool   `json:"ossRegistered"`    // seller is registered for the EU One-Stop-Shop
}

// Line is one line of a checkout.
type Line struct {
	Type      SupplyType `json:"type"`
	Quantity  int64      `json:"quantity"`       // at least 1
	UnitPrice int64      `json:"unitPrice"`      // minor units; negative only for discounts
	Rate      *Rate      `json:"rate,omitempty"` // the merchant's explicit vatRate for this line, if given
}

// VATIDStatus is what is known about a buyer's VAT id.
type VATIDStatus string

// VAT id statuses.
const (
	VATIDNone            VATIDStatus = "none"             // no id given
	VATIDFormatValid     VATIDStatus = "format_valid"     // format checked, VIES not asked
	VATIDVIESValid       VATIDStatus = "vies_valid"       // VIES confirmed the id
	VATIDInvalid         VATIDStatus = "invalid"          // bad format or VIES said invalid: a consumer
	VATIDVIESUnavailable VATIDStatus = "vies_unavailable" // VIES could not answer; the format was valid
)

// Buyer is what the checkout knows about the buyer.
type Buyer struct {
	BillingCountry  string      `json:"billingCountry,omitempty"`  // alpha-2; may be empty while the buyer has not chosen yet
	ShippingCountry string      `json:"shippingCountry,omitempty"` // may be empty (then billing is used for goods/shipping)
	BillingSource   string      `json:"billingSource,omitempty"`   // where BillingCountry came from, e.g. "billing_form"
	ShippingSource  string      `json:"shippingSource,omitempty"`  // where ShippingCountry came from, e.g. "checkout_shipping_address"
	VATID           string      `json:"vatId,omitempty"`           // with country prefix, e.g. "FR40303265045"
	VATIDStatus     VATIDStatus `json:"vatIdStatus,omitempty"`     // empty means VATIDNone
}

// Input is everything Compute needs.
type Input struct {
	Settings Settings  `json:"settings"`
	Currency string    `json:"currency"` // ISO 4217
	Lines    []Line    `json:"lines"`
	Buyer    Buyer     `json:"buyer"`
	At       time.Time `json:"at"` // the instant whose rates apply; must be set
}

// Treatment is the VAT treatment of a line or of a whole checkout.
type Treatment string

// Treatments.
const (
	TreatmentDomestic      Treatment = "domestic"       // seller country VAT
	TreatmentOSS           Treatment = "oss"            // buyer country VAT, declared through the One-Stop-Shop
	TreatmentReverseCharge Treatment = "reverse_charge" // EU business buyer accounts for the VAT
	TreatmentExport        Treatment = "export"         // buyer outside the EU
	TreatmentExempt        Treatment = "exempt"         // the merchant set a 0% rate
	TreatmentMerchant      Treatment = "merchant"       // the merchant supplied its own tax lines
	TreatmentOutsideScope  Treatment = "outside_scope"  // seller outside the EU: no EU VAT
	TreatmentMixed         Treatment = "mixed"          // only on Result: lines were treated differently
)

// Rate codes that are not "<country>-standard".
const (
	RateCodeReverseCharge = "reverse_charge"
	RateCodeExport        = "export"
	RateCodeExplicit      = "explicit"
	RateCodeExempt        = "exempt"
	RateCodeMerchant      = "merchant"
	RateCodeOutsideScope  = "outside_scope"
	RateCodeMixed         = "mixed" // a discount spread over lines with different rates
)

// CountrySource values the engine sets itself (the others are copied from Buyer).
const (
	SourceSellerDefault = "seller_default"        // no buyer country yet: a preview at the seller's rate
	SourceSellerNoOSS   = "seller_country_no_oss" // EU consumer abroad, seller not in OSS: seller country rules
)

// LineResult is the outcome for one input line.
//
// Representation of discounts: Net, Tax and Gross are the line's own contribution to the totals.
// For a goods/service/shipping line that is its amount before discounts; the share of discount
// lines it absorbed is reported separately in DiscountNet/DiscountTax/DiscountGross (all <= 0),
// so the line after discounts is Net+DiscountNet, Tax+DiscountTax, Gross+DiscountGross. For a
// discount line, Net, Tax and Gross are the (negative) sums of its Allocations. Hence
// sum(Net) == TotalNet, sum(Tax) == TotalTax and sum(Gross) == TotalGross exactly, and each
// line has Net+Tax == Gross.
type LineResult struct {
	Net           int64        `json:"net"`
	Tax           int64        `json:"tax"`
	Gross         int64        `json:"gross"`
	Rate          Rate         `json:"rate"`
	RateCode      string       `json:"rateCode"` // "DE-standard", "FR-standard", "reverse_charge", "export", "explicit", "exempt", "merchant", "outside_scope", "mixed"
	Country       string       `json:"country"`  // country whose rules applied
	CountrySource string       `json:"countrySource"`
	Treatment     Treatment    `json:"treatment"`
	DiscountNet   int64        `json:"discountNet,omitempty"`
	DiscountTax   int64        `json:"discountTax,omitempty"`
	DiscountGross int64        `json:"discountGross,omitempty"`
	Allocations   []Allocation `json:"allocations,omitempty"` // discount lines only
	// With prices including VAT, a reverse-charged or exported line is charged its net: its
	// stated price less the VAT at RemovedRate that the price contains (the seller's standard
	// rate, or the line's explicit rate). RemovedVAT is what was taken off the line's own amount
	// (Gross+RemovedVAT is the stated amount), DiscountRemovedVAT (<= 0) what its discounts'
	// parts had contained. Both are 0 otherwise; for a discount line RemovedVAT sums its parts'.
	RemovedRate        Rate  `json:"removedRate,omitempty"`
	RemovedVAT         int64 `json:"removedVat,omitempty"`
	DiscountRemovedVAT int64 `json:"discountRemovedVat,omitempty"`
}

// Allocation is the part of a discount line that reduces one other line; it is taxed at that
// line's rate. All amounts are <= 0.
type Allocation struct {
	Line     int    `json:"line"` // index in Input.Lines of the line reduced
	Net      int64  `json:"net"`
	Tax      int64  `json:"tax"`
	Gross    int64  `json:"gross"`
	Rate     Rate   `json:"rate"`
	RateCode string `json:"rateCode"`
	// RemovedVAT (<= 0) is the VAT the part's stated amount contained and that was taken off
	// with it (see LineResult.RemovedRate): Gross+RemovedVAT is minus the part's stated amount.
	RemovedVAT int64 `json:"removedVat,omitempty"`
}

// BreakdownEntry sums the lines (after discounts) that share a rate and rate code.
type BreakdownEntry struct {
	Rate        Rate   `json:"rate"`
	RateCode    string `json:"rateCode"`
	TaxableBase int64  `json:"taxableBase"` // net
	TaxAmount   int64  `json:"taxAmount"`
}

// Result is the outcome of Compute.
type Result struct {
	TaxIncluded bool             `json:"taxIncluded"` // line prices were gross
	Treatment   Treatment        `json:"treatment"`   // shared by all non-discount lines, else "mixed"
	Lines       []LineResult     `json:"lines"`       // same order and length as Input.Lines
	TotalNet    int64            `json:"totalNet"`
	TotalTax    int64            `json:"totalTax"`
	TotalGross  int64            `json:"totalGross"`
	Breakdown   []BreakdownEntry `json:"breakdown"` // one per (rate, code), by rate descending then code
	Evidence    Evidence         `json:"evidence"`
}

// Evidence records why the tax was computed as it was. It is stored with the transaction as
// proof of the place of supply and the buyer's status.
type Evidence struct {
	SellerCountry    string           `json:"sellerCountry"`
	BillingCountry   string           `json:"billingCountry,omitempty"`
	ShippingCountry  string           `json:"shippingCountry,omitempty"`
	BillingSource    string           `json:"billingSource,omitempty"`
	ShippingSource   string           `json:"shippingSource,omitempty"`
	Currency         string           `json:"currency"`
	Treatment        Treatment        `json:"treatment"`
	Rule             string           `json:"rule"` // human-readable reason(s), "; "-separated
	VATID            string           `json:"vatId,omitempty"`
	VATIDStatus      VATIDStatus      `json:"vatIdStatus"`
	PricesIncludeTax bool             `json:"pricesIncludeTax"`
	OSSRegistered    bool             `json:"ossRegistered"`
	RatesEffectiveAt time.Time        `json:"ratesEffectiveAt"`
	Rates            []BreakdownEntry `json:"rates"`
}

package tax

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"time"

	"paygate.dev/pkg/money"
)

// Compute works out the VAT of a checkout: per line, in total, per rate, with evidence of why.
//
// It returns an error wrapping ErrInvalidInput when the currency is unknown; a country code is
// not an assigned ISO 3166 alpha-2 code (lower case is accepted); the seller country or At is
// missing; a line has an unknown type, a quantity below 1, a negative price (only discounts may
// be negative), a positive discount, or an explicit rate outside [0%, 100%]; the VAT id status is
// unknown or claims a valid id that is empty or malformed; the discounts exceed the lines they
// discount; any amount overflows int64; or no rate is known for the country at At.
func Compute(in Input) (Result, error) {
	c, err := newCalc(in)
	if err != nil {
		return Result{}, err
	}
	if c.merchant {
		return c.merchantResult()
	}
	return c.compute()
}

// calc is a validated, normalised Input.
type calc struct {
	lines       []Line
	amounts     []int64 // quantity * unit price
	currency    string
	seller      string
	billing     string
	shipping    string
	billingSrc  string
	shippingSrc string
	vatID       string
	status      VATIDStatus
	vatCountry  string // ISO country of the VAT id when the status claims it is valid
	business    bool   // reverse charge applies to buyers in other EU states
	inclusive   bool
	oss         bool
	at          time.Time
	merchant    bool   // some line is a merchant-computed tax line
	removed     []Rate // per line: the decision's removed rate (see decision.removed)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

func newCalc(in Input) (*calc, error) {
	cur, ok := money.Lookup(in.Currency)
	if !ok {
		return nil, invalid("unknown currency %q", in.Currency)
	}
	c := &calc{
		lines:     in.Lines,
		currency:  cur.Code,
		inclusive: in.Settings.PricesIncludeTax,
		oss:       in.Settings.OSSRegistered,
		at:        in.At,
	}
	var err error
	if c.seller, err = normalizeCountry("seller country", in.Settings.SellerCountry); err != nil {
		return nil, err
	}
	if c.seller == "" {
		return nil, invalid("seller country is required")
	}
	if c.billing, err = normalizeCountry("billing country", in.Buyer.BillingCountry); err != nil {
		return nil, err
	}
	if c.shipping, err = normalizeCountry("shipping country", in.Buyer.ShippingCountry); err != nil {
		return nil, err
	}
	c.billingSrc, c.shippingSrc = in.Buyer.BillingSource, in.Buyer.ShippingSource
	if c.billing != "" && c.billingSrc == "" {
		c.billingSrc = "billing_country"
	}
	if c.shipping != "" && c.shippingSrc == "" {
		c.shippingSrc = "shipping_country"
	}
	if in.At.IsZero() {
		return nil, invalid("At is required: it selects the rates in force")
	}
	if err := c.setVATID(in.Buyer); err != nil {
		return nil, err
	}
	c.amounts = make([]int64, len(in.Lines))
	for i, l := range in.Lines {
		if c.amounts[i], err = checkLine(i, l); err != nil {
			return nil, err
		}
		c.merchant = c.merchant || l.Type == SupplyTax
	}
	return c, nil
}

func (c *calc) setVATID(b Buyer) error {
	c.vatID = NormalizeVATID(b.VATID)
	c.status = b.VATIDStatus
	switch c.status {
	case "":
		c.status = VATIDNone
	case VATIDNone, VATIDInvalid:
	case VATIDFormatValid, VATIDVIESValid, VATIDVIESUnavailable:
		if c.vatID == "" {
			return invalid("VAT id status %q without a VAT id", c.status)
		}
		country, ok := ValidateVATIDFormat(c.vatID)
		if !ok && c.status == VATIDVIESValid {
			// VIES is the authority; our format table may lag behind a member state's.
			country, ok = viesPrefixCountry(c.vatID)
		}
		if !ok {
			return invalid("VAT id %q does not match its country's format but status is %q", c.vatID, c.status)
		}
		c.vatCountry = country
		c.business = IsEU(country) && country != c.seller
	default:
		return invalid("unknown VAT id status %q", c.status)
	}
	return nil
}

func checkLine(i int, l Line) (int64, error) {
	switch l.Type {
	case SupplyGoods, SupplyDigitalService, SupplyShipping, SupplyTax:
		if l.UnitPrice < 0 {
			return 0, invalid("line %d: %s unit price %d is negative; only discounts may be", i, l.Type, l.UnitPrice)
		}
	case SupplyDiscount:
		if l.UnitPrice > 0 {
			return 0, invalid("line %d: discount unit price %d must be negative", i, l.UnitPrice)
		}
	default:
		return 0, invalid("line %d: unknown supply type %q", i, l.Type)
	}
	if l.Quantity < 1 {
		return 0, invalid("line %d: quantity %d is below 1", i, l.Quantity)
	}
	if l.Rate != nil && !l.Rate.Valid() {
		return 0, invalid("line %d: rate %s%% is outside 0..100", i, l.Rate)
	}
	amount, ok := mulChecked(l.Quantity, l.UnitPrice)
	if !ok || amount == math.MinInt64 { // MinInt64 could not be negated when summing discounts

		return 0, errOverflow(fmt.Sprintf("line %d: quantity * unit price", i))
	}
	return amount, nil
}

// placeOfSupply picks the buyer country a line follows: goods and shipping go where they are
// shipped, digital services to where the customer is billed; each falls back to the other,
// then to the seller country for a preview.
func (c *calc) placeOfSupply(t SupplyType) (country, source string) {
	first, firstSrc, second, secondSrc := c.shipping, c.shippingSrc, c.billing, c.billingSrc
	if t == SupplyDigitalService {
		first, firstSrc, second, secondSrc = second, secondSrc, first, firstSrc
	}
	switch {
	case first != "":
		return first, firstSrc
	case second != "":
		return second, secondSrc
	default:
		return c.seller, SourceSellerDefault
	}
}

// decision is the treatment of one line.
type decision struct {
	treatment Treatment
	rate      Rate
	code      string
	country   string
	source    string
	reason    string // why the treatment applies
	note      string // how the merchant's explicit rate was used, if it mattered
	// removed is, with prices including VAT, the rate of the VAT a zero-rated line's stated
	// price contains (reverse charge, export): it is taken off, so the buyer pays the net.
	removed Rate
}

func (c *calc) decide(t SupplyType, explicit *Rate) (decision, error) {
	country, source := c.placeOfSupply(t)
	d := decision{country: country, source: source}
	goods := t != SupplyDigitalService
	if !IsEU(c.seller) {
		d.treatment, d.code = TreatmentOutsideScope, RateCodeOutsideScope
		d.reason = fmt.Sprintf("Seller country %s is outside the EU: no EU VAT computed", c.seller)
		return d.withExplicit(explicit), nil
	}
	switch {
	case source == SourceSellerDefault:
		d.reason = fmt.Sprintf("No buyer country yet: preview at the rate of the seller country %s", c.seller)
		return c.atCountryRate(d, TreatmentDomestic, c.seller, explicit)
	case country == c.seller:
		if c.vatCountry == c.seller {
			d.reason = fmt.Sprintf("Business customer with VAT id %s in the seller's own country %s: domestic VAT, no reverse charge", c.vatID, c.seller)
		} else {
			d.reason = fmt.Sprintf("Supply to %s (%s), the seller's own country: domestic VAT%s", country, source, c.consumerNote())
		}
		return c.atCountryRate(d, TreatmentDomestic, c.seller, explicit)
	case !IsEU(country):
		d.treatment, d.code = TreatmentExport, RateCodeExport
		if goods {
			d.reason = fmt.Sprintf("Supply to %s (%s), outside the EU: export of goods, exempt (Art. 146 VAT Directive)", country, source)
		} else {
			d.reason = fmt.Sprintf("Supply to %s (%s), outside the EU: place of supply outside the EU, no EU VAT", country, source)
		}
		return c.withoutIncludedVAT(d.ignoring(explicit), explicit)
	case c.business:
		d.treatment, d.code = TreatmentReverseCharge, RateCodeReverseCharge
		if goods {
			d.reason = fmt.Sprintf("EU business customer with VAT id %s (%s), supply to %s: intra-Community supply exempt (Art. 138 VAT Directive), reverse charge", c.vatID, c.status, country)
		} else {
			d.reason = fmt.Sprintf("EU business customer with VAT id %s (%s), supply to %s: reverse charge (Art. 196 VAT Directive)", c.vatID, c.status, country)
		}
		return c.withoutIncludedVAT(d.ignoring(explicit), explicit)
	case c.oss:
		article := "Art. 33"
		if !goods {
			article = "Art. 58"
		}
		d.reason = fmt.Sprintf("EU consumer in %s (%s), seller registered for OSS: VAT of %s (place of supply %s VAT Directive, declared via the One-Stop-Shop)%s", country, source, country, article, c.consumerNote())
		return c.atCountryRate(d, TreatmentOSS, country, explicit)
	default:
		d.reason = fmt.Sprintf("EU consumer in %s (%s), seller not registered for OSS: VAT of the seller country %s (EUR 10,000 threshold of Art. 59c VAT Directive assumed not exceeded)%s", country, source, c.seller, c.consumerNote())
		d.country, d.source = c.seller, SourceSellerNoOSS
		return c.atCountryRate(d, TreatmentDomestic, c.seller, explicit)
	}
}

// consumerNote explains why a buyer who gave a VAT id is nevertheless treated as a consumer.
func (c *calc) consumerNote() string {
	switch {
	case c.vatID == "":
		return ""
	case c.status == VATIDInvalid:
		return fmt.Sprintf(" (VAT id %s invalid, treated as consumer)", c.vatID)
	case c.status == VATIDNone:
		return fmt.Sprintf(" (VAT id %s not checked, treated as consumer)", c.vatID)
	case c.vatCountry == c.seller:
		return fmt.Sprintf(" (VAT id %s is from the seller's country, so no reverse charge)", c.vatID)
	case !IsEU(c.vatCountry):
		return fmt.Sprintf(" (VAT id %s is not an EU VAT id, treated as consumer)", c.vatID)
	}
	return ""
}

func (c *calc) atCountryRate(d decision, t Treatment, country string, explicit *Rate) (decision, error) {
	r, ok := LookupRate(country, ClassStandard, c.at)
	if !ok {
		return d, invalid("no standard VAT rate known for %s at %s", country, c.at.Format(time.RFC3339))
	}
	d.treatment, d.rate, d.code = t, r, country+"-standard"
	return d.withExplicit(explicit), nil
}

// withExplicit lets the merchant's rate win on a taxable treatment; 0% makes the line exempt.
func (d decision) withExplicit(explicit *Rate) decision {
	switch {
	case explicit == nil:
	case *explicit == 0:
		d.treatment, d.rate, d.code = TreatmentExempt, 0, RateCodeExempt
		d.note = "merchant-specified rate 0%: exempt"
	default:
		d.rate, d.code = *explicit, RateCodeExplicit
		d.note = fmt.Sprintf("merchant-specified rate %s%% applied", *explicit)
	}
	return d
}

// withoutIncludedVAT sets, for prices including VAT, the rate of the VAT that a zero-rated
// (reverse-charged or exported) line's stated price contains: the merchant's explicit rate, else
// the seller country's standard rate, the VAT a consumer at home would pay. That VAT is taken off
// the price, so the buyer pays the net, the same amount as with prices excluding VAT.
func (c *calc) withoutIncludedVAT(d decision, explicit *Rate) (decision, error) {
	if !c.inclusive {
		return d, nil
	}
	switch {
	case explicit != nil:
		d.removed = *explicit
	default:
		r, ok := LookupRate(c.seller, ClassStandard, c.at)
		if !ok {
			return d, invalid("no standard VAT rate known for %s at %s", c.seller, c.at.Format(time.RFC3339))
		}
		d.removed = r
	}
	return d, nil
}

// ignoring notes a merchant rate that a zero-rated treatment overrides.
func (d decision) ignoring(explicit *Rate) decision {
	if explicit != nil && *explicit != 0 {
		d.note = fmt.Sprintf("merchant-specified rate %s%% not applied", *explicit)
	}
	return d
}

// sum accumulates int64s and remembers whether any addition overflowed.
type sum struct{ ok bool }

func (s *sum) add(dst *int64, v int64) {
	r, ok := addChecked(*dst, v)
	s.ok = s.ok && ok
	*dst = r
}

func (c *calc) compute() (Result, error) {
	res := Result{TaxIncluded: c.inclusive, Lines: make([]LineResult, len(c.lines))}
	c.removed = make([]Rate, len(c.lines))
	var reasons []string
	var primary, positive, discounts []int // candidate discount targets, and the discount lines
	for i, l := range c.lines {
		if l.Type == SupplyDiscount {
			discounts = append(discounts, i)
			continue
		}
		d, err := c.decide(l.Type, l.Rate)
		if err != nil {
			return Result{}, fmt.Errorf("line %d: %w", i, err)
		}
		c.removed[i] = d.removed
		net, tax, gross, ok := c.lineSplit(i, d.rate, c.amounts[i])
		if !ok {
			return Result{}, errOverflow(fmt.Sprintf("line %d: net + tax", i))
		}
		res.Lines[i] = LineResult{Net: net, Tax: tax, Gross: gross, Rate: d.rate, RateCode: d.code,
			Country: d.country, CountrySource: d.source, Treatment: d.treatment, RemovedRate: d.removed}
		if d.removed != 0 {
			res.Lines[i].RemovedVAT = c.amounts[i] - gross
		}
		reasons = appendUnique(reasons, d.reason)
		if d.removed != 0 {
			reasons = appendUnique(reasons, fmt.Sprintf("Prices include VAT: the %s%% VAT the stated price contains is taken off, the buyer pays the net", d.removed))
		}
		if d.note != "" {
			reasons = append(reasons, fmt.Sprintf("line %d: %s", i, d.note))
		}
		if c.amounts[i] > 0 {
			positive = append(positive, i)
			if l.Type == SupplyGoods || l.Type == SupplyDigitalService {
				primary = append(primary, i)
			}
		}
	}
	overall, err := c.overall(res.Lines, discounts, &reasons)
	if err != nil {
		return Result{}, err
	}
	targets := primary
	if len(targets) == 0 {
		targets = positive
	}
	if err := c.allocateDiscounts(&res, discounts, targets, overall); err != nil {
		return Result{}, err
	}
	if err := c.totals(&res); err != nil {
		return Result{}, err
	}
	res.Treatment = overall
	res.Evidence = c.evidence(overall, strings.Join(reasons, "; "), res.Breakdown)
	return res, nil
}

// lineSplit returns net, tax and gross of (part of) line i's stated amount at rate r: see split;
// a line whose stated gross price contains VAT that does not apply (c.removed) is charged its
// net, without tax.
func (c *calc) lineSplit(i int, r Rate, amount int64) (net, tax, gross int64, ok bool) {
	if rm := c.removed[i]; rm != 0 {
		net = amount - taxOn(amount, rm, true) // |tax| <= |amount|, same sign: no overflow
		return net, 0, net, true
	}
	return split(amount, r, c.inclusive)
}

// overall is the treatment shared by all non-discount lines, "mixed" if they differ, and for a
// checkout without such lines the treatment a goods line would get.
func (c *calc) overall(lines []LineResult, discounts []int, reasons *[]string) (Treatment, error) {
	var t Treatment
	for i, lr := range lines {
		switch {
		case slices.Contains(discounts, i):
		case t == "":
			t = lr.Treatment
		case t != lr.Treatment:
			return TreatmentMixed, nil
		}
	}
	if t != "" {
		return t, nil
	}
	d, err := c.decide(SupplyGoods, nil)
	if err != nil {
		return "", err
	}
	*reasons = appendUnique(*reasons, d.reason)
	return d.treatment, nil
}

// allocateDiscounts spreads the discount lines over the target lines in proportion to their
// amounts (largest remainder), and taxes each part at the rate of the line it reduces. The tax
// of a part is the change it makes to that line's rounded tax, so a line and the parts that
// reduce it together carry exactly the tax of the reduced amount.
func (c *calc) allocateDiscounts(res *Result, discounts, targets []int, overall Treatment) error {
	s := sum{ok: true}
	var total int64
	for _, j := range discounts {
		s.add(&total, -c.amounts[j]) // amounts of discounts are <= 0 and > MinInt64 here
	}
	weights := make([]int64, len(targets))
	var base int64
	for k, t := range targets {
		weights[k] = c.amounts[t]
		s.add(&base, c.amounts[t])
	}
	if !s.ok {
		return errOverflow("sum of discounts or of discounted lines")
	}
	if total > base {
		return invalid("discounts of %d exceed the %d they can reduce", total, base)
	}
	caps := largestRemainder(total, weights, base) // what each target absorbs in all
	used := make([]int64, len(targets))
	for _, j := range discounts {
		lr := &res.Lines[j]
		parts := cappedSplit(-c.amounts[j], weights, base, caps)
		for k, p := range parts {
			if p == 0 {
				continue
			}
			caps[k] -= p
			t := targets[k]
			tl := &res.Lines[t]
			before := c.amounts[t] - used[k]
			used[k] += p
			// The part is what it changes in the line: before and after are at most the line's
			// amount, which split already, so neither overflows.
			nb, tb, gb, _ := c.lineSplit(t, tl.Rate, before)
			na, ta, ga, _ := c.lineSplit(t, tl.Rate, before-p)
			a := Allocation{Line: t, Net: na - nb, Tax: ta - tb, Gross: ga - gb, Rate: tl.Rate, RateCode: tl.RateCode}
			if c.removed[t] != 0 {
				a.RemovedVAT = -p - a.Gross
				s.add(&lr.RemovedVAT, a.RemovedVAT)
				s.add(&tl.DiscountRemovedVAT, a.RemovedVAT)
			}
			lr.Allocations = append(lr.Allocations, a)
			s.add(&lr.Net, a.Net)
			s.add(&lr.Tax, a.Tax)
			s.add(&lr.Gross, a.Gross)
			s.add(&tl.DiscountNet, a.Net)
			s.add(&tl.DiscountTax, a.Tax)
			s.add(&tl.DiscountGross, a.Gross)
		}
		c.describeDiscount(res, j, targets, overall)
	}
	if !s.ok {
		return errOverflow("discount allocation")
	}
	return nil
}

// describeDiscount gives a discount line the rate, code, country and treatment of the lines it
// reduces when they agree, and "mixed" (rate 0, empty country) when they do not.
func (c *calc) describeDiscount(res *Result, j int, targets []int, overall Treatment) {
	lr := &res.Lines[j]
	from := make([]int, 0, len(lr.Allocations))
	for _, a := range lr.Allocations {
		from = append(from, a.Line)
	}
	if len(from) == 0 {
		from = targets
	}
	if len(from) == 0 {
		lr.Treatment = overall
		return
	}
	first := res.Lines[from[0]]
	lr.Rate, lr.RateCode, lr.Country, lr.CountrySource, lr.Treatment = first.Rate, first.RateCode, first.Country, first.CountrySource, first.Treatment
	for _, i := range from[1:] {
		o := res.Lines[i]
		if o.Rate != lr.Rate || o.RateCode != lr.RateCode {
			lr.Rate, lr.RateCode = 0, RateCodeMixed
		}
		if o.Country != lr.Country || o.CountrySource != lr.CountrySource {
			lr.Country, lr.CountrySource = "", ""
		}
		if o.Treatment != lr.Treatment {
			lr.Treatment = TreatmentMixed
		}
	}
}

// totals sums the lines and builds the per-rate breakdown from the non-discount lines after
// discounts, so both add up to the same totals.
func (c *calc) totals(res *Result) error {
	s := sum{ok: true}
	type key struct {
		rate Rate
		code string
	}
	idx := map[key]int{}
	for i, lr := range res.Lines {
		s.add(&res.TotalNet, lr.Net)
		s.add(&res.TotalTax, lr.Tax)
		s.add(&res.TotalGross, lr.Gross)
		if c.lines[i].Type == SupplyDiscount {
			continue
		}
		k := key{lr.Rate, lr.RateCode}
		n, ok := idx[k]
		if !ok {
			n = len(res.Breakdown)
			idx[k] = n
			res.Breakdown = append(res.Breakdown, BreakdownEntry{Rate: lr.Rate, RateCode: lr.RateCode})
		}
		e := &res.Breakdown[n]
		s.add(&e.TaxableBase, lr.Net)
		s.add(&e.TaxableBase, lr.DiscountNet)
		s.add(&e.TaxAmount, lr.Tax)
		s.add(&e.TaxAmount, lr.DiscountTax)
	}
	if !s.ok {
		return errOverflow("totals")
	}
	sortBreakdown(res.Breakdown)
	return nil
}

func sortBreakdown(b []BreakdownEntry) {
	slices.SortFunc(b, func(x, y BreakdownEntry) int {
		if c := cmp.Compare(y.Rate, x.Rate); c != 0 {
			return c
		}
		return strings.Compare(x.RateCode, y.RateCode)
	})
}

// merchantResult passes merchant-computed tax lines through: they are the tax, every other
// line is net, and nothing is computed.
func (c *calc) merchantResult() (Result, error) {
	res := Result{Treatment: TreatmentMerchant, Lines: make([]LineResult, len(c.lines))}
	s := sum{ok: true}
	var discount, base int64
	for i, l := range c.lines {
		country, source := c.placeOfSupply(l.Type)
		lr := LineResult{Gross: c.amounts[i], RateCode: RateCodeMerchant, Country: country,
			CountrySource: source, Treatment: TreatmentMerchant}
		switch l.Type {
		case SupplyTax:
			lr.Tax = c.amounts[i]
		case SupplyDiscount:
			lr.Net = c.amounts[i]
			s.add(&discount, -c.amounts[i])
		default:
			lr.Net = c.amounts[i]
			s.add(&base, c.amounts[i])
		}
		res.Lines[i] = lr
		s.add(&res.TotalNet, lr.Net)
		s.add(&res.TotalTax, lr.Tax)
		s.add(&res.TotalGross, lr.Gross)
	}
	if !s.ok {
		return Result{}, errOverflow("totals")
	}
	if discount > base {
		return Result{}, invalid("discounts of %d exceed the %d they can reduce", discount, base)
	}
	rate := c.merchantRate(res.TotalNet, res.TotalTax)
	for i, l := range c.lines {
		if l.Type == SupplyTax {
			res.Lines[i].Rate = rate
		}
	}
	res.Breakdown = []BreakdownEntry{{Rate: rate, RateCode: RateCodeMerchant, TaxableBase: res.TotalNet, TaxAmount: res.TotalTax}}
	res.Evidence = c.evidence(TreatmentMerchant, "Merchant supplied its own tax lines: amounts taken as given, no VAT computed", res.Breakdown)
	return res, nil
}

// merchantRate is the rate the merchant's own tax lines amount to on the net: a rate of the
// buyer's or the seller's country that gives exactly that tax (standard first), else the
// effective rate rounded to a hundredth of a percent; 0 without tax or net, or above 100%.
func (c *calc) merchantRate(net, tax int64) Rate {
	if net <= 0 || tax <= 0 {
		return 0
	}
	goods, _ := c.placeOfSupply(SupplyGoods)
	service, _ := c.placeOfSupply(SupplyDigitalService)
	var seen []string
	for _, country := range []string{goods, service, c.seller} {
		if slices.Contains(seen, country) || !IsEU(country) {
			continue
		}
		seen = append(seen, country)
		for _, class := range rateClasses {
			if r, ok := LookupRate(country, class, c.at); ok && r > 0 && taxOn(net, r, false) == tax {
				return r
			}
		}
	}
	if tax > net {
		return 0
	}
	hi, lo := bits.Mul64(uint64(tax), uint64(MaxRate))
	q, rem := bits.Div64(hi, lo, uint64(net)) // hi < net because tax <= net
	if rem >= uint64(net)-rem {
		q++
	}
	return Rate(q)
}

func (c *calc) evidence(t Treatment, rule string, rates []BreakdownEntry) Evidence {
	e := Evidence{
		SellerCountry:    c.seller,
		BillingCountry:   c.billing,
		ShippingCountry:  c.shipping,
		BillingSource:    c.billingSrc,
		ShippingSource:   c.shippingSrc,
		Currency:         c.currency,
		Treatment:        t,
		Rule:             rule,
		VATIDStatus:      c.status,
		PricesIncludeTax: c.inclusive,
		OSSRegistered:    c.oss,
		RatesEffectiveAt: c.at.UTC(),
		Rates:            slices.Clone(rates),
	}
	if c.status != VATIDNone || c.vatID != "" {
		e.VATID = c.vatID
	}
	return e
}

func appendUnique(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

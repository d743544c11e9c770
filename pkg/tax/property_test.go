package tax

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// exactRound is the reference rounding, computed independently of the engine with big.Rat:
// amount*r/den rounded half away from zero.
func exactRound(amount int64, r Rate, den int64) int64 {
	x := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(amount), big.NewInt(int64(r))), big.NewInt(den))
	abs := new(big.Rat).Abs(x)
	half := new(big.Rat).Add(abs, big.NewRat(1, 2))
	q := new(big.Int).Quo(half.Num(), half.Denom()) // floor(|x| + 1/2)
	if x.Sign() < 0 {
		q.Neg(q)
	}
	return q.Int64()
}

func referenceTax(amount int64, r Rate, inclusive bool) int64 {
	if inclusive {
		return exactRound(amount, r, int64(MaxRate+r))
	}
	return exactRound(amount, r, int64(MaxRate))
}

// checkInvariants asserts what must hold for every successful Compute.
func checkInvariants(t *testing.T, in Input, res Result) {
	t.Helper()
	require.Len(t, res.Lines, len(in.Lines))
	var net, tax, gross, amounts, removed int64
	var discounted []int64 // per line, the amount taken off by discounts
	for i, lr := range res.Lines {
		l := in.Lines[i]
		amount := l.Quantity * l.UnitPrice
		amounts += amount
		net, tax, gross = net+lr.Net, tax+lr.Tax, gross+lr.Gross
		require.Equal(t, lr.Gross, lr.Net+lr.Tax, "line %d: net + tax == gross", i)
		require.Equal(t, lr.DiscountGross, lr.DiscountNet+lr.DiscountTax, "line %d: discount net + tax == gross", i)
		removed += lr.RemovedVAT
		off := -lr.DiscountNet
		if in.Settings.PricesIncludeTax {
			off = -(lr.DiscountGross + lr.DiscountRemovedVAT) // in stated prices
		}
		discounted = append(discounted, off)
		switch {
		case res.Treatment == TreatmentMerchant:
		case l.Type == SupplyDiscount:
			var sn, st, sg int64
			for _, a := range lr.Allocations {
				require.Equal(t, a.Gross, a.Net+a.Tax)
				require.LessOrEqual(t, a.Gross, int64(0))
				require.LessOrEqual(t, a.Tax, int64(0))
				sn, st, sg = sn+a.Net, st+a.Tax, sg+a.Gross
			}
			require.Equal(t, [3]int64{lr.Net, lr.Tax, lr.Gross}, [3]int64{sn, st, sg}, "line %d: a discount is the sum of its parts", i)
			if in.Settings.PricesIncludeTax {
				require.Equal(t, amount, lr.Gross+lr.RemovedVAT)
			} else {
				require.Equal(t, amount, lr.Net)
			}
		default:
			zeroRated := lr.Treatment == TreatmentReverseCharge || lr.Treatment == TreatmentExport
			if in.Settings.PricesIncludeTax && zeroRated {
				// The VAT the stated price contains is taken off: the buyer pays the net.
				r, _ := LookupRate(in.Settings.SellerCountry, ClassStandard, in.At)
				if l.Rate != nil {
					r = *l.Rate
				}
				require.Equal(t, r, lr.RemovedRate, "line %d: removed rate", i)
				require.Equal(t, referenceTax(amount, r, true), lr.RemovedVAT, "line %d: removed VAT", i)
				require.Equal(t, referenceTax(amount-off, r, true), lr.RemovedVAT+lr.DiscountRemovedVAT, "line %d: removed VAT after discounts", i)
				require.Equal(t, amount-off, lr.Gross+lr.DiscountGross+lr.RemovedVAT+lr.DiscountRemovedVAT, "line %d: stated amount", i)
			} else {
				require.Zero(t, lr.RemovedRate, "line %d", i)
				require.Zero(t, lr.RemovedVAT+lr.DiscountRemovedVAT, "line %d", i)
			}
			require.Equal(t, referenceTax(amount, lr.Rate, in.Settings.PricesIncludeTax), lr.Tax, "line %d: rounding", i)
			require.GreaterOrEqual(t, lr.Tax, int64(0), "line %d: no negative tax on a non-negative base", i)
			require.LessOrEqual(t, off, amount, "line %d: discounted below zero", i)
			require.GreaterOrEqual(t, off, int64(0))
			after := lr.Tax + lr.DiscountTax
			require.GreaterOrEqual(t, after, int64(0), "line %d: no negative tax after discounts", i)
			require.Equal(t, referenceTax(amount-off, lr.Rate, in.Settings.PricesIncludeTax), after, "line %d: rounding after discounts", i)
			if lr.Treatment != TreatmentDomestic && lr.Treatment != TreatmentOSS && lr.Treatment != TreatmentOutsideScope {
				require.Zero(t, lr.Tax, "line %d: %s carries no tax", i, lr.Treatment)
			}
		}
	}
	require.Equal(t, net, res.TotalNet, "sum of line nets")
	require.Equal(t, tax, res.TotalTax, "sum of line taxes")
	require.Equal(t, gross, res.TotalGross, "sum of line grosses")
	require.Equal(t, res.TotalGross, res.TotalNet+res.TotalTax)
	switch {
	case res.Treatment == TreatmentMerchant:
		require.Equal(t, amounts, res.TotalGross)
	case in.Settings.PricesIncludeTax:
		// Gross prices are kept, less the VAT they contain on reverse-charged and exported lines.
		require.Equal(t, amounts, res.TotalGross+removed, "gross prices are kept")
	default:
		require.Equal(t, amounts, res.TotalNet, "net prices are kept")
	}
	var bBase, bTax int64
	for _, e := range res.Breakdown {
		bBase, bTax = bBase+e.TaxableBase, bTax+e.TaxAmount
	}
	require.Equal(t, res.TotalNet, bBase, "breakdown bases add up")
	require.Equal(t, res.TotalTax, bTax, "breakdown taxes add up")
	checkProportional(t, in, res, discounted)
}

// checkProportional asserts that each discounted line took its share of the discounts to
// within one minor unit.
func checkProportional(t *testing.T, in Input, res Result, discounted []int64) {
	t.Helper()
	if res.Treatment == TreatmentMerchant {
		return
	}
	var total, base int64
	for i, l := range in.Lines {
		if l.Type == SupplyDiscount {
			total -= l.Quantity * l.UnitPrice
		} else if discounted[i] > 0 {
			base += l.Quantity * l.UnitPrice
		}
	}
	if total == 0 || base == 0 {
		return
	}
	for i, off := range discounted {
		if in.Lines[i].Type == SupplyDiscount || off == 0 {
			continue
		}
		exact := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(total), big.NewInt(in.Lines[i].Quantity*in.Lines[i].UnitPrice)), big.NewInt(base))
		diff := new(big.Rat).Sub(exact, new(big.Rat).SetInt64(off))
		require.Equal(t, -1, new(big.Rat).Abs(diff).Cmp(big.NewRat(1, 1)), "line %d: %d is not within 1 of %s", i, off, exact.FloatString(3))
	}
}

var (
	propCurrencies = []string{"JPY", "EUR", "KWD"}
	propSellers    = []string{"DE", "FR", "FI", "EE", "RO", "IE", "US", "GB"}
	propBuyers     = []string{"", "DE", "FR", "AT", "FI", "EE", "SK", "GR", "US", "CH", "JP"}
	propVATIDs     = []struct {
		id     string
		status VATIDStatus
	}{
		{"", VATIDNone}, {"FR40303265045", VATIDFormatValid}, {"DE136695976", VATIDVIESValid},
		{"EL094259216", VATIDVIESUnavailable}, {"ATU12345678", VATIDInvalid}, {"GB980780684", VATIDFormatValid},
	}
	propTypes = []SupplyType{SupplyGoods, SupplyGoods, SupplyDigitalService, SupplyShipping, SupplyDiscount}
)

// randomInput builds a checkout whose discounts usually fit; it reports whether they do.
func randomInput(r *rand.Rand) (Input, bool) {
	vat := propVATIDs[r.IntN(len(propVATIDs))]
	in := Input{
		Settings: Settings{
			SellerCountry:    propSellers[r.IntN(len(propSellers))],
			PricesIncludeTax: r.IntN(2) == 0,
			OSSRegistered:    r.IntN(2) == 0,
		},
		Currency: propCurrencies[r.IntN(len(propCurrencies))],
		Buyer: Buyer{
			BillingCountry:  propBuyers[r.IntN(len(propBuyers))],
			ShippingCountry: propBuyers[r.IntN(len(propBuyers))],
			VATID:           vat.id,
			VATIDStatus:     vat.status,
		},
		At: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour)))),
	}
	scale := []int64{1_000, 100_000, 10_000_000, 1_000_000_000_000}[r.IntN(4)]
	merchant := r.IntN(25) == 0
	var primary, all, discounts int64 // bases a discount may reduce
	var discountLines []int
	for n := 1 + r.IntN(6); n > 0; n-- {
		l := Line{Type: propTypes[r.IntN(len(propTypes))], Quantity: 1 + r.Int64N(5)}
		if l.Type == SupplyDiscount {
			discountLines = append(discountLines, len(in.Lines))
			in.Lines = append(in.Lines, l)
			continue
		}
		l.UnitPrice = r.Int64N(scale)
		if r.IntN(4) == 0 {
			rate := Rate(r.Int64N(int64(MaxRate) + 1))
			if r.IntN(3) == 0 {
				rate = 0
			}
			l.Rate = &rate
		}
		all += l.Quantity * l.UnitPrice
		if l.Type != SupplyShipping {
			primary += l.Quantity * l.UnitPrice
		}
		in.Lines = append(in.Lines, l)
	}
	// discounts reduce goods and services, or everything when there are none (or tax is the merchant's)
	base := primary
	if base == 0 || merchant {
		base = all
	}
	// discounts share a random part of the base (sometimes more than all of it)
	budget := r.Int64N(base + 1)
	if len(discountLines) > 0 && r.IntN(20) == 0 {
		budget = base + 1 + r.Int64N(10)
	}
	for k, i := range discountLines {
		l := &in.Lines[i]
		part := budget
		if k < len(discountLines)-1 {
			part = r.Int64N(budget + 1)
		}
		l.Quantity = 1
		if part > 0 && part%2 == 0 && r.IntN(2) == 0 {
			l.Quantity = 2
		}
		l.UnitPrice = -part / l.Quantity
		discounts += -l.UnitPrice * l.Quantity
		budget -= -l.UnitPrice * l.Quantity
	}
	if merchant {
		in.Lines = append(in.Lines, Line{Type: SupplyTax, Quantity: 1, UnitPrice: r.Int64N(scale)})
	}
	return in, discounts <= base
}

func TestComputeProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(20260101, 42))
	var ok, refused int
	for i := range 5000 {
		in, fits := randomInput(r)
		res, err := Compute(in)
		if !fits {
			require.ErrorIs(t, err, ErrInvalidInput, "case %d: %+v", i, in)
			refused++
			continue
		}
		require.NoError(t, err, "case %d: %+v", i, in)
		checkInvariants(t, in, res)
		ok++
	}
	require.Greater(t, ok, 4000)
	require.Greater(t, refused, 0)
}

func FuzzCompute(f *testing.F) {
	f.Add(int64(11900), int64(5000), int64(1000), int64(1), uint16(1900), uint16(700), true, uint8(1), uint8(0), "DE", "FR", uint8(0))
	f.Add(int64(1), int64(1), int64(2), int64(3), uint16(0), uint16(10000), false, uint8(0), uint8(4), "DE", "US", uint8(1))
	f.Add(int64(math.MaxInt64), int64(1), int64(0), int64(1), uint16(2550), uint16(1), true, uint8(2), uint8(0), "FI", "fi", uint8(2))
	f.Add(int64(math.MaxInt64/3), int64(math.MaxInt64/3), int64(math.MaxInt64/3), int64(1), uint16(2000), uint16(2000), false, uint8(1), uint8(7), "FR", "", uint8(3))
	f.Add(int64(999), int64(-5), int64(1), int64(0), uint16(20000), uint16(5), true, uint8(9), uint8(3), "xx", "GR", uint8(4))
	f.Fuzz(func(t *testing.T, p1, p2, disc, qty int64, r1, r2 uint16, incl bool, cur, kinds uint8, seller, buyer string, vat uint8) {
		rate1, rate2 := Rate(r1), Rate(r2)
		lines := []Line{
			{Type: SupplyGoods, Quantity: qty, UnitPrice: p1},
			{Type: []SupplyType{SupplyGoods, SupplyDigitalService, SupplyShipping, SupplyTax}[kinds%4], Quantity: 1, UnitPrice: p2, Rate: &rate1},
			{Type: SupplyDiscount, Quantity: 1, UnitPrice: -disc},
		}
		if kinds&4 != 0 {
			lines[0].Rate = &rate2
		}
		v := propVATIDs[int(vat)%len(propVATIDs)]
		in := Input{
			Settings: Settings{SellerCountry: seller, PricesIncludeTax: incl, OSSRegistered: kinds&8 != 0},
			Currency: []string{"JPY", "EUR", "KWD", "XXX"}[cur%4],
			Lines:    lines,
			Buyer:    Buyer{BillingCountry: buyer, ShippingCountry: buyer, VATID: v.id, VATIDStatus: v.status},
			At:       june2025,
		}
		res, err := Compute(in)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidInput)
			return
		}
		checkInvariants(t, in, res)
	})
}

func TestExactRoundReference(t *testing.T) {
	t.Parallel()
	// the reference itself: halves go away from zero
	require.Equal(t, int64(10), exactRound(50, 1900, 10000))   // 9.5
	require.Equal(t, int64(-10), exactRound(-50, 1900, 10000)) // -9.5
	require.Equal(t, int64(1), exactRound(3, 2000, 12000))     // 0.5
	require.Equal(t, int64(9), exactRound(49, 1900, 10000))    // 9.31
}

func TestMulDivRoundMatchesReferenceAtTheEdges(t *testing.T) {
	t.Parallel()
	for _, x := range []int64{0, 1, -1, 5, -5, 50, -50, 3, math.MaxInt64, math.MinInt64 + 1, math.MinInt64, math.MaxInt64 / 7, 1 << 62} {
		for _, r := range []Rate{0, 1, 550, 1900, 2550, 9999, 10000} {
			for _, incl := range []bool{true, false} {
				den := int64(MaxRate)
				if incl {
					den += int64(r)
				}
				require.Equal(t, exactRound(x, r, den), taxOn(x, r, incl), "x=%d r=%d incl=%v", x, r, incl)
			}
		}
	}
}

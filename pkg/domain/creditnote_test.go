package domain_test

import (
	"math/rand/v2"
	"testing"

	"paygate.dev/pkg/domain"
)

// AllocateCredit: 1000 of an invoice of 3998 at 19 % (tax 638) and 1234 at 7 % (tax 81) is
// 764 (tax 122) and 236 (tax 15).
func TestAllocateCreditSplitsExactly(t *testing.T) {
	b := []domain.TaxRateLine{{Rate: 1900, TaxableBase: 3360, TaxAmount: 638}, {Rate: 700, TaxableBase: 1153, TaxAmount: 81}}
	a := domain.AllocateCredit(b, nil, 1000)
	if a.Gross != 1000 || a.Breakdown[0].TaxableBase+a.Breakdown[0].TaxAmount != 764 || a.Breakdown[0].TaxAmount != 122 ||
		a.Breakdown[1].TaxableBase+a.Breakdown[1].TaxAmount != 236 || a.Breakdown[1].TaxAmount != 15 || a.Tax != 137 || a.Net != 863 {
		t.Fatalf("%+v", a)
	}
	if a := domain.AllocateCredit(nil, nil, 500); a.Gross != 500 || a.Tax != 0 || a.Net != 500 {
		t.Fatalf("no tax lines: %+v", a)
	}
}

// Whatever the rates and however an invoice is cut into credits, each credit's rates add up
// to it, no rate goes below zero, and the credits together are the invoice's breakdown, cent
// for cent.
func TestAllocateCreditNotesAddUpToTheInvoice(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 4))
	for range 2000 {
		n := 1 + rng.IntN(4)
		b := make([]domain.TaxRateLine, n)
		rates := rng.Perm(6) // a breakdown has one entry per rate
		var total int64
		for i := range b {
			net := rng.Int64N(100000)
			rate := []int64{0, 500, 700, 1900, 2100, 2500}[rates[i]]
			b[i] = domain.TaxRateLine{Rate: rate, TaxableBase: net, TaxAmount: (net*rate + 5000) / 10000}
			total += b[i].TaxableBase + b[i].TaxAmount
		}
		if total == 0 {
			continue
		}
		sum := make([][2]int64, n)
		var before int64
		var notes []domain.TaxRateLine
		for before < total {
			amount := 1 + rng.Int64N(total-before)
			if rng.IntN(3) == 0 {
				amount = min(total-before, 1+rng.Int64N(7)) // small credits: the rounding's worst case
			}
			a := domain.AllocateCredit(b, notes, amount)
			notes = append(notes, a.Breakdown...)
			if a.Gross != amount || a.Net+a.Tax != amount {
				t.Fatalf("%+v: credit %d after %d allocated %+v", b, amount, before, a)
			}
			for i, r := range a.Breakdown {
				if r.TaxableBase+r.TaxAmount < 0 || r.TaxAmount < 0 {
					t.Fatalf("%+v: credit %d after %d: rate %d below zero: %+v", b, amount, before, i, a)
				}
				sum[i][0] += r.TaxableBase
				sum[i][1] += r.TaxAmount
			}
			before += amount
		}
		for i := range b {
			if sum[i] != [2]int64{b[i].TaxableBase, b[i].TaxAmount} {
				t.Fatalf("%+v: the credits add up to %v", b, sum)
			}
		}
	}
}

func TestLargestRemainder(t *testing.T) {
	got := domain.LargestRemainder(10, []int64{1, 1, 1})
	if got[0]+got[1]+got[2] != 10 || got[0] != 4 || got[1] != 3 || got[2] != 3 {
		t.Fatalf("%v", got)
	}
}

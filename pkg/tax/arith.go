package tax

import (
	"fmt"
	"math"
	"math/bits"
)

// errOverflow is wrapped when an amount does not fit int64 minor units.
func errOverflow(what string) error {
	return fmt.Errorf("%w: %s overflows int64 minor units", ErrInvalidInput, what)
}

func addChecked(a, b int64) (int64, bool) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, false
	}
	return a + b, true
}

func mulChecked(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	hi, lo := bits.Mul64(absU(a), absU(b))
	neg := (a < 0) != (b < 0)
	switch {
	case hi != 0:
		return 0, false
	case !neg && lo > math.MaxInt64:
		return 0, false
	case neg && lo > 1<<63:
		return 0, false
	case neg:
		return int64(-lo), true // two's complement; lo == 1<<63 gives MinInt64
	default:
		return int64(lo), true
	}
}

// absU returns |x| as uint64; exact for math.MinInt64 too.
func absU(x int64) uint64 {
	if x < 0 {
		return uint64(-(x + 1)) + 1
	}
	return uint64(x)
}

// mulDivRound returns x*num/den rounded half away from zero, computed exactly in 128 bits.
// It requires den > 0 and num <= den, so the result's magnitude never exceeds |x|.
func mulDivRound(x int64, num, den uint64) int64 {
	hi, lo := bits.Mul64(absU(x), num)
	q, rem := bits.Div64(hi, lo, den) // hi < den because num <= den
	if rem >= den-rem {               // 2*rem >= den without overflowing
		q++
	}
	if x < 0 {
		return int64(-q) // q <= |x| <= 1<<63
	}
	return int64(q) // q <= x <= MaxInt64
}

// taxOn returns the tax contained in (inclusive) or added to (exclusive) base at rate r,
// rounded half away from zero to the minor unit.
func taxOn(base int64, r Rate, inclusive bool) int64 {
	if r == 0 || base == 0 {
		return 0
	}
	if inclusive {
		return mulDivRound(base, uint64(r), uint64(MaxRate+r))
	}
	return mulDivRound(base, uint64(r), uint64(MaxRate))
}

// split returns net, tax and gross of an amount at rate r. For inclusive prices the amount is
// the gross, otherwise the net.
func split(amount int64, r Rate, inclusive bool) (net, tax, gross int64, ok bool) {
	tax = taxOn(amount, r, inclusive)
	if inclusive {
		return amount - tax, tax, amount, true // |tax| <= |amount|, same sign: no overflow
	}
	gross, ok = addChecked(amount, tax)
	return amount, tax, gross, ok
}

// largestRemainder splits total (0 <= total <= sum(weights)) across non-negative weights in
// proportion, flooring each share and handing the leftover units to the largest remainders
// (ties to the lower index), so that the shares sum to total exactly. sum must be
// sum(weights) and must not overflow; each share is at most its weight.
func largestRemainder(total int64, weights []int64, sum int64) []int64 {
	shares := make([]int64, len(weights))
	if total == 0 || sum == 0 {
		return shares
	}
	rems := make([]uint64, len(weights))
	left := total
	for i, w := range weights {
		hi, lo := bits.Mul64(uint64(total), uint64(w))
		q, r := bits.Div64(hi, lo, uint64(sum)) // hi < sum because total <= sum
		shares[i], rems[i] = int64(q), r
		left -= int64(q)
	}
	for ; left > 0; left-- { // left < len(weights)
		best := -1
		for i, r := range rems {
			if r > 0 && (best < 0 || r > rems[best]) {
				best = i
			}
		}
		shares[best]++
		rems[best] = 0
	}
	return shares
}

// cappedSplit is largestRemainder with an upper bound per share: shares over their cap are cut
// back and the excess goes, in index order, to shares with room. sum(caps) must be >= total.
func cappedSplit(total int64, weights []int64, sum int64, caps []int64) []int64 {
	shares := largestRemainder(total, weights, sum)
	var excess int64
	for i := range shares {
		if shares[i] > caps[i] {
			excess += shares[i] - caps[i]
			shares[i] = caps[i]
		}
	}
	for i := 0; excess > 0 && i < len(shares); i++ {
		take := min(caps[i]-shares[i], excess)
		shares[i] += take
		excess -= take
	}
	return shares
}

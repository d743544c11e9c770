package money

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidAmount is returned when a decimal amount cannot be represented exactly in minor units.
var ErrInvalidAmount = errors.New("invalid amount")

// pow10 returns 10^n for small n.
func pow10(n int) int64 {
	p := int64(1)
	for i := 0; i < n; i++ {
		p *= 10
	}
	return p
}

// ParseDecimal converts a decimal string in major units ("30.75", "-1"; "1e2" is refused) into
// minor units of the currency, exactly (ParseScaled at the currency's exponent). It fails when
// the string has more decimal places than the currency allows (unless the extra digits are
// zeros), is longer than MaxDecimalText or the value does not fit an int64.
func ParseDecimal(s string, c Currency) (int64, error) {
	v, err := ParseScaled(s, c.Exponent, Plain)
	if errors.Is(err, ErrTooPrecise) {
		return 0, fmt.Errorf("%w: %s has at most %d decimal places", ErrInvalidAmount, c.Code, c.Exponent)
	}
	return v, err
}

// FormatDecimal renders minor units as a plain decimal string in major units ("30.75", "-0.05", "1000").
func FormatDecimal(minor int64, c Currency) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		sign = "-"
		u = uint64(-(minor + 1)) + 1 // safe for math.MinInt64
	}
	if c.Exponent == 0 {
		return fmt.Sprintf("%s%d", sign, u)
	}
	p := uint64(pow10(c.Exponent))
	return fmt.Sprintf("%s%d.%0*d", sign, u/p, c.Exponent, u%p)
}

// Add returns a+b, or an error when the sum overflows int64.
func Add(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, fmt.Errorf("%w: overflow", ErrInvalidAmount)
	}
	return a + b, nil
}

// Mul returns a*b, or an error when the product overflows int64.
func Mul(a, b int64) (int64, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, fmt.Errorf("%w: overflow", ErrInvalidAmount)
	}
	return p, nil
}

package money

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// The ways decimal text can fail ParseScaled; each error it returns wraps one of them (and
// ErrInvalidAmount), so callers can wrap them in their own errors and still tell them apart.
var (
	ErrNotDecimal = errors.New("not a decimal number")
	ErrTooPrecise = errors.New("more decimal places than allowed")
	ErrOutOfRange = errors.New("out of range")
	ErrTooLong    = errors.New("too long")
)

// MaxDecimalText is the longest decimal text ParseScaled reads: exact parsing of a huge literal
// costs quadratic time, and no int64 needs more (64 characters also bound Duda's amounts).
const MaxDecimalText = 64

// decimalLiteral is a plain decimal with an optional exponent, as JSON numbers are written; the
// exponent has at most 3 digits so "1e999999999" cannot make us build a huge number.
var decimalLiteral = regexp.MustCompile(`^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,3}))?$`)

// Syntax says which decimal texts ParseScaled accepts.
type Syntax int

const (
	// Plain is an optional sign, digits and an optional fraction ("30.75", "-1", ".5", "5.").
	Plain Syntax = iota
	// WithExponent also accepts an exponent of up to 3 digits, as JSON numbers ("1.9e1", "2E-2").
	WithExponent
)

// ParseScaled is the one exact decimal parser: it reads s (trimmed) as a count of 10^-scale
// units ("30.75" at scale 2 → 3075; "5.5" at scale 2 → 550), from its decimal text, never
// through float64. It fails when s is empty, longer than MaxDecimalText, not a decimal of the
// syntax, has non-zero digits beyond scale, or does not fit an int64. The sign is kept.
// Amounts in a currency use ParseDecimal; tax rates and Duda's amounts use it through their
// own packages.
func ParseScaled(s string, scale int, syntax Syntax) (int64, error) {
	t := strings.TrimSpace(s)
	if len(t) > MaxDecimalText {
		return 0, fmt.Errorf("%w: %w: at most %d characters", ErrInvalidAmount, ErrTooLong, MaxDecimalText)
	}
	m := decimalLiteral.FindStringSubmatch(t)
	if m == nil || m[2]+m[3] == "" || (syntax == Plain && m[4] != "") {
		return 0, fmt.Errorf("%w: %w: %q", ErrInvalidAmount, ErrNotDecimal, t)
	}
	exp := 0
	if m[4] != "" {
		exp, _ = strconv.Atoi(m[4]) // at most 3 digits: cannot fail
	}
	n, _ := new(big.Int).SetString("0"+m[2]+m[3], 10)
	ten := big.NewInt(10)
	if shift := scale + exp - len(m[3]); shift >= 0 {
		if n.Sign() != 0 {
			n.Mul(n, new(big.Int).Exp(ten, big.NewInt(int64(shift)), nil))
		}
	} else {
		q, r := new(big.Int).QuoRem(n, new(big.Int).Exp(ten, big.NewInt(int64(-shift)), nil), new(big.Int))
		if r.Sign() != 0 {
			return 0, fmt.Errorf("%w: %w: %q has more than %d decimal places", ErrInvalidAmount, ErrTooPrecise, t, scale)
		}
		n = q
	}
	if m[1] == "-" {
		n.Neg(n) // before the range check: math.MinInt64 has no positive counterpart
	}
	if !n.IsInt64() {
		return 0, fmt.Errorf("%w: %w: %q", ErrInvalidAmount, ErrOutOfRange, t)
	}
	return n.Int64(), nil
}

package tax

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"paygate.dev/pkg/money"
)

// ErrInvalidInput is wrapped by every error the package returns for input it cannot accept:
// malformed rates, country codes or VAT ids, unknown currencies, bad quantities, discounts
// larger than what they discount, and amounts whose arithmetic would overflow int64.
var ErrInvalidInput = errors.New("tax: invalid input")

// Rate is a tax rate in hundredths of a percent: 1900 = 19%, 550 = 5.5%, 0 = 0%.
// Valid rates lie in [0, MaxRate]. It is an integer so that no float ever touches money.
type Rate int64

// MaxRate is 100%, the largest rate the package accepts.
const MaxRate Rate = 10000

// MaxRateText is the longest text of a rate ParseRate reads (like Duda's 64-character amounts).
const MaxRateText = money.MaxDecimalText

// ParseRate parses a percentage such as "19", "5.5", "0", "7.70" or "1.9e1" exactly, from its
// decimal text, never through float64 (money.ParseScaled at two decimals, exponent allowed). It
// fails for empty or non-numeric text, negative rates, rates above 100, and rates that need more
// than two decimal places ("5.555"); trailing zeros beyond the second decimal ("19.000") are
// exact and therefore accepted.
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	n, err := money.ParseScaled(t, 2, money.WithExponent)
	switch {
	case errors.Is(err, money.ErrTooLong):
		return 0, fmt.Errorf("%w: a rate is written in at most %d characters", ErrInvalidInput, MaxRateText)
	case errors.Is(err, money.ErrNotDecimal):
		return 0, fmt.Errorf("%w: rate %q is not a decimal number", ErrInvalidInput, t)
	case errors.Is(err, money.ErrTooPrecise):
		return 0, fmt.Errorf("%w: rate %q has more than two decimal places", ErrInvalidInput, t)
	case errors.Is(err, money.ErrOutOfRange):
		if strings.HasPrefix(t, "-") {
			return 0, fmt.Errorf("%w: rate %q is negative", ErrInvalidInput, t)
		}
		return 0, fmt.Errorf("%w: rate %q is above 100%%", ErrInvalidInput, t)
	case err != nil:
		return 0, fmt.Errorf("%w: rate %q: %w", ErrInvalidInput, t, err)
	case n < 0:
		return 0, fmt.Errorf("%w: rate %q is negative", ErrInvalidInput, t)
	case n > int64(MaxRate):
		return 0, fmt.Errorf("%w: rate %q is above 100%%", ErrInvalidInput, t)
	}
	return Rate(n), nil
}

// Valid reports whether r lies in [0, MaxRate].
func (r Rate) Valid() bool { return r >= 0 && r <= MaxRate }

// String renders the rate in percent without trailing zeros: "19", "5.5", "2.1", "0.25".
func (r Rate) String() string {
	var buf [24]byte
	return string(r.appendText(buf[:0]))
}

// appendText appends what String returns (without fmt: rates are written into every tax
// preview and checkout the runtime API answers).
func (r Rate) appendText(b []byte) []byte {
	u := uint64(r)
	if r < 0 {
		b, u = append(b, '-'), uint64(-(r+1))+1
	}
	whole, frac := u/100, u%100
	b = strconv.AppendUint(b, whole, 10)
	switch {
	case frac == 0:
	case frac%10 == 0:
		b = append(b, '.', byte('0'+frac/10))
	default:
		b = append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
	}
	return b
}

// MarshalJSON renders the rate as a JSON number in percent: 19, 5.5, 0.
func (r Rate) MarshalJSON() ([]byte, error) { return r.appendText(make([]byte, 0, 8)), nil }

// UnmarshalJSON accepts a JSON number (19, 5.5, 19.0) or a numeric string ("19", "5.5") in
// percent and converts it exactly, with the same rules and errors as ParseRate. JSON null
// leaves the rate unchanged.
func (r *Rate) UnmarshalJSON(b []byte) error {
	if v, ok := plainRate(b); ok {
		*r = v
		return nil
	}
	t := strings.TrimSpace(string(b))
	if t == "null" {
		return nil
	}
	if strings.HasPrefix(t, `"`) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%w: rate %s: %w", ErrInvalidInput, t, err)
		}
		t = s
	}
	v, err := ParseRate(t)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// plainRate reads the common form of a rate quickly: a JSON number of at most three whole
// digits and two decimals within [0, MaxRate] ("19", "5.5", "0.25", "19.00"). Anything else
// (strings, exponents, out of range, malformed) is left to ParseRate and its errors.
func plainRate(b []byte) (Rate, bool) {
	whole, frac, dot := b, []byte(nil), false
	for i, c := range b {
		if c == '.' {
			whole, frac, dot = b[:i], b[i+1:], true
			break
		}
	}
	if len(whole) == 0 || len(whole) > 3 || (dot && (len(frac) == 0 || len(frac) > 2)) {
		return 0, false
	}
	var n int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	n *= 100
	for i, c := range frac {
		if c < '0' || c > '9' {
			return 0, false
		}
		if i == 0 {
			n += int64(c-'0') * 10
		} else {
			n += int64(c - '0')
		}
	}
	if n > int64(MaxRate) {
		return 0, false
	}
	return Rate(n), true
}

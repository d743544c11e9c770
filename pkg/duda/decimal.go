package duda

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"paygate.dev/pkg/money"
)

// ErrInvalidAmount is wrapped by every error about an amount or a quantity Duda sent that cannot be turned into an
// exact integer: not a number, too many decimal places for the currency, fractional quantity, out of int64 range.
var ErrInvalidAmount = errors.New("duda: invalid amount")

// ErrMissingAmount is wrapped by Minor and Int64 when the field was absent, null or an empty string.
var ErrMissingAmount = errors.New("duda: missing amount")

// Decimal is a money amount exactly as Duda wrote it: Duda sends amounts as JSON strings ("30.75") or as JSON numbers
// (30.75, 30, rarely 1e1). The literal text is kept (never through float64) and converted to minor units only when
// the currency is known, with Minor.
//
// The zero value is an absent amount. Do not tag Decimal fields `omitzero`: IsZero reports a numeric zero too, so
// an explicit 0 would vanish from the JSON.
type Decimal struct {
	raw    string
	quoted bool // came from (or must be written as) a JSON string
}

// NewDecimal returns the amount for a decimal literal ("30.75", "1e1"), written back as a JSON number when the text
// is a valid JSON number and as a JSON string otherwise. It does not validate: Minor does.
func NewDecimal(s string) Decimal { return Decimal{raw: strings.TrimSpace(s)} }

// NewDecimalString returns the amount for a decimal literal, written back as a JSON string ("30.75").
func NewDecimalString(s string) Decimal { return Decimal{raw: strings.TrimSpace(s), quoted: true} }

// DecimalFromMinor renders minor units of currency as a plain decimal (3075 EUR → 30.75), written as a JSON number.
// It fails only for an unknown currency.
func DecimalFromMinor(minor int64, currency string) (Decimal, error) {
	c, ok := money.Lookup(currency)
	if !ok {
		return Decimal{}, fmt.Errorf("%w: unknown currency %q", ErrInvalidAmount, currency)
	}
	return Decimal{raw: money.FormatDecimal(minor, c)}, nil
}

// String returns the literal as Duda sent it ("" when absent).
func (d Decimal) String() string { return d.raw }

// IsSet reports whether the amount was present (not absent, null or "").
func (d Decimal) IsSet() bool { return d.raw != "" }

// IsQuoted reports whether the amount came as (or will be written as) a JSON string.
func (d Decimal) IsQuoted() bool { return d.quoted }

// IsZero reports whether the amount is absent or numerically zero ("0", "0.00", 0, 0e3). An amount that is not a
// number at all is not zero.
func (d Decimal) IsZero() bool {
	if d.raw == "" {
		return true
	}
	v, err := money.ParseScaled(d.raw, 0, money.WithExponent)
	return err == nil && v == 0
}

// Minor converts the amount to an exact count of the currency's minor units ("30.75" EUR → 3075, "1000" JPY → 1000,
// "1.234" KWD → 1234). It fails (ErrInvalidAmount) for an unknown currency, text that is not a decimal number, more
// decimal places than the currency has (30.755 EUR; trailing zeros are fine), or a value outside int64; and
// (ErrMissingAmount) when the amount is absent. Negative amounts are returned as they are.
func (d Decimal) Minor(currency string) (int64, error) {
	if d.raw == "" {
		return 0, ErrMissingAmount
	}
	c, ok := money.Lookup(currency)
	if !ok {
		return 0, fmt.Errorf("%w: unknown currency %q", ErrInvalidAmount, currency)
	}
	v, err := money.ParseScaled(d.raw, c.Exponent, money.WithExponent)
	if err != nil {
		return 0, fmt.Errorf("%w: %q in %s: %w", ErrInvalidAmount, d.raw, c.Code, err)
	}
	return v, nil
}

// MinorOrZero is Minor with an absent amount counted as 0 (for optional fields such as discount_amount).
func (d Decimal) MinorOrZero(currency string) (int64, error) {
	if d.raw == "" {
		return 0, nil
	}
	return d.Minor(currency)
}

// MarshalJSON writes the literal back the way it came: a JSON string, a JSON number, or null when absent.
func (d Decimal) MarshalJSON() ([]byte, error) { return marshalLiteral(d.raw, d.quoted) }

// UnmarshalJSON accepts a JSON string, a JSON number or null. Booleans, objects and arrays are an error.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	raw, quoted, err := unmarshalLiteral(b)
	if err != nil {
		return err
	}
	*d = Decimal{raw: raw, quoted: quoted}
	return nil
}

// Quantity is a line-item quantity as Duda wrote it, a JSON string or number. It must be a whole number.
// The zero value is an absent quantity.
type Quantity struct {
	raw    string
	quoted bool
}

// NewQuantity returns a quantity written as a JSON number.
func NewQuantity(n int64) Quantity { return Quantity{raw: strconv.FormatInt(n, 10)} }

// NewQuantityString returns a quantity written as a JSON string ("2").
func NewQuantityString(n int64) Quantity {
	return Quantity{raw: strconv.FormatInt(n, 10), quoted: true}
}

// String returns the literal as Duda sent it ("" when absent).
func (q Quantity) String() string { return q.raw }

// IsSet reports whether the quantity was present.
func (q Quantity) IsSet() bool { return q.raw != "" }

// Int64 returns the quantity as an integer. 2, "2", 2.0 and "2.00" are all 2; 2.5 is an error (ErrInvalidAmount), as
// is anything that is not a number or does not fit an int64; an absent quantity is ErrMissingAmount. The sign is not
// checked.
func (q Quantity) Int64() (int64, error) {
	if q.raw == "" {
		return 0, ErrMissingAmount
	}
	v, err := money.ParseScaled(q.raw, 0, money.WithExponent)
	switch {
	case errors.Is(err, money.ErrTooPrecise):
		return 0, fmt.Errorf("%w: quantity %q is not a whole number", ErrInvalidAmount, q.raw)
	case err != nil:
		return 0, fmt.Errorf("%w: quantity %q: %w", ErrInvalidAmount, q.raw, err)
	}
	return v, nil
}

// MarshalJSON writes the quantity back the way it came.
func (q Quantity) MarshalJSON() ([]byte, error) { return marshalLiteral(q.raw, q.quoted) }

// UnmarshalJSON accepts a JSON string, a JSON number or null.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	raw, quoted, err := unmarshalLiteral(b)
	if err != nil {
		return err
	}
	*q = Quantity{raw: raw, quoted: quoted}
	return nil
}

func marshalLiteral(raw string, quoted bool) ([]byte, error) {
	if raw == "" {
		return []byte("null"), nil
	}
	if !quoted && isJSONNumber(raw) {
		return []byte(raw), nil
	}
	return json.Marshal(raw)
}

func unmarshalLiteral(b []byte) (raw string, quoted bool, err error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		return "", false, nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", false, fmt.Errorf("%w: %w", ErrInvalidAmount, err)
		}
		if s = strings.TrimSpace(s); s == "" {
			return "", false, nil // absent, like null: the zero value
		}
		return s, true, nil
	case isJSONNumber(string(b)):
		return string(b), false, nil
	default:
		return "", false, fmt.Errorf("%w: expected a string or a number, got %.20s", ErrInvalidAmount, b)
	}
}

func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

package duda_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/duda"
)

// decodeAmount reads a JSON token the way a field of a Duda payload is read.
func decodeAmount(t *testing.T, token string) duda.Decimal {
	t.Helper()
	var v struct {
		Total duda.Decimal `json:"total"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"total":`+token+`}`), &v))
	return v.Total
}

func TestDecimalMinorConvertsExactly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		token    string // as it appears in the JSON
		currency string
		want     int64
	}{
		{"string amount in EUR", `"30.75"`, "EUR", 3075},
		{"numeric amount in EUR", `30.75`, "EUR", 3075},
		{"whole number", `30`, "EUR", 3000},
		{"one decimal place", `"30.7"`, "EUR", 3070},
		{"trailing zeros beyond the exponent", `"30.7500"`, "EUR", 3075},
		{"negative amount", `"-5.25"`, "EUR", -525},
		{"zero", `0`, "EUR", 0},
		{"yen has no minor unit", `1000`, "JPY", 1000},
		{"yen as a string", `"1000"`, "JPY", 1000},
		{"dinar has three decimals", `"1.234"`, "KWD", 1234},
		{"numeric dinar", `1.234`, "KWD", 1234},
		{"lower-case currency code", `"9.99"`, "eur", 999},
		{"exponent form", `1e1`, "EUR", 1000},
		{"exponent form with decimals", `1.5E1`, "EUR", 1500},
		{"negative exponent down to a cent", `1e-2`, "EUR", 1},
		{"exponent form in a string", `"2.5e2"`, "JPY", 250},
		{"whitespace inside a string", `" 12.50 "`, "EUR", 1250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decodeAmount(t, tc.token).Minor(tc.currency)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDecimalMinorRejectsWhatIsNotExact(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		token    string
		currency string
	}{
		{"a tenth of a cent", `30.755`, "EUR"},
		{"a tenth of a cent as a string", `"30.755"`, "EUR"},
		{"fractional yen", `1000.5`, "JPY"},
		{"a tenth of a fils", `"1.2345"`, "KWD"},
		{"exponent form below a cent", `1e-3`, "EUR"},
		{"beyond int64", `99999999999999999999`, "EUR"},
		{"beyond int64 in exponent form", `1e30`, "EUR"},
		{"an absurd exponent", `1e999999999`, "EUR"},
		{"a hundred-digit literal", `"` + strings.Repeat("1", 100) + `"`, "EUR"},
		{"not a number", `"abc"`, "EUR"},
		{"comma decimal separator", `"12,50"`, "EUR"},
		{"currency symbol", `"€12.50"`, "EUR"},
		{"NaN", `"NaN"`, "EUR"},
		{"Infinity", `"Infinity"`, "EUR"},
		{"hex", `"0x10"`, "EUR"},
		{"fraction", `"1/2"`, "EUR"},
		{"two dots", `"1.2.3"`, "EUR"},
		{"unknown currency", `"1.00"`, "XXX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeAmount(t, tc.token).Minor(tc.currency)
			require.ErrorIs(t, err, duda.ErrInvalidAmount)
		})
	}
}

func TestDecimalStringAndNumberAreTheSameAmount(t *testing.T) {
	t.Parallel()
	for _, cur := range []string{"EUR", "USD", "KWD"} {
		s, err := decodeAmount(t, `"30.75"`).Minor(cur)
		require.NoError(t, err)
		n, err := decodeAmount(t, `30.75`).Minor(cur)
		require.NoError(t, err)
		require.Equal(t, s, n, cur)
	}
}

func TestDecimalAbsence(t *testing.T) {
	t.Parallel()
	t.Run("null, empty string and a missing key are absent", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{`null`, `""`, `"  "`} {
			d := decodeAmount(t, tok)
			require.False(t, d.IsSet(), tok)
			require.True(t, d.IsZero(), tok)
			_, err := d.Minor("EUR")
			require.ErrorIs(t, err, duda.ErrMissingAmount, tok)
			v, err := d.MinorOrZero("EUR")
			require.NoError(t, err, tok)
			require.Zero(t, v, tok)
		}
		var v struct {
			Total duda.Decimal `json:"total"`
		}
		require.NoError(t, json.Unmarshal([]byte(`{}`), &v))
		require.False(t, v.Total.IsSet())
	})
	t.Run("IsZero is numeric zero, not a failed parse", func(t *testing.T) {
		t.Parallel()
		require.True(t, decodeAmount(t, `"0.00"`).IsZero())
		require.True(t, decodeAmount(t, `0e3`).IsZero())
		require.False(t, decodeAmount(t, `0.01`).IsZero())
		require.False(t, decodeAmount(t, `"abc"`).IsZero())
	})
	t.Run("booleans, objects and arrays are rejected", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{`true`, `{"value":1}`, `[1]`} {
			var v struct {
				Total duda.Decimal `json:"total"`
			}
			require.Error(t, json.Unmarshal([]byte(`{"total":`+tok+`}`), &v), tok)
		}
	})
}

func TestDecimalMarshalKeepsTheLiteral(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   duda.Decimal
		want string
	}{
		{"number stays a number", duda.NewDecimal("30.75"), `30.75`},
		{"string stays a string", duda.NewDecimalString("30.75"), `"30.75"`},
		{"exponent form stays", duda.NewDecimal("1e1"), `1e1`},
		{"not a JSON number is quoted", duda.NewDecimal("30."), `"30."`},
		{"absent is null", duda.Decimal{}, `null`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, string(b))
		})
	}
	t.Run("round trip through JSON", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{`"30.75"`, `30.75`, `1e1`} {
			b, err := json.Marshal(decodeAmount(t, tok))
			require.NoError(t, err)
			require.Equal(t, tok, string(b))
		}
	})
	t.Run("from minor units", func(t *testing.T) {
		t.Parallel()
		d, err := duda.DecimalFromMinor(3075, "EUR")
		require.NoError(t, err)
		require.Equal(t, "30.75", d.String())
		d, err = duda.DecimalFromMinor(500, "JPY")
		require.NoError(t, err)
		require.Equal(t, "500", d.String())
		_, err = duda.DecimalFromMinor(1, "XXX")
		require.ErrorIs(t, err, duda.ErrInvalidAmount)
	})
}

func TestQuantityMustBeWhole(t *testing.T) {
	t.Parallel()
	decode := func(t *testing.T, tok string) duda.Quantity {
		var v struct {
			Q duda.Quantity `json:"quantity"`
		}
		require.NoError(t, json.Unmarshal([]byte(`{"quantity":`+tok+`}`), &v))
		return v.Q
	}
	for _, tc := range []struct {
		name  string
		token string
		want  int64
		err   error
	}{
		{"number", `2`, 2, nil},
		{"string", `"2"`, 2, nil},
		{"number with a zero fraction", `2.0`, 2, nil},
		{"string with zero fraction", `"2.00"`, 2, nil},
		{"exponent form", `1e1`, 10, nil},
		{"fractional number", `2.5`, 0, duda.ErrInvalidAmount},
		{"fractional string", `"0.5"`, 0, duda.ErrInvalidAmount},
		{"not a number", `"two"`, 0, duda.ErrInvalidAmount},
		{"beyond int64", `1e25`, 0, duda.ErrInvalidAmount},
		{"absent", `null`, 0, duda.ErrMissingAmount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decode(t, tc.token).Int64()
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("marshals the way it came", func(t *testing.T) {
		t.Parallel()
		b, err := json.Marshal([]duda.Quantity{duda.NewQuantity(3), duda.NewQuantityString(3), {}})
		require.NoError(t, err)
		require.Equal(t, `[3,"3",null]`, string(b))
	})
}

// Found by FuzzDudaRequests: an empty string ("quantity":"") decoded to an absent value that
// still said it was quoted, so it differed from the zero value (absent) and did not survive a
// JSON round trip (written back as null, read as the zero value). Absent is the zero value.
func TestAbsentAmountsAreTheZeroValue(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{`null`, `""`, `"  "`} {
		require.Equal(t, duda.Decimal{}, decodeAmount(t, tok), tok)
		require.False(t, decodeAmount(t, tok).IsQuoted(), tok)
		var q struct {
			Quantity duda.Quantity `json:"quantity"`
		}
		require.NoError(t, json.Unmarshal([]byte(`{"quantity":`+tok+`}`), &q), tok)
		require.Equal(t, duda.Quantity{}, q.Quantity, tok)
	}
}

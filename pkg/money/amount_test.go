package money

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	eur, jpy, kwd := MustLookup("EUR"), MustLookup("jpy"), MustLookup("KWD")
	for _, tc := range []struct {
		in   string
		cur  Currency
		want int64
		err  bool
	}{
		{"30.75", eur, 3075, false},
		{"30.7", eur, 3070, false},
		{"30", eur, 3000, false},
		{"-0.05", eur, -5, false},
		{"0.10", eur, 10, false},
		{"30.750", eur, 3075, false},
		{"30.755", eur, 0, true},
		{"1000", jpy, 1000, false},
		{"1000.5", jpy, 0, true},
		{"1.234", kwd, 1234, false},
		{".5", eur, 50, false},
		{"1e2", eur, 0, true},
		{"", eur, 0, true},
		{"-", eur, 0, true},
		{"12,50", eur, 0, true},
		{"99999999999999999999", eur, 0, true},
	} {
		got, err := ParseDecimal(tc.in, tc.cur)
		if tc.err {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestFormatDecimalRoundTrips(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"EUR", "JPY", "KWD", "UYW"} {
		c := MustLookup(code)
		for _, v := range []int64{0, 1, -1, 5, 99, 100, 12345, -12345, math.MaxInt64, math.MinInt64 + 1} {
			s := FormatDecimal(v, c)
			back, err := ParseDecimal(s, c)
			require.NoError(t, err, s)
			require.Equal(t, v, back, s)
		}
	}
	require.Equal(t, "0.05", FormatDecimal(5, MustLookup("EUR")))
	require.Equal(t, "-1.005", FormatDecimal(-1005, MustLookup("KWD")))
	require.Equal(t, "500", FormatDecimal(500, MustLookup("JPY")))
}

func TestLookupRejectsUnknown(t *testing.T) {
	t.Parallel()
	_, ok := Lookup("XXX")
	require.False(t, ok)
	_, ok = Lookup("HRK")
	require.False(t, ok, "HRK was retired")
	c, ok := Lookup(" eur ")
	require.True(t, ok)
	require.Equal(t, 2, c.Exponent)
}

func TestOverflowIsAnError(t *testing.T) {
	t.Parallel()
	_, err := Add(math.MaxInt64, 1)
	require.Error(t, err)
	_, err = Mul(math.MaxInt64/2+1, 2)
	require.Error(t, err)
	v, err := Mul(-3, 7)
	require.NoError(t, err)
	require.Equal(t, int64(-21), v)
}

// Found by FuzzFormatDecimal: FormatDecimal writes math.MinInt64, but ParseDecimal refused to
// read it back, because it checked the range before applying the sign.
func TestParseDecimalReadsBackTheSmallestInt64(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"EUR", "JPY", "KWD", "UYW"} {
		c := MustLookup(code)
		s := FormatDecimal(math.MinInt64, c)
		v, err := ParseDecimal(s, c)
		require.NoError(t, err, s)
		require.Equal(t, int64(math.MinInt64), v, s)
		_, err = ParseDecimal(s[:len(s)-1]+"9", c) // one minor unit below: out of range
		require.ErrorIs(t, err, ErrInvalidAmount)
	}
}

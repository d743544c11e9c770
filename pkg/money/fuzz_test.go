package money

import (
	"math"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// plainDecimal is the reference grammar ParseDecimal accepts: an optional sign, then digits with
// an optional fraction (".5" and "5." included), nothing else.
var plainDecimal = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// refParseDecimal is an independent reference for ParseDecimal, through exact rationals: the
// value in minor units, or ok=false when the text is not a plain decimal, has more decimals than
// the currency (beyond trailing zeros), is longer than MaxDecimalText or does not fit an int64.
func refParseDecimal(s string, c Currency) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > MaxDecimalText || !plainDecimal.MatchString(s) {
		return 0, false
	}
	sign := ""
	if s[0] == '-' || s[0] == '+' {
		sign, s = s[:1], s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" {
		intPart = "0"
	}
	if frac == "" {
		frac = "0"
	}
	r, ok := new(big.Rat).SetString(sign + intPart + "." + frac)
	if !ok {
		return 0, false
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Exponent)), nil)))
	if !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

// fuzzCodes is read after init has filled the currency table.
var fuzzCodes = sync.OnceValue(Codes)

func currencyAt(i uint8) Currency { codes := fuzzCodes(); return MustLookup(codes[int(i)%len(codes)]) }

func indexOf(code string) uint8 {
	for i, c := range Codes() {
		if c == code {
			return uint8(i)
		}
	}
	panic(code)
}

// FuzzParseDecimal: ParseDecimal agrees with an exact rational reference on every input (it
// never accepts what the reference rejects, never rejects what it accepts, never misparses), and
// what it accepts re-formats to a string that parses to the same amount.
func FuzzParseDecimal(f *testing.F) {
	eur, jpy, kwd, uyw := indexOf("EUR"), indexOf("JPY"), indexOf("KWD"), indexOf("UYW")
	for _, s := range []string{"30.75", "30.7", "30", "-0.05", "0.10", "30.750", "30.755", ".5", "1e2", "", "-", "12,50",
		"99999999999999999999", "92233720368547758.07", "-92233720368547758.08", "+1.", " 7 ", "0x10", "1_000", "１２", "--1", "+-1"} {
		f.Add(s, eur)
	}
	f.Add("1000", jpy)
	f.Add("1000.5", jpy)
	f.Add("1.234", kwd)
	f.Add("-9223372036854775808", jpy)
	f.Add("922337203685477.5807", uyw)
	f.Fuzz(func(t *testing.T, s string, cur uint8) {
		c := currencyAt(cur)
		got, err := ParseDecimal(s, c)
		want, ok := refParseDecimal(s, c)
		if (err == nil) != ok {
			t.Fatalf("ParseDecimal(%q, %s) = %d, %v; the reference says ok=%v (%d)", s, c.Code, got, err, ok, want)
		}
		if err != nil {
			return
		}
		if got != want {
			t.Fatalf("ParseDecimal(%q, %s) = %d, want %d", s, c.Code, got, want)
		}
		again, err := ParseDecimal(FormatDecimal(got, c), c)
		if err != nil || again != got {
			t.Fatalf("FormatDecimal(%d) = %q parses to %d, %v", got, FormatDecimal(got, c), again, err)
		}
	})
}

// canonicalDecimal is what FormatDecimal writes, by currency exponent: no sign for zero or
// positives, no leading zeros, exactly the currency's number of decimals.
var canonicalDecimal = []*regexp.Regexp{
	regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`),
	regexp.MustCompile(`^-?(0|[1-9][0-9]*)\.[0-9]{1}$`),
	regexp.MustCompile(`^-?(0|[1-9][0-9]*)\.[0-9]{2}$`),
	regexp.MustCompile(`^-?(0|[1-9][0-9]*)\.[0-9]{3}$`),
	regexp.MustCompile(`^-?(0|[1-9][0-9]*)\.[0-9]{4}$`),
}

// FuzzFormatDecimal: for every int64 and currency, FormatDecimal writes the canonical form of
// exactly that amount and ParseDecimal reads it back (parse(format(x)) == x); Add and Mul agree
// with big-integer arithmetic and report every overflow.
func FuzzFormatDecimal(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 5, 99, 100, 12345, -12345, math.MaxInt64, math.MinInt64 + 1, math.MinInt64} {
		for _, code := range []string{"EUR", "JPY", "KWD", "UYW"} {
			f.Add(v, int64(-v), indexOf(code))
		}
	}
	f.Add(int64(math.MaxInt64/2+1), int64(2), indexOf("EUR"))
	f.Add(int64(-1), int64(math.MinInt64), indexOf("EUR"))
	f.Fuzz(func(t *testing.T, v, w int64, cur uint8) {
		c := currencyAt(cur)
		s := FormatDecimal(v, c)
		if !canonicalDecimal[c.Exponent].MatchString(s) || s == "-0" || strings.HasPrefix(s, "-0.") && strings.Trim(s[3:], "0") == "" {
			t.Fatalf("FormatDecimal(%d, %s) = %q is not canonical", v, c.Code, s)
		}
		if ref, ok := refParseDecimal(s, c); !ok || ref != v {
			t.Fatalf("FormatDecimal(%d, %s) = %q, which is %d (ok=%v)", v, c.Code, s, ref, ok)
		}
		back, err := ParseDecimal(s, c)
		if err != nil || back != v {
			t.Fatalf("ParseDecimal(FormatDecimal(%d, %s) = %q) = %d, %v", v, c.Code, s, back, err)
		}

		bv, bw := big.NewInt(v), big.NewInt(w)
		fits := func(z *big.Int) bool { return z.IsInt64() }
		sum, err := Add(v, w)
		if ref := new(big.Int).Add(bv, bw); fits(ref) != (err == nil) || (err == nil && sum != ref.Int64()) {
			t.Fatalf("Add(%d, %d) = %d, %v; exact %s", v, w, sum, err, ref)
		}
		prod, err := Mul(v, w)
		if ref := new(big.Int).Mul(bv, bw); fits(ref) != (err == nil) || (err == nil && prod != ref.Int64()) {
			t.Fatalf("Mul(%d, %d) = %d, %v; exact %s", v, w, prod, err, ref)
		}
	})
}

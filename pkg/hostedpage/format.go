package hostedpage

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"paygate.dev/pkg/tax"
)

// numberStyle is how one locale writes numbers and amounts. The values follow CLDR as the
// browsers' Intl.NumberFormat applies it, so that the first (server) render and the client's
// updates look the same; the browser test compares both for every locale.
type numberStyle struct {
	decimal string
	group   string
	// minGrouping 2 leaves four-digit integers ungrouped (es, it, pl: "1234,50" but "12.345,50").
	minGrouping int
	// symbolFirst puts the currency before the number; space is what separates them then
	// ("" in en: "€1.00", but a letter-ending symbol still gets a no-break space: "CHF 1.00").
	symbolFirst bool
	space       string
	// signAfterSymbol writes "€ -5,00" (nl) instead of "-€5.00" (en).
	signAfterSymbol bool
	// percentSpace separates a number from "%" (de, fr, es: "19 %").
	percentSpace string
	// symbols lists the currencies whose symbol differs from their ISO code in this locale.
	symbols map[string]string
}

const (
	nbsp  = "\u00a0"
	nnbsp = "\u202f"
)

// Symbols shared by most locales; a locale's own table overrides or removes entries.
var commonSymbols = map[string]string{
	"BRL": "R$", "CAD": "CA$", "CNY": "CN¥", "EUR": "€", "GBP": "£", "HKD": "HK$", "ILS": "₪", "INR": "₹",
	"JPY": "¥", "KRW": "₩", "MXN": "MX$", "NZD": "NZ$", "TWD": "NT$", "USD": "$", "VND": "₫", "XAF": "FCFA",
	"XCD": "EC$", "XOF": "F" + nnbsp + "CFA", "XPF": "CFPF",
}

func symbols(base map[string]string, set map[string]string, drop ...string) map[string]string {
	out := make(map[string]string, len(base)+len(set))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range set {
		out[k] = v
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

// numberStyles holds the seven supported locales.
var numberStyles = map[string]numberStyle{
	"en": {decimal: ".", group: ",", minGrouping: 1, symbolFirst: true,
		symbols: symbols(commonSymbols, map[string]string{"AUD": "A$", "PHP": "₱"})},
	"de": {decimal: ",", group: ".", minGrouping: 1, space: nbsp, percentSpace: nbsp,
		symbols: symbols(commonSymbols, map[string]string{"AUD": "AU$", "THB": "฿"})},
	"fr": {decimal: ",", group: nnbsp, minGrouping: 1, space: nbsp, percentSpace: nbsp,
		symbols: map[string]string{"ARS": "$AR", "AUD": "$AU", "BMD": "$BM", "BND": "$BN", "BRL": "R$", "BZD": "$BZ",
			"CAD": "$CA", "CLP": "$CL", "COP": "$CO", "EUR": "€", "FJD": "$FJ", "FKP": "£FK", "GBP": "£GB", "GIP": "£GI",
			"ILS": "₪", "INR": "₹", "KRW": "₩", "LBP": "£LB", "MXN": "$MX", "NAD": "$NA", "NZD": "$NZ", "SBD": "$SB",
			"SGD": "$SG", "SRD": "$SR", "TTD": "$TT", "USD": "$US", "UYU": "$UY", "VND": "₫", "WST": "$WS", "XAF": "FCFA",
			"XOF": "F" + nnbsp + "CFA", "XPF": "FCFP"}},
	"es": {decimal: ",", group: ".", minGrouping: 2, space: nbsp, percentSpace: nbsp,
		symbols: map[string]string{"EUR": "€", "THB": "฿", "USD": "US$", "VND": "₫", "XPF": "CFPF"}},
	"it": {decimal: ",", group: ".", minGrouping: 2, space: nbsp,
		symbols: map[string]string{"AUD": "A$", "CAD": "CA$", "CNY": "CN¥", "EUR": "€", "GBP": "£", "ILS": "₪", "NZD": "NZ$",
			"PHP": "₱", "THB": "฿", "XAF": "FCFA", "XCD": "EC$", "XOF": "F" + nnbsp + "CFA", "XPF": "CFPF"}},
	"nl": {decimal: ",", group: ".", minGrouping: 1, symbolFirst: true, space: nbsp, signAfterSymbol: true,
		symbols: symbols(commonSymbols, map[string]string{"AUD": "AU$", "CAD": "C$", "FJD": "FJ$", "JPY": "JP¥", "SBD": "SI$",
			"THB": "฿", "USD": "US$"}, "XPF")},
	"pl": {decimal: ",", group: nbsp, minGrouping: 2, space: nbsp,
		symbols: map[string]string{"BRL": "R$", "EUR": "€", "PLN": "zł", "XAF": "FCFA", "XCD": "EC$", "XOF": "F" + nnbsp + "CFA", "XPF": "CFPF"}},
}

// groupDigits inserts the group separator every three digits from the right.
func (s numberStyle) groupDigits(digits string) string {
	if len(digits) < 4 || (s.minGrouping == 2 && len(digits) < 5) {
		return digits
	}
	var b strings.Builder
	first := len(digits) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += 3 {
		b.WriteString(s.group)
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// decimalString writes |minor| in major units with exactly exponent decimals, grouped.
func (s numberStyle) decimalString(minor int64, exponent int) (neg bool, out string) {
	u := uint64(minor)
	if minor < 0 {
		neg, u = true, uint64(-(minor+1))+1 // also right for math.MinInt64
	}
	digits := strconv.FormatUint(u, 10)
	if exponent <= 0 {
		return neg, s.groupDigits(digits)
	}
	if len(digits) <= exponent {
		digits = strings.Repeat("0", exponent-len(digits)+1) + digits
	}
	cut := len(digits) - exponent
	return neg, s.groupDigits(digits[:cut]) + s.decimal + digits[cut:]
}

// Money formats an amount in minor units of a currency with the given ISO 4217 exponent:
// en "€1,234.50", de "1.234,50 €", fr "1 234,50 €", nl "€ 1.234,50"; JPY has no decimals and
// KWD three. Currencies without a symbol in the locale are written with their ISO code.
func (s numberStyle) Money(minor int64, currency string, exponent int) string {
	neg, num := s.decimalString(minor, exponent)
	sym := currency
	if v, ok := s.symbols[currency]; ok {
		sym = v
	}
	sign := ""
	if neg {
		sign = "-"
	}
	if !s.symbolFirst {
		return sign + num + nbsp + sym
	}
	sep := s.space
	if r, _ := utf8.DecodeLastRuneInString(sym); sep == "" && !unicode.IsSymbol(r) {
		sep = nbsp // CLDR currency spacing: "CHF 1.00", but "$1.00"
	}
	if s.signAfterSymbol {
		return sym + sep + sign + num
	}
	return sign + sym + sep + num
}

// Int formats a whole number such as a quantity.
func (s numberStyle) Int(n int64) string {
	neg, num := s.decimalString(n, 0)
	if neg {
		return "-" + num
	}
	return num
}

// Rate formats a tax rate in percent: en "19%", de "19 %", "5,5 %".
func (s numberStyle) Rate(r tax.Rate) string {
	neg, num := s.decimalString(int64(r), 2)
	num = strings.TrimRight(strings.TrimRight(num, "0"), s.decimal)
	if neg {
		num = "-" + num
	}
	return num + s.percentSpace + "%"
}

// dateTime formats t in UTC with the locale's pattern and month names.
func dateTime(t time.Time, pattern string, months [12]string) string {
	t = t.UTC()
	return strings.NewReplacer(
		"{day}", strconv.Itoa(t.Day()),
		"{month}", months[t.Month()-1],
		"{year}", strconv.Itoa(t.Year()),
		"{time}", t.Format("15:04"),
	).Replace(pattern)
}

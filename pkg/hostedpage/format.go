package hostedpage

import (
	"strconv"
	"strings"
	"time"

	"paygate.dev/pkg/tax"
)

// numberStyle is how one locale writes numbers and amounts, read from
// locales/formats/{lang}.json. Those files are generated from CLDR (as ICU carries it, the data
// the browsers' Intl.NumberFormat applies: see generate.js beside them), so that the first
// (server) render and the script's updates look the same; the browser test compares both for
// every locale and currency.
type numberStyle struct {
	Decimal string `json:"decimal"`
	Group   string `json:"group"`
	// MinGrouping 2 leaves four-digit integers ungrouped (es, it, pl: "1234,50" but "12.345,50").
	MinGrouping int    `json:"minGrouping"`
	Minus       string `json:"minus"` // "-", or U+2212 in sv, fi, no, lt, sl, et, hr
	// Percent is what comes before and after the number ("19 %", "%19").
	Percent [2]string `json:"percent"`
	// Currencies holds, per ISO code, what comes before and after the number of a positive and
	// of a negative amount: en EUR ["€", "", "-€", ""], nl EUR ["€ ", "", "€ -", ""].
	Currencies map[string][4]string `json:"currencies"`
}

const nbsp = "\u00a0"

// groupDigits inserts the group separator every three digits from the right.
func (s numberStyle) groupDigits(digits string) string {
	if len(digits) < 4 || (s.MinGrouping == 2 && len(digits) < 5) {
		return digits
	}
	var b strings.Builder
	first := len(digits) % 3
	if first == 0 {
		first = 3
	}
	b.WriteString(digits[:first])
	for i := first; i < len(digits); i += 3 {
		b.WriteString(s.Group)
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
	return neg, s.groupDigits(digits[:cut]) + s.Decimal + digits[cut:]
}

// Money formats an amount in minor units of a currency with the given ISO 4217 exponent:
// en "€1,234.50", de "1.234,50 €", fr "1 234,50 €", nl "€ 1.234,50"; JPY has no decimals and
// KWD three. A currency CLDR does not know is written with its ISO code.
func (s numberStyle) Money(minor int64, currency string, exponent int) string {
	neg, num := s.decimalString(minor, exponent)
	a, ok := s.Currencies[currency]
	if !ok {
		a = [4]string{currency + nbsp, "", s.Minus + currency + nbsp, ""}
	}
	if neg {
		return a[2] + num + a[3]
	}
	return a[0] + num + a[1]
}

// Int formats a whole number such as a quantity.
func (s numberStyle) Int(n int64) string {
	neg, num := s.decimalString(n, 0)
	if neg {
		return s.Minus + num
	}
	return num
}

// Rate formats a tax rate in percent: en "19%", de "19 %", "5,5 %".
func (s numberStyle) Rate(r tax.Rate) string {
	neg, num := s.decimalString(int64(r), 2)
	num = strings.TrimRight(strings.TrimRight(num, "0"), s.Decimal)
	if neg {
		num = s.Minus + num
	}
	return s.Percent[0] + num + s.Percent[1]
}

// dateTime formats t in UTC with the locale's pattern and month names: {day}, {month}, {year}
// and {time} (24-hour "15:04") are replaced, the rest is copied.
func dateTime(t time.Time, pattern string, months [12]string) string {
	t = t.UTC()
	b := make([]byte, 0, len(pattern)+16)
	for rest := pattern; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b = append(b, rest...)
			break
		}
		b, rest = append(b, rest[:i]...), rest[i:]
		switch {
		case strings.HasPrefix(rest, "{day}"):
			b, rest = strconv.AppendInt(b, int64(t.Day()), 10), rest[len("{day}"):]
		case strings.HasPrefix(rest, "{month}"):
			b, rest = append(b, months[t.Month()-1]...), rest[len("{month}"):]
		case strings.HasPrefix(rest, "{year}"):
			b, rest = strconv.AppendInt(b, int64(t.Year()), 10), rest[len("{year}"):]
		case strings.HasPrefix(rest, "{time}"):
			b, rest = t.AppendFormat(b, "15:04"), rest[len("{time}"):]
		default:
			b, rest = append(b, '{'), rest[1:]
		}
	}
	return string(b)
}

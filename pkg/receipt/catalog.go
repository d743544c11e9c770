package receipt

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"paygate.dev/pkg/money"
)

// Languages are the receipt's languages (BCP 47), each with a catalog in locales/.
var Languages = []string{"en", "de", "fr", "es", "it", "nl", "pl", "bg", "hr", "cs", "da", "et", "fi", "el", "hu", "ga",
	"lv", "lt", "mt", "pt", "ro", "sk", "sl", "sv", "no", "tr", "uk", "ja", "pt-BR", "es-419"}

// DefaultLanguage is the receipt's language when nothing known matches.
const DefaultLanguage = "en"

//go:embed locales/*.json
var localeFiles embed.FS

// Locale is one language's messages and formats.
type Locale struct {
	Code     string
	msgs     map[string]string
	decimal  string // the decimal separator
	money    string // "{amount} {currency}" or "{currency} {amount}"
	date     string // a time.Format layout
	numbers  *message.Printer
	language language.Tag
}

type localeFile struct {
	Format struct {
		Decimal string `json:"decimal"`
		Money   string `json:"money"`
		Date    string `json:"date"`
	} `json:"format"`
	Messages map[string]string `json:"messages"`
}

// Catalog holds every language's locale.
type Catalog struct {
	locales map[string]*Locale
	matcher language.Matcher
	tags    []language.Tag
}

// LoadCatalog reads the embedded catalogs. It fails when one is missing or malformed, lacks a
// format, or has other message keys than English's.
func LoadCatalog() (*Catalog, error) {
	c := &Catalog{locales: map[string]*Locale{}}
	for _, code := range Languages {
		raw, err := localeFiles.ReadFile("locales/" + code + ".json")
		if err != nil {
			return nil, fmt.Errorf("receipt catalog %s: %w", code, err)
		}
		var f localeFile
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("receipt catalog %s: %w", code, err)
		}
		if f.Format.Decimal == "" || !strings.Contains(f.Format.Money, "{amount}") || f.Format.Date == "" {
			return nil, fmt.Errorf("receipt catalog %s: incomplete format", code)
		}
		tag := language.MustParse(code)
		c.locales[code] = &Locale{Code: code, msgs: f.Messages, decimal: f.Format.Decimal, money: f.Format.Money,
			date: f.Format.Date, numbers: message.NewPrinter(numberTag(code)), language: tag}
		c.tags = append(c.tags, tag)
	}
	en := c.locales[DefaultLanguage]
	for _, code := range Languages {
		if missing := keyDiff(en.msgs, c.locales[code].msgs); missing != "" {
			return nil, fmt.Errorf("receipt catalog %s: keys differ from English's: %s", code, missing)
		}
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

func keyDiff(a, b map[string]string) string {
	var diff []string
	for k := range a {
		if strings.TrimSpace(b[k]) == "" {
			diff = append(diff, "-"+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, "+"+k)
		}
	}
	sort.Strings(diff)
	return strings.Join(diff, " ")
}

// Locale returns a language's locale (English for one without a catalog).
func (c *Catalog) Locale(code string) *Locale {
	if l, ok := c.locales[code]; ok {
		return l
	}
	return c.locales[DefaultLanguage]
}

// numberTag is the language whose CLDR number formats a locale uses: Norwegian's are
// Bokmål's ("no" alone has none in golang.org/x/text and would fall back to the root's).
func numberTag(code string) language.Tag {
	if code == "no" {
		return language.MustParse("nb")
	}
	return language.MustParse(code)
}

// Pick returns the code of the receipt language for the first of candidates that any catalog
// serves (exactly, or as a close relative: "pt-PT" is pt, "es-MX" es-419, "nb" no), else
// DefaultLanguage. Candidates that are not language tags are skipped.
func (c *Catalog) Pick(candidates ...string) string {
	for _, cand := range candidates {
		cand = strings.TrimSpace(cand)
		if cand == "" {
			continue
		}
		if _, ok := c.locales[cand]; ok {
			return cand
		}
		tag, err := language.Parse(cand)
		if err != nil {
			continue
		}
		if base, _ := tag.Base(); base.String() == "nb" || base.String() == "nn" {
			return "no" // Norwegian's written forms: the matcher would offer Danish
		}
		_, i, conf := c.matcher.Match(tag)
		if conf >= language.High {
			return Languages[i]
		}
	}
	return DefaultLanguage
}

// T returns a message with its {placeholders} filled from pairs (name, value, ...).
func (l *Locale) T(key string, pairs ...string) string {
	s := l.msgs[key]
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+pairs[i]+"}", pairs[i+1])
	}
	return s
}

// Money formats minor units of currency cur for the locale: digits grouped as the language
// groups them (golang.org/x/text/number), the catalog's decimal separator, and the ISO code
// where the language puts a currency. No float is involved.
func (l *Locale) Money(minor int64, cur string) string {
	c, ok := money.Lookup(cur)
	if !ok {
		c = money.Currency{Code: cur, Exponent: 2}
	}
	return strings.NewReplacer("{amount}", l.decimalText(money.FormatDecimal(minor, c)), "{currency}", c.Code).Replace(l.money)
}

// Rate formats a tax rate in hundredths of a percent ("19", "5,5") without the percent sign
// (the message places it as the language does).
func (l *Locale) Rate(hundredths int64) string {
	s := money.FormatDecimal(hundredths, money.Currency{Exponent: 2})
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return l.decimalText(s)
}

// decimalText localises a plain decimal ("-1234.50"): grouping and decimal separator.
func (l *Locale) decimalText(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	var n int64
	for _, d := range intPart {
		n = n*10 + int64(d-'0')
	}
	out := sign + l.numbers.Sprint(number.Decimal(n))
	if frac != "" {
		out += l.decimal + frac
	}
	return out
}

// Date formats an instant (in UTC) with the language's layout.
func (l *Locale) Date(t time.Time) string { return t.UTC().Format(l.date) }

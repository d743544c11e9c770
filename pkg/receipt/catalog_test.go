package receipt

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// The 30 languages of the issue, exactly.
var wantLanguages = []string{"en", "de", "fr", "es", "it", "nl", "pl", "bg", "hr", "cs", "da", "et", "fi", "el", "hu", "ga",
	"lv", "lt", "mt", "pt", "ro", "sk", "sl", "sv", "no", "tr", "uk", "ja", "pt-BR", "es-419"}

func TestLanguagesAreTheThirty(t *testing.T) {
	if strings.Join(Languages, ",") != strings.Join(wantLanguages, ",") {
		t.Fatalf("Languages = %v, want %v", Languages, wantLanguages)
	}
	for _, code := range Languages {
		if _, err := language.Parse(code); err != nil {
			t.Errorf("%s is not a BCP 47 tag: %v", code, err)
		}
	}
}

// Every locale has every key English has (and no other), each non-empty, with the same
// placeholders; and every format is complete. The embedded files are read directly, so a
// missing or extra key fails here even if LoadCatalog were lenient.
func TestEveryLocaleHasEveryKey(t *testing.T) {
	files, err := localeFiles.ReadDir("locales")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(wantLanguages) {
		t.Fatalf("%d catalog files, want %d", len(files), len(wantLanguages))
	}
	read := func(code string) localeFile {
		raw, err := localeFiles.ReadFile("locales/" + code + ".json")
		if err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		var f localeFile
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		return f
	}
	en := read("en")
	for _, code := range wantLanguages {
		f := read(code)
		if got, want := keys(f.Messages), keys(en.Messages); got != want {
			t.Errorf("%s keys:\n got %s\nwant %s", code, got, want)
		}
		for k, v := range en.Messages {
			if strings.TrimSpace(f.Messages[k]) == "" {
				t.Errorf("%s: %s is empty", code, k)
			}
			for _, ph := range []string{"{site}", "{contact}", "{rate}"} {
				if strings.Contains(v, ph) != strings.Contains(f.Messages[k], ph) {
					t.Errorf("%s: %s does not use %s as English does: %q", code, k, ph, f.Messages[k])
				}
			}
		}
		if f.Format.Decimal == "" || !strings.Contains(f.Format.Money, "{amount}") || !strings.Contains(f.Format.Money, "{currency}") || f.Format.Date == "" {
			t.Errorf("%s: incomplete format %+v", code, f.Format)
		}
	}
	if _, err := LoadCatalog(); err != nil {
		t.Fatal(err)
	}
}

func keys(m map[string]string) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, " ")
}

// The catalog's decimal separator is the one CLDR (golang.org/x/text) gives the language.
func TestDecimalSeparatorsAgreeWithCLDR(t *testing.T) {
	c := mustCatalog(t)
	for _, code := range Languages {
		p := message.NewPrinter(numberTag(code))
		probe := p.Sprint(number.Decimal(1.5, number.Scale(1))) // a display probe, no money involved
		sep := strings.TrimSuffix(strings.TrimPrefix(probe, "1"), "5")
		if got := c.Locale(code).decimal; got != sep {
			t.Errorf("%s: decimal separator %q, CLDR says %q", code, got, sep)
		}
	}
}

func TestMoneyRateAndDate(t *testing.T) {
	c := mustCatalog(t)
	at := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	for _, tc := range []struct {
		code, money, jpy, rate, date string
	}{
		{"en", "EUR 1,234,567.50", "JPY 1,500", "5.5", "4 Mar 2026, 05:06 UTC"},
		{"de", "1.234.567,50 EUR", "1.500 JPY", "5,5", "04.03.2026, 05:06 UTC"},
		{"fr", "1\u00a0234\u00a0567,50 EUR", "1\u00a0500 JPY", "5,5", "04/03/2026 05:06 UTC"},
		{"ja", "EUR 1,234,567.50", "JPY 1,500", "5.5", "2026/03/04 05:06 UTC"},
		{"pt-BR", "EUR 1.234.567,50", "JPY 1.500", "5,5", "04/03/2026 05:06 UTC"},
	} {
		l := c.Locale(tc.code)
		if got := l.Money(123456750, "EUR"); got != tc.money {
			t.Errorf("%s money = %q, want %q", tc.code, got, tc.money)
		}
		if got := l.Money(1500, "JPY"); got != tc.jpy {
			t.Errorf("%s JPY = %q, want %q", tc.code, got, tc.jpy)
		}
		if got := l.Rate(550); got != tc.rate {
			t.Errorf("%s rate = %q, want %q", tc.code, got, tc.rate)
		}
		if got := l.Date(at); got != tc.date {
			t.Errorf("%s date = %q, want %q", tc.code, got, tc.date)
		}
	}
	if got := c.Locale("de").Money(-500, "EUR"); got != "-5,00 EUR" {
		t.Errorf("negative = %q", got)
	}
	if got := c.Locale("en").Rate(1900); got != "19" {
		t.Errorf("19%% = %q", got)
	}
}

func TestPick(t *testing.T) {
	c := mustCatalog(t)
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"fr", "de"}, "fr"},
		{[]string{"", "de"}, "de"},
		{[]string{"pt-BR"}, "pt-BR"},
		{[]string{"pt-PT"}, "pt"},
		{[]string{"es-MX"}, "es-419"},
		{[]string{"es-ES"}, "es"},
		{[]string{"nb"}, "no"},
		{[]string{"xx-garbage!", "zz", "it"}, "it"},
		{[]string{"zh"}, "en"},
		{nil, "en"},
	} {
		if got := c.Pick(tc.in...); got != tc.want {
			t.Errorf("Pick(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func mustCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

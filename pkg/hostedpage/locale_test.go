package hostedpage_test

import (
	"html/template"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/template/parse"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/frontend"
	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/tax"
)

func catalog(t testing.TB) *hostedpage.Catalog {
	t.Helper()
	c, err := hostedpage.LoadCatalog(frontend.Hosted())
	require.NoError(t, err)
	return c
}

// templateKeys walks the parsed templates for every literal key given to .L.T and .L.Around.
func templateKeys(t *testing.T) []string {
	t.Helper()
	keys := map[string]bool{}
	var walk func(n parse.Node)
	call := func(args []parse.Node) {
		for _, a := range args { // $L.Msg.key
			if v, ok := a.(*parse.VariableNode); ok && len(v.Ident) >= 3 && v.Ident[len(v.Ident)-2] == "Msg" {
				keys[v.Ident[len(v.Ident)-1]] = true
			}
		}
		if len(args) < 2 {
			return
		}
		var ident []string
		switch f := args[0].(type) {
		case *parse.FieldNode:
			ident = f.Ident
		case *parse.VariableNode:
			ident = f.Ident
		case *parse.ChainNode:
			ident = f.Field
		}
		if len(ident) > 0 && (ident[len(ident)-1] == "T" || ident[len(ident)-1] == "M" || ident[len(ident)-1] == "Around") {
			if s, ok := args[1].(*parse.StringNode); ok {
				keys[s.Text] = true
			}
		}
		for _, a := range args {
			walk(a)
		}
	}
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x != nil {
				for _, c := range x.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(x.Pipe)
		case *parse.PipeNode:
			if x != nil {
				for _, c := range x.Cmds {
					call(c.Args)
				}
			}
		case *parse.IfNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.RangeNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.WithNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.TemplateNode:
			walk(x.Pipe)
		}
	}
	// Each page file defines "content", so each is parsed on its own.
	files, err := fs.Glob(frontend.Hosted(), "templates/*.html")
	require.NoError(t, err)
	for _, f := range files {
		tmpl, err := template.New(f).ParseFS(frontend.Hosted(), f)
		require.NoError(t, err)
		for _, tt := range tmpl.Templates() {
			if tt.Tree != nil {
				walk(tt.Tree.Root)
			}
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scriptKeys finds the literal keys the page's scripts (app.js, and the card and GoCardless
// flows it loads) pass to t('...').
func scriptKeys(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"static/app.js", "static/pay-stripe.js", "static/pay-gocardless.js"} {
		js, err := fs.ReadFile(frontend.Hosted(), f)
		require.NoError(t, err)
		for _, m := range regexp.MustCompile(`\bt\('([a-z_]+)'`).FindAllStringSubmatch(string(js), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// dynamicKeys are built from data in Go or JS ("treatment_" + treatment and so on).
var dynamicKeys = func() []string {
	var out []string
	for _, kind := range []string{"expired", "cancelled", "completed", "notfound", "unavailable"} {
		out = append(out, kind+"_title", kind+"_text")
	}
	for _, f := range []string{"name", "email", "company", "line1", "postalCode", "city", "country", "vatId"} {
		out = append(out, "field_"+f)
	}
	for _, p := range []string{"wire_transfer", "stripe", "gocardless"} {
		out = append(out, "provider_type_"+p)
	}
	for _, tr := range []string{"reverse_charge", "export", "exempt", "oss", "oss_explicit", "outside_scope", "mixed"} {
		out = append(out, "treatment_"+tr)
	}
	for _, st := range []string{"format_valid", "vies_valid", "invalid", "vies_unavailable"} {
		out = append(out, "vat_status_"+st)
	}
	return append(out, "language_name", "months", "datetime_format", "page_title", "each", "return_to_merchant", "try_again",
		"optional", "choose_country", "vat_hint", "return_to_shop", "pay_wire", "pay_gocardless", "pay_amount", "ratelimited_text")
}()

func TestLocales(t *testing.T) {
	t.Parallel()
	c := catalog(t)
	tk, sk := templateKeys(t), scriptKeys(t)
	require.GreaterOrEqual(t, len(tk), 35, "the walk found the templates' keys")
	require.Greater(t, len(sk), 15, "the scan found the script's keys")

	for _, lang := range hostedpage.Languages {
		l := c.Locale(lang)
		require.NotNil(t, l, lang)
		t.Run("HasEveryKeyTheTemplatesUse/"+lang, func(t *testing.T) {
			for _, k := range tk {
				require.True(t, l.Has(k), "%s lacks %q (used by a template)", lang, k)
				require.NotEmpty(t, strings.TrimSpace(l.T(k)), "%s: %q is empty", lang, k)
			}
		})
		t.Run("HasEveryKeyTheCodeBuilds/"+lang, func(t *testing.T) {
			for _, k := range dynamicKeys {
				require.True(t, l.Has(k), "%s lacks %q", lang, k)
			}
		})
		t.Run("SendsTheScriptEveryKeyItUses/"+lang, func(t *testing.T) {
			// Pages with the card and "checking your payment" steps also get CardMessages, and
			// pages with the GoCardless flow GoCardlessMessages.
			sent := l.ClientMessages() + l.CardMessages() + l.GoCardlessMessages()
			for _, k := range sk {
				if strings.HasSuffix(k, "_") { // a prefix: t('treatment_' + treatment)
					for _, dk := range dynamicKeys {
						if strings.HasPrefix(dk, k) {
							require.Contains(t, sent, `"`+dk+`":`, "%s: %q is not sent to the script", lang, dk)
						}
					}
					continue
				}
				require.True(t, l.Has(k), "%s lacks %q (used by a script)", lang, k)
				require.Contains(t, sent, `"`+k+`":`, "%s: %q is not sent to the script", lang, k)
			}
		})
		t.Run("KeepsPlaceholders/"+lang, func(t *testing.T) {
			en := c.Locale("en")
			ph := regexp.MustCompile(`\{[a-z]+\}`)
			for _, k := range en.Keys() {
				want := ph.FindAllString(en.T(k), -1)
				got := ph.FindAllString(l.T(k), -1)
				sort.Strings(want)
				sort.Strings(got)
				require.Equal(t, want, got, "%s %q placeholders", lang, k)
			}
		})
		t.Run("NamesEveryCountry/"+lang, func(t *testing.T) {
			require.Len(t, l.Countries(), len(c.Locale("en").Countries()))
			for _, ct := range l.Countries() {
				require.Regexp(t, `^[A-Z]{2}$`, ct.Code)
				require.NotEmpty(t, ct.Name)
			}
		})
	}

	t.Run("ThirtyLanguages", func(t *testing.T) {
		require.Len(t, hostedpage.Languages, 30)
		for _, tag := range []string{"bg", "hr", "cs", "da", "nl", "en", "et", "fi", "fr", "de", "el", "hu", "ga", "it", "lv", "lt", "mt", "pl", "pt", "ro", "sk", "sl", "es", "sv", "no", "tr", "uk", "ja", "pt-BR", "es-419"} {
			require.Contains(t, hostedpage.Languages, tag)
			require.Equal(t, tag, c.Locale(tag).Code)
		}
	})
	t.Run("EveryLanguageIsTranslated", func(t *testing.T) {
		// Not a copy of English: at most the few words every language shares (IBAN, BIC, ...).
		en := c.Locale("en")
		for _, lang := range hostedpage.Languages[1:] {
			same := 0
			for _, k := range en.Keys() {
				if c.Locale(lang).T(k) == en.T(k) {
					same++
				}
			}
			require.Less(t, same, 10, "%s: %d of %d messages read as in English", lang, same, len(en.Keys()))
		}
	})

	t.Run("RefusesALocaleWithAMissingKey", func(t *testing.T) {
		files := overlay(frontend.Hosted(), map[string]string{"locales/it.json": `{"language_name":"Italiano","months":"a,b,c,d,e,f,g,h,i,j,k,l"}`})
		_, err := hostedpage.LoadCatalog(files)
		require.ErrorContains(t, err, "locale it")
	})
	t.Run("RefusesAMissingLocale", func(t *testing.T) {
		_, err := hostedpage.LoadCatalog(overlay(frontend.Hosted(), map[string]string{"locales/pl.json": ""}))
		require.ErrorContains(t, err, "locale pl")
	})
}

func TestLanguageChoice(t *testing.T) {
	t.Parallel()
	c := catalog(t)
	for _, tc := range []struct {
		name string
		in   hostedpage.LanguageInputs
		want string
	}{
		{"QueryWinsOverEverything", hostedpage.LanguageInputs{Query: "fr", Cookie: "it", Checkout: "de", AcceptLanguage: "nl", SiteDefault: "pl"}, "fr"},
		{"UnsupportedQueryIsIgnored", hostedpage.LanguageInputs{Query: "xx", Checkout: "de"}, "de"},
		{"ChoiceOnThisCheckoutBeatsTheMerchants", hostedpage.LanguageInputs{Cookie: "it", CookieHere: true, Checkout: "de", AcceptLanguage: "nl"}, "it"},
		{"MerchantsLanguageBeatsAStaleChoice", hostedpage.LanguageInputs{Cookie: "it", Checkout: "de", AcceptLanguage: "nl"}, "de"},
		{"StaleChoiceBeatsTheBrowser", hostedpage.LanguageInputs{Cookie: "it", AcceptLanguage: "nl"}, "it"},
		{"CheckoutLanguageWithRegion", hostedpage.LanguageInputs{Checkout: "de-AT", AcceptLanguage: "nl"}, "de"},
		{"CheckoutLanguageBeatsTheBrowser", hostedpage.LanguageInputs{Checkout: "es", AcceptLanguage: "nl, en;q=0.5"}, "es"},
		{"AcceptLanguageByQValue", hostedpage.LanguageInputs{AcceptLanguage: "zh, pl;q=0.5, nl-BE;q=0.9, en;q=0.1", SiteDefault: "it"}, "nl"},
		{"AcceptLanguageTiesKeepOrder", hostedpage.LanguageInputs{AcceptLanguage: "fr;q=0.8, es;q=0.8"}, "fr"},
		{"AcceptLanguageRefusedWithQZero", hostedpage.LanguageInputs{AcceptLanguage: "de;q=0, zh", SiteDefault: "it"}, "it"},
		{"MalformedAcceptLanguageFallsThrough", hostedpage.LanguageInputs{AcceptLanguage: ";;q=,,=", SiteDefault: "pl"}, "pl"},
		{"SiteDefault", hostedpage.LanguageInputs{AcceptLanguage: "zh", SiteDefault: "pl-PL"}, "pl"},
		{"EnglishLast", hostedpage.LanguageInputs{AcceptLanguage: "zh", SiteDefault: "xx"}, "en"},
		{"LatinAmericanSpanishFromACountry", hostedpage.LanguageInputs{AcceptLanguage: "es-MX, es;q=0.9"}, "es-419"},
		{"LatinAmericanSpanishByItsTag", hostedpage.LanguageInputs{Query: "es-419"}, "es-419"},
		{"SpanishOfSpain", hostedpage.LanguageInputs{AcceptLanguage: "es-ES"}, "es"},
		{"BrazilianPortuguese", hostedpage.LanguageInputs{AcceptLanguage: "pt-BR"}, "pt-BR"},
		{"BrazilianPortugueseAnyCase", hostedpage.LanguageInputs{Checkout: "pt_br"}, "pt-BR"},
		{"PortugueseOfPortugal", hostedpage.LanguageInputs{AcceptLanguage: "pt-PT"}, "pt"},
		{"NorwegianBokmal", hostedpage.LanguageInputs{AcceptLanguage: "nb-NO, en;q=0.5"}, "no"},
		{"NorwegianNynorskReadsBokmal", hostedpage.LanguageInputs{AcceptLanguage: "nn"}, "no"},
		{"Japanese", hostedpage.LanguageInputs{AcceptLanguage: "ja-JP"}, "ja"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, c.Negotiate(tc.in).Code)
		})
	}

	t.Run("PageUsesAndRemembersTheChoice", func(t *testing.T) {
		e, _ := fixture(t, checkout("lang00001", func(c *runtimeapi.Checkout) { c.Language = "de" }))
		rec, doc := get(t, e, "/checkout/lang00001", "Accept-Language: fr")
		require.Equal(t, "de", doc.Find("html").AttrOr("lang", ""), "the checkout's language beats the browser's")
		require.Empty(t, rec.Header().Get("Set-Cookie"))

		rec, doc = get(t, e, "/checkout/lang00001?lang=pl", "Accept-Language: fr")
		require.Equal(t, "pl", doc.Find("html").AttrOr("lang", ""))
		ck := rec.Result().Cookies()
		require.Len(t, ck, 1)
		require.Equal(t, "pl:lang00001", ck[0].Value, "the choice is remembered with the checkout it was made on")
		require.True(t, ck[0].HttpOnly)
		require.True(t, ck[0].Secure)
		require.Equal(t, "Polski", text(doc.Find(`.langs select[name=lang] option[selected]`)))
		require.Equal(t, "de", doc.Find(`.langs option[value=de]`).AttrOr("lang", ""), "each language name is marked with its language")
		require.Equal(t, len(hostedpage.Languages), doc.Find(".langs option").Length())
		require.Equal(t, "get", doc.Find("form.langs").AttrOr("method", ""), "the picker works without script")
		require.Empty(t, langKeep(doc), "nothing else to pass on")

		_, doc = get(t, e, "/checkout/lang00001", "Cookie: paygate_lang=pl:lang00001")
		require.Equal(t, "pl", doc.Find("html").AttrOr("lang", ""), "the choice is kept on this checkout")
		_, doc = get(t, e, "/checkout/lang00001", "Cookie: paygate_lang=pl:other0001")
		require.Equal(t, "de", doc.Find("html").AttrOr("lang", ""), "a choice made on another checkout does not beat the merchant's language")
		_, doc = get(t, e, "/checkout/lang00001", "Cookie: paygate_lang=pl")
		require.Equal(t, "de", doc.Find("html").AttrOr("lang", ""), "nor does an old cookie that names no checkout")
	})

	t.Run("NotFoundPageFollowsTheBrowser", func(t *testing.T) {
		e, _ := fixture(t)
		_, doc := get(t, e, "/checkout/missing001", "Accept-Language: it-IT,it;q=0.9")
		require.Equal(t, "it", doc.Find("html").AttrOr("lang", ""))
		require.Equal(t, "Pagina di pagamento non trovata", text(doc.Find("h1")))
	})
}

func TestFormats(t *testing.T) {
	t.Parallel()
	c := catalog(t)
	for _, tc := range []struct {
		name, lang, currency string
		exp                  int
		minor                int64
		want                 string
	}{
		{"EnglishSymbolFirst", "en", "EUR", 2, 123456, "€1,234.56"},
		{"EnglishNegative", "en", "EUR", 2, -500, "-€5.00"},
		{"EnglishLetterCodeGetsNoBreakSpace", "en", "CHF", 2, 1050, "CHF\u00a010.50"},
		{"EnglishYenNoDecimals", "en", "JPY", 0, 1234567, "¥1,234,567"},
		{"EnglishDinarThreeDecimals", "en", "KWD", 3, 1234567, "KWD\u00a01,234.567"},
		{"EnglishSmallAmountPadsZeros", "en", "KWD", 3, 5, "KWD\u00a00.005"},
		{"GermanSymbolAfter", "de", "EUR", 2, 123456, "1.234,56\u00a0€"},
		{"GermanNegative", "de", "EUR", 2, -500, "-5,00\u00a0€"},
		{"GermanDollar", "de", "USD", 2, 100, "1,00\u00a0$"},
		{"FrenchNarrowNoBreakGroups", "fr", "EUR", 2, 123456789, "1\u202f234\u202f567,89\u00a0€"},
		{"FrenchDollarIsUS", "fr", "USD", 2, 100, "1,00\u00a0$US"},
		{"SpanishNoGroupForFourDigits", "es", "EUR", 2, 123456, "1234,56\u00a0€"},
		{"SpanishGroupsFromFiveDigits", "es", "EUR", 2, 1234567, "12.345,67\u00a0€"},
		{"ItalianNoGroupForFourDigits", "it", "EUR", 2, 123456, "1234,56\u00a0€"},
		{"DutchSymbolFirstWithSpace", "nl", "EUR", 2, 123456, "€\u00a01.234,56"},
		{"DutchSignAfterSymbol", "nl", "EUR", 2, -500, "€\u00a0-5,00"},
		{"PolishZloty", "pl", "PLN", 2, 1234567, "12\u00a0345,67\u00a0zł"},
		{"PolishNoGroupForFourDigits", "pl", "PLN", 2, 123456, "1234,56\u00a0zł"},
		{"LargestAmount", "en", "EUR", 2, 1_000_000_000_000, "€10,000,000,000.00"},
		{"MinInt64DoesNotOverflow", "en", "JPY", 0, -9223372036854775808, "-¥9,223,372,036,854,775,808"},
	} {
		t.Run("Money/"+tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, c.Locale(tc.lang).Money(tc.minor, tc.currency, tc.exp))
		})
	}
	for _, tc := range []struct {
		lang string
		rate tax.Rate
		want string
	}{
		{"en", 1900, "19%"}, {"en", 550, "5.5%"}, {"en", 0, "0%"}, {"en", 10000, "100%"},
		{"de", 1900, "19\u00a0%"}, {"de", 550, "5,5\u00a0%"}, {"fr", 2125, "21,25\u00a0%"}, {"it", 2200, "22%"}, {"nl", 900, "9%"},
	} {
		t.Run("Rate/"+tc.lang+"/"+tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, c.Locale(tc.lang).Rate(tc.rate))
		})
	}
	t.Run("Quantities", func(t *testing.T) {
		require.Equal(t, "1,000", c.Locale("en").Int(1000))
		require.Equal(t, "1.000", c.Locale("de").Int(1000))
		require.Equal(t, "1000", c.Locale("es").Int(1000))
		require.Equal(t, "10.000", c.Locale("es").Int(10000))
	})
	t.Run("DateTimeInUTC", func(t *testing.T) {
		ts := time.Date(2026, 1, 5, 23, 30, 0, 0, time.FixedZone("CET", 3600))
		require.Equal(t, "5 January 2026, 22:30 UTC", c.Locale("en").DateTime(ts))
		require.Equal(t, "5 de enero de 2026, 22:30 UTC", c.Locale("es").DateTime(ts))
		require.Equal(t, "5 januari 2026 om 22:30 UTC", c.Locale("nl").DateTime(ts))
	})
}

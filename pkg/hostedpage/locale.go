package hostedpage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"paygate.dev/pkg/tax"
)

// Languages lists the supported languages (BCP 47 tags) in the order the switcher shows them:
// the 24 official languages of the EU, Norwegian Bokmål ("no"), Turkish, Ukrainian, Japanese,
// and Brazilian Portuguese and Latin American Spanish beside their European forms.
var Languages = []string{"en", "de", "fr", "es", "it", "nl", "pl",
	"bg", "hr", "cs", "da", "et", "fi", "el", "hu", "ga", "lv", "lt", "mt", "pt", "ro", "sk", "sl", "sv",
	"no", "tr", "uk", "ja", "pt-BR", "es-419"}

// DefaultLanguage is used when nothing else matches.
const DefaultLanguage = "en"

// clientKeys are the messages app.js needs (sent once per page in data-i18n). Keys ending in
// "_" are prefixes: every message starting with them is sent.
var clientKeys = []string{
	"network_error", "total_updated", "tax_failed", "each", "vat_rate", "incl_vat_rate", "treatment_",
	"vat_status_", "error_generic", "request_id", "err_", "method_unavailable", "processing", "wire_ready",
	"wire_waiting", "copied", "copy_failed", "payment_failed", "paid_redirect", "paid_done", "paid_title",
	"pending_redirect", "expired_title", "completed_title",
}

// cardKeys are the messages of the card flow (pay-stripe.js) and of checking a payment's
// outcome; they are sent (in data-i18n-card) only on pages that have those steps.
var cardKeys = []string{"card_loading", "card_ready", "card_load_failed", "card_retry", "checking_title"}

// gcKeys are the messages of the GoCardless flow (pay-gocardless.js); they are sent (in
// data-i18n-gc) only on pages that offer GoCardless or that the buyer reached back from it.
var gcKeys = []string{"gc_redirecting"}

// Country is one entry of the country select.
type Country struct {
	Code string
	Name string
}

// Locale is one language's messages and number, currency and date formats. Templates call
// its methods: {{.L.T "key" "name" value}}.
type Locale struct {
	Code string
	Name string // the language's own name, for the switcher
	// Msg is every message by key, for templates: {{$L.Msg.order_summary}} is a map lookup,
	// far cheaper than calling a method through reflect (callers must not change it).
	Msg       map[string]string
	msgs      map[string]string
	escaped   map[string]string // every message HTML-escaped once (writeEscaped), for the page's writer
	months    [12]string
	datetime  string
	num       numberStyle
	countries []Country
	options   []string       // <option> elements of the country select, escaped once at start-up
	client    string         // JSON of the client messages
	card      string         // JSON of the card flow's messages
	gc        string         // JSON of the GoCardless flow's messages
	langs     template.HTML  // the language picker's options, this one selected
	scripts   [4]template.JS // the page's messages for its scripts: [card<<1|gc]
}

// T returns the message for key with {name} placeholders replaced by the value that follows
// the name in kv. A missing key renders as the key itself (a test makes sure none is missing).
func (l *Locale) T(key string, kv ...string) string {
	s, ok := l.msgs[key]
	if !ok {
		return key
	}
	for i := 0; i+1 < len(kv); i += 2 {
		s = strings.ReplaceAll(s, "{"+kv[i]+"}", kv[i+1])
	}
	return s
}

// M returns the message for key, without placeholders (the templates' common case: a method
// of one argument is cheaper to call from a template than the variadic T).
func (l *Locale) M(key string) string {
	if s, ok := l.msgs[key]; ok {
		return s
	}
	return key
}

// E returns the message for key HTML-escaped (escaped once at start-up); a missing key renders
// as the key itself, as T does.
func (l *Locale) E(key string) string {
	if s, ok := l.escaped[key]; ok {
		return s
	}
	return escapeHTML(key)
}

// Around splits a message at one placeholder, so that a template can wrap the value in markup
// ("Pay {amount}" → ["Pay ", ""]) whatever the word order of the language.
func (l *Locale) Around(key, name string) [2]string {
	before, after, _ := strings.Cut(l.T(key), "{"+name+"}")
	return [2]string{before, after}
}

// Money formats minor units of a currency with its ISO 4217 exponent for this locale.
func (l *Locale) Money(minor int64, currency string, exponent int) string {
	return l.num.Money(minor, currency, exponent)
}

// Int formats a whole number (quantities).
func (l *Locale) Int(n int64) string { return l.num.Int(n) }

// Rate formats a tax rate in percent.
func (l *Locale) Rate(r tax.Rate) string { return l.num.Rate(r) }

// DateTime formats an instant in UTC ("12. März 2026, 14:30 Uhr UTC").
func (l *Locale) DateTime(t time.Time) string { return dateTime(t, l.datetime, l.months) }

// Countries lists every country with its name in this language, sorted for this language.
func (l *Locale) Countries() []Country { return l.countries }

// CountryOptions renders the country select's options with code selected. The names come from
// the embedded CLDR files and were escaped at start-up; code is only compared, never written.
// (Rendering 250 options through the template engine was most of a page's render time.)
func (l *Locale) CountryOptions(code string) template.HTML {
	var b bytes.Buffer
	l.writeCountryOptions(&b, code)
	return template.HTML(b.String()) //nolint:gosec // built from escaped, embedded data only
}

// writeCountryOptions writes what CountryOptions returns.
func (l *Locale) writeCountryOptions(b *bytes.Buffer, code string) {
	b.Grow(len(l.options) * 40)
	for i, o := range l.options {
		if l.countries[i].Code == code {
			before, after, _ := strings.Cut(o, `">`)
			b.WriteString(before)
			b.WriteString(`" selected>`)
			b.WriteString(after)
			continue
		}
		b.WriteString(o)
	}
}

// ScriptMessages is the JSON object of every message the page's scripts need: the page's own,
// plus the card flow's when card is set and GoCardless's when gc is. Built once per locale at
// start-up, it is written into a non-executed <script type="application/json"> block (cheaper
// than an attribute, where every quote would be escaped).
func (l *Locale) ScriptMessages(card, gc bool) template.JS {
	i := 0
	if card {
		i |= 2
	}
	if gc {
		i |= 1
	}
	return l.scripts[i]
}

// LanguageOptions are the language picker's <option> elements, each language's name in that
// language, this locale's selected; built once at start-up.
func (l *Locale) LanguageOptions() template.HTML { return l.langs }

// ClientMessages is the JSON object of the messages the page's script needs.
func (l *Locale) ClientMessages() string { return l.client }

// CardMessages is the JSON object of the messages of the card flow and of checking a payment.
func (l *Locale) CardMessages() string { return l.card }

// GoCardlessMessages is the JSON object of the messages of the GoCardless flow.
func (l *Locale) GoCardlessMessages() string { return l.gc }

// Has reports whether the locale defines key.
func (l *Locale) Has(key string) bool { _, ok := l.msgs[key]; return ok }

// Keys lists the message keys, sorted.
func (l *Locale) Keys() []string {
	out := make([]string, 0, len(l.msgs))
	for k := range l.msgs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Catalog holds every supported locale, loaded once at start-up.
type Catalog struct {
	locales map[string]*Locale // by tag
	lower   map[string]*Locale // by lower-case tag ("pt-br")
}

// LoadCatalog reads locales/{lang}.json and locales/countries/{lang}.json for every supported
// language. It fails when a file is missing or malformed, when a language lacks a number
// style, or when a language's message keys differ from English's.
func LoadCatalog(files fs.FS) (*Catalog, error) {
	c := &Catalog{locales: map[string]*Locale{}, lower: map[string]*Locale{}}
	for _, code := range Languages {
		l, err := loadLocale(files, code)
		if err != nil {
			return nil, err
		}
		c.locales[code] = l
		c.lower[strings.ToLower(code)] = l
	}
	for _, code := range Languages {
		var b strings.Builder
		for _, other := range Languages {
			o := c.locales[other]
			b.WriteString(`<option value="` + o.Code + `" lang="` + o.Code + `"`)
			if other == code {
				b.WriteString(" selected")
			}
			b.WriteString(">" + template.HTMLEscapeString(o.Name) + "</option>")
		}
		c.locales[code].langs = template.HTML(b.String()) //nolint:gosec // escaped names of our own locale files
	}
	en := c.locales[DefaultLanguage]
	for _, code := range Languages {
		l := c.locales[code]
		for k := range en.msgs {
			if !l.Has(k) {
				return nil, fmt.Errorf("locale %s: message %q is missing", code, k)
			}
		}
		for k := range l.msgs {
			if !en.Has(k) {
				return nil, fmt.Errorf("locale %s: message %q is not in en.json", code, k)
			}
		}
	}
	return c, nil
}

func loadLocale(files fs.FS, code string) (*Locale, error) {
	raw, err := fs.ReadFile(files, "locales/"+code+".json")
	if err != nil {
		return nil, fmt.Errorf("locale %s: %w", code, err)
	}
	l := &Locale{Code: code, msgs: map[string]string{}}
	if err := json.Unmarshal(raw, &l.msgs); err != nil {
		return nil, fmt.Errorf("locale %s: %w", code, err)
	}
	l.Name, l.Msg = l.msgs["language_name"], l.msgs
	l.escaped = make(map[string]string, len(l.msgs))
	for k, v := range l.msgs {
		l.escaped[k] = escapeHTML(v)
	}
	months := strings.Split(l.msgs["months"], ",")
	if len(months) != 12 {
		return nil, fmt.Errorf("locale %s: months must list 12 names, got %d", code, len(months))
	}
	copy(l.months[:], months)
	l.datetime = l.msgs["datetime_format"]
	if raw, err = fs.ReadFile(files, "locales/formats/"+code+".json"); err != nil {
		return nil, fmt.Errorf("locale %s: %w", code, err)
	}
	if err := json.Unmarshal(raw, &l.num); err != nil {
		return nil, fmt.Errorf("locale %s formats: %w", code, err)
	}
	if l.num.Decimal == "" || l.num.Minus == "" || len(l.num.Currencies) == 0 {
		return nil, fmt.Errorf("locale %s: formats/%s.json is not a number style", code, code)
	}
	raw, err = fs.ReadFile(files, "locales/countries/"+code+".json")
	if err != nil {
		return nil, fmt.Errorf("locale %s: %w", code, err)
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("locale %s countries: %w", code, err)
	}
	for _, p := range pairs {
		l.countries = append(l.countries, Country{Code: p[0], Name: p[1]})
		l.options = append(l.options, `<option value="`+template.HTMLEscapeString(p[0])+`">`+template.HTMLEscapeString(p[1])+"</option>\n")
	}
	if l.client, err = messagesJSON(l.msgs, clientKeys); err != nil {
		return nil, err
	}
	if l.card, err = messagesJSON(l.msgs, cardKeys); err != nil {
		return nil, err
	}
	if l.gc, err = messagesJSON(l.msgs, gcKeys); err != nil {
		return nil, err
	}
	for i := range l.scripts {
		keys := clientKeys
		if i&2 != 0 {
			keys = append(keys[:len(keys):len(keys)], cardKeys...)
		}
		if i&1 != 0 {
			keys = append(keys[:len(keys):len(keys)], gcKeys...)
		}
		js, err := messagesJSON(l.msgs, keys)
		if err != nil {
			return nil, err
		}
		l.scripts[i] = template.JS(js) //nolint:gosec // encoding/json output: <, > and & are escaped
	}
	return l, nil
}

// messagesJSON is the JSON object of the messages named by keys; a key ending in "_" names every
// message starting with it.
func messagesJSON(msgs map[string]string, keys []string) (string, error) {
	out := map[string]string{}
	for _, k := range keys {
		for mk, v := range msgs {
			if mk == k || (strings.HasSuffix(k, "_") && strings.HasPrefix(mk, k)) {
				out[mk] = v
			}
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// Locale returns the supported locale for a BCP 47 tag, or nil: the tag itself ("pt-BR", any
// case, "_" for "-"), else by CLDR's language and region data (golang.org/x/text/language):
// "de-AT" gives de, "es-MX" es-419 (Latin America), "pt-PT" pt, "nb-NO" and "nn" no.
func (c *Catalog) Locale(code string) *Locale {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 35 {
		return nil
	}
	key := strings.ToLower(strings.ReplaceAll(code, "_", "-"))
	if l := c.lower[key]; l != nil {
		return l
	}
	tag, err := language.Parse(key)
	if err != nil {
		return c.lower[baseLanguage(key)]
	}
	base, _ := tag.Base()
	region, _ := tag.Region()
	switch b := base.String(); {
	case b == "es" && latinAmerica.Contains(region) && region != latinAmerica:
		return c.lower["es-419"]
	case b == "pt" && region.String() == "BR":
		return c.lower["pt-br"]
	case b == "nb" || b == "nn":
		return c.lower["no"]
	default:
		return c.lower[b]
	}
}

// latinAmerica is CLDR's region 419, which contains Mexico, Argentina, Colombia ...
var latinAmerica = language.MustParseRegion("419")

func baseLanguage(tag string) string {
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return tag
}

// LanguageInputs are the signals for choosing the page's language, strongest first.
type LanguageInputs struct {
	Query          string // ?lang= (the buyer used the switcher)
	Cookie         string // the switcher's choice remembered from an earlier visit
	CookieHere     bool   // the remembered choice was made on this very checkout
	Checkout       string // the checkout's language, set by the merchant
	AcceptLanguage string // the browser's Accept-Language header
	SiteDefault    string // the site's default language
}

// Negotiate picks the page's locale: ?lang=, then the choice remembered from this checkout,
// then the checkout's language (the merchant's: it beats a choice made on another checkout),
// then a choice remembered from elsewhere, then Accept-Language (by q-value), then the site's
// default, then English. Unsupported or malformed values are skipped, never an error.
func (c *Catalog) Negotiate(in LanguageInputs) *Locale {
	here, elsewhere := in.Cookie, ""
	if !in.CookieHere {
		here, elsewhere = "", in.Cookie
	}
	for _, v := range [...]string{in.Query, here, in.Checkout, elsewhere} {
		if l := c.Locale(v); l != nil {
			return l
		}
	}
	for _, tag := range acceptLanguages(in.AcceptLanguage) {
		if l := c.Locale(tag); l != nil {
			return l
		}
	}
	if l := c.Locale(in.SiteDefault); l != nil {
		return l
	}
	return c.locales[DefaultLanguage]
}

// acceptLanguages parses an Accept-Language header into its tags, highest q first (ties keep
// their order); tags with q=0 are refused by the browser and left out.
func acceptLanguages(h string) []string {
	type tq struct {
		tag string
		q   float64
	}
	var list []tq
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.TrimSpace(tag)
		if tag == "" || tag == "*" || len(tag) > 35 {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0
				}
				q = f
			}
		}
		if q > 0 {
			list = append(list, tq{tag, q})
		}
		if len(list) >= 20 { // a header is not a place for hundreds of tags
			break
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].q > list[j].q })
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = v.tag
	}
	return out
}

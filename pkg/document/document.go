// Package document renders accounting documents (invoices, pro forma invoices, credit notes)
// as PDF, in pure Go (codeberg.org/go-pdf/fpdf, with the Go fonts of golang.org/x/image
// embedded as UTF-8 TrueType). It knows nothing of storage or of invoices' rules: callers hand
// it a View, a plain value of what the document says, and get the PDF's bytes.
//
// Texts are in the document's language: en, de, fr, nl, es and it have catalogs (messages.go);
// any other language is written in English (Pick says which). Amounts are formatted by the
// receipts' locale catalogue (CLDR digit grouping from golang.org/x/text, the language's
// decimal separator, the ISO currency code where the language puts it), never through a float.
package document

import (
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/receipt"
)

// Kind is what a document is.
type Kind string

// Kinds of documents.
const (
	Invoice    Kind = "invoice"
	ProForma   Kind = "pro_forma" // a draft invoice shown before issue: not a tax invoice
	CreditNote Kind = "credit_note"
)

// Line is one line of a document. Amounts are minor units of the document's currency; Rate is
// in hundredths of a percent.
type Line struct {
	Description string
	Quantity    int64
	UnitPrice   int64
	Rate        int64
	Net         int64
	Tax         int64
	Gross       int64
}

// TaxLine is the tax of the lines that share a rate.
type TaxLine struct {
	Rate        int64
	TaxableBase int64
	TaxAmount   int64
}

// Payment is the document's payment state when it was rendered.
type Payment struct {
	State       domain.PaymentState
	Paid        int64
	Outstanding int64
}

// Branding is how the site (or, without one, the organisation) brands its documents.
type Branding struct {
	Name  string // printed in the header band
	Color string // #rrggbb; the default dark grey when empty or malformed
}

// View is everything a document says.
type View struct {
	Kind     Kind
	Number   string // empty on a pro forma
	Language string // BCP 47; see Pick
	Currency string
	Test     bool // a test-mode document: bannered as having no legal value
	IssuedAt time.Time
	DueAt    *time.Time
	Seller   domain.Party
	Client   domain.Party
	Lines    []Line
	Taxes    []TaxLine
	// TaxIncluded says the unit prices include tax (the line amounts shown are gross).
	TaxIncluded bool
	Net         int64
	Tax         int64
	Gross       int64
	Payment     *Payment // nil: no payment state printed (pro forma, credit note)
	// Treatment is the tax engine's treatment (tax.Treatment): reverse_charge, export, oss,
	// exempt and outside_scope print their legal note.
	Treatment string
	// CreditedInvoice is the number of the invoice a credit note offsets; Reason why.
	CreditedInvoice string
	Reason          string
	Notes           string
	Branding        Branding
}

// Pick returns the catalog language a document in lang is written in: lang itself, its base
// language ("de-AT" → "de"), else "en".
func Pick(lang string) string {
	lang = strings.TrimSpace(lang)
	if _, ok := messages[lang]; ok {
		return lang
	}
	if tag, err := language.Parse(lang); err == nil {
		base, _ := tag.Base()
		if _, ok := messages[base.String()]; ok {
			return base.String()
		}
	}
	return "en"
}

// Locale is one catalog language's texts and formats.
type Locale struct {
	Code  string
	msgs  map[string]string
	money *receipt.Locale
	names display.Namer
}

var catalog = func() *receipt.Catalog {
	c, err := receipt.LoadCatalog()
	if err != nil {
		panic("document: the receipts' locale catalogue: " + err.Error()) // embedded files: a build defect
	}
	return c
}()

// LocaleFor returns the locale a document in lang is written in (see Pick).
func LocaleFor(lang string) *Locale {
	code := Pick(lang)
	return &Locale{Code: code, msgs: messages[code], money: catalog.Locale(code), names: display.Regions(language.MustParse(code))}
}

// T returns a message with its {placeholders} filled from pairs (name, value, ...).
func (l *Locale) T(key string, pairs ...string) string {
	s := l.msgs[key]
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+pairs[i]+"}", pairs[i+1])
	}
	return s
}

// Money formats minor units of currency cur.
func (l *Locale) Money(minor int64, cur string) string { return l.money.Money(minor, cur) }

// Rate formats a rate in hundredths of a percent, with its percent sign.
func (l *Locale) Rate(hundredths int64) string {
	if l.Code == "fr" || l.Code == "de" {
		return l.money.Rate(hundredths) + "\u00a0%"
	}
	return l.money.Rate(hundredths) + "%"
}

// Date formats a day (UTC).
func (l *Locale) Date(t time.Time) string { return t.UTC().Format(dateLayouts[l.Code]) }

// Country names an ISO 3166 country in the locale's language (the code itself when unknown).
func (l *Locale) Country(code string) string {
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	if n := l.names.Name(r); n != "" {
		return n
	}
	return code
}

// Title is the document's title in l.
func (l *Locale) Title(k Kind) string { return l.T("title_" + string(k)) }

// FileName is the PDF's file name: the kind in l and the number ("invoice-INV-2026-00001.pdf"),
// or, for a pro forma, the draft's id.
func (l *Locale) FileName(k Kind, numberOrID string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, numberOrID)
	return l.T("file_"+string(k)) + "-" + safe + ".pdf"
}

package document_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"paygate.dev/pkg/document"
	"paygate.dev/pkg/domain"
)

// sample is a German invoice to a Belgian business under the reverse charge, with two rates.
func sample(kind document.Kind, lang string) document.View {
	due := time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)
	return document.View{Kind: kind, Number: "INV-2026-00042", Language: lang, Currency: "EUR",
		IssuedAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), DueAt: &due,
		Seller: domain.Party{Company: "Muster Handels GmbH", Line1: "Hauptstraße 5", PostalCode: "10115", City: "Berlin", Country: "DE", VATID: "DE123456789", Email: "billing@muster.example"},
		Client: domain.Party{Company: "Brasserie Übel BV", Name: "Jan Peeters", Line1: "Grote Markt 1", PostalCode: "1000", City: "Brussel", Country: "BE", VATID: "BE0123456789"},
		Lines: []document.Line{
			{Description: "Consulting, December (a long description that wraps over more than one line of the table, to check the layout)", Quantity: 3, UnitPrice: 12_000, Rate: 0, Net: 36_000, Gross: 36_000},
			{Description: "Handbuch „Größen“", Quantity: 1, UnitPrice: 1_234_567, Rate: 0, Net: 1_234_567, Gross: 1_234_567},
		},
		Taxes: []document.TaxLine{{Rate: 0, TaxableBase: 1_270_567, TaxAmount: 0}},
		Net:   1_270_567, Tax: 0, Gross: 1_270_567,
		Payment:   &document.Payment{State: domain.PaymentPartiallyPaid, Paid: 100_000, Outstanding: 1_170_567},
		Treatment: "reverse_charge", Notes: "Thank you for your business.",
		Branding: document.Branding{Name: "Muster Shop", Color: "#0a7d5a"}}
}

// PDFText renders the PDF's text with pdftotext (-layout keeps a table's row on one line).
func PDFText(t *testing.T, pdf []byte) string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", in, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

func TestInvoicePDFCarriesItsFacts(t *testing.T) {
	pdf, err := document.Render(sample(document.Invoice, "en"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Fatalf("not a PDF: %q", pdf[:20])
	}
	text := PDFText(t, pdf)
	for _, want := range []string{"INVOICE", "INV-2026-00042", "7 Dec 2026", "21 Dec 2026", "Muster Handels GmbH", "DE123456789",
		"Brasserie Übel BV", "Jan Peeters", "Belgium", "Handbuch „Größen“", "EUR 12,345.67", "EUR 12,705.67", "Total excl. VAT",
		"VAT 0%", "Reverse charge", "Article 196", "Partially paid", "EUR 11,705.67", "Muster Shop", "Page 1 of 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
	again, err := document.Render(sample(document.Invoice, "en"))
	if err != nil || string(again) != string(pdf) {
		t.Errorf("the same view rendered other bytes (err %v)", err)
	}
}

func TestDocumentsSpeakTheirLanguage(t *testing.T) {
	v := sample(document.Invoice, "de-AT")
	pdf, err := document.Render(v)
	if err != nil {
		t.Fatal(err)
	}
	text := PDFText(t, pdf)
	for _, want := range []string{"RECHNUNG", "07.12.2026", "Belgien", "12.705,67", "Steuerschuldnerschaft des Leistungsempfängers", "Teilweise bezahlt", "Seite 1 von 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the German PDF lacks %q:\n%s", want, text)
		}
	}
	if got := document.Pick("pt-BR"); got != "en" {
		t.Errorf("Pick(pt-BR) = %q, want the English fallback", got)
	}
}

func TestEveryLanguageHasEveryMessage(t *testing.T) {
	en := document.Messages("en")
	for _, lang := range document.Languages() {
		m := document.Messages(lang)
		for k := range en {
			if strings.TrimSpace(m[k]) == "" {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
		for k := range m {
			if _, ok := en[k]; !ok {
				t.Errorf("%s has %q, which English has not", lang, k)
			}
		}
	}
}

func TestProFormaAndCreditNote(t *testing.T) {
	pf := sample(document.ProForma, "fr")
	pf.Number, pf.Payment = "", nil
	pdf, err := document.Render(pf)
	if err != nil {
		t.Fatal(err)
	}
	text := PDFText(t, pdf)
	for _, want := range []string{"FACTURE PRO FORMA", "PRO FORMA : ce document", "Autoliquidation", "12 705,67"} {
		if !strings.Contains(text, want) {
			t.Errorf("the pro forma lacks %q:\n%s", want, text)
		}
	}
	cn := sample(document.CreditNote, "nl")
	cn.Number, cn.CreditedInvoice, cn.Reason, cn.Payment = "CN-2026-00003", "INV-2026-00042", "Refund", nil
	pdf, err = document.Render(cn)
	if err != nil {
		t.Fatal(err)
	}
	text = PDFText(t, pdf)
	for _, want := range []string{"CREDITNOTA", "CN-2026-00003", "Crediteert factuur", "INV-2026-00042", "Totaal gecrediteerd", "Btw verlegd", "Reden: Refund"} {
		if !strings.Contains(text, want) {
			t.Errorf("the credit note lacks %q:\n%s", want, text)
		}
	}
}

func TestManyLinesBreakPages(t *testing.T) {
	v := sample(document.Invoice, "en")
	for i := 0; i < 80; i++ {
		v.Lines = append(v.Lines, document.Line{Description: "Line", Quantity: 1, UnitPrice: 100, Net: 100, Gross: 100})
	}
	pdf, err := document.Render(v)
	if err != nil {
		t.Fatal(err)
	}
	text := PDFText(t, pdf)
	if !strings.Contains(text, "Page 3 of 3") && !strings.Contains(text, "Page 2 of 2") {
		t.Errorf("80 lines fit one page?\n%s", text)
	}
}

func TestPDFRendersToPNG(t *testing.T) {
	pdf, err := document.Render(sample(document.Invoice, "it"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(pngs) != 1 {
		t.Fatalf("pdftoppm wrote %v", pngs)
	}
	st, err := os.Stat(pngs[0])
	if err != nil || st.Size() < 10_000 {
		t.Fatalf("page 1's PNG is %v bytes (err %v): a blank page?", st.Size(), err)
	}
}

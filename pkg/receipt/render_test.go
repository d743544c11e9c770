package receipt

import (
	"strings"
	"testing"
	"time"

	"paygate.dev/pkg/domain"
)

func facts(mode domain.Mode) Facts {
	at := time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)
	return Facts{
		Organization: &domain.Organization{Name: "Shop GmbH", SupportEmail: "help@shop.example"},
		Site:         &domain.Site{Name: `Shop <b>&</b> Co`, PrimaryColor: "#1a73e8", LogoURL: "https://shop.example/logo.png"},
		Checkout: &domain.Checkout{Currency: "EUR", ExternalReference: "order-42", Items: []domain.Item{
			{Name: "Teekanne", Quantity: 2, UnitPrice: 1999}, {Name: "E-Book", Quantity: 1, UnitPrice: 500}}},
		Transaction: &domain.Transaction{ID: "txn_abc", Mode: mode, Currency: "EUR", ProviderType: domain.ProviderGoCardless,
			NetAmount: 3830, TaxAmount: 668, GrossAmount: 4498, SucceededAt: &at,
			TaxEvidence: map[string]any{"rates": []any{
				map[string]any{"rate": 19, "rateCode": "DE-standard", "taxableBase": 3360, "taxAmount": 638},
				map[string]any{"rate": "7", "rateCode": "DE-reduced", "taxableBase": 470, "taxAmount": 30}}}},
	}
}

func TestRenderGerman(t *testing.T) {
	c := mustCatalog(t)
	m, err := c.Render(facts(domain.ModeLive), "de", "buyer@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "buyer@example.com" || m.Subject != "Ihre Quittung von Shop <b>&</b> Co" {
		t.Fatalf("to %q subject %q", m.To, m.Subject)
	}
	for _, want := range []string{"Teekanne", "2 × 19,99 EUR = 39,98 EUR", "E-Book", "1 × 5,00 EUR = 5,00 EUR",
		"Nettosumme: 38,30 EUR", "MwSt. 19 % (33,60 EUR): 6,38 EUR", "MwSt. 7 % (4,70 EUR): 0,30 EUR",
		"Steuer gesamt: 6,68 EUR", "Bezahlter Gesamtbetrag: 44,98 EUR", "Transaktions-ID: txn_abc",
		"Datum: 07.12.2026, 10:30 UTC", "Zahlungsart: Lastschrift", "Bestellreferenz: order-42",
		"Wenden Sie sich an Shop <b>&</b> Co: help@shop.example"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "TEST") || strings.Contains(m.HTML, "data-test-banner") {
		t.Error("a live receipt is marked as test")
	}
	for _, want := range []string{`lang="de"`, "Shop &lt;b&gt;&amp;&lt;/b&gt; Co", "background:#1a73e8", `src="https://shop.example/logo.png"`,
		"MwSt. 19 % (33,60 EUR)", "44,98 EUR", "txn_abc"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("html lacks %q", want)
		}
	}
	if strings.Contains(m.HTML, "<b>&</b>") {
		t.Error("merchant text is not escaped in the HTML")
	}
}

func TestRenderTestModeAndFallbacks(t *testing.T) {
	c := mustCatalog(t)
	f := facts(domain.ModeTest)
	f.Organization.SupportEmail = ""
	f.Site.PrimaryColor, f.Site.LogoURL = "", ""
	f.Checkout.Items, f.Checkout.Amount = nil, 4498
	m, err := c.Render(f, "ja", "b@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Subject, "[TEST] ") || !strings.Contains(m.Text, "*** テストモード") || !strings.Contains(m.HTML, "data-test-banner") {
		t.Errorf("test mode not marked: %q\n%s", m.Subject, m.Text)
	}
	if !strings.Contains(m.Text, "order-42\n  1 × EUR 44.98 = EUR 44.98") || strings.Contains(m.HTML, "<img") ||
		!strings.Contains(m.HTML, defaultColor) || strings.Contains(m.Text, "{contact}") {
		t.Errorf("fallbacks:\n%s", m.Text)
	}
}

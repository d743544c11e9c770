package receipt

import (
	"bytes"
	"embed"
	"encoding/json"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/tax"
)

//go:embed templates/receipt.html templates/receipt.txt
var templateFiles embed.FS

var (
	htmlTmpl = htmltemplate.Must(htmltemplate.ParseFS(templateFiles, "templates/receipt.html"))
	textTmpl = texttemplate.Must(texttemplate.ParseFS(templateFiles, "templates/receipt.txt"))
)

// defaultColor brands a receipt whose site has no colour.
const defaultColor = "#1f2937"

// Facts are what a receipt says: the payment with its checkout, site and organisation.
type Facts struct {
	Organization *domain.Organization
	Site         *domain.Site
	Checkout     *domain.Checkout
	Transaction  *domain.Transaction
}

// labels are the table's and the details' headings in the receipt's language.
type labels struct {
	Item, Quantity, UnitPrice, Amount, NetTotal, TaxTotal, Total, TransactionID, Date, PaymentMethod, Reference string
}

type line struct{ Name, Quantity, UnitPrice, Total string }

type taxRow struct{ Label, Base, Amount string }

type view struct {
	Lang, Subject, TestBanner, SiteName, Color, LogoURL, Heading, Intro string
	Test                                                                bool
	L                                                                   labels
	Lines                                                               []line
	Taxes                                                               []taxRow
	Net, Tax, Gross                                                     string
	TransactionID, Date, Method, Reference, Contact, Footer             string
}

// Render builds the receipt e-mail for to in language lang.
func (c *Catalog) Render(f Facts, lang, to string) (Message, error) {
	v := c.view(f, lang)
	var h, t bytes.Buffer
	if err := htmlTmpl.Execute(&h, v); err != nil {
		return Message{}, err
	}
	if err := textTmpl.Execute(&t, v); err != nil {
		return Message{}, err
	}
	return Message{To: to, Subject: v.Subject, Text: t.String(), HTML: h.String()}, nil
}

func (c *Catalog) view(f Facts, lang string) view {
	l := c.Locale(lang)
	txn, chk, site := f.Transaction, f.Checkout, f.Site
	v := view{Lang: l.Code, SiteName: site.Name, Color: site.PrimaryColor, LogoURL: site.LogoURL, Test: txn.Mode == domain.ModeTest,
		Heading: l.T("heading"), Intro: l.T("intro", "site", site.Name), TestBanner: l.T("test_banner"),
		Subject: l.T("subject", "site", site.Name), Footer: l.T("footer", "site", site.Name),
		Net: l.Money(txn.NetAmount, txn.Currency), Tax: l.Money(txn.TaxAmount, txn.Currency), Gross: l.Money(txn.GrossAmount, txn.Currency),
		TransactionID: txn.ID, Method: l.T(methodKey(txn.ProviderType)), Reference: chk.Reference(),
		L: labels{Item: l.T("item"), Quantity: l.T("quantity"), UnitPrice: l.T("unit_price"), Amount: l.T("line_total"),
			NetTotal: l.T("net_total"), TaxTotal: l.T("tax_total"), Total: l.T("total"), TransactionID: l.T("transaction_id"),
			Date: l.T("date"), PaymentMethod: l.T("payment_method"), Reference: l.T("reference")}}
	if v.Color == "" {
		v.Color = defaultColor
	}
	if v.Test {
		v.Subject = "[TEST] " + v.Subject
	}
	at := txn.UpdatedAt
	if txn.SucceededAt != nil {
		at = *txn.SucceededAt
	}
	v.Date = l.Date(at)
	if f.Organization != nil && strings.TrimSpace(f.Organization.SupportEmail) != "" {
		v.Contact = l.T("contact", "site", site.Name, "contact", f.Organization.SupportEmail)
	}
	for _, it := range chk.Items {
		v.Lines = append(v.Lines, line{Name: it.Name, Quantity: strconv.FormatInt(it.Quantity, 10),
			UnitPrice: l.Money(it.UnitPrice, chk.Currency), Total: l.Money(it.Total(), chk.Currency)})
	}
	if len(v.Lines) == 0 { // a checkout of one amount
		name := chk.Reference()
		if name == "" {
			name = site.Name
		}
		v.Lines = []line{{Name: name, Quantity: "1", UnitPrice: l.Money(chk.Amount, chk.Currency), Total: l.Money(chk.Amount, chk.Currency)}}
	}
	for _, b := range breakdown(txn) {
		v.Taxes = append(v.Taxes, taxRow{Label: l.T("tax_rate", "rate", l.Rate(int64(b.Rate))),
			Base: l.Money(b.TaxableBase, txn.Currency), Amount: l.Money(b.TaxAmount, txn.Currency)})
	}
	return v
}

// breakdown is the tax per rate the transaction was charged (its tax evidence).
func breakdown(t *domain.Transaction) []tax.BreakdownEntry {
	if len(t.TaxEvidence) == 0 {
		return nil
	}
	raw, err := json.Marshal(t.TaxEvidence)
	if err != nil {
		return nil
	}
	var ev tax.Evidence
	if json.Unmarshal(raw, &ev) != nil {
		return nil
	}
	return ev.Rates
}

func methodKey(p domain.ProviderType) string {
	switch p {
	case domain.ProviderGoCardless:
		return "method_direct_debit"
	case domain.ProviderWireTransfer:
		return "method_bank_transfer"
	}
	return "method_online"
}

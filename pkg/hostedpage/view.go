package hostedpage

import (
	"html/template"
	"net/url"
	"slices"
	"strings"
	"time"

	"paygate.dev/pkg/money"
	"paygate.dev/pkg/runtimeapi"
)

// page is what the layout needs; each page embeds it.
type page struct {
	Lang     string
	L        *Locale
	Title    string
	Assets   AssetURLs
	ThemeURL string
	Site     siteView
	Keep     []queryParam // the address's parameters the language picker passes on
	TestMode bool
	Script   bool
	CardNote bool // a card provider is offered: the footer says card details never pass through the page
	slots    bool // rendering the layout for the cache: KeepHTML renders its slot (render.go)
}

type siteView struct {
	Name         string
	LogoURL      string // https only
	SupportEmail string
}

// queryParam is one parameter of the page's address.
type queryParam struct{ Name, Value string }

// statePage is the expired, cancelled, paid, not-found and unavailable pages.
type statePage struct {
	page
	Kind      string
	Heading   string
	Message   string
	LinkURL   string
	LinkText  string
	RequestID string
}

// checkoutPage is the payment page of an open checkout.
type checkoutPage struct {
	page
	BackendURL      string
	Code            string
	SessionPublicID string
	Currency        string
	Exponent        int
	Display         string // inclusive | exclusive
	Inclusive       bool
	Reference       string
	Items           []itemView
	Totals          totalsView
	Expires         string
	ExpiresISO      string
	Providers       []providerView
	PayLabels       []payLabel // what the pay button says, per payment method (CSS shows the checked one's)
	Fields          []fieldView
	Country         string // the selected country code
	// NoneForCountry: the checkout offers providers, but none to the selected country.
	NoneForCountry bool
	// CountryRules: some provider is offered to some countries only (the page then carries the
	// notice the country's change may show).
	CountryRules bool
	// BackURL is the way back to the shop when nothing can be paid here ("": none known).
	BackURL    string
	CancelURL  string
	Txn        *txnView
	Wire       *wireView
	Card       *cardView   // set when a Stripe provider is offered
	GoCardless *gcView     // set when a GoCardless provider is offered or the buyer is back from GoCardless
	Return     *returnView // set when the page checks an attempt's outcome on load
}

// Marked reports whether the buyer said the pending transfer is sent.
func (p *checkoutPage) Marked() bool { return p.Txn != nil && p.Txn.Marked }

// Switchable reports whether the buyer can go back from a transfer to another method.
func (p *checkoutPage) Switchable() bool { return len(p.Providers) > 1 }

// ScriptMessages are the messages the page's scripts need (Locale.ScriptMessages).
func (p *checkoutPage) ScriptMessages() template.JS {
	return p.L.ScriptMessages(p.CardUI(), p.GoCardless != nil)
}

// CardUI reports whether the page has the card and "checking your payment" steps.
func (p *checkoutPage) CardUI() bool { return p.Card != nil || p.Return != nil }

// Checking reports whether the page opens on "checking your payment": back from a provider, or
// reloaded while a provider is still processing the payment. A buyer who left GoCardless's
// pages without paying sees the form at once.
func (p *checkoutPage) Checking() bool { return p.Return != nil && p.Return.GoCardless != gcExit }

// FormHidden reports whether the payment form starts hidden: a transfer is pending, or the
// page checks an attempt's outcome first.
func (p *checkoutPage) FormHidden() bool { return p.Txn != nil || p.Checking() }

// cardView is what the card flow needs: where Stripe.js and our flow script are, and the colour
// the Payment Element uses for focus and selection (the brand colour, darkened where needed to
// reach 4.5:1 on white, like the page's links).
type cardView struct {
	StripeJS, Flow, Color string
}

// gcView is what the GoCardless flow needs: where its script is.
type gcView struct {
	Flow string
}

// What the page does with a GoCardless attempt on load (returnView.GoCardless).
const (
	gcReturn  = "return"  // back from GoCardless's pages after authorising (?gocardless=return)
	gcExit    = "exit"    // left GoCardless's pages without paying (?gocardless=exit)
	gcPending = "pending" // a reload while GoCardless processes the payment
)

// returnView is an attempt whose outcome the page checks on load.
type returnView struct {
	TxnID      string
	Status     string // "failed" when the provider's redirect said so, else ""
	Verified   bool   // the checkout's own latest attempt (not only an id from the address)
	GoCardless string // gcReturn, gcExit or gcPending for a GoCardless attempt, else ""
}

type itemView struct {
	Index       int
	Name        string
	Description string
	Quantity    string
	Qty         int64
	Unit        string
	Amount      string
}

type taxLineView struct{ Label, Amount string }

type totalsView struct {
	Net, Tax, Gross string
	Lines           []taxLineView
	Hint            string
	VATStatus       string
}

type providerView struct {
	Index     int
	ID        string
	Type      string
	Name      string
	TypeLabel string
	Checked   bool
	// Countries are the only buyer countries it is offered to, space separated ("": any);
	// Hidden, that the selected country is not one of them.
	Countries string
	Hidden    bool
}

// payLabel is the pay button's text for one kind of payment method: For is a provider type, or
// "pay" for the rest. The button names what happens: "Show bank details" for a transfer.
type payLabel struct {
	For    string
	Around [2]string // the text before and after the amount
	Amount bool      // the label shows the amount
}

type fieldView struct {
	Name         string
	Label        string
	Type         string
	Autocomplete string
	Inputmode    string
	Value        string
	Required     bool
	Hint         string
	DescribedBy  string
}

type txnView struct {
	ID     string
	Status string
	Marked bool
}

type wireView struct {
	Amount, Reference, AccountHolder, IBAN, BIC, BankName, Instructions string
}

// safeHTTPSURL returns u when it is an absolute https URL, else "". The backend validates
// logos already; this keeps a bad row from ever reaching an attribute.
func safeHTTPSURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Scheme != "https" || p.Host == "" {
		return ""
	}
	return p.String()
}

// safeHTTPURL accepts http and https (merchant return and cancel URLs, validated by the backend
// against the site's allowed hosts; http is allowed there for local development).
func safeHTTPURL(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return p.String()
}

func groupIBAN(iban string) string {
	s := strings.ReplaceAll(iban, " ", "")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// totals renders a tax preview for the page's display mode.
func totals(l *Locale, p runtimeapi.TaxPreview, currency string, exp int, inclusive bool, vatEntered bool) totalsView {
	t := totalsView{
		Net:   l.Money(p.TotalNet, currency, exp),
		Tax:   l.Money(p.TotalTax, currency, exp),
		Gross: l.Money(p.TotalGross, currency, exp),
	}
	label := "vat_rate"
	if inclusive {
		label = "incl_vat_rate"
	}
	for _, b := range p.TaxBreakdown {
		if b.TaxRate == 0 && b.TaxAmount == 0 {
			continue // no VAT charged (export, reverse charge): the hint says why
		}
		t.Lines = append(t.Lines, taxLineView{Label: l.T(label, "rate", l.Rate(b.TaxRate)), Amount: l.Money(b.TaxAmount, currency, exp)})
	}
	if k := treatmentKey(p); p.Treatment != "" && l.Has(k) {
		t.Hint = l.T(k)
	}
	if k := "vat_status_" + p.VATIDStatus; vatEntered && p.VATIDStatus != "" && l.Has(k) {
		t.VATStatus = l.T(k)
	}
	return t
}

// treatmentKey is the message that explains the treatment. Under OSS the buyer's country's rate
// applies unless the merchant set a line's rate: then "the rate of your country" would be
// untrue, and the note says the seller's rate applies (app.js applies the same rule).
func treatmentKey(p runtimeapi.TaxPreview) string {
	if p.Treatment == "oss" {
		for _, b := range p.TaxBreakdown {
			if b.TaxAmount != 0 && !strings.HasSuffix(b.TaxRateCode, "-standard") {
				return "treatment_oss_explicit"
			}
		}
	}
	return "treatment_" + p.Treatment
}

// buildCheckoutPage turns the runtime API's checkout into the payment page.
func (s *Server) buildCheckoutPage(base page, c *runtimeapi.Checkout) *checkoutPage {
	l := base.L
	exp := c.CurrencyExponent
	inclusive := c.Site.TaxDisplay == "inclusive"
	display := "exclusive"
	if inclusive {
		display = "inclusive"
	}
	p := &checkoutPage{
		page:            base,
		BackendURL:      s.backendURL,
		Code:            c.ShortCode,
		SessionPublicID: c.SessionPublicID,
		Currency:        c.Currency,
		Exponent:        exp,
		Display:         display,
		Inclusive:       inclusive,
		Reference:       c.InvoiceNumber,
		CancelURL:       safeHTTPURL(c.CancelURL),
	}
	if p.Reference == "" {
		p.Reference = c.ExternalReference
	}
	p.Script = true
	p.Items = itemViews(l, c, inclusive)
	billing := c.BillingAddress
	if billing == nil {
		billing = &runtimeapi.Address{}
	}
	p.Totals = totals(l, c.Tax, c.Currency, exp, inclusive, billing.VATID != "")
	if !c.ExpiresAt.IsZero() {
		p.Expires = l.DateTime(c.ExpiresAt)
		p.ExpiresISO = c.ExpiresAt.UTC().Format(time.RFC3339)
	}
	p.PayLabels = payLabels(l, c)
	p.CardNote = offers(c, "stripe")
	p.Fields, p.Country = billingFields(l, c, billing)
	p.Providers = providerViews(l, c, p.Country)
	p.NoneForCountry = len(p.Providers) > 0
	for _, pr := range p.Providers {
		p.NoneForCountry = p.NoneForCountry && pr.Hidden
		p.CountryRules = p.CountryRules || pr.Countries != ""
	}
	if s.offersStripe(c) {
		p.Card = &cardView{StripeJS: s.opts.StripeJSURL, Flow: base.Assets.StripeFlow, Color: ThemeFor(c.Site.PrimaryColor).Link}
	}
	if offers(c, "gocardless") {
		p.GoCardless = &gcView{Flow: base.Assets.GoCardlessFlow}
	}
	p.Txn, p.Wire = pendingWire(l, c)
	return p
}

// itemViews are the checkout's lines, each priced in the shown basis (gross when prices
// include tax).
func itemViews(l *Locale, c *runtimeapi.Checkout, inclusive bool) []itemView {
	var items []itemView
	exp := c.CurrencyExponent
	for i, it := range c.Items {
		name := it.Name
		desc := it.Description
		if name == "" { // some plugins send only a description
			name, desc = desc, ""
		}
		amount := it.Total
		if i < len(c.Tax.Lines) {
			if inclusive {
				amount = c.Tax.Lines[i].Gross
			} else {
				amount = c.Tax.Lines[i].Net
			}
		}
		iv := itemView{Index: i, Name: name, Description: desc, Quantity: l.Int(it.Quantity), Qty: it.Quantity, Amount: l.Money(amount, c.Currency, exp)}
		// Every line of more than one shows its unit price: the exact share of the line in the
		// shown basis, else the merchant's unit price (the script applies the same rule).
		if it.Quantity > 1 {
			unit := it.UnitPrice
			if amount%it.Quantity == 0 || unit <= 0 {
				unit = amount / it.Quantity
			}
			iv.Unit = l.T("each", "amount", l.Money(unit, c.Currency, exp))
		}
		items = append(items, iv)
	}
	return items
}

// providerViews are the checkout's payment methods. Those offered only to some countries are
// hidden while the selected country is not one of them; of the others, the site's default is
// preselected, else the first one.
func providerViews(l *Locale, c *runtimeapi.Checkout, country string) []providerView {
	views := make([]providerView, 0, len(c.Providers))
	checked := -1
	for i, pr := range c.Providers {
		label := ""
		if k := "provider_type_" + pr.Type; l.Has(k) {
			label = l.T(k)
		}
		name := pr.Name
		if name == "" {
			name, label = label, ""
		} else if strings.Contains(strings.ToLower(name), strings.ToLower(label)) {
			label = "" // "Credit card" needs no "Card" after it
		}
		v := providerView{Index: i, ID: pr.ID, Type: pr.Type, Name: name, TypeLabel: label, Countries: strings.Join(pr.Countries, " ")}
		v.Hidden = len(pr.Countries) > 0 && !slices.Contains(pr.Countries, strings.ToUpper(country))
		if !v.Hidden && (checked < 0 || pr.ID == c.DefaultProviderID) {
			checked = i
		}
		views = append(views, v)
	}
	if checked >= 0 {
		views[checked].Checked = true
	}
	return views
}

// payLabels are the pay button's texts: "Pay {amount}" for a card or anything else, "Show bank
// details" for a transfer (nothing is paid yet), and the direct debit's own words; only the
// kinds the checkout offers.
func payLabels(l *Locale, c *runtimeapi.Checkout) []payLabel {
	out := []payLabel{{For: "pay", Around: l.Around("pay_amount", "amount"), Amount: true}}
	if offers(c, "wire_transfer") {
		out = append(out, payLabel{For: "wire_transfer", Around: [2]string{l.T("pay_wire"), ""}})
	}
	if offers(c, "gocardless") {
		out = append(out, payLabel{For: "gocardless", Around: l.Around("pay_gocardless", "amount"), Amount: true})
	}
	return out
}

// billingFields are the billing details form, pre-filled from the checkout, and the buyer's
// country (the billing address's, else the shipping address's).
func billingFields(l *Locale, c *runtimeapi.Checkout, billing *runtimeapi.Address) ([]fieldView, string) {
	country := strings.ToUpper(billing.Country)
	if country == "" && c.ShippingAddress != nil {
		country = strings.ToUpper(c.ShippingAddress.Country)
	}
	vat := c.VATIDValidation
	if vat == "" {
		vat = c.Site.VATIDValidation
	}
	showVAT := vat != "" && vat != "none"
	name := strings.TrimSpace(billing.FirstName + " " + billing.LastName)
	f := func(name, typ, ac, value string, required bool) fieldView {
		return fieldView{Name: name, Label: l.T("field_" + name), Type: typ, Autocomplete: ac, Value: value, Required: required}
	}
	email := f("email", "email", "email", c.Email, true)
	email.Inputmode = "email"
	var fields []fieldView
	fields = append(fields, f("name", "text", "name", name, true), email)
	if showVAT {
		fields = append(fields, f("company", "text", "organization", billing.Company, false))
	}
	fields = append(fields,
		f("line1", "text", "address-line1", billing.Address1, true),
		f("postalCode", "text", "postal-code", billing.Postcode, false),
		f("city", "text", "address-level2", billing.City, true),
		f("country", "", "country", country, true),
	)
	if showVAT {
		v := f("vatId", "text", "off", billing.VATID, false)
		v.Hint = l.T("vat_hint")
		v.DescribedBy = "hint-vatId vat-status"
		fields = append(fields, v)
	}
	return fields, country
}

// pendingWire is the wire transfer still pending on the checkout, if any: a reload while a
// transfer is pending shows the instructions again.
func pendingWire(l *Locale, c *runtimeapi.Checkout) (*txnView, *wireView) {
	t := c.Transaction
	if t == nil || (t.Status != "initiated" && t.Status != "pending_provider") || t.Wire == nil {
		return nil, nil
	}
	w := t.Wire
	cur, wexp := w.Currency, c.CurrencyExponent
	if cur == "" {
		cur = c.Currency
	}
	if cur != c.Currency {
		if m, ok := money.Lookup(cur); ok {
			wexp = m.Exponent
		}
	}
	iban := w.IBANGrouped
	if iban == "" {
		iban = groupIBAN(w.IBAN)
	}
	return &txnView{ID: t.TransactionID, Status: t.Status, Marked: t.BuyerMarkedPending},
		&wireView{Amount: l.Money(w.Amount, cur, wexp), Reference: w.Reference, AccountHolder: w.AccountHolder,
			IBAN: iban, BIC: w.BIC, BankName: w.BankName, Instructions: w.Instructions}
}

package hostedpagetest

import (
	"strings"
	"testing"

	"paygate.dev/pkg/browsertest"
)

// Buyer is what a flow enters in the billing form; empty fields are left as pre-filled.
type Buyer struct {
	Name, Email, Company, Line1, PostalCode, City, Country, VATID string
}

// FillBilling types the buyer's details into the billing form (key by key, replacing what was
// pre-filled) and picks the country. It works in every page language: it uses element ids.
func FillBilling(t testing.TB, b *browsertest.Browser, buyer Buyer) {
	t.Helper()
	for _, f := range []struct{ id, v string }{
		{"#f-name", buyer.Name}, {"#f-email", buyer.Email}, {"#f-company", buyer.Company}, {"#f-line1", buyer.Line1},
		{"#f-postalCode", buyer.PostalCode}, {"#f-city", buyer.City}, {"#f-vatId", buyer.VATID},
	} {
		if f.v != "" {
			b.Type(f.id, f.v)
		}
	}
	if buyer.Country != "" {
		b.Select("#f-country", buyer.Country)
	}
}

// WireShown is what the page showed after choosing to pay by bank transfer.
type WireShown struct {
	TransactionID string
	Reference     string
	IBAN          string
	Amount        string
	AccountHolder string
}

// PayByWire chooses the provider (by id), presses the pay button and waits for the
// bank-transfer instructions, which it returns as shown.
func PayByWire(t testing.TB, b *browsertest.Browser, providerID string) WireShown {
	t.Helper()
	b.Eval(`(function(){var r=document.querySelector('input[name=providerId][value=`+quoteCSS(providerID)+`]');r.click();return r.checked})()`, nil)
	b.Click("#pay-btn")
	b.WaitVisible("#wire")
	b.WaitFor(`document.querySelector('[data-wire=reference]').textContent.trim()!==""`, "the payment reference")
	return readWire(t, b)
}

func readWire(t testing.TB, b *browsertest.Browser) WireShown {
	t.Helper()
	return WireShown{
		Reference:     b.Text("[data-wire=reference]"),
		IBAN:          b.Text("[data-wire=iban]"),
		Amount:        b.Text("[data-wire=amount]"),
		AccountHolder: b.Text("[data-wire=accountHolder]"),
	}
}

// ConfirmTransferSent presses "I have sent the transfer" and waits for the waiting notice.
func ConfirmTransferSent(t testing.TB, b *browsertest.Browser) {
	t.Helper()
	b.Click("#sent-btn")
	b.WaitVisible("#wire-waiting")
}

// WaitPaidAndReturned waits until the page shows the payment as received and then sends the
// buyer to a URL containing returnURLPart; it returns that URL.
func WaitPaidAndReturned(t testing.TB, b *browsertest.Browser, returnURLPart string) string {
	t.Helper()
	b.WaitVisible("#paid")
	return b.WaitURL(returnURLPart)
}

func quoteCSS(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// Card is what the buyer types into the card form (Stripe's Payment Element, or the stand-in's).
type Card struct {
	Number, Expiry, CVC string
}

// StartCardPayment chooses the provider (by id), presses the pay button and waits until the
// card step shows a ready Payment Element.
func StartCardPayment(t testing.TB, b *browsertest.Browser, providerID string) {
	t.Helper()
	b.Eval(`(function(){var r=document.querySelector('input[name=providerId][value=`+quoteCSS(providerID)+`]');r.click();return r.checked})()`, nil)
	b.Click("#pay-btn")
	WaitCardForm(t, b)
}

// WaitCardForm waits until the card step is shown with its Payment Element mounted and ready
// (the container is no longer aria-busy).
func WaitCardForm(t testing.TB, b *browsertest.Browser) {
	t.Helper()
	b.WaitVisible("#card")
	b.WaitFor(`(function(){var e=document.getElementById('payment-element');return !!e&&!e.hasAttribute('aria-busy')&&!!e.querySelector('iframe')})()`,
		"the card form to be ready")
}

// TypeCard types a card with the keyboard, as a buyer does: from the card step's heading, Tab
// enters the card form's first field (the number), and Tab moves on to the expiry and the
// security code, where focus stays. The form is another origin's frame: the page cannot read it.
func TypeCard(t testing.TB, b *browsertest.Browser, c Card) {
	t.Helper()
	b.Focus("#card-h")
	b.Press(browsertest.Tab)
	if !b.FocusedMatches("#payment-element iframe") {
		t.Fatalf("hostedpagetest: Tab from the card heading went to %s, not into the card form", b.Focused())
	}
	b.TypeFocused(c.Number)
	b.Press(browsertest.Tab)
	b.TypeFocused(c.Expiry)
	b.Press(browsertest.Tab)
	b.TypeFocused(c.CVC)
}

// PayByCard types the card and presses the card step's pay button.
func PayByCard(t testing.TB, b *browsertest.Browser, c Card) {
	t.Helper()
	TypeCard(t, b, c)
	b.Click("#card-pay-btn")
}

// PayByGoCardless chooses the provider (by id), presses the pay button and waits until the tab
// is on GoCardless's authorisation page (gcfake's, or the fake runtime's stand-in: both have
// #gc-pay and #gc-exit).
func PayByGoCardless(t testing.TB, b *browsertest.Browser, providerID string) {
	t.Helper()
	b.Eval(`(function(){var r=document.querySelector('input[name=providerId][value=`+quoteCSS(providerID)+`]');r.click();return r.checked})()`, nil)
	b.Click("#pay-btn")
	WaitGoCardlessPage(t, b)
}

// WaitGoCardlessPage waits until the tab shows GoCardless's authorisation page.
func WaitGoCardlessPage(t testing.TB, b *browsertest.Browser) {
	t.Helper()
	b.WaitFor(`!!document.getElementById('gc-pay')&&!!document.getElementById('gc-exit')`, "GoCardless's authorisation page")
}

// AuthoriseAtGoCardless presses #gc-pay on GoCardless's authorisation page and waits until the
// hosted page, back from GoCardless, says that the bank payment is being processed.
func AuthoriseAtGoCardless(t testing.TB, b *browsertest.Browser) {
	t.Helper()
	b.Click("#gc-pay")
	WaitGoCardlessPending(t, b)
}

// WaitGoCardlessPending waits for the hosted page's "your bank payment is being processed" step.
func WaitGoCardlessPending(t testing.TB, b *browsertest.Browser) {
	t.Helper()
	b.WaitVisible("#gc")
}

// LeaveGoCardless follows #gc-exit on GoCardless's authorisation page and waits until the
// hosted page shows the payment methods again with the "you left GoCardless" notice.
func LeaveGoCardless(t testing.TB, b *browsertest.Browser) {
	t.Helper()
	b.Click("#gc-exit")
	b.WaitVisible("#gc-left")
	b.WaitVisible("#pay-form")
}

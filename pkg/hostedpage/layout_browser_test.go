package hostedpage_test

import (
	_ "embed"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/stripemock/standin"
)

// axeSource is axe-core 4.14.1 (Deque Systems, MPL-2.0; testdata/axe/LICENSE), the accessibility
// engine the browser tests run on every state of the page.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolations runs axe-core on the current page (WCAG 2.1 A and AA plus axe's best practices,
// which include "all content is in landmarks") and returns one line per violation and node.
// The engine is injected through the DevTools protocol, which the page's CSP does not govern.
func axeViolations(t *testing.T, b *browsertest.Browser) []string {
	t.Helper()
	b.Eval(`(function(){ if (!window.axe) { `+axeSource+` } return true })()`, nil)
	var out []string
	b.Eval(`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})
		.then(function (r) {
			var out = [];
			r.violations.forEach(function (v) {
				v.nodes.forEach(function (n) { out.push(v.id + ' (' + v.impact + '): ' + n.target.join(' ') + ': ' + n.failureSummary.replace(/\s+/g, ' ')); });
			});
			return out;
		})`, &out)
	return out
}

// requireAccessible fails when axe finds any violation on the current page.
func requireAccessible(t *testing.T, b *browsertest.Browser, state string) {
	t.Helper()
	v := axeViolations(t, b)
	require.Empty(t, v, "axe: %d violations on %s:\n%s", len(v), state, strings.Join(v, "\n"))
}

// shown reports whether the element is rendered and not skipped (the content of a closed
// details element keeps its boxes, but the browser does not show it).
func shown(t *testing.T, b *browsertest.Browser, sel string) bool {
	t.Helper()
	var v bool
	b.Eval(fmt.Sprintf(`document.querySelector(%q).checkVisibility()`, sel), &v)
	return v
}

// rect is an element's box in CSS pixels, relative to the viewport.
type rect struct{ Top, Bottom, Left, Right float64 }

func boxOf(t *testing.T, b *browsertest.Browser, sel string) rect {
	t.Helper()
	var r rect
	b.Eval(fmt.Sprintf(`(function(){var r=document.querySelector(%q).getBoundingClientRect();return {Top:r.top,Bottom:r.bottom,Left:r.left,Right:r.right}})()`, sel), &r)
	return r
}

// On a phone the order summary is folded to one bar at the top that shows the total; the buyer
// unfolds it to see the lines. On a wide screen the summary sits beside the form, unfolded.
func TestBrowserPhoneShowsTheTotalAtTheTop(t *testing.T) {
	env := newBrowserEnv(t, checkout("phone00001"))
	b := browsertest.New(t)
	b.SetViewport(375, 667)
	b.Navigate(env.url("/checkout/phone00001"))
	b.WaitVisible("#pay-form")

	bar := boxOf(t, b, ".summary-bar")
	total := boxOf(t, b, ".bar-total [data-total=gross]")
	require.True(t, b.Visible(".bar-total [data-total=gross]"), "the total is shown in the folded summary")
	require.Equal(t, "€142.80", b.Text(".bar-total [data-total=gross]"))
	require.Less(t, total.Bottom, 667.0, "the total is on the first screen, without scrolling")
	require.Less(t, bar.Bottom, boxOf(t, b, "#pay-form").Top, "the summary comes before the form")
	require.False(t, shown(t, b, ".items"), "the lines are folded away on a phone")
	b.Screenshot(t, "hosted-phone-folded", 375)

	b.Click(".summary-bar")
	b.WaitFor(`document.querySelector('.items').checkVisibility()`, "the lines to unfold")
	require.Equal(t, "€50.00 each", b.Text(`[data-unit="0"]`))
	require.True(t, b.Visible("#totals [data-total=gross]"))

	// The total follows the tax: the folded bar too.
	b.Click(".summary-bar")
	b.WaitFor(`!document.querySelector('.items').checkVisibility()`, "the lines to fold")
	b.Select("#f-country", "FR")
	b.WaitText(".bar-total [data-total=gross]", "€144.00")
	requireAccessible(t, b, "the phone layout")

	b.SetViewport(1280, 900)
	b.Navigate(env.url("/checkout/phone00001"))
	b.WaitVisible(".items")
	require.True(t, shown(t, b, ".items"), "unfolded on a wide screen")
	form, summary := boxOf(t, b, "#pay-form"), boxOf(t, b, "#summary")
	require.GreaterOrEqual(t, summary.Left, form.Right, "the summary sits beside the form on a wide screen")
	require.Less(t, summary.Top, 900.0)
	require.False(t, b.Visible(".bar-total"), "no second total in the open summary")
	b.Screenshot(t, "hosted-two-columns", 1280)
	noPageErrors(t, b)
}

// The buyer who chose a bank transfer can go back and pay by card: the transfer is called off.
func TestBrowserSwitchesFromBankTransferToCard(t *testing.T) {
	env, _ := newCardEnv(t, "", checkout("switch0001"))
	b := browsertest.New(t)
	b.AllowClipboard()
	b.Navigate(env.url("/checkout/switch0001"))
	b.WaitVisible("#pay-form")
	require.Equal(t, "Pay €142.80", b.Text("#pay-btn"), "the card's button says what it costs")
	b.Click("#prov-0")
	require.Equal(t, "Show bank details", b.Text("#pay-btn"), "a transfer's button names the step, not a payment")

	shown := hostedpagetest.PayByWire(t, b, "prov_wire")
	wireID := env.rt.Transactions()[0].TransactionID
	require.Equal(t, "€142.80", shown.Amount)

	// Copying shows a mark the buyer can see, not only a screen reader's announcement.
	require.False(t, b.Visible(`[data-copied=wire-reference]`))
	b.Click(`button[data-copy=wire-reference]`)
	b.WaitVisible(`[data-copied=wire-reference]`)
	require.Equal(t, "Copied", b.Text(`[data-copied=wire-reference]`))
	require.Equal(t, shown.Reference, b.Clipboard())

	b.Click("#wire-back")
	b.WaitVisible("#pay-form")
	require.False(t, b.Visible("#wire"))
	require.Equal(t, "canceled", statusOf(env, wireID).Status, "the transfer the buyer left is called off")
	require.True(t, b.FocusedMatches("input[name=providerId]"), "focus lands on the payment methods")

	hostedpagetest.StartCardPayment(t, b, "prov_card")
	hostedpagetest.PayByCard(t, b, hostedpagetest.Card{Number: standin.CardSucceeds, Expiry: "0330", CVC: "123"})
	b.WaitVisible("#paid")
	txns := env.rt.Transactions()
	require.Len(t, txns, 2)
	require.Equal(t, "stripe", txns[1].ProviderType)
	noPageErrors(t, b)
}

// A page that offers only bank transfer never speaks of cards.
func TestBrowserWireOnlyPageSaysNothingOfCards(t *testing.T) {
	env := newBrowserEnv(t, checkout("wireonly01", func(c *runtimeapi.Checkout) { c.Providers = c.Providers[:1] }))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/wireonly01"))
	b.WaitVisible("#pay-form")
	var body string
	b.Eval(`document.body.innerText`, &body)
	require.NotContains(t, strings.ToLower(body), "card")
	require.Equal(t, "Show bank details", b.Text("#pay-btn"))
	requireAccessible(t, b, "a wire-only page")
}

// A provider's refusal is not the buyer's mistake: it is not listed as a form error, and it is
// said in the page's language, not in the provider's English.
func TestBrowserProviderErrorsAreNotFormErrors(t *testing.T) {
	env, _ := newCardEnv(t, "", checkout("proverr001"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/proverr001?lang=de"))
	b.WaitVisible("#pay-form")
	env.rt.FailNextCreate(http.StatusBadGateway, "PROVIDER_ERROR", "stripe: Invalid API Key provided: sk_test_****", "providerId")
	b.Click("#pay-btn")
	b.WaitVisible("#pay-error")
	require.Contains(t, b.Text("#pay-error"), "Der Zahlungsdienst konnte die Anfrage gerade nicht verarbeiten.")
	require.NotContains(t, b.Text("#pay-error"), "API Key")
	require.True(t, b.FocusedMatches("#pay-error"))
	require.False(t, b.Visible("#error-summary"), "not a form error")
	require.False(t, b.Visible("#err-providerId"))
	require.Empty(t, b.Attr("input[name=providerId]", "aria-invalid"))
	requireAccessible(t, b, "a provider error")

	// Paying again works, and the message goes.
	hostedpagetest.StartCardPayment(t, b, "prov_card")
	require.False(t, b.Visible("#pay-error"))
	noPageErrors(t, b, "status of 502")
}

// Every state of the page passes axe with no violation: the form (in test mode, with its
// banner), its errors, the transfer, the card step, the paid step, and the pages that only say
// where a checkout stands.
func TestBrowserAxeOnEveryState(t *testing.T) {
	env, _ := newCardEnv(t, "",
		checkout("axeform001", func(c *runtimeapi.Checkout) { c.Mode = "test" }),
		checkout("axeexpir01", func(c *runtimeapi.Checkout) { c.Status = "expired" }),
		checkout("axecanc001", func(c *runtimeapi.Checkout) { c.Status = "cancelled" }),
		checkout("axepaid001", func(c *runtimeapi.Checkout) {
			c.Status = "completed"
			c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_9", Status: "succeeded", ReturnURL: "https://shop.example.com/thanks"}
		}),
	)
	b := browsertest.New(t)
	b.AllowClipboard()
	b.Navigate(env.url("/checkout/axeform001"))
	b.WaitVisible("#pay-form")
	require.True(t, b.Visible("header .test-mode"), "the test-mode banner is in the page's banner landmark")
	requireAccessible(t, b, "the form in test mode")

	b.Eval(`document.getElementById('f-name').value='';true`, nil)
	b.Click("#pay-btn")
	b.WaitVisible("#error-summary")
	requireAccessible(t, b, "the form's errors")
	b.Type("#f-name", "Erika Mustermann")

	hostedpagetest.StartCardPayment(t, b, "prov_card")
	requireAccessible(t, b, "the card step")
	b.Click("#card-back")
	b.WaitVisible("#pay-form")

	hostedpagetest.PayByWire(t, b, "prov_wire")
	b.Click(`button[data-copy=wire-iban]`)
	b.WaitVisible(`[data-copied=wire-iban]`)
	requireAccessible(t, b, "the transfer")
	hostedpagetest.ConfirmTransferSent(t, b)
	requireAccessible(t, b, "waiting for the transfer")
	txns := env.rt.Transactions()
	env.rt.MarkPaid(txns[len(txns)-1].TransactionID)
	b.WaitVisible("#paid")
	requireAccessible(t, b, "the paid step")

	for _, path := range []string{"/checkout/axeexpir01", "/checkout/axecanc001", "/checkout/axepaid001", "/checkout/nosuch0001", "/checkout/axeexpir01?lang=de"} {
		b.Navigate(env.url(path))
		b.WaitVisible("h1")
		requireAccessible(t, b, path)
	}
	env.rt.SetDown(true)
	b.Navigate(env.url("/checkout/axeform001"))
	b.WaitVisible("h1")
	requireAccessible(t, b, "the unavailable page")
	// axe talks to the card form's frame (another origin) by postMessage: its warning is axe's.
	noPageErrors(t, b, "status of 410", "status of 404", "status of 503", "postMessage")
}

// The pages that cannot be paid (expired, cancelled, unknown) offer the way back to the shop,
// under the shop's brand bar.
func TestBrowserExpiredPageLinksBackToTheShop(t *testing.T) {
	env := newBrowserEnv(t,
		checkout("expback001", func(c *runtimeapi.Checkout) { c.Status = "expired"; c.CancelURL = "" }),
		checkout("canback001", func(c *runtimeapi.Checkout) { c.Status = "cancelled" }),
	)
	// The expired checkout has no cancel URL: the shop the buyer came from is the way back.
	env.rt.AddCheckout(func() runtimeapi.Checkout {
		c := checkout("expcanc001", func(c *runtimeapi.Checkout) { c.Status = "expired"; c.Site.LogoURL = "" })
		c.CancelURL = env.merchant.URL + "/cart"
		return c
	}(), "")
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/expcanc001"))
	require.Equal(t, "This payment link has expired", b.Text("h1"))
	require.Equal(t, "Acme Tools", b.Text("header.brand .site-name"), "the shop's brand bar")
	require.Equal(t, "Return to Acme Tools", b.Text(".state a.button"))
	b.Click(".state a.button")
	b.WaitURL(env.merchant.URL + "/cart")

	// From the shop's page, a link to a checkout without a cancel URL: back to that shop.
	b.Navigate(env.merchant.URL + "/")
	b.Eval(fmt.Sprintf(`(function(){var a=document.createElement('a');a.href=%q;a.id='go';a.textContent='pay';document.body.appendChild(a);a.click();return true})()`, env.url("/checkout/expback001")), nil)
	b.WaitURL("/checkout/expback001")
	b.WaitVisible(".state a.button")
	require.Equal(t, env.merchant.URL+"/", b.Attr(".state a.button", "href"))

	b.Navigate(env.url("/checkout/canback001?lang=fr"))
	require.Equal(t, "https://shop.example.com/cart", b.Attr(".state a.button", "href"))
	require.Equal(t, "Revenir à Acme Tools", b.Text(".state a.button"))
	noPageErrors(t, b, "status of 410", "status of 404")
}

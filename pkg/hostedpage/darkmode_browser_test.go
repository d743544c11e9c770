package hostedpage_test

import (
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
)

// TestBrowserDarkMode: with the system in dark mode (prefers-color-scheme, no setting and no
// script) the hosted page turns dark, its links take the brand colour lightened to stay
// readable, and every state passes axe with no violation, as in light mode; in light mode it
// stays light.
func TestBrowserDarkMode(t *testing.T) {
	env, _ := newCardEnv(t, "",
		checkout("darkform01", func(c *runtimeapi.Checkout) { c.Mode = "test"; c.Site.PrimaryColor = "#0b2a6f" }),
		checkout("darkyell01", func(c *runtimeapi.Checkout) { c.Site.PrimaryColor = "#ffeb3b" }),
		checkout("darkexpi01", func(c *runtimeapi.Checkout) { c.Status = "expired" }),
		checkout("darkpaid01", func(c *runtimeapi.Checkout) {
			c.Status = "completed"
			c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_9", Status: "succeeded", ReturnURL: "https://shop.example.com/thanks"}
		}),
	)
	b := browsertest.New(t)
	b.AllowClipboard()
	style := func(sel, prop string) string {
		var v string
		b.Eval(`getComputedStyle(document.querySelector(`+"`"+sel+"`"+`)).`+prop, &v)
		return v
	}
	b.Navigate(env.url("/checkout/darkform01"))
	b.WaitVisible("#pay-form")
	require.Equal(t, "rgb(255, 255, 255)", style("html", "backgroundColor"), "light by default")

	_, err := chromedp.Call(b.Context(), emulation.SetEmulatedMedia,
		emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	require.NoError(t, err)
	b.Reload()
	b.WaitVisible("#pay-form")
	require.Equal(t, "rgb(18, 22, 29)", style("html", "backgroundColor"))
	require.Equal(t, "rgb(230, 233, 239)", style("main h1", "color"))
	require.Equal(t, "rgb(11, 42, 111)", style("header.brand", "backgroundColor"), "the brand bar keeps the brand colour")
	dark := hostedpage.ThemeFor("#0b2a6f").LinkDark
	var link string
	b.Eval(`getComputedStyle(document.documentElement).getPropertyValue("--link").trim()`, &link)
	require.Equal(t, dark, link, "links are the navy brand lightened")
	require.True(t, b.Visible("header .test-mode"))
	require.Equal(t, "rgb(51, 39, 10)", style("header .test-mode", "backgroundColor"), "the test-mode banner is dark too")
	requireAccessible(t, b, "the form in dark mode")
	b.Screenshot(t, "hosted-dark-form")

	b.Eval(`document.getElementById('f-name').value='';true`, nil)
	b.Click("#pay-btn")
	b.WaitVisible("#error-summary")
	requireAccessible(t, b, "the form's errors in dark mode")
	b.Type("#f-name", "Erika Mustermann")

	hostedpagetest.StartCardPayment(t, b, "prov_card")
	requireAccessible(t, b, "the card step in dark mode")
	b.Click("#card-back")
	b.WaitVisible("#pay-form")

	hostedpagetest.PayByWire(t, b, "prov_wire")
	b.Click(`button[data-copy=wire-iban]`)
	b.WaitVisible(`[data-copied=wire-iban]`)
	requireAccessible(t, b, "the transfer in dark mode")
	b.Screenshot(t, "hosted-dark-transfer")
	hostedpagetest.ConfirmTransferSent(t, b)
	txns := env.rt.Transactions()
	env.rt.MarkPaid(txns[len(txns)-1].TransactionID)
	b.WaitVisible("#paid")
	requireAccessible(t, b, "the paid step in dark mode")

	for _, path := range []string{"/checkout/darkyell01", "/checkout/darkexpi01", "/checkout/darkpaid01", "/checkout/nosuch0001"} {
		b.Navigate(env.url(path))
		b.WaitVisible("h1")
		require.Equal(t, "rgb(18, 22, 29)", style("html", "backgroundColor"), path)
		requireAccessible(t, b, path+" in dark mode")
	}
	noPageErrors(t, b, "status of 410", "status of 404", "postMessage")
}

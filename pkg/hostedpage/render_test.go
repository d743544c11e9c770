package hostedpage_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
)

// TestFastRenderMatchesTemplate renders the payment page with the writer (render.go) and through
// templates/checkout.html, the page's reference, and requires the same bytes and headers: over
// every language, both tax displays, each payment method, a pending transfer, the returns from
// Stripe and GoCardless, hostile merchant text and kept address parameters.
func TestFastRenderMatchesTemplate(t *testing.T) {
	t.Parallel()
	hostile := `<script>alert("x'+&")</script>` + "\x00é\xff"
	wire := hostedpagetest.Wire
	wire.Reference, wire.Instructions, wire.BIC = `REF<1>&"2"`, "Pay +soon & <b>now</b>", ""
	cases := map[string]runtimeapi.Checkout{
		"plain00001": checkout("plain00001"),
		"incl000001": checkout("incl000001", func(c *runtimeapi.Checkout) {
			c.Site.TaxDisplay = "inclusive"
			c.Tax = hostedpagetest.Tax(*c, "DE", "")
		}),
		"test000001": checkout("test000001", func(c *runtimeapi.Checkout) {
			c.Mode, c.Site.LogoURL, c.Site.SupportEmail, c.ExternalReference = "test", "", "", ""
			c.ExpiresAt, c.CancelURL, c.Site.FrameAncestors = c.ExpiresAt.AddDate(-100, 0, 0), "", "https://shop.example.com"
		}),
		"hostile001": checkout("hostile001", func(c *runtimeapi.Checkout) {
			c.Site.Name, c.Site.LogoURL, c.Site.SupportEmail = hostile, "javascript:alert(1)", `x@example.com"><script>`
			c.Items[0].Name, c.Items[0].Description = hostile, hostile
			c.Providers[0].Name, c.ExternalReference = hostile, hostile
			c.CancelURL = "https://shop.example.com/cart?a=1&b=+2&c='(x)' é"
			c.Email = hostile
			c.BillingAddress.City, c.BillingAddress.Country = hostile, "XX"
		}),
		"javascr001": checkout("javascr001", func(c *runtimeapi.Checkout) { c.CancelURL = "javascript:alert(3)" }),
		"gocard0001": gcCheckout("gocard0001"),
		"noprov0001": checkout("noprov0001", func(c *runtimeapi.Checkout) { c.Providers = nil; c.DefaultProviderID = "" }),
		"wireonly01": checkout("wireonly01", func(c *runtimeapi.Checkout) {
			c.Providers, c.VATIDValidation, c.Site.VATIDValidation = c.Providers[:1], "none", "none"
		}),
		"pending001": checkout("pending001", func(c *runtimeapi.Checkout) {
			c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_1", Status: "pending_provider", ProviderType: "wire_transfer",
				Amount: 14280, Currency: "EUR", BuyerMarkedPending: true, Wire: &wire}
		}),
		"pending002": checkout("pending002", func(c *runtimeapi.Checkout) {
			c.Providers = c.Providers[:1]
			c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_2", Status: "initiated", ProviderType: "wire_transfer",
				Amount: 14280, Currency: "EUR", Wire: &wire}
		}),
		// Availability rules: a provider offered to some countries only, hidden for this buyer's;
		// and one where no provider is left for the buyer's country (the notice and the way back).
		"country001": checkout("country001", func(c *runtimeapi.Checkout) {
			c.Providers[1].Countries = []string{"NL", "BE"}
			c.BillingAddress.Country = "DE"
		}),
		"country002": checkout("country002", func(c *runtimeapi.Checkout) {
			for i := range c.Providers {
				c.Providers[i].Countries = []string{"FR"}
			}
			c.BillingAddress.Country = "DE"
		}),
		"stripe0001": checkout("stripe0001", func(c *runtimeapi.Checkout) {
			c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_3", Status: "pending_provider", ProviderType: "stripe", Amount: 14280, Currency: "EUR"}
		}),
	}
	rt := hostedpagetest.NewRuntime(t)
	for _, c := range cases {
		rt.AddCheckout(c, "https://shop.example.com/thanks?txn={transactionId}")
	}
	fast, _ := newPages(t, rt, func(o *hostedpage.Options) { o.FrameAncestors = "https://embed.example.com" })
	ref, refServer := newPages(t, rt, func(o *hostedpage.Options) { o.FrameAncestors = "https://embed.example.com" })
	hostedpage.RenderViaTemplate(refServer)
	queries := []string{"", "?transaction=txn_9&redirect_status=failed", "?transaction=txn_1&gocardless=exit&x=%3Cb%3E%2B&x=2",
		"?transaction=txn_1&gocardless=return", "?provider=prov_card&utm=a%22b"}
	for code := range cases {
		for i, lang := range hostedpage.Languages {
			path := "/checkout/" + code + "?lang=" + lang
			if q := queries[i%len(queries)]; q != "" {
				path += "&" + q[1:]
			}
			want, _ := get(t, ref, path)
			got, _ := get(t, fast, path)
			require.Equal(t, http.StatusOK, want.Code, path)
			require.Equal(t, want.Code, got.Code, path)
			want.Header().Del("X-Request-Id")
			got.Header().Del("X-Request-Id")
			require.Equal(t, want.Header(), got.Header(), path)
			requireSameHTML(t, want.Body.String(), got.Body.String(), path)
		}
	}
}

// TestPageShowsBrandingChangeAtOnce: the layout is cached per site, branding and language, and a
// changed name, logo, colour, support address or embedding policy shows on the very next view.
func TestPageShowsBrandingChangeAtOnce(t *testing.T) {
	t.Parallel()
	rt := hostedpagetest.NewRuntime(t)
	c := checkout("brand00001")
	rt.AddCheckout(c, "")
	e, _ := newPages(t, rt)
	rec, doc := get(t, e, "/checkout/brand00001")
	require.Equal(t, "Acme Tools", text(doc.Find("header .site-name")))
	require.Contains(t, rec.Body.String(), `href="/theme/v2/0b5cad.css"`)
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'")

	c.Site.Name, c.Site.LogoURL, c.Site.PrimaryColor = "Acme & Sons", "https://cdn.example.com/sons.png", "#aa0000"
	c.Site.SupportEmail, c.Site.FrameAncestors = "sons@acme.example", "https://shop.acme.example"
	rt.AddCheckout(c, "")
	rec, doc = get(t, e, "/checkout/brand00001")
	require.Equal(t, "Acme & Sons", text(doc.Find("header .site-name")))
	require.Equal(t, "Pay Acme & Sons", text(doc.Find("h1")))
	require.Equal(t, "Acme & Sons", doc.Find("#checkout").AttrOr("data-site", ""))
	require.Equal(t, "https://cdn.example.com/sons.png", doc.Find("header img.logo").AttrOr("src", ""))
	require.Contains(t, rec.Body.String(), `href="/theme/v2/aa0000.css"`)
	require.Equal(t, "mailto:sons@acme.example", doc.Find("footer a[href^=mailto]").AttrOr("href", ""))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "frame-ancestors https://shop.acme.example")
	require.Empty(t, rec.Header().Get("X-Frame-Options"))

	// The same site in another language and in test mode: its own layout, not the cached one.
	c.Mode = "test"
	rt.AddCheckout(c, "")
	_, doc = get(t, e, "/checkout/brand00001?lang=de")
	require.Equal(t, "de", doc.Find("html").AttrOr("lang", ""))
	require.Equal(t, 1, doc.Find(".test-mode").Length())
	require.Equal(t, "Acme & Sons", text(doc.Find("header .site-name")))
}

// requireSameHTML fails with the first difference and a little context around it.
func requireSameHTML(t *testing.T, want, got, what string) {
	t.Helper()
	if want == got {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-200)
	t.Fatalf("%s: the page differs from the template's at byte %d:\ntemplate: …%q…\nwriter:   …%q…", what, i, want[from:min(len(want), i+200)], got[from:min(len(got), i+200)])
}

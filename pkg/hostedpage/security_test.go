package hostedpage_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()

	t.Run("CheckoutPageHasAStrictPolicy", func(t *testing.T) {
		t.Parallel()
		e, rt := fixture(t, checkout("csp000001", func(c *runtimeapi.Checkout) { c.Providers = c.Providers[:1] }))
		rec, _ := get(t, e, "/checkout/csp000001")
		h := rec.Header()
		require.Equal(t, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src "+rt.URL()+
			"; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'", h.Get("Content-Security-Policy"))
		require.Equal(t, "no-store", h.Get("Cache-Control"))
		require.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
		require.Equal(t, "strict-origin-when-cross-origin", h.Get("Referrer-Policy"))
		require.Equal(t, "max-age=63072000; includeSubDomains", h.Get("Strict-Transport-Security"))
		require.Equal(t, "DENY", h.Get("X-Frame-Options"))
	})

	t.Run("StripeOriginOnlyWhenStripeIsOffered", func(t *testing.T) {
		t.Parallel()
		// Stripe.js from Stripe: its script and frames, its 3-D Secure frames (hooks.stripe.com)
		// and the API it calls from the page.
		e, rt := fixture(t, checkout("stripe001"))
		rec, _ := get(t, e, "/checkout/stripe001")
		d := directives(rec.Header().Get("Content-Security-Policy"))
		require.Equal(t, "script-src 'self' https://js.stripe.com", d["script-src"])
		require.Equal(t, "frame-src https://js.stripe.com https://hooks.stripe.com", d["frame-src"])
		require.Equal(t, "connect-src "+rt.URL()+" https://api.stripe.com", d["connect-src"])
		require.Equal(t, "style-src 'self'", d["style-src"], "the Payment Element's styles live in its frames")
	})

	t.Run("StripeStandInOriginIsAllowedExactly", func(t *testing.T) {
		t.Parallel()
		// A stand-in (tests) serves Stripe.js and its API from one origin, which nothing else joins.
		rt := hostedpagetest.NewRuntime(t)
		rt.AddCheckout(checkout("standin01"), "")
		e, _ := newPages(t, rt, func(o *hostedpage.Options) { o.StripeJSURL = "http://127.0.0.1:4242/v3" })
		rec, doc := get(t, e, "/checkout/standin01")
		d := directives(rec.Header().Get("Content-Security-Policy"))
		require.Equal(t, "script-src 'self' http://127.0.0.1:4242", d["script-src"])
		require.Equal(t, "frame-src http://127.0.0.1:4242", d["frame-src"])
		require.Equal(t, "connect-src "+rt.URL()+" http://127.0.0.1:4242", d["connect-src"])
		require.Equal(t, "http://127.0.0.1:4242/v3", doc.Find("#checkout").AttrOr("data-stripe-js", ""))
	})

	t.Run("NoStripeWithoutAStripeProvider", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("nostripe1", func(c *runtimeapi.Checkout) { c.Providers = c.Providers[:1] }))
		rec, doc := get(t, e, "/checkout/nostripe1")
		require.NotContains(t, rec.Header().Get("Content-Security-Policy"), "stripe")
		require.NotContains(t, rec.Header().Get("Content-Security-Policy"), "frame-src")
		root := doc.Find("#checkout")
		for _, a := range []string{"data-stripe-js", "data-stripe-flow"} {
			_, has := root.Attr(a)
			require.False(t, has, a)
		}
		require.Equal(t, 0, doc.Find("#card, #checking, #payment-element").Length())
	})

	t.Run("ConnectSrcIsExactlyTheBackendOrigin", func(t *testing.T) {
		t.Parallel()
		rt := hostedpagetest.NewRuntime(t)
		rt.AddCheckout(checkout("origin001", func(c *runtimeapi.Checkout) { c.Providers = c.Providers[:1] }), "")
		rt.AddCheckout(checkout("origin002"), "")
		e, _ := newPages(t, rt, func(o *hostedpage.Options) { o.BackendURL = "https://webhook.example.com/" })
		rec, doc := get(t, e, "/checkout/origin001")
		require.Contains(t, rec.Header().Get("Content-Security-Policy"), "; connect-src https://webhook.example.com;")
		require.Equal(t, "https://webhook.example.com", doc.Find("#checkout").AttrOr("data-backend", ""))
		// With Stripe, the backend and Stripe's API, nothing else.
		rec, _ = get(t, e, "/checkout/origin002")
		require.Contains(t, rec.Header().Get("Content-Security-Policy"), "; connect-src https://webhook.example.com https://api.stripe.com;")
	})

	t.Run("FramingOnlyForAllowedOrigins", func(t *testing.T) {
		t.Parallel()
		rt := hostedpagetest.NewRuntime(t)
		rt.AddCheckout(checkout("frame0001", func(c *runtimeapi.Checkout) {
			c.Site.FrameAncestors = "https://shop.example.com, javascript:alert(1) https://*.builder.example 'unsafe-inline'; script-src *"
		}), "")
		e, _ := newPages(t, rt, func(o *hostedpage.Options) { o.FrameAncestors = "https://portal.example.com" })
		rec, _ := get(t, e, "/checkout/frame0001")
		csp := rec.Header().Get("Content-Security-Policy")
		require.True(t, strings.HasSuffix(csp, "; frame-ancestors https://portal.example.com https://shop.example.com https://*.builder.example"), csp)
		require.Equal(t, 1, strings.Count(csp, "script-src"), "nothing from the site's list leaks into other directives")
		require.Empty(t, rec.Header().Get("X-Frame-Options"))
	})

	t.Run("NoHSTSInDevelopment", func(t *testing.T) {
		t.Parallel()
		rt := hostedpagetest.NewRuntime(t)
		rt.AddCheckout(checkout("devmode01"), "")
		e, _ := newPages(t, rt, func(o *hostedpage.Options) { o.HTTPS = false })
		rec, _ := get(t, e, "/checkout/devmode01?lang=de")
		require.Empty(t, rec.Header().Get("Strict-Transport-Security"))
		require.NotContains(t, rec.Header().Get("Set-Cookie"), "Secure")
	})

	t.Run("NoInlineScriptOrStyle", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("inline001"))
		_, doc := get(t, e, "/checkout/inline001")
		doc.Find("script").Each(func(_ int, s *goquery.Selection) {
			if s.AttrOr("type", "") == "application/json" { // a data block: never run
				require.Empty(t, s.AttrOr("src", ""))
				require.True(t, json.Valid([]byte(s.Text())), "the data block is JSON")
				require.NotContains(t, s.Text(), "</", "nothing in it can end the element")
				return
			}
			require.NotEmpty(t, s.AttrOr("src", ""), "every script is a file")
			require.Empty(t, strings.TrimSpace(s.Text()))
		})
		require.Equal(t, 0, doc.Find("style, [style]").Length())
		doc.Find("*").Each(func(_ int, s *goquery.Selection) {
			for _, a := range s.Nodes[0].Attr {
				require.False(t, strings.HasPrefix(strings.ToLower(a.Key), "on"), "inline handler %s on <%s>", a.Key, s.Nodes[0].Data)
			}
		})
	})

	t.Run("EveryResponseIsNosniff", func(t *testing.T) {
		t.Parallel()
		e, _ := fixture(t, checkout("nosniff01"))
		_, doc := get(t, e, "/checkout/nosniff01")
		for _, p := range []string{"/checkout/nosniff01", "/nothing", "/theme/v2/112233.css", doc.Find("script").AttrOr("src", "")} {
			rec, _ := get(t, e, p)
			require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"), p)
			require.Equal(t, "strict-origin-when-cross-origin", rec.Header().Get("Referrer-Policy"), p)
		}
	})
}

// directives splits a policy into its directives by name ("script-src" → "script-src 'self' …").
func directives(csp string) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		d = strings.TrimSpace(d)
		name, _, _ := strings.Cut(d, " ")
		out[name] = d
	}
	return out
}

package hostedpage_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/runtimeapi"
)

// gcProvider is the GoCardless provider the tests' checkouts offer.
var gcProvider = runtimeapi.Provider{ID: "prov_gc", Type: "gocardless", Name: "Bank payment"}

// gcCheckout is the sample checkout offering bank transfer and GoCardless (the default).
func gcCheckout(code string, mods ...func(*runtimeapi.Checkout)) runtimeapi.Checkout {
	return checkout(code, append([]func(*runtimeapi.Checkout){func(c *runtimeapi.Checkout) {
		c.Providers = []runtimeapi.Provider{c.Providers[0], gcProvider}
		c.DefaultProviderID = gcProvider.ID
	}}, mods...)...)
}

func TestGoCardlessStep(t *testing.T) {
	t.Parallel()
	pending := gcCheckout("gcpend001", func(c *runtimeapi.Checkout) {
		c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_5", SessionPublicID: c.SessionPublicID, Status: "pending_provider", ProviderType: "gocardless"}
	})
	wireOnly := checkout("gcwire001", func(c *runtimeapi.Checkout) { c.Providers = c.Providers[:1] })
	e, s := newPages(t, fixtureRuntime(t, gcCheckout("gcpage001"), pending, wireOnly))

	t.Run("OnlyOnPagesOfferingGoCardless", func(t *testing.T) {
		_, doc := get(t, e, "/checkout/gcpage001")
		root := doc.Find("#checkout")
		require.Equal(t, s.AssetURLs().GoCardlessFlow, root.AttrOr("data-gc-flow", ""))
		require.Regexp(t, `^/assets/pay-gocardless\.[0-9a-f]{12}\.js$`, root.AttrOr("data-gc-flow", ""))
		require.Contains(t, doc.Find("#pg-i18n").Text(), `"gc_redirecting":"Taking you to GoCardless…"`)
		require.NotContains(t, string(s.Catalog().Locale("en").ScriptMessages(true, false)), "gc_", "GoCardless messages only where GoCardless is offered")
		_, ret := root.Attr("data-gc-return")
		require.False(t, ret)
		require.Equal(t, "gocardless", doc.Find(`input[name=providerId]:checked`).AttrOr("data-type", ""))
		require.False(t, hidden(doc, "#pay-form"))
		require.True(t, hidden(doc, "#gc"), "shown once the buyer is back from GoCardless")
		require.True(t, hidden(doc, "#gc-left"))
		require.Equal(t, "Your bank payment is being processed", text(doc.Find("#gc-h")))
		require.Equal(t, "-1", doc.Find("#gc-h").AttrOr("tabindex", ""), "the script moves focus there")
		require.Equal(t, "It usually takes 1–3 working days. We’ll let Acme Tools know as soon as it has arrived, so you can close this page now.", text(doc.Find("#gc-text")))
		require.Equal(t, "gc-h", doc.Find("#gc").AttrOr("aria-labelledby", ""))
		require.Equal(t, 1, doc.Find("script[src]").Length(), "the GoCardless flow loads only when the buyer pays with it")

		_, doc = get(t, e, "/checkout/gcwire001")
		for _, a := range []string{"data-gc-flow", "data-gc-return"} {
			_, has := doc.Find("#checkout").Attr(a)
			require.False(t, has, a)
		}
		require.Equal(t, 0, doc.Find("#gc, #gc-left").Length())
	})

	t.Run("PolicyIsUnchanged", func(t *testing.T) {
		// GoCardless's pages are a top-level navigation: no script, frame or API call of theirs.
		gc, _ := get(t, e, "/checkout/gcpage001")
		wire, _ := get(t, e, "/checkout/gcwire001")
		require.Equal(t, wire.Header().Get("Content-Security-Policy"), gc.Header().Get("Content-Security-Policy"))
		ret, _ := get(t, e, "/checkout/gcpage001?transaction=txn_test0042&gocardless=return")
		require.Equal(t, wire.Header().Get("Content-Security-Policy"), ret.Header().Get("Content-Security-Policy"))
	})

	t.Run("BackAfterAuthorisingChecksFirst", func(t *testing.T) {
		rec, doc := get(t, e, "/checkout/gcpage001?transaction=txn_test0042&gocardless=return")
		require.Equal(t, http.StatusOK, rec.Code)
		root := doc.Find("#checkout")
		require.Equal(t, "txn_test0042", root.AttrOr("data-return-txn", ""))
		require.Equal(t, "return", root.AttrOr("data-gc-return", ""))
		_, verified := root.Attr("data-return-verified")
		require.False(t, verified, "only an id from the address: the script checks it belongs here")
		require.False(t, hidden(doc, "#checking"))
		require.True(t, hidden(doc, "#pay-form"))
		require.True(t, hidden(doc, "#gc"))
		href := langKeep(doc)
		require.Contains(t, href, "transaction=txn_test0042", "switching the language keeps checking")
		require.Contains(t, href, "gocardless=return")
	})

	t.Run("LeavingGoCardlessShowsTheForm", func(t *testing.T) {
		_, doc := get(t, e, "/checkout/gcpage001?transaction=txn_test0042&gocardless=exit")
		root := doc.Find("#checkout")
		require.Equal(t, "exit", root.AttrOr("data-gc-return", ""))
		require.Equal(t, "txn_test0042", root.AttrOr("data-return-txn", ""))
		require.False(t, hidden(doc, "#pay-form"), "the buyer chooses another method")
		require.True(t, hidden(doc, "#checking"))
		require.True(t, hidden(doc, "#gc-left"), "said once the attempt is cancelled")
		require.Equal(t, "You left GoCardless. Choose a payment method.", text(doc.Find("#gc-left")))
	})

	t.Run("IgnoresAnUnknownGoCardlessValue", func(t *testing.T) {
		_, doc := get(t, e, "/checkout/gcpage001?transaction=txn_test0042&gocardless=%3Cb%3E")
		_, has := doc.Find("#checkout").Attr("data-gc-return")
		require.False(t, has)
		require.Equal(t, "txn_test0042", doc.Find("#checkout").AttrOr("data-return-txn", ""), "an ordinary return: checked")
	})

	t.Run("AReloadWhileTheBankPaymentIsProcessingShowsIt", func(t *testing.T) {
		_, doc := get(t, e, "/checkout/gcpend001")
		root := doc.Find("#checkout")
		require.Equal(t, "txn_5", root.AttrOr("data-return-txn", ""))
		require.Equal(t, "pending", root.AttrOr("data-gc-return", ""))
		require.Equal(t, "true", root.AttrOr("data-return-verified", ""))
		require.True(t, hidden(doc, "#pay-form"), "no second payment while the first is on its way")
	})

	t.Run("BackFromGoCardlessNoLongerOffered", func(t *testing.T) {
		// The flow's script and steps are there even when the checkout stopped offering GoCardless.
		_, doc := get(t, e, "/checkout/gcwire001?transaction=txn_test0042&gocardless=exit")
		root := doc.Find("#checkout")
		require.Equal(t, s.AssetURLs().GoCardlessFlow, root.AttrOr("data-gc-flow", ""))
		require.Equal(t, 1, doc.Find("#gc-left").Length())
	})

	t.Run("IsTranslated", func(t *testing.T) {
		_, doc := get(t, e, "/checkout/gcpage001?lang=de")
		require.Equal(t, "Ihre Bankzahlung wird bearbeitet", text(doc.Find("#gc-h")))
		require.Equal(t, "Sie haben GoCardless verlassen. Wählen Sie eine Zahlungsart.", text(doc.Find("#gc-left")))
		require.Contains(t, doc.Find("#pg-i18n").Text(), "Weiterleitung zu GoCardless")
	})

	t.Run("ServesTheFlowScript", func(t *testing.T) {
		rec, _ := get(t, e, s.AssetURLs().GoCardlessFlow)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Contains(t, rec.Body.String(), "/api/v1/billing-requests/create")
		require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
	})
}

func TestTheBuyersChosenProviderIsPreselected(t *testing.T) {
	t.Parallel()
	e, _ := newPages(t, fixtureRuntime(t, gcCheckout("gcpick001")))
	checked := func(path string) string {
		res, doc := get(t, e, path)
		require.Equal(t, http.StatusOK, res.Code, path)
		return doc.Find(`input[name=providerId]:checked`).AttrOr("value", "")
	}
	wire := gcCheckout("x").Providers[0].ID
	require.Equal(t, gcProvider.ID, checked("/checkout/gcpick001"), "the site's default")
	require.Equal(t, wire, checked("/checkout/gcpick001?provider="+wire), "the buyer's choice")
	require.Equal(t, gcProvider.ID, checked("/checkout/gcpick001?provider=prov_unknown"), "a provider the checkout does not offer is ignored")
	_, doc := get(t, e, "/checkout/gcpick001?provider="+wire)
	require.Contains(t, langKeep(doc), "provider="+wire, "switching language keeps the choice")
}

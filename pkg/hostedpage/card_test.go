package hostedpage_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
)

// hidden reports whether the element matching sel carries the hidden attribute.
func hidden(doc *goquery.Document, sel string) bool {
	_, h := doc.Find(sel).Attr("hidden")
	return h
}

func TestCardStep(t *testing.T) {
	t.Parallel()

	t.Run("OnlyOnPagesOfferingStripe", func(t *testing.T) {
		t.Parallel()
		e, s := newPages(t, fixtureRuntime(t, checkout("card00001")))
		_, doc := get(t, e, "/checkout/card00001")
		root := doc.Find("#checkout")
		require.Equal(t, "https://js.stripe.com/v3", root.AttrOr("data-stripe-js", ""))
		require.Equal(t, s.AssetURLs().StripeFlow, root.AttrOr("data-stripe-flow", ""))
		require.Regexp(t, `^/assets/pay-stripe\.[0-9a-f]{12}\.js$`, root.AttrOr("data-stripe-flow", ""))
		require.Equal(t, hostedpage.ThemeFor("#0b5cad").Link, root.AttrOr("data-brand", ""), "the Payment Element's colour")
		require.Contains(t, doc.Find("#pg-i18n").Text(), `"card_ready":"The card form is ready.`)
		require.NotContains(t, string(s.Catalog().Locale("en").ScriptMessages(false, true)), "card_ready", "card messages only where there is a card step")

		require.True(t, hidden(doc, "#card"), "shown once the buyer pays by card")
		require.True(t, hidden(doc, "#checking"))
		require.False(t, hidden(doc, "#pay-form"))
		el := doc.Find("#payment-element")
		require.Equal(t, "group", el.AttrOr("role", ""))
		require.Equal(t, "card-h", el.AttrOr("aria-labelledby", ""))
		require.Equal(t, "Pay by card", text(doc.Find("#card-h")))
		require.Equal(t, "alert", doc.Find("#card-error").AttrOr("role", ""), "card errors are announced")
		require.Equal(t, "button", doc.Find("#card-pay-btn").AttrOr("type", ""))
		require.Equal(t, 1, doc.Find("#card-pay-btn [data-card-amount]").Length())
		require.Equal(t, "Change payment method or billing details", text(doc.Find("#card-back")))
		require.Equal(t, 1, doc.Find("script[src]").Length(), "Stripe.js and the card flow load only when the buyer pays by card")
	})

	t.Run("IsTranslated", func(t *testing.T) {
		t.Parallel()
		e, _ := newPages(t, fixtureRuntime(t, checkout("card00002")))
		_, doc := get(t, e, "/checkout/card00002?lang=de")
		require.Equal(t, "Mit Karte bezahlen", text(doc.Find("#card-h")))
		require.Equal(t, "bezahlen", strings.TrimSpace(doc.Find("#card-pay-btn").Contents().Last().Text()), "the amount goes where German puts it")
		require.Contains(t, doc.Find("#pg-i18n").Text(), "Das Kartenformular ist bereit.")
	})

	t.Run("ServesTheCardFlowScript", func(t *testing.T) {
		t.Parallel()
		e, s := newPages(t, fixtureRuntime(t))
		rec, _ := get(t, e, s.AssetURLs().StripeFlow)
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
		require.Contains(t, rec.Body.String(), "confirmPayment")
		require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"))
	})
}

func TestReturnFromTheProvider(t *testing.T) {
	t.Parallel()
	paid := checkout("paidcard1", func(c *runtimeapi.Checkout) {
		c.Status = "completed"
		c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_9", Status: "succeeded", ProviderType: "stripe",
			ReturnURL: "https://shop.example.com/thanks?txn=txn_9"}
	})
	processing := checkout("procard01", func(c *runtimeapi.Checkout) {
		c.Transaction = &runtimeapi.TransactionStatus{TransactionID: "txn_7", Status: "pending_provider", ProviderType: "stripe"}
	})
	e, _ := newPages(t, fixtureRuntime(t, checkout("return001"), paid, processing))
	const stripeParams = "&payment_intent=pi_1Abc&payment_intent_client_secret=pi_1Abc_secret_Xyz"

	t.Run("ChecksTheOutcomeInsteadOfShowingTheForm", func(t *testing.T) {
		rec, doc := get(t, e, "/checkout/return001?transaction=txn_test0042"+stripeParams+"&redirect_status=succeeded")
		require.Equal(t, http.StatusOK, rec.Code)
		root := doc.Find("#checkout")
		require.Equal(t, "txn_test0042", root.AttrOr("data-return-txn", ""))
		_, hint := root.Attr("data-return-status")
		require.False(t, hint, "a redirect's success is never trusted: only the status API says paid")
		require.False(t, hidden(doc, "#checking"))
		require.True(t, hidden(doc, "#pay-form"))
		require.Equal(t, "Checking your payment…", text(doc.Find("#checking-h")))
		require.Equal(t, "-1", doc.Find("#checking-h").AttrOr("tabindex", ""), "the script moves focus there")
		_, verified := root.Attr("data-return-verified")
		require.False(t, verified, "only an id from the address: the script checks it belongs here")
	})

	t.Run("PassesOnAFailedRedirect", func(t *testing.T) {
		_, doc := get(t, e, "/checkout/return001?transaction=txn_test0042"+stripeParams+"&redirect_status=failed")
		require.Equal(t, "failed", doc.Find("#checkout").AttrOr("data-return-status", ""))
	})

	t.Run("LanguageLinksLeaveStripesParametersOut", func(t *testing.T) {
		_, doc := get(t, e, "/checkout/return001?transaction=txn_test0042"+stripeParams+"&redirect_status=failed")
		href := langKeep(doc)
		require.Contains(t, href, "transaction=txn_test0042", "switching the language keeps checking")
		require.NotContains(t, href, "payment_intent")
		require.NotContains(t, href, "redirect_status")
	})

	t.Run("IgnoresAMalformedTransaction", func(t *testing.T) {
		_, doc := get(t, e, `/checkout/return001?transaction=%3Cscript%3E`)
		_, has := doc.Find("#checkout").Attr("data-return-txn")
		require.False(t, has)
		require.False(t, hidden(doc, "#pay-form"))
	})

	t.Run("PaidBeforeTheBuyerIsBackStillConfirmsAndReturns", func(t *testing.T) {
		// The webhook was quicker than the buyer: the page confirms and takes them to the shop.
		rec, doc := get(t, e, "/checkout/paidcard1?transaction=txn_9"+stripeParams+"&redirect_status=succeeded")
		require.Equal(t, http.StatusOK, rec.Code)
		require.Equal(t, "txn_9", doc.Find("#checkout").AttrOr("data-return-txn", ""))
		require.Equal(t, "true", doc.Find("#checkout").AttrOr("data-return-verified", ""), "the checkout's own attempt")
		require.Contains(t, rec.Header().Get("Content-Security-Policy"), "script-src 'self'")
		// Another transaction, or none: the "already paid" page.
		for _, q := range []string{"", "?transaction=txn_8"} {
			_, doc = get(t, e, "/checkout/paidcard1"+q)
			require.Equal(t, "This order is already paid", text(doc.Find("h1")), q)
		}
	})

	t.Run("AReloadWhileTheCardPaymentIsProcessingChecksIt", func(t *testing.T) {
		_, doc := get(t, e, "/checkout/procard01")
		require.Equal(t, "txn_7", doc.Find("#checkout").AttrOr("data-return-txn", ""))
		require.Equal(t, "true", doc.Find("#checkout").AttrOr("data-return-verified", ""))
		require.True(t, hidden(doc, "#pay-form"), "no second payment while the first is on its way")
	})
}

// fixtureRuntime is a fake runtime API serving the given checkouts.
func fixtureRuntime(t testing.TB, checkouts ...runtimeapi.Checkout) *hostedpagetest.Runtime {
	t.Helper()
	rt := hostedpagetest.NewRuntime(t)
	for _, c := range checkouts {
		rt.AddCheckout(c, "https://shop.example.com/thanks?txn={transactionId}")
	}
	return rt
}

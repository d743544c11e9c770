package hostedpage_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/stripemock/standin"
)

// newCardEnv is a browserEnv whose page loads Stripe.js from stripeJS (the stand-in's when
// empty) and whose fake runtime gives Stripe providers PaymentIntents that the stand-in settles.
func newCardEnv(t *testing.T, stripeJS string, checkouts ...runtimeapi.Checkout) (*browserEnv, *standin.Server) {
	t.Helper()
	env := &browserEnv{rt: hostedpagetest.NewRuntime(t)}
	js := standin.Start(t, env.rt, standin.Options{})
	if stripeJS == "" {
		stripeJS = js.ScriptURL()
	}
	env.merchant = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>Shop</title><h1>Thanks for your order</h1>")
	}))
	t.Cleanup(env.merchant.Close)
	for _, c := range checkouts {
		c.Site.LogoURL = ""
		c.DefaultProviderID = "prov_card"
		env.rt.AddCheckout(c, env.merchant.URL+"/thanks?txn={transactionId}")
	}
	e, _ := newPages(t, env.rt, func(o *hostedpage.Options) { o.StripeJSURL = stripeJS })
	env.pages = httptest.NewServer(e)
	t.Cleanup(env.pages.Close)
	env.rt.PagesURL = env.pages.URL
	return env, js
}

func TestBrowserCardPaymentInGerman(t *testing.T) {
	env, js := newCardEnv(t, "", checkout("karte00001"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/karte00001?lang=de"))
	b.WaitVisible("#pay-form")
	b.TabTo("#pay-btn", 20)
	b.Press(browsertest.Enter)
	hostedpagetest.WaitCardForm(t, b)
	b.WaitLive("Das Kartenformular ist bereit.")
	require.True(t, b.FocusedMatches("#card-h"))
	require.Equal(t, "142,80\u00a0€ bezahlen", b.Text("#card-pay-btn"), "the authoritative amount, formatted for German")
	b.Screenshot(t, "hosted-card-de")

	hostedpagetest.TypeCard(t, b, hostedpagetest.Card{Number: standin.CardSucceeds, Expiry: "0330", CVC: "123"})
	b.Press(browsertest.Tab)
	require.Equal(t, "#card-pay-btn", b.Focused(), "the pay button follows the card form")
	b.Press(browsertest.Enter)
	b.WaitVisible("#paid")
	b.WaitLive("Zahlung erhalten")
	id := env.rt.Transactions()[0].TransactionID
	b.WaitURL("/thanks?txn=" + id)

	sessions := js.Sessions()
	require.Len(t, sessions, 1)
	require.Equal(t, hostedpagetest.PublishableKey, sessions[0].PublishableKey)
	require.Equal(t, "de", sessions[0].Locale, "Stripe's texts follow the page's language")
	require.Equal(t, hostedpage.ThemeFor("#0b5cad").Link, sessions[0].ColorPrimary)
	c := js.Confirmations()
	require.Len(t, c, 1)
	require.Equal(t, env.url("/checkout/karte00001?transaction="+id), c[0].ReturnURL)
	require.Equal(t, "Erika Mustermann", c[0].BillingDetails.Name, "the billing details go to Stripe")
	require.Equal(t, "10115", c[0].BillingDetails.PostalCode)
	// Our servers got billing details only.
	for _, call := range env.rt.Calls("/api/v1/") {
		require.NotContains(t, call.Body, standin.CardSucceeds)
		require.NotContains(t, call.Body, "cvc")
	}
	require.NotEmpty(t, env.rt.Calls("/api/v1/transactions/"+id+"/status"), "the outcome came from the status API")
	noPageErrors(t, b)
}

// TestBrowserCardFormUnavailable: when Stripe.js cannot be loaded the buyer is told and stays
// on the form; paying again loads it once it is back.
func TestBrowserCardFormUnavailable(t *testing.T) {
	// A proxy in front of the stand-in that refuses Stripe.js while "down".
	var down atomic.Bool
	down.Store(true)
	var target *url.URL
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v3" && down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	env, js := newCardEnv(t, proxy.URL+"/v3", checkout("nojs000001"))
	target, _ = url.Parse(js.URL)

	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/nojs000001"))
	b.Click("#pay-btn")
	b.WaitVisible("#pay-error")
	require.Contains(t, b.Text("#pay-error"), "The card form could not be loaded")
	require.False(t, b.Visible("#error-summary"), "not a mistake in the buyer's details")
	require.True(t, b.Visible("#pay-form"), "the buyer can try again or choose another method")
	require.False(t, b.Visible("#card"))

	down.Store(false)
	b.Click("#pay-btn")
	hostedpagetest.WaitCardForm(t, b)
	require.False(t, b.Visible("#pay-error"))
	// Back to the form: another method is one step away.
	b.Click("#card-back")
	b.WaitVisible("#pay-form")
	require.True(t, b.FocusedMatches("input[name=providerId]:checked"))
	require.False(t, b.Exists("#payment-element iframe"), "the card form is gone")
	noPageErrors(t, b, "status of 503")
}

func TestBrowserCardStepFitsA320PixelScreen(t *testing.T) {
	env, _ := newCardEnv(t, "", checkout("karte00320"))
	b := browsertest.New(t)
	b.SetViewport(320, 640)
	b.Navigate(env.url("/checkout/karte00320?lang=pl"))
	b.Click("#pay-btn")
	hostedpagetest.WaitCardForm(t, b)
	var widths []int
	b.Eval(`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`, &widths)
	require.LessOrEqual(t, widths[0], widths[1], "the card step scrolls sideways at 320px")
	require.True(t, strings.HasPrefix(b.Text("#card-pay-btn"), "Zapłać"))
	b.Screenshot(t, "hosted-card-320-pl", 320)
	noPageErrors(t, b)
}

// createCardAttempt starts a card payment on a checkout through the runtime API, as a page does.
func createCardAttempt(t *testing.T, env *browserEnv, session string) string {
	t.Helper()
	res, err := http.Post(env.rt.URL()+"/api/v1/transactions/create", "application/json", strings.NewReader(
		`{"sessionPublicId":"`+session+`","providerId":"prov_card","billingAddress":{"name":"Eve","email":"eve@example.com","country":"DE"}}`))
	require.NoError(t, err)
	var out runtimeapi.CreateTransactionResponse
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	res.Body.Close()
	require.Equal(t, "stripe", out.Next.Type)
	return out.TransactionID
}

// TestBrowserReturnIsBelievedOnlyForThisCheckout: a link to a checkout's page with another
// checkout's paid transaction (anyone can write one) must not show "paid" nor send the buyer to
// that transaction's return URL.
func TestBrowserReturnIsBelievedOnlyForThisCheckout(t *testing.T) {
	env, _ := newCardEnv(t, "", checkout("victim0001"), checkout("other00001"))
	theirs := createCardAttempt(t, env, "cs_other00001")
	env.rt.MarkPaid(theirs)

	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/victim0001?transaction=" + theirs + "&redirect_status=succeeded"))
	b.WaitVisible("#pay-form")
	require.False(t, b.Visible("#paid"))
	require.False(t, b.Visible("#checking"))
	require.NotContains(t, b.URL(), "transaction=", "the address no longer carries it")
	require.Contains(t, b.URL(), "/checkout/victim0001")
	noPageErrors(t, b)
}

// TestBrowserPaidReturnInAFreshTab: back from the provider in a tab that did not start the
// payment (a bank app opened the link) after the payment was recorded: the server knows the
// attempt is the checkout's, so the page confirms it and returns to the shop.
func TestBrowserPaidReturnInAFreshTab(t *testing.T) {
	env, _ := newCardEnv(t, "", checkout("freshtab01"))
	id := createCardAttempt(t, env, "cs_freshtab01")
	env.rt.MarkPaid(id)

	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/freshtab01?transaction=" + id + "&redirect_status=succeeded"))
	b.WaitVisible("#paid")
	b.WaitURL("/thanks?txn=" + id)
	noPageErrors(t, b)
}

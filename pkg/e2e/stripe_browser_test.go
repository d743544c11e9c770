package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/hostedpage"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/stripemock"
	"paygate.dev/pkg/stripemock/standin"
	"paygate.dev/pkg/tenancy"
)

// The buyer's card details; each must never reach our servers.
const (
	cardExpiry = "1234" // typed as digits, shown as "12 / 34"
	cardCVC    = "737"
	brandColor = "#ffb000" // light: white text fails on it, so links and the Payment Element get a darker shade
)

// cardWorld is the real platform whose tenant's site offers Stripe (stripe-mock behind the
// overlay) by default, with the main frontend loading a stand-in for Stripe.js that records what
// the buyer does at "Stripe" in the overlay, a shop to return to and its IPN endpoint.
type cardWorld struct {
	*stripeWorld
	js   *standin.Server
	shop *httptest.Server
	ipn  *ipnLog
}

// ipnLog is a shop's IPN endpoint that accepts every notification and keeps it. (wooMerchant
// wants eventVersion to grow across all notifications; the contract has it grow per
// transaction, so it refuses the notifications of a checkout's second attempt.)
type ipnLog struct {
	mu  sync.Mutex
	got []map[string]any
	srv *httptest.Server
}

func newIPNLog(t *testing.T) *ipnLog {
	l := &ipnLog{}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if json.NewDecoder(r.Body).Decode(&body) != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		l.mu.Lock()
		l.got = append(l.got, body)
		l.mu.Unlock()
	}))
	t.Cleanup(l.srv.Close)
	return l
}

// paid lists the transactions the shop was told are paid (status 1), in order.
func (l *ipnLog) paid() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, b := range l.got {
		if b["status"] == float64(domain.IPNSucceeded) {
			out = append(out, b["id"].(string))
		}
	}
	return out
}

func newCardWorld(t *testing.T, s *store.Store) *cardWorld {
	t.Helper()
	ov := stripemock.StartOverlay(t)
	js := standin.Start(t, ov, standin.Options{})
	env := apptest.Start(t, s, apptest.Options{Workers: true, StripeAPIURL: ov.URL,
		MainBackend: func(c *config.MainBackend) { c.IPNBackoff = func(int) time.Duration { return 200 * time.Millisecond } },
		Frontend:    func(c *config.MainFrontend) { c.StripeJSURL = js.ScriptURL() }})
	tn := env.NewTenant(t)
	name := "Cards"
	p, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "stripe", Mode: "test", Name: &name,
		Settings:    map[string]string{"publishableKey": "pk_test_paygate"},
		Credentials: map[string]string{"secretKey": "sk_test_51PaygateE2Etest0123456789", "webhookSecret": stripeHookSecret}})
	require.NoError(t, err)
	ids, color := []string{p.ID, tn.Provider.ID}, brandColor
	_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &p.ID, PrimaryColor: &color})
	require.NoError(t, err)
	return &cardWorld{stripeWorld: &stripeWorld{env: env, tn: tn, stripe: ov, provider: p}, js: js, shop: merchant(t), ipn: newIPNLog(t)}
}

// checkout creates a checkout as a shop plugin does, returning to the shop with the transaction id.
func (w *cardWorld) checkout(t *testing.T) map[string]any {
	t.Helper()
	res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/v1/checkouts/"+w.tn.Site.ID+"/create", w.tn.TestKey, map[string]any{
		"amount": 11900, "currency": "EUR", "email": "jane.doe@example.com", "externalReference": "card-" + domain.RandomString(6),
		"returnUrl": w.shop.URL + "/thanks?tx={transactionId}", "cancelUrl": w.shop.URL + "/cart", "ipnUrl": w.ipn.srv.URL + "/ipn",
		"billingAddress": map[string]any{"firstName": "Jane", "lastName": "Doe", "address1": "Hauptstr. 1", "city": "Berlin", "postcode": "10115", "country": "DE"},
		"items":          []map[string]any{{"name": "Winter jacket", "quantity": 1, "unitPrice": 11900, "itemType": "physical"}},
	})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON(t)
}

func (w *cardWorld) transactions(t *testing.T, co map[string]any) []domain.Transaction {
	t.Helper()
	txns, err := w.env.Store.ListCheckoutTransactions(ctx, w.tn.Org.ID, co["id"].(string))
	require.NoError(t, err)
	return txns
}

func (w *cardWorld) statuses(t *testing.T, co map[string]any) []domain.TransactionStatus {
	t.Helper()
	var out []domain.TransactionStatus
	for _, x := range w.transactions(t, co) {
		out = append(out, x.Status)
	}
	return out
}

// sentRequest is one request the tab sent (the page or one of its frames).
type sentRequest struct {
	Method, URL, Body string
	BodyMissing       bool // the browser had a body but did not report it
}

// requestLog records every request the browser tab sends, with its body, from the moment it is
// created: what left the buyer's browser for which origin.
type requestLog struct {
	mu   sync.Mutex
	list []sentRequest
}

func recordRequests(t *testing.T, b *browsertest.Browser) *requestLog {
	t.Helper()
	l := &requestLog{}
	require.NoError(t, chromedp.Listen(b.Context(), func(ev any) {
		e, ok := ev.(*network.EventRequestWillBeSent)
		if !ok || e.Request == nil {
			return
		}
		var body []byte
		for _, p := range e.Request.PostDataEntries {
			body = append(body, p.Bytes...)
		}
		l.mu.Lock()
		l.list = append(l.list, sentRequest{Method: e.Request.Method, URL: e.Request.URL, Body: string(body), BodyMissing: e.Request.HasPostData && len(body) == 0})
		l.mu.Unlock()
	}))
	return l
}

// to lists the requests sent to one of the origins.
func (l *requestLog) to(origins ...string) []sentRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sentRequest
	for _, r := range l.list {
		u, err := url.Parse(r.URL)
		if err != nil {
			continue
		}
		for _, o := range origins {
			if u.Scheme+"://"+u.Host == o {
				out = append(out, r)
			}
		}
	}
	return out
}

// buyerKeys are every JSON key the page may send our servers: the checkout (its session id and
// short code), the provider and billing details (API-CONTRACT.md section 5). Nothing about a card.
var buyerKeys = map[string]bool{"sessionPublicId": true, "shortCode": true, "providerId": true, "billingAddress": true, "name": true, "email": true,
	"company": true, "line1": true, "city": true, "postalCode": true, "country": true, "vatId": true,
	"language": true} // the page's language, which the buyer's receipt speaks

// requireNoCardData checks every request the tab sent to our origins (the main frontend and
// backend): no card number (in any grouping) in its URL or body, bodies made only of billing
// details, and no value that is the expiry or security code. It also checks that the record
// is not empty: the payment's creation, with the buyer's details, is in it.
func requireNoCardData(t *testing.T, w *cardWorld, l *requestLog, cards ...string) {
	t.Helper()
	ours := l.to(w.env.FrontendURL, w.env.MainURL)
	created, typed := 0, 0
	for _, r := range ours {
		require.False(t, r.BodyMissing, "the browser did not report the body of %s %s", r.Method, r.URL)
		for _, c := range cards {
			for _, form := range []string{c, c[:4] + " " + c[4:8] + " " + c[8:12] + " " + c[12:], c[:4] + "+" + c[4:8], c[len(c)-8:]} {
				require.NotContains(t, r.URL+" "+r.Body, form, "%s %s carries card data", r.Method, r.URL)
			}
		}
		if r.Body == "" {
			continue
		}
		var v any
		require.NoError(t, json.Unmarshal([]byte(r.Body), &v), "%s %s: a JSON body", r.Method, r.URL)
		var walk func(any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, e := range x {
					require.True(t, buyerKeys[k], "%s %s sends %q, which is not a billing detail", r.Method, r.URL, k)
					walk(e)
				}
			case string:
				require.NotContains(t, []string{cardCVC, cardExpiry, "12 / 34", "12/34"}, strings.TrimSpace(x), "%s %s", r.Method, r.URL)
			}
		}
		walk(v)
		if strings.HasSuffix(r.URL, "/api/v1/transactions/create") {
			created++
			if strings.Contains(r.Body, `"name":"Jane Card"`) {
				typed++
			}
		}
	}
	require.Positive(t, created, "the record has the payment's creation")
	require.Positive(t, typed, "the record has the billing details the buyer typed")
}

// requireCleanConsole fails on console errors and warnings, above all Content-Security-Policy
// violations; messages containing one of allowed (a status the test provoked) are let through.
func requireCleanConsole(t *testing.T, b *browsertest.Browser, allowed ...string) {
	t.Helper()
	var bad []string
	for _, e := range b.Errors() {
		require.NotContains(t, e, "Content Security Policy", "a CSP violation")
		ok := false
		for _, a := range allowed {
			ok = ok || strings.Contains(e, a)
		}
		if !ok {
			bad = append(bad, e)
		}
	}
	require.Empty(t, bad, "console errors")
}

var jane = hostedpagetest.Buyer{Name: "Jane Card", Email: "jane.card@example.com", Line1: "Hauptstr. 1", PostalCode: "10115", City: "Berlin", Country: "DE"}

// fillBilling types Jane's details and waits for the tax preview they cause, so that its
// announcement does not overwrite the ones a test waits for.
func fillBilling(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	hostedpagetest.FillBilling(t, b, jane)
	b.WaitLive("Total updated: €119.00")
}

func card(number string) hostedpagetest.Card {
	return hostedpagetest.Card{Number: number, Expiry: cardExpiry, CVC: cardCVC}
}

func TestBrowserStripeCardPaysAndReturnsToTheShop(t *testing.T) {
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		w := newCardWorld(t, s)
		co := w.checkout(t)
		b := browsertest.New(t)
		sent := recordRequests(t, b)
		b.Navigate(co["paymentUrl"].(string))
		b.WaitVisible("#pay-form")
		require.Equal(t, w.provider.ID, b.Value("input[name=providerId]:checked"), "the site's default method")
		require.False(t, b.Exists("script[src*='/v3']"), "no Stripe.js before the buyer pays by card")
		fillBilling(t, b)

		hostedpagetest.StartCardPayment(t, b, w.provider.ID)
		b.WaitLive("The card form is ready")
		require.True(t, b.FocusedMatches("#card-h"), "focus moves to the card step")
		require.Equal(t, "€119.00", b.Text("[data-card-amount]"))
		require.Equal(t, "Pay €119.00", b.Text("#card-pay-btn"))
		require.Equal(t, "Secure payment input frame", b.Attr("#payment-element iframe", "title"))
		require.Equal(t, "card-h", b.Attr("#payment-element", "aria-labelledby"))
		b.Screenshot(t, "e2e-stripe-card-form")

		// Keyboard: number, expiry, code in the card form, then Tab leaves it for the pay button.
		hostedpagetest.TypeCard(t, b, card(standin.CardSucceeds))
		b.Press(browsertest.Tab)
		require.Equal(t, "#card-pay-btn", b.Focused())
		b.Press(browsertest.Enter)
		b.WaitVisible("#paid")
		b.WaitLive("Payment received")
		b.Screenshot(t, "e2e-stripe-paid")

		txns := w.transactions(t, co)
		require.Len(t, txns, 1)
		id := txns[0].ID
		require.Equal(t, domain.TxnSucceeded, txns[0].Status, "the page's status call asked Stripe")
		landed := hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?tx="+id)
		require.Equal(t, w.shop.URL+"/thanks?tx="+id, landed)

		// What the stand-in was called with: the calls Stripe.js gets from the page.
		sessions := w.js.Sessions()
		require.Len(t, sessions, 1)
		require.Equal(t, "pk_test_paygate", sessions[0].PublishableKey)
		require.Equal(t, *txns[0].ProviderReference, sessions[0].PaymentIntent)
		require.Equal(t, hostedpage.ThemeFor(brandColor).Link, sessions[0].ColorPrimary, "the brand colour, readable on white")
		require.Equal(t, "en", sessions[0].Locale)
		confirmed := w.js.Confirmations()
		require.Len(t, confirmed, 1)
		c := confirmed[0]
		require.Equal(t, "succeeded", c.Outcome)
		require.Equal(t, standin.CardSucceeds, c.Card, "the card went to Stripe")
		require.Equal(t, co["paymentUrl"].(string)+"?transaction="+id, c.ReturnURL)
		require.Equal(t, "if_required", c.Redirect)
		require.Equal(t, standin.BillingDetails{Name: "Jane Card", Email: "jane.card@example.com", Line1: "Hauptstr. 1", City: "Berlin",
			PostalCode: "10115", Country: "DE"}, c.BillingDetails)

		require.Eventually(t, func() bool { return len(w.ipn.paid()) == 1 }, 10*time.Second, 20*time.Millisecond, "the shop is told once")
		require.Equal(t, []string{id}, w.ipn.paid())
		requireNoCardData(t, w, sent, standin.CardSucceeds)
		requireCleanConsole(t, b)
	})
}

func TestBrowserStripeDeclinedCardThenAnotherCard(t *testing.T) {
	w := newCardWorld(t, storetest.Own(t, store.SQLite))
	co := w.checkout(t)
	b := browsertest.New(t)
	sent := recordRequests(t, b)
	b.Navigate(co["paymentUrl"].(string))
	fillBilling(t, b)
	hostedpagetest.StartCardPayment(t, b, w.provider.ID)

	hostedpagetest.PayByCard(t, b, card(standin.CardDeclined))
	b.WaitLive(standin.DeclinedMessage)
	require.Equal(t, "alert", b.Attr("#card-error", "role"), "announced at once")
	require.Contains(t, b.Text("#card-error"), "You can try again with this or another card")
	// The failed attempt is recorded and a new one is ready: a fresh card form for a new PaymentIntent.
	require.Eventually(t, func() bool { return len(w.js.Sessions()) == 2 }, 10*time.Second, 20*time.Millisecond, "a new card form")
	hostedpagetest.WaitCardForm(t, b)
	require.Equal(t, []domain.TransactionStatus{domain.TxnFailed, domain.TxnInitiated}, w.statuses(t, co))
	first := w.transactions(t, co)[0]
	require.Equal(t, standin.DeclinedMessage, first.FailureMessage)
	require.True(t, b.Visible("#card-error"), "the message stays while the buyer tries again")
	b.Screenshot(t, "e2e-stripe-declined")

	hostedpagetest.PayByCard(t, b, card(standin.CardSucceeds))
	b.WaitVisible("#paid")
	require.False(t, b.Visible("#card-error"))
	txns := w.transactions(t, co)
	require.Equal(t, []domain.TransactionStatus{domain.TxnFailed, domain.TxnSucceeded}, w.statuses(t, co), "exactly one attempt succeeded")
	hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?tx="+txns[1].ID)

	sessions := w.js.Sessions()
	require.NotEqual(t, sessions[0].PaymentIntent, sessions[1].PaymentIntent, "the second try is a new PaymentIntent")
	require.Equal(t, *txns[1].ProviderReference, sessions[1].PaymentIntent)
	require.Eventually(t, func() bool { return len(w.ipn.paid()) == 1 }, 10*time.Second, 20*time.Millisecond, "the shop is told once")
	require.Equal(t, []string{txns[1].ID}, w.ipn.paid())
	requireNoCardData(t, w, sent, standin.CardDeclined, standin.CardSucceeds)
	// Stripe answers a declined card with HTTP 402, which the frame's console notes.
	requireCleanConsole(t, b, "status of 402")
}

func TestBrowserStripeThreeDSecure(t *testing.T) {
	w := newCardWorld(t, storetest.Own(t, store.Postgres))
	// Stripe also reports outcomes by webhook; whichever reaches the backend first, the page
	// shows the same.
	w.js.SendWebhooks(w.env.MainURL+"/hooks/stripe/"+w.provider.ID, stripeHookSecret)

	t.Run("Complete", func(t *testing.T) {
		co := w.checkout(t)
		b := browsertest.New(t)
		sent := recordRequests(t, b)
		b.Navigate(co["paymentUrl"].(string))
		fillBilling(t, b)
		hostedpagetest.StartCardPayment(t, b, w.provider.ID)
		hostedpagetest.PayByCard(t, b, card(standin.CardThreeDSecure))
		challenge := b.WaitURL(w.js.URL + "/3ds/challenge")
		b.WaitVisible("#standin-3ds-complete")
		b.Screenshot(t, "e2e-stripe-3ds-challenge")
		id := w.transactions(t, co)[0].ID
		require.Equal(t, domain.TxnInitiated, w.status(t, id), "authentication pending")

		// Back on our page before authenticating (another tab, the back button): it checks,
		// and keeps checking, without trusting anything in the address.
		b.Navigate(co["paymentUrl"].(string) + "?transaction=" + id + "&redirect_status=succeeded")
		b.WaitVisible("#checking")
		b.WaitLive("Checking your payment")
		require.True(t, b.FocusedMatches("#checking-h"))
		require.False(t, b.Visible("#pay-form"))
		b.Screenshot(t, "e2e-stripe-checking")

		b.Navigate(challenge)
		b.Click("#standin-3ds-complete")
		b.WaitVisible("#paid") // back on our page, which checked with the status API
		require.NotContains(t, b.URL(), "payment_intent_client_secret", "the page drops Stripe's parameters from the address")
		landed := hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?tx="+id)
		require.Equal(t, w.shop.URL+"/thanks?tx="+id, landed)
		w.waitStatus(t, id, domain.TxnSucceeded)
		require.Equal(t, 1, countEvents(t, w.env.Store, w.tn.Org.ID, id, "transaction.succeeded"), "sync and webhook applied once")

		// Landing on the page again from Stripe, now paid, still confirms and goes back to the
		// shop; without the return parameters it is the "already paid" page.
		confirmed := w.js.Confirmations()
		ret := confirmed[len(confirmed)-1].ReturnURL + "&payment_intent=pi_x&redirect_status=succeeded"
		doc := htmlPage(t, ret)
		require.Equal(t, id, doc.Find("#checkout").AttrOr("data-return-txn", ""))
		_, checkingHidden := doc.Find("#checking").Attr("hidden")
		require.False(t, checkingHidden)
		require.Equal(t, 0, doc.Find(`a[href*="payment_intent"]`).Length(), "the language links leave Stripe's parameters out")
		doc = htmlPage(t, co["paymentUrl"].(string))
		require.Equal(t, 0, doc.Find("#checkout").Length(), "the already-paid page")
		requireNoCardData(t, w, sent, standin.CardThreeDSecure)
		requireCleanConsole(t, b)
	})

	t.Run("Fail", func(t *testing.T) {
		co := w.checkout(t)
		b := browsertest.New(t)
		sent := recordRequests(t, b)
		b.Navigate(co["paymentUrl"].(string))
		fillBilling(t, b)
		hostedpagetest.StartCardPayment(t, b, w.provider.ID)
		hostedpagetest.PayByCard(t, b, card(standin.CardThreeDSecure))
		b.WaitURL(w.js.URL + "/3ds/challenge")
		b.Click("#standin-3ds-fail")

		b.WaitVisible("#error-summary")
		require.Contains(t, b.Text("#error-summary"), standin.AuthenticationMessage)
		require.True(t, b.FocusedMatches("#error-summary"))
		require.True(t, b.Visible("#pay-form"), "the buyer can pay again")
		require.False(t, b.Visible("#checking"))
		require.NotContains(t, b.URL(), "transaction=", "a reload starts afresh")
		b.Screenshot(t, "e2e-stripe-3ds-failed")
		require.Equal(t, []domain.TransactionStatus{domain.TxnFailed}, w.statuses(t, co))

		// Paying again is a new attempt.
		b.Click("#pay-btn")
		hostedpagetest.WaitCardForm(t, b)
		require.Equal(t, []domain.TransactionStatus{domain.TxnFailed, domain.TxnInitiated}, w.statuses(t, co))
		requireNoCardData(t, w, sent, standin.CardThreeDSecure)
		requireCleanConsole(t, b)
	})
}

// htmlPage fetches a page of the main frontend and parses it.
func htmlPage(t *testing.T, u string) *goquery.Document {
	t.Helper()
	res := apptest.Do(t, http.MethodGet, u, "", nil)
	require.Equal(t, http.StatusOK, res.Status, u)
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(res.Body)))
	require.NoError(t, err)
	return doc
}

package standin_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"

	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/stripemock"
	"paygate.dev/pkg/stripemock/standin"
)

// intents is an in-memory standin.PaymentIntents.
type intents struct {
	mu  sync.Mutex
	pis map[string]stripemock.PaymentIntent
	err map[string]stripemock.PaymentError
}

func newIntents(ids ...string) *intents {
	in := &intents{pis: map[string]stripemock.PaymentIntent{}, err: map[string]stripemock.PaymentError{}}
	for _, id := range ids {
		in.pis[id] = stripemock.PaymentIntent{ID: id, ClientSecret: stripemock.ClientSecret(id), Amount: 4200, Currency: "eur", Status: "requires_payment_method"}
	}
	return in
}

func (in *intents) PaymentIntent(id string) (stripemock.PaymentIntent, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	pi, ok := in.pis[id]
	return pi, ok
}

func (in *intents) SetPaymentIntent(id, status, _ string, _ int64, _ string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	pi := in.pis[id]
	pi.Status = status
	in.pis[id] = pi
}

func (in *intents) FailPaymentIntent(id string, e stripemock.PaymentError) {
	in.mu.Lock()
	defer in.mu.Unlock()
	pi := in.pis[id]
	pi.Status = "requires_payment_method"
	in.pis[id] = pi
	in.err[id] = e
}

func (in *intents) status(id string) string {
	pi, _ := in.PaymentIntent(id)
	return pi.Status
}

// misuses collects what the stand-in reports instead of failing the test.
type misuses struct {
	mu   sync.Mutex
	list []string
}

func (m *misuses) fail(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = append(m.list, fmt.Sprintf(format, args...))
}

func (m *misuses) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.list)
}

func (m *misuses) last() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.list) == 0 {
		return ""
	}
	return m.list[len(m.list)-1]
}

// confirm posts what the card form posts.
func confirm(t *testing.T, s *standin.Server, pi, key, secret, card, returnURL string) (*http.Response, string) {
	t.Helper()
	f := url.Values{"key": {key}, "client_secret": {secret}, "return_url": {returnURL}, "redirect": {"if_required"},
		"card[number]": {card}, "card[exp]": {"12/34"}, "card[cvc]": {"123"}, "billing_details[name]": {"Jane"}}
	res, err := http.PostForm(s.URL+"/v1/payment_intents/"+pi+"/confirm", f)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}

func TestAPI(t *testing.T) {
	in := newIntents("pi_1", "pi_2", "pi_3", "pi_4")
	var m misuses
	hooks := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), "whsec_standin", webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hooks <- string(ev.Type) + " " + ev.Data.Object["id"].(string)
	}))
	defer hook.Close()
	s := standin.Start(t, in, standin.Options{Fail: m.fail, WebhookURL: hook.URL, WebhookSecret: "whsec_standin"})
	ret := "https://pay.example.com/checkout/abc?transaction=txn_1"

	t.Run("RefusesWhatStripeRefuses", func(t *testing.T) {
		for _, tc := range []struct{ name, key, secret, ret, want string }{
			{"SecretKey", "sk_test_123", stripemock.ClientSecret("pi_1"), ret, "invalid publishable key"},
			{"MalformedSecret", "pk_test_123", "pi_1", ret, "invalid client secret"},
			{"AnotherPaymentIntentsSecret", "pk_test_123", stripemock.ClientSecret("pi_2"), ret, "not the one of pi_1"},
			{"UnknownPaymentIntent", "pk_test_123", stripemock.ClientSecret("pi_9"), ret, "no PaymentIntent has"},
			{"RelativeReturnURL", "pk_test_123", stripemock.ClientSecret("pi_1"), "/checkout/abc", "return_url must be an absolute"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n := m.count()
				res, _ := confirm(t, s, "pi_1", tc.key, tc.secret, standin.CardSucceeds, tc.ret)
				require.Equal(t, http.StatusBadRequest, res.StatusCode)
				require.Equal(t, n+1, m.count(), "a misuse fails the test")
				require.Contains(t, m.last(), tc.want)
			})
		}
		require.Equal(t, "requires_payment_method", in.status("pi_1"), "nothing was paid")
	})

	t.Run("SucceedsWith4242", func(t *testing.T) {
		res, body := confirm(t, s, "pi_1", "pk_test_123", stripemock.ClientSecret("pi_1"), standin.CardSucceeds, ret)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		require.Contains(t, body, `"status":"succeeded"`)
		require.Equal(t, "succeeded", in.status("pi_1"))
		require.Equal(t, "payment_intent.succeeded pi_1", next(t, hooks))
		// Once paid, a second confirmation is Stripe's unexpected-state error, not a misuse.
		n := m.count()
		res, body = confirm(t, s, "pi_1", "pk_test_123", stripemock.ClientSecret("pi_1"), standin.CardSucceeds, ret)
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		require.Contains(t, body, "payment_intent_unexpected_state")
		require.Equal(t, n, m.count())
	})

	t.Run("DeclinesWith0002", func(t *testing.T) {
		res, body := confirm(t, s, "pi_2", "pk_test_123", stripemock.ClientSecret("pi_2"), standin.CardDeclined, ret)
		require.Equal(t, http.StatusPaymentRequired, res.StatusCode)
		require.Contains(t, body, standin.DeclinedMessage)
		require.Contains(t, body, `"type":"card_error"`)
		require.Equal(t, "requires_payment_method", in.status("pi_2"))
		require.Equal(t, "card_declined", in.err["pi_2"].Code)
		require.Equal(t, "payment_intent.payment_failed pi_2", next(t, hooks))
	})

	t.Run("ThreeDSecureWith3184", func(t *testing.T) {
		for _, tc := range []struct{ pi, outcome, status, redirect string }{
			{"pi_3", "complete", "succeeded", "succeeded"},
			{"pi_4", "fail", "requires_payment_method", "failed"},
		} {
			res, body := confirm(t, s, tc.pi, "pk_test_123", stripemock.ClientSecret(tc.pi), standin.CardThreeDSecure, ret)
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			require.Contains(t, body, `"status":"requires_action"`)
			require.Contains(t, body, s.URL+"/3ds/challenge?payment_intent="+tc.pi)
			require.Equal(t, "requires_action", in.status(tc.pi))

			page, err := http.Get(s.URL + "/3ds/challenge?payment_intent=" + tc.pi)
			require.NoError(t, err)
			html, _ := io.ReadAll(page.Body)
			page.Body.Close()
			require.Contains(t, string(html), "EUR 42.00")
			require.Contains(t, string(html), `id="standin-3ds-complete"`)

			noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			done, err := noFollow.PostForm(s.URL+"/3ds/complete", url.Values{"payment_intent": {tc.pi}, "outcome": {tc.outcome}})
			require.NoError(t, err)
			done.Body.Close()
			require.Equal(t, http.StatusSeeOther, done.StatusCode)
			back, err := url.Parse(done.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, "pay.example.com", back.Host)
			q := back.Query()
			require.Equal(t, "txn_1", q.Get("transaction"), "the return URL's own parameters stay")
			require.Equal(t, tc.pi, q.Get("payment_intent"))
			require.Equal(t, stripemock.ClientSecret(tc.pi), q.Get("payment_intent_client_secret"))
			require.Equal(t, tc.redirect, q.Get("redirect_status"))
			require.Equal(t, tc.status, in.status(tc.pi))
			require.Contains(t, next(t, hooks), tc.pi)
		}
		require.Equal(t, "payment_intent_authentication_failure", in.err["pi_4"].Code)
		require.Equal(t, standin.AuthenticationMessage, in.err["pi_4"].Message)
	})

	confirmed := s.Confirmations()
	require.NotEmpty(t, confirmed)
	require.Equal(t, "Jane", confirmed[len(confirmed)-1].BillingDetails.Name)
}

// next is the next webhook the stand-in sent.
func next(t *testing.T, hooks chan string) string {
	t.Helper()
	select {
	case h := <-hooks:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook")
		return ""
	}
}

// TestScriptFailsLoudly calls the stand-in's Stripe.js the wrong ways from a page: each call
// throws an IntegrationError, as Stripe.js does, and is reported to the test.
func TestScriptFailsLoudly(t *testing.T) {
	in := newIntents("pi_page1")
	var m misuses
	s := standin.Start(t, in, standin.Options{Fail: m.fail})
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>t</title><div id="box"></div><script src="%s"></script>`, s.ScriptURL())
	}))
	defer page.Close()
	b := browsertest.New(t)
	b.Navigate(page.URL)
	secret := stripemock.ClientSecret("pi_page1")

	for _, tc := range []struct{ name, js, want string }{
		{"SecretKey", `Stripe("sk_live_123")`, "invalid publishable key"},
		{"NoClientSecret", `Stripe("pk_test_1").elements({})`, "invalid clientSecret"},
		{"SetupIntentSecret", `Stripe("pk_test_1").elements({clientSecret: "seti_1_secret_2"})`, "invalid clientSecret"},
		{"UnknownOption", `Stripe("pk_test_1").elements({clientSecret: S, colour: "red"})`, "unknown parameter"},
		{"BadColour", `Stripe("pk_test_1").elements({clientSecret: S, appearance: {variables: {colorPrimary: "blue"}}})`, "colorPrimary"},
		{"CardElement", `Stripe("pk_test_1").elements({clientSecret: S}).create("card")`, `"payment" Element only`},
		{"MountNowhere", `Stripe("pk_test_1").elements({clientSecret: S}).create("payment").mount("#nothing")`, "matches 0 elements"},
		{"ConfirmWithoutReturnURL", `(function(){var s=Stripe("pk_test_1"),e=s.elements({clientSecret:S});e.create("payment").mount("#box");
			return s.confirmPayment({elements:e,redirect:"if_required",confirmParams:{}})})()`, "return_url must be an absolute URL"},
		{"ConfirmWithRelativeReturnURL", `(function(){var s=Stripe("pk_test_1"),e=s.elements({clientSecret:S});e.create("payment").mount("#box");
			return s.confirmPayment({elements:e,redirect:"if_required",confirmParams:{return_url:"/back"}})})()`, "return_url must be an absolute URL"},
		{"ConfirmWithoutTheNameTheElementDoesNotAsk", `(function(){var s=Stripe("pk_test_1"),e=s.elements({clientSecret:S});
			e.create("payment",{fields:{billingDetails:{name:"never"}}}).mount("#box");
			return s.confirmPayment({elements:e,redirect:"if_required",confirmParams:{return_url:"https://x.example/back"}})})()`, "billing_details.name"},
		{"ConfirmOtherElements", `(function(){var s=Stripe("pk_test_1"),e=s.elements({clientSecret:S});e.create("payment").mount("#box");
			return Stripe("pk_test_1").confirmPayment({elements:e,redirect:"if_required",confirmParams:{return_url:"https://x.example/back"}})})()`, "another Stripe instance"},
		{"BadRedirect", `(function(){var s=Stripe("pk_test_1"),e=s.elements({clientSecret:S});e.create("payment").mount("#box");
			return s.confirmPayment({elements:e,redirect:"never",confirmParams:{return_url:"https://x.example/back"}})})()`, "redirect must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := m.count()
			var name string
			b.Eval(`(function(){document.getElementById("box").textContent="";var S=`+fmt.Sprintf("%q", secret)+`;
				try{var r=`+tc.js+`;return Promise.resolve(r).then(function(){return "no error"},function(e){return e.name})}catch(e){return e.name}})()`, &name)
			require.Equal(t, "IntegrationError", name)
			require.Eventually(t, func() bool { return m.count() > n }, 5*time.Second, 10*time.Millisecond, "reported to the test")
			require.Contains(t, m.last(), tc.want)
		})
	}

	t.Run("TheRightCallsMountAFrameOfTheStandInsOrigin", func(t *testing.T) {
		n := m.count()
		var events []string
		b.Eval(`(function(){document.getElementById("box").textContent="";
			var s=Stripe("pk_test_1"),e=s.elements({clientSecret:`+fmt.Sprintf("%q", secret)+`,locale:"de",appearance:{variables:{colorPrimary:"#123456"}}});
			var el=e.create("payment",{fields:{billingDetails:{name:"never",email:"never"}}}), seen=[];
			return new Promise(function(ok){el.on("ready",function(){seen.push("ready");ok(seen)});el.mount("#box")})})()`, &events)
		require.Equal(t, []string{"ready"}, events)
		require.True(t, strings.HasPrefix(b.Attr("#box iframe", "src"), s.URL+"/elements/payment?"))
		require.Equal(t, n, m.count(), "no misuse")
		sessions := s.Sessions()
		require.Equal(t, "#123456", sessions[len(sessions)-1].ColorPrimary)
		require.Equal(t, "de", sessions[len(sessions)-1].Locale)
	})
}

package hostedpage_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/hostedpage/hostedpagetest"
	"paygate.dev/pkg/runtimeapi"
)

// newGCEnv is a browserEnv whose fake runtime sends GoCardless attempts to its stand-in
// authorisation page, which sends the buyer back to the page.
func newGCEnv(t *testing.T, checkouts ...runtimeapi.Checkout) *browserEnv {
	t.Helper()
	env := newBrowserEnv(t, checkouts...)
	env.rt.PagesURL = env.pages.URL
	return env
}

// startGoCardless starts a GoCardless attempt on a checkout through the runtime API, as a page
// (in another tab, or on another device) does; it returns the transaction and its page at GoCardless.
func startGoCardless(t *testing.T, env *browserEnv, session string) (string, string) {
	t.Helper()
	res, err := http.Post(env.rt.URL()+"/api/v1/billing-requests/create", "application/json", strings.NewReader(
		`{"sessionPublicId":"`+session+`","providerId":"prov_gc","billingAddress":{"name":"Eve","email":"eve@example.com","country":"DE"}}`))
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var out runtimeapi.BillingRequestResponse
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return out.TransactionID, out.AuthorisationURL
}

// authorise does what #gc-pay does, without a browser.
func authorise(t *testing.T, authURL string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Post(authURL+"/pay", "", nil)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
}

func statusOf(env *browserEnv, id string) runtimeapi.TransactionStatus {
	for _, s := range env.rt.Transactions() {
		if s.TransactionID == id {
			return s
		}
	}
	return runtimeapi.TransactionStatus{}
}

func TestBrowserGoCardlessPaysAndReturnsToTheShop(t *testing.T) {
	env := newGCEnv(t, gcCheckout("gcpay0001"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/gcpay0001"))
	b.WaitVisible("#pay-form")
	require.False(t, b.Exists("script[src*=pay-gocardless]"), "the flow loads when the buyer pays with it")
	hostedpagetest.FillBilling(t, b, hostedpagetest.Buyer{Name: "Ada Lovelace", Email: "ada@example.com"})

	hostedpagetest.PayByGoCardless(t, b, gcProvider.ID)
	txns := env.rt.Transactions()
	require.Len(t, txns, 1)
	id := txns[0].TransactionID
	require.Equal(t, env.rt.GoCardlessFlowURL(id), b.URL(), "the whole tab went to GoCardless")
	calls := env.rt.Calls("/api/v1/billing-requests/create")
	require.Len(t, calls, 1)
	var sent runtimeapi.BillingRequestRequest
	require.NoError(t, json.Unmarshal([]byte(calls[0].Body), &sent))
	require.Equal(t, runtimeapi.BillingRequestRequest{SessionPublicID: "cs_gcpay0001", ShortCode: "gcpay0001", ProviderID: gcProvider.ID, BillingAddress: runtimeapi.BuyerAddress{
		Name: "Ada Lovelace", Email: "ada@example.com", Line1: "Hauptstraße 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
		Language: "en"}, sent, "the page's language goes along, for GoCardless's pages")
	require.Empty(t, env.rt.Calls("/api/v1/transactions/create"))

	hostedpagetest.AuthoriseAtGoCardless(t, b)
	b.WaitLive("Your bank payment is being processed. It usually takes 1–3 working days.")
	require.True(t, b.FocusedMatches("#gc-h"), "focus moves to the new step")
	require.False(t, b.Visible("#pay-form"))
	require.False(t, b.Visible("#checking"))
	st := statusOf(env, id)
	require.Equal(t, "pending_provider", st.Status)
	require.True(t, st.BuyerMarkedPending, "the page said the buyer finished at GoCardless")
	require.Len(t, env.rt.Calls("/api/v1/transactions/"+id+"/mark-pending"), 1)
	require.True(t, b.Visible("#gc-return-link"), "the buyer may go back to the shop meanwhile")
	require.Equal(t, env.merchant.URL+"/thanks?txn="+id, b.Attr("#gc-return-link", "href"))
	b.Screenshot(t, "hosted-gocardless-pending")

	env.rt.MarkPaid(id)
	b.WaitVisible("#paid")
	b.WaitLive("Payment received")
	require.False(t, b.Visible("#gc"))
	hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?txn="+id)
	var synced bool
	for _, c := range env.rt.Calls("/api/v1/transactions/" + id + "/status") {
		synced = synced || c.Method == http.MethodGet
	}
	require.True(t, synced, "the outcome came from the status API")
	noPageErrors(t, b)
}

func TestBrowserGoCardlessLeftThenPaysByWire(t *testing.T) {
	env := newGCEnv(t, gcCheckout("gcexit001"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/gcexit001?lang=fr"))
	hostedpagetest.PayByGoCardless(t, b, gcProvider.ID)
	id := env.rt.Transactions()[0].TransactionID

	hostedpagetest.LeaveGoCardless(t, b)
	b.WaitLive("Vous avez quitté GoCardless. Choisissez un moyen de paiement.")
	require.True(t, b.FocusedMatches("#gc-left"))
	require.Equal(t, "canceled", statusOf(env, id).Status, "the abandoned attempt is cancelled")
	require.Len(t, env.rt.Calls("/api/v1/transactions/"+id+"/cancel"), 1)
	require.Empty(t, env.rt.Calls("/api/v1/transactions/"+id+"/mark-pending"))
	require.NotContains(t, b.URL(), "transaction=", "the address no longer carries the attempt")
	require.NotContains(t, b.URL(), "gocardless=")
	require.True(t, strings.HasSuffix(b.URL(), "/checkout/gcexit001"), b.URL())
	require.Equal(t, "fr", b.Attr("html", "lang"), "the language chosen before")
	require.False(t, b.Visible("#error-summary"), "leaving is no error")
	b.Screenshot(t, "hosted-gocardless-left")

	shown := hostedpagetest.PayByWire(t, b, "prov_wire")
	require.False(t, b.Visible("#gc-left"))
	require.NotEmpty(t, shown.Reference)
	hostedpagetest.ConfirmTransferSent(t, b)
	wireID := env.rt.Transactions()[1].TransactionID
	env.rt.MarkPaid(wireID)
	hostedpagetest.WaitPaidAndReturned(t, b, "/thanks?txn="+wireID)
	noPageErrors(t, b)
}

// TestBrowserGoCardlessBackButton: the buyer presses back on GoCardless's page. Our page works as
// before (not stuck "on its way"), and paying again returns to the same attempt at GoCardless;
// whether the browser restores the page as it was left (the back-forward cache) or loads it anew.
func TestBrowserGoCardlessBackButton(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cached bool
	}{{"FromTheBackForwardCache", true}, {"LoadedAgain", false}} {
		t.Run(tc.name, func(t *testing.T) {
			code := "gcback00" + map[bool]string{true: "1", false: "2"}[tc.cached]
			env := newGCEnv(t, gcCheckout(code))
			b := browsertest.New(t)
			b.Navigate(env.url("/checkout/" + code))
			b.Eval(`window.beforeGoCardless = true`, nil)
			if !tc.cached {
				b.Eval(`window.addEventListener('unload', function () {})`, nil) // keeps the page out of the cache
			}
			hostedpagetest.PayByGoCardless(t, b, gcProvider.ID)
			first := b.URL()

			b.Eval(`history.back()`, nil)
			b.WaitFor(`location.pathname === "/checkout/`+code+`" && document.readyState === "complete"`, "our page again")
			b.WaitVisible("#pay-form")
			var restored bool
			b.Eval(`window.beforeGoCardless === true`, &restored)
			require.Equal(t, tc.cached, restored, "restored from the back-forward cache")
			b.WaitFor(`!document.getElementById('pay-btn').hasAttribute('aria-disabled')&&document.getElementById('checkout').getAttribute('aria-busy')!=='true'`,
				"the pay button to work again")
			require.False(t, b.Visible("#gc"))
			require.False(t, b.Visible("#error-summary"))
			require.Equal(t, gcProvider.ID, b.Value("input[name=providerId]:checked"))

			// (chromedp's own clicks lose track of a page restored from the cache: click from the page.)
			b.Eval(`document.getElementById('pay-btn').click()`, nil)
			hostedpagetest.WaitGoCardlessPage(t, b)
			require.Equal(t, first, b.URL(), "the same authorisation page")
			require.Len(t, env.rt.Transactions(), 1, "no second attempt")
			require.Len(t, env.rt.Calls("/api/v1/billing-requests/create"), 2)
			hostedpagetest.AuthoriseAtGoCardless(t, b)
			require.Equal(t, "pending_provider", env.rt.Transactions()[0].Status)

			// A reload keeps showing the pending step.
			b.Reload()
			hostedpagetest.WaitGoCardlessPending(t, b)
			noPageErrors(t, b)
		})
	}
}

// TestBrowserGoCardlessBackToAnAuthorisedAttempt: the buyer authorised at GoCardless, came back, and
// then went back twice in the history, to the form as it was before paying. The page shows
// that the payment is on its way rather than offering it again.
func TestBrowserGoCardlessBackToAnAuthorisedAttempt(t *testing.T) {
	env := newGCEnv(t, gcCheckout("gcback003"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/gcback003"))
	hostedpagetest.PayByGoCardless(t, b, gcProvider.ID)
	hostedpagetest.AuthoriseAtGoCardless(t, b)
	b.Eval(`history.go(-2)`, nil)
	b.WaitFor(`location.search === ""`, "the page as it was before paying")
	hostedpagetest.WaitGoCardlessPending(t, b)
	require.False(t, b.Visible("#pay-form"))
	noPageErrors(t, b)
}

// TestBrowserGoCardlessReturnIsBelievedOnlyForThisCheckout: a link to a checkout's page with
// another checkout's GoCardless attempt (anyone can write one) neither marks nor cancels it,
// and shows the form.
func TestBrowserGoCardlessReturnIsBelievedOnlyForThisCheckout(t *testing.T) {
	env := newGCEnv(t, gcCheckout("gcvict001"), gcCheckout("gcothr001"))
	theirs, authURL := startGoCardless(t, env, "cs_gcothr001")
	authorise(t, authURL)

	b := browsertest.New(t)
	for _, kind := range []string{"return", "exit"} {
		b.Navigate(env.url("/checkout/gcvict001?transaction=" + theirs + "&gocardless=" + kind))
		b.WaitFor(`!document.getElementById('pay-form').hidden&&location.search.indexOf('transaction=')<0`, "the form, without the attempt in the address")
		require.False(t, b.Visible("#gc"), kind)
		require.False(t, b.Visible("#gc-left"), kind)
		require.False(t, b.Visible("#checking"), kind)
	}
	require.Empty(t, env.rt.Calls("/api/v1/transactions/"+theirs+"/mark-pending"))
	require.Empty(t, env.rt.Calls("/api/v1/transactions/"+theirs+"/cancel"))
	require.False(t, statusOf(env, theirs).BuyerMarkedPending)
	require.Equal(t, "pending_provider", statusOf(env, theirs).Status, "authorised, not cancelled")
	noPageErrors(t, b)
}

// TestBrowserGoCardlessReturnInAFreshTab: GoCardless (or the buyer's bank app) opens the way
// back in a tab that did not start the payment. The status API says the attempt is this
// checkout's, so the page records it and shows it.
func TestBrowserGoCardlessReturnInAFreshTab(t *testing.T) {
	env := newGCEnv(t, gcCheckout("gcfresh01"))
	id, authURL := startGoCardless(t, env, "cs_gcfresh01")
	authorise(t, authURL)

	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/gcfresh01?transaction=" + id + "&gocardless=return&lang=pl"))
	hostedpagetest.WaitGoCardlessPending(t, b)
	b.WaitLive("Twoja płatność bankowa jest przetwarzana")
	require.True(t, statusOf(env, id).BuyerMarkedPending)

	t.Run("AReloadShowsItStill", func(t *testing.T) {
		b := b.WithT(t)
		b.Navigate(env.url("/checkout/gcfresh01"))
		hostedpagetest.WaitGoCardlessPending(t, b)
		require.Len(t, env.rt.Calls("/api/v1/transactions/"+id+"/mark-pending"), 1, "recorded once")
	})
	noPageErrors(t, b)
}

// TestBrowserGoCardlessPaymentFails: the bank payment fails days later while the page is open:
// the buyer reads why and can choose a method again.
func TestBrowserGoCardlessPaymentFails(t *testing.T) {
	env := newGCEnv(t, gcCheckout("gcfail001"))
	b := browsertest.New(t)
	b.Navigate(env.url("/checkout/gcfail001"))
	hostedpagetest.PayByGoCardless(t, b, gcProvider.ID)
	hostedpagetest.AuthoriseAtGoCardless(t, b)
	id := env.rt.Transactions()[0].TransactionID

	env.rt.MarkFailed(id, "The bank refused the payment.")
	b.WaitVisible("#error-summary")
	require.Contains(t, b.Text("#error-summary"), "The bank refused the payment.")
	require.True(t, b.Visible("#pay-form"), "the payment methods again")
	require.False(t, b.Visible("#gc"))
	require.NotContains(t, b.URL(), "gocardless=")
	noPageErrors(t, b)
}

package e2e

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/gcapi/gcfake"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/stripemock"
	"paygate.dev/pkg/tenancy"
)

// requireNoCode fails when the short code (or any of the buyer's personal data) appears in the
// answer's body or in any of its headers.
func requireNoCode(t *testing.T, res *apptest.Response, code string) {
	t.Helper()
	require.NotContains(t, string(res.Body), code, "the short code in the answer: %s", res.Body)
	for k, vs := range res.Header {
		for _, v := range vs {
			require.NotContains(t, v, code, "the short code in header %s", k)
		}
	}
	for _, pii := range buyerStrings {
		require.NotContains(t, string(res.Body), pii)
	}
}

// The sessionPublicId travels in every IPN; the short code opens the buyer's personal data. So
// no runtime answer to a caller holding only the sessionPublicId (or a transaction id) may carry
// the short code: not in the start endpoints' return, redirect or exit URLs, not in the URLs
// GoCardless's flow sends the payer to, not in the status, cancel, mark-pending or tax-preview
// answers. The hosted page, which sends the short code, still gets its URLs back.
func TestStartAnswersCarryNoShortCodeWithoutIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ov := stripemock.StartOverlay(t)
		gc := gcfake.New(t, gcfake.WithCreditorName("Shop Ltd"))
		env := apptest.Start(t, s, apptest.Options{StripeAPIURL: ov.URL, GoCardlessAPIURL: gc.URL()})
		tn := env.NewTenant(t)
		name := "Cards"
		card, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "stripe", Mode: "test", Name: &name,
			Settings:    map[string]string{"publishableKey": "pk_test_paygate"},
			Credentials: map[string]string{"secretKey": "sk_test_51PaygateE2Etest0123456789", "webhookSecret": stripeHookSecret}})
		require.NoError(t, err)
		bank, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, gcProviderInput("Bank payment", gc.AccessToken()))
		require.NoError(t, err)
		_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, gcSiteProviders([]string{card.ID, bank.ID, tn.Provider.ID}, card.ID))
		require.NoError(t, err)
		wireID := tn.Provider.ID

		post := func(t *testing.T, path string, body map[string]any) *apptest.Response {
			t.Helper()
			return apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1"+path, "", body)
		}
		start := func(t *testing.T, path string, co map[string]any, providerID string, withCode bool) *apptest.Response {
			t.Helper()
			body := map[string]any{"sessionPublicId": co["sessionPublicId"], "providerId": providerID, "billingAddress": map[string]any{}}
			if withCode {
				body["shortCode"] = co["shortCode"]
			}
			res := post(t, path, body)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			return res
		}
		// flowOf is the GoCardless flow an authorisation URL opens.
		flowOf := func(t *testing.T, authURL string) gcfake.BillingRequestFlow {
			t.Helper()
			require.NotEmpty(t, authURL)
			f, ok := gc.BillingRequestFlow(path.Base(authURL))
			require.True(t, ok, authURL)
			return f
		}
		// noCodeInFlow: what the payer is sent to after GoCardless's page does not name the code.
		noCodeInFlow := func(t *testing.T, authURL, code string) {
			t.Helper()
			f := flowOf(t, authURL)
			require.NotContains(t, f.RedirectURI, code)
			require.NotContains(t, f.ExitURI, code)
			exit := apptest.Do(t, http.MethodPost, authURL+"/exit", "", nil)
			require.NotContains(t, exit.Header.Get("Location"), code)
			require.NotContains(t, string(exit.Body), code)
		}
		// statusCalls are the other runtime calls a holder of the session id or transaction id makes.
		statusCalls := func(t *testing.T, co map[string]any, txnID, code string) {
			t.Helper()
			for _, res := range []*apptest.Response{
				apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/transactions/"+txnID+"/status", "", nil),
				apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/transactions/"+txnID+"/status?sync=1", "", nil),
				apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+co["sessionPublicId"].(string), "", nil),
				post(t, "/checkouts/"+co["sessionPublicId"].(string)+"/tax-preview", map[string]any{"billingAddress": map[string]any{"country": "DE"}}),
			} {
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				requireNoCode(t, res, code)
			}
		}

		t.Run("StripeBySession", func(t *testing.T) {
			co := privateCheckout(t, env, tn)
			code := co["shortCode"].(string)
			for range 2 { // the start, then its resume
				res := start(t, "/transactions/create", co, card.ID, false)
				requireNoCode(t, res, code)
				st := res.JSON(t)["next"].(map[string]any)["stripe"].(map[string]any)
				require.NotEmpty(t, st["clientSecret"], "the caller can still confirm the payment with Stripe.js")
				statusCalls(t, co, res.JSON(t)["transactionId"].(string), code)
			}
		})
		t.Run("StripeStartedByThePageResumedBySession", func(t *testing.T) {
			co := privateCheckout(t, env, tn)
			code := co["shortCode"].(string)
			page := start(t, "/transactions/create", co, card.ID, true)
			ret := page.JSON(t)["next"].(map[string]any)["stripe"].(map[string]any)["returnUrl"].(string)
			id := page.JSON(t)["transactionId"].(string)
			require.Equal(t, env.Hosts.PaymentURL(code)+"?transaction="+url.QueryEscape(id), ret, "3-D Secure brings the buyer back to the page")
			// Its client secret would let Stripe.js read the buyer's receipt e-mail: the page's
			// attempt is continued only on the page.
			res := post(t, "/transactions/create", map[string]any{"sessionPublicId": co["sessionPublicId"], "providerId": card.ID,
				"billingAddress": map[string]any{}})
			require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
			require.NotContains(t, string(res.Body), "client")
			requireNoCode(t, res, code)
			wrong := post(t, "/transactions/create", map[string]any{"sessionPublicId": co["sessionPublicId"], "providerId": card.ID,
				"billingAddress": map[string]any{}, "shortCode": strings.ToLower(code) + "x"})
			require.Equal(t, http.StatusConflict, wrong.Status, string(wrong.Body))
			requireNoCode(t, wrong, code)
			cancel := post(t, "/transactions/"+id+"/cancel", nil)
			require.Equal(t, http.StatusOK, cancel.Status, string(cancel.Body))
			requireNoCode(t, cancel, code)
		})
		t.Run("WireBySession", func(t *testing.T) {
			co := privateCheckout(t, env, tn)
			code := co["shortCode"].(string)
			res := start(t, "/transactions/create", co, wireID, false)
			requireNoCode(t, res, code)
			id := res.JSON(t)["transactionId"].(string)
			mp := post(t, "/transactions/"+id+"/mark-pending", nil)
			require.Equal(t, http.StatusOK, mp.Status, string(mp.Body))
			requireNoCode(t, mp, code)
			statusCalls(t, co, id, code)
		})
		for _, ep := range []string{"/billing-requests/create", "/transactions/create"} {
			authURL := func(t *testing.T, res *apptest.Response) string {
				t.Helper()
				if ep == "/billing-requests/create" {
					return res.JSON(t)["authorisationUrl"].(string)
				}
				return res.JSON(t)["next"].(map[string]any)["redirectUrl"].(string)
			}
			t.Run("GoCardlessBySession"+strings.ReplaceAll(ep, "/", "_"), func(t *testing.T) {
				co := privateCheckout(t, env, tn)
				code := co["shortCode"].(string)
				res := start(t, ep, co, bank.ID, false)
				requireNoCode(t, res, code)
				id := res.JSON(t)["transactionId"].(string)
				statusCalls(t, co, id, code)
				noCodeInFlow(t, authURL(t, res), code)

				// The page (with the short code) resumes the attempt with a flow that returns to it.
				page := start(t, ep, co, bank.ID, true)
				require.Equal(t, id, page.JSON(t)["transactionId"])
				f := flowOf(t, authURL(t, page))
				require.Equal(t, env.Hosts.PaymentURL(code)+"?transaction="+id+"&gocardless=return", f.RedirectURI)
				require.Equal(t, env.Hosts.PaymentURL(code)+"?transaction="+id+"&gocardless=exit", f.ExitURI)
			})
			t.Run("GoCardlessStartedByThePageResumedBySession"+strings.ReplaceAll(ep, "/", "_"), func(t *testing.T) {
				co := privateCheckout(t, env, tn)
				code := co["shortCode"].(string)
				page := start(t, ep, co, bank.ID, true)
				id := page.JSON(t)["transactionId"].(string)
				pageFlow := authURL(t, page)
				require.Contains(t, flowOf(t, pageFlow).RedirectURI, code, "the page's flow returns to the page")

				res := start(t, ep, co, bank.ID, false)
				require.Equal(t, id, res.JSON(t)["transactionId"])
				requireNoCode(t, res, code)
				require.NotEqual(t, pageFlow, authURL(t, res), "the page's flow is not handed out by the session id")
				noCodeInFlow(t, authURL(t, res), code)
				statusCalls(t, co, id, code)
			})
		}
	})
}

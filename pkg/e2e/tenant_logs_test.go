package e2e

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/duda/dudafake"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/stripemock"
	"paygate.dev/pkg/tenancy"
)

// tenantStep is what the log lines of one request (known by its request id, in every
// service it reaches) must name.
type tenantStep struct {
	name      string
	org, site string // "" for site: the request concerns no single site
	// exception says why the request names no organisation (it is rejected before anyone is
	// authenticated, or addresses nothing that exists); such lines must carry no org_id.
	exception string
}

// Issue 15 item 4: every log line written while serving a request for a known organisation
// names it (org_id), and the site (site_id) when the request concerns one, in all three
// services: the Admin API with an API key and with a session, its error answers, the Admin
// Panel, the runtime API, the hosted page, a provider webhook and the Duda app. Requests that
// concern no known organisation are listed as exceptions and must name none. Every request
// line carries its request id; lines without one are the services' own start-up lines.
func TestEveryRequestLogLineNamesItsOrganisation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ov := stripemock.StartOverlay(t)
		fake := dudafake.New(t)
		env := apptest.Start(t, s, apptest.Options{StripeAPIURL: ov.URL, MainBackend: func(c *config.MainBackend) {
			c.DudaAPIOrigins = []string{fake.URL()}
		}})
		tn := env.NewTenant(t)
		other := env.NewTenant(t) // a second tenant, so a line naming the wrong one is caught
		name := "Cards"
		sp, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "stripe", Mode: "test", Name: &name,
			Settings:    map[string]string{"publishableKey": "pk_test_paygate"},
			Credentials: map[string]string{"secretKey": "sk_test_51PaygateE2Etest0123456789", "webhookSecret": stripeHookSecret}})
		require.NoError(t, err)
		ids := []string{sp.ID, tn.Provider.ID}
		_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &sp.ID})
		require.NoError(t, err)
		setupLines := len(env.Logs.Lines())

		steps := map[string]tenantStep{}
		step := func(name, org, site, exception string) string {
			rid := "req_" + name + "_" + domain.RandomString(6)
			steps[rid] = tenantStep{name: name, org: org, site: site, exception: exception}
			return rid
		}
		org, site := tn.Org.ID, tn.Site.ID
		do := func(method, url, token string, body any, rid string, want int, headers ...string) *apptest.Response {
			t.Helper()
			res := apptest.Do(t, method, url, token, body, append([]string{httpapi.HeaderRequestID, rid}, headers...)...)
			require.Equal(t, want, res.Status, "%s: %s", steps[rid].name, res.Body)
			return res
		}

		// Admin API with an API key: create a checkout, read it, and three error answers.
		co := do(http.MethodPost, env.AdminURL+"/v1/checkouts/"+site+"/create", tn.TestKey, map[string]any{
			"amount": 2499, "currency": "EUR", "externalReference": "logs-1", "email": "buyer@example.com",
			"items": []map[string]any{{"name": "T-shirt", "quantity": 1, "unitPrice": 2499, "itemType": "goods"}}},
			step("api_create_checkout", org, site, ""), http.StatusOK).JSON(t)
		chkID, code, sess := co["id"].(string), co["shortCode"].(string), co["sessionPublicId"].(string)
		do(http.MethodGet, env.AdminURL+"/v1/checkouts/"+chkID, tn.TestKey, nil, step("api_get_checkout", org, site, ""), http.StatusOK)
		do(http.MethodGet, env.AdminURL+"/v1/checkouts", tn.TestKey, nil, step("api_list_checkouts", org, "", ""), http.StatusOK)
		do(http.MethodGet, env.AdminURL+"/v1/checkouts/chk_doesnotexist", tn.TestKey, nil, step("api_404", org, "", ""), http.StatusNotFound)
		do(http.MethodGet, env.AdminURL+"/v1/checkouts/"+chkID, other.TestKey, nil, step("api_404_other_tenant", other.Org.ID, "", ""), http.StatusNotFound)
		do(http.MethodPost, env.AdminURL+"/v1/checkouts/"+site+"/create", tn.TestKey, map[string]any{"amount": 2499, "currency": "EUR",
			"items": []map[string]any{{"name": "T-shirt", "quantity": 1, "unitPrice": 100, "itemType": "goods"}}},
			step("api_400_amount_mismatch", org, site, ""), http.StatusBadRequest)
		do(http.MethodPost, env.AdminURL+"/v1/checkouts/"+site+"/create", tn.LiveKey, map[string]any{
			"amount": 2499, "currency": "EUR", "externalReference": "logs-2", "email": "buyer@example.com",
			"items": []map[string]any{{"name": "T-shirt", "quantity": 1, "unitPrice": 2499, "itemType": "goods"}}},
			step("api_422_no_live_provider", org, site, ""), http.StatusUnprocessableEntity)
		do(http.MethodGet, env.AdminURL+"/v1/checkouts", "", nil, step("api_401", "", "", "no credentials: rejected before authentication"), http.StatusUnauthorized)
		do(http.MethodGet, env.AdminURL+"/v1/checkouts", "sk_test_key_00000000000000000000000000.wrong", nil,
			step("api_401_bad_key", "", "", "a key that does not authenticate"), http.StatusUnauthorized)
		do(http.MethodGet, env.AdminURL+"/v1/nothing-here", tn.TestKey, nil, step("api_unknown_route", "", "", "no route: nothing authenticates the caller"), http.StatusNotFound)

		// Admin API with a dashboard session token.
		tok, _, err := env.Admin.Sessions.IssueFor(tn.AdminUser, org)
		require.NoError(t, err)
		env.Logs.Forbid(tok)
		do(http.MethodGet, env.AdminURL+"/api/v1/organizations/"+org+"/api-keys", tok, nil, step("api_session_keys", org, "", ""), http.StatusOK)
		do(http.MethodGet, env.AdminURL+"/api/v1/sites/"+site, tok, nil, step("api_session_site", org, site, ""), http.StatusOK)
		// A use case that logs on its own: the invitation e-mail's line.
		do(http.MethodPost, env.AdminURL+"/api/v1/organizations/"+org+"/members", tok, map[string]any{"email": "new.member@example.com", "role": "viewer"},
			step("api_invite_member", org, "", ""), http.StatusCreated)

		// Runtime API, as the buyer's browser calls it.
		do(http.MethodGet, env.MainURL+"/api/v1/checkouts/"+code, "", nil, step("runtime_checkout", org, site, ""), http.StatusOK)
		txn := do(http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{"sessionPublicId": sess, "providerId": sp.ID,
			"billingAddress": map[string]any{"country": "DE", "email": "buyer@example.com"}}, step("runtime_create_transaction", org, site, ""), http.StatusOK).JSON(t)
		txnID := txn["transactionId"].(string)
		do(http.MethodGet, env.MainURL+"/api/v1/transactions/"+txnID+"/status", "", nil, step("runtime_status", org, site, ""), http.StatusOK)
		do(http.MethodGet, env.MainURL+"/api/v1/checkouts/doesnotexist", "", nil, step("runtime_404", "", "", "an unknown short code names no checkout"), http.StatusNotFound)

		// The hosted page: the frontend forwards the request id, so its lines and the runtime
		// API's for the same page share it.
		do(http.MethodGet, env.FrontendURL+"/checkout/"+code, "", nil, step("hosted_page", org, site, ""), http.StatusOK, "Accept", "text/html")
		do(http.MethodGet, env.FrontendURL+"/checkout/doesnotexist", "", nil, step("hosted_page_404", "", "", "an unknown short code names no checkout"), http.StatusNotFound, "Accept", "text/html")

		// A provider webhook: the provider belongs to the organisation, not to one site.
		stored, err := env.Store.GetTransaction(ctx, org, txnID)
		require.NoError(t, err)
		ev := stripemock.Event("evt_logs_"+domain.RandomString(8), "payment_intent.succeeded", piObject(*stored.ProviderReference, txnID, "succeeded", 2499))
		do(http.MethodPost, env.MainURL+"/hooks/stripe/"+sp.ID, "", ev, step("webhook", org, "", ""), http.StatusOK, "Stripe-Signature", stripemock.Sign(ev, stripeHookSecret, 0))
		do(http.MethodPost, env.MainURL+"/hooks/stripe/"+sp.ID, "", ev, step("webhook_bad_signature", org, "", ""), http.StatusBadRequest, "Stripe-Signature", stripemock.Sign(ev, "whsec_wrong", 0))
		do(http.MethodPost, env.MainURL+"/hooks/stripe/prov_nope", "", ev, step("webhook_unknown_provider", "", "", "no such provider: no organisation"), http.StatusNotFound,
			"Stripe-Signature", stripemock.Sign(ev, stripeHookSecret, 0))

		// The Admin Panel, signed in.
		panel := func(path, rid string, want int, cookie string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodGet, env.AdminURL+path, nil)
			require.NoError(t, err)
			req.Header.Set("Accept", "text/html")
			req.Header.Set(httpapi.HeaderRequestID, rid)
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: "pg_session", Value: cookie})
			}
			res, err := (&http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, want, res.StatusCode, steps[rid].name)
		}
		panel("/", step("panel_overview", org, "", ""), http.StatusOK, tok)
		panel("/checkouts/"+chkID, step("panel_checkout", org, site, ""), http.StatusOK, tok)
		panel("/transactions/"+txnID, step("panel_transaction", org, site, ""), http.StatusOK, tok)
		panel("/sites/"+site, step("panel_site", org, site, ""), http.StatusOK, tok)
		panel("/checkouts/chk_doesnotexist", step("panel_404", org, "", ""), http.StatusNotFound, tok)
		panel("/login", step("panel_login_page", "", "", "the sign-in page: nobody is signed in"), http.StatusOK, "")
		panel("/checkouts", step("panel_no_session", "", "", "no session: sent to sign in"), http.StatusSeeOther, "")

		// The Duda app: its calls name only the connection, which belongs to a site.
		creds := fake.Creds()
		conn := do(http.MethodPost, env.AdminURL+"/api/v1/duda/connections", tn.LiveKey, map[string]any{
			"siteId": site, "appUuid": creds.AppUUID, "appUser": creds.AppUser, "appPassword": creds.AppPassword, "appSecret": creds.AppSecret},
			step("api_duda_connect", org, site, ""), http.StatusCreated).JSON(t)
		duda1 := fake.SignedLifecycleRequest(http.MethodPost, conn["installUrl"].(string), fake.AddSite("bakery"))
		duda1.Header.Set(httpapi.HeaderRequestID, step("duda_install", org, site, ""))
		status, body := dudaSend(t, duda1)
		require.Equal(t, http.StatusOK, status, string(body))
		gws := fake.Gateways("bakery")
		require.Len(t, gws, 1)
		spec := dudafake.SessionSpec{Mode: duda.ModeTest, PurchaseID: "cart_" + domain.RandomString(6), Email: "jane.doe@example.com",
			Items: []dudafake.Item{{Type: duda.ItemPhysical, Name: "Loaf", UnitPrice: "12.50", Quantity: 1}}}
		duda2 := fake.PaymentMethodsRequest(gws[0].TestPaymentMethodsURL, fake.PaymentMethodsPayload("bakery", spec))
		duda2.Header.Set(httpapi.HeaderRequestID, step("duda_payment_methods", org, site, ""))
		status, body = dudaSend(t, duda2)
		require.Equal(t, http.StatusOK, status, string(body))

		// Every line so far: a request's lines name what its step says; the rest are start-up.
		type tally struct{ lines, org, site int }
		var total, exceptions tally
		perService := map[string]*tally{}
		seen := map[string]bool{}
		msgs := map[string]int{} // service: message -> lines of a known organisation
		var background []string
		for i, raw := range env.Logs.Lines() {
			var l map[string]any
			require.NoError(t, json.Unmarshal([]byte(raw), &l), raw)
			rid, _ := l["request_id"].(string)
			if rid == "" {
				require.Less(t, i, setupLines, "a line without a request id while the test made requests: %s", raw)
				background = append(background, l["msg"].(string))
				continue
			}
			st, ok := steps[rid]
			require.True(t, ok, "a line of a request the test did not make: %s", raw)
			seen[st.name] = true
			gotOrg, _ := l["org_id"].(string)
			gotSite, _ := l["site_id"].(string)
			if st.exception != "" {
				exceptions.lines++
				require.Empty(t, gotOrg, "%s (%s) names an organisation: %s", st.name, st.exception, raw)
				require.Empty(t, gotSite, "%s: %s", st.name, raw)
				continue
			}
			svc := l["service"].(string)
			msgs[svc+": "+l["msg"].(string)]++
			if perService[svc] == nil {
				perService[svc] = &tally{}
			}
			for _, tl := range []*tally{&total, perService[svc]} {
				tl.lines++
				if gotOrg != "" {
					tl.org++
				}
				if gotSite != "" {
					tl.site++
				}
			}
			require.Equal(t, st.org, gotOrg, "%s: org_id of %s", st.name, raw)
			if st.site != "" {
				require.Equal(t, st.site, gotSite, "%s: site_id of %s", st.name, raw)
			} else {
				require.Empty(t, gotSite, "%s concerns no single site: %s", st.name, raw)
			}
			for _, k := range []string{"org_id", "site_id"} {
				require.LessOrEqual(t, strings.Count(raw, `"`+k+`"`), 1, "one %s at most: %s", k, raw)
			}
		}
		for _, st := range steps {
			require.True(t, seen[st.name], "step %s logged nothing", st.name)
		}
		services := make([]string, 0, len(perService))
		for s := range perService {
			services = append(services, s)
		}
		sort.Strings(services)
		t.Logf("request lines of a known organisation: %d, with org_id %d, with site_id %d (site expected where the request concerns one)", total.lines, total.org, total.site)
		for _, s := range services {
			t.Logf("  %s: %d lines, org_id %d, site_id %d", s, perService[s].lines, perService[s].org, perService[s].site)
		}
		t.Logf("  by message: %v", msgs)
		t.Logf("exception lines (no organisation to name, none named): %d; start-up lines without a request id: %d %q", exceptions.lines, len(background), background)
		require.Equal(t, total.lines, total.org)
		require.Len(t, perService, 3, "all three services served the flow")
	})
}

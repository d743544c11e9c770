package runtimesrv_test

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers/wire"
	"paygate.dev/pkg/runtimeapi"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// wooCheckout creates a checkout the way the WooCommerce plugin does (prices include tax).
func wooCheckout(t *testing.T, env *apptest.Env, tn *apptest.Tenant, extra map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"amount": 11900, "currency": "EUR", "email": "jane@example.com", "externalReference": "wc-" + domain.RandomString(6),
		"returnUrl": "https://shop.example.com/order-received/?tx={transactionId}", "cancelUrl": "https://shop.example.com/cart",
		"items": []map[string]any{{"name": "Jacket", "quantity": 1, "unitPrice": 11900, "itemType": "physical"}}}
	for k, v := range extra {
		body[k] = v
	}
	res := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, body)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON(t)
}

func TestTaxPreviews(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t) // seller DE, prices include tax, OSS registered
		co := wooCheckout(t, env, tn, nil)
		url := env.MainURL + "/api/v1/checkouts/" + co["shortCode"].(string) + "/tax-preview"
		for name, tc := range map[string]struct {
			address         map[string]any
			treatment       string
			rate            float64
			tax, net, gross float64
			vatIDStatus     string
		}{
			"GermanConsumer":          {map[string]any{"country": "DE"}, "domestic", 19, 1900, 10000, 11900, "none"},
			"FrenchConsumerUnderOSS":  {map[string]any{"country": "FR", "postcode": "75001"}, "oss", 20, 1983, 9917, 11900, "none"},
			"FrenchBusinessReverse":   {map[string]any{"country": "FR", "vatId": "FR40303265045"}, "reverse_charge", 0, 0, 10000, 10000, "format_valid"}, // the 19% in the price is taken off
			"USBuyerExport":           {map[string]any{"country": "US"}, "export", 0, 0, 10000, 10000, "none"},
			"InvalidVATIDIsAConsumer": {map[string]any{"country": "FR", "vatId": "FR123"}, "oss", 20, 1983, 9917, 11900, "invalid"},
		} {
			t.Run(name, func(t *testing.T) {
				res := apptest.Do(t, http.MethodPost, url, "", map[string]any{"billingAddress": tc.address})
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				b := res.JSON(t)
				require.Equal(t, tc.treatment, b["treatment"])
				require.Equal(t, true, b["taxIncluded"])
				require.EqualValues(t, tc.tax, b["totalTax"])
				require.EqualValues(t, tc.net, b["totalNet"])
				require.EqualValues(t, tc.gross, b["totalGross"])
				require.Equal(t, tc.vatIDStatus, b["vatIdStatus"])
				br := b["taxBreakdown"].([]any)
				require.Len(t, br, 1)
				require.EqualValues(t, tc.rate, br[0].(map[string]any)["taxRate"])
			})
		}
		t.Run("BadCountryIs400", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, url, "", map[string]any{"billingAddress": map[string]any{"country": "Narnia"}})
			require.Equal(t, http.StatusBadRequest, res.Status)
		})
		t.Run("UnknownCheckoutIs404", func(t *testing.T) {
			res := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/checkouts/nope/tax-preview", "", map[string]any{})
			require.Equal(t, http.StatusNotFound, res.Status)
		})
	})
}

func TestWireTransferEndToEnd(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t)
		co := wooCheckout(t, env, tn, nil)

		page := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+co["shortCode"].(string), "", nil)
		require.Equal(t, http.StatusOK, page.Status, string(page.Body))
		pv := page.JSON(t)
		require.Equal(t, "open", pv["status"])
		require.Equal(t, "Shop", pv["site"].(map[string]any)["name"])
		provs := pv["providers"].([]any)
		require.Len(t, provs, 1)
		require.Equal(t, "wire_transfer", provs[0].(map[string]any)["type"])
		require.NotContains(t, string(page.Body), tn.SiteHook, "no secret reaches the page")
		require.NotContains(t, string(page.Body), "ipnUrl")

		create := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID,
			"billingAddress": map[string]any{"name": "Jane Doe", "email": "jane@example.com", "line1": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115", "country": "DE"}})
		require.Equal(t, http.StatusOK, create.Status, string(create.Body))
		cv := create.JSON(t)
		txnID := cv["transactionId"].(string)
		require.Equal(t, "pending_provider", cv["status"])
		require.EqualValues(t, 11900, cv["amount"])
		next := cv["next"].(map[string]any)
		require.Equal(t, "wire_instructions", next["type"])
		w := next["wire"].(map[string]any)
		require.Equal(t, "DE89 3704 0044 0532 0130 00", w["ibanGrouped"])
		require.True(t, wire.ValidReference(w["reference"].(string)), "the reference has a valid check digit")
		require.EqualValues(t, 11900, w["amount"])

		again := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID, "billingAddress": map[string]any{"country": "DE"}})
		require.Equal(t, txnID, again.JSON(t)["transactionId"], "a second submit resumes the open attempt")

		mp := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/"+txnID+"/mark-pending", "", nil)
		require.Equal(t, http.StatusOK, mp.Status, string(mp.Body))
		require.Equal(t, true, mp.JSON(t)["buyerMarkedPending"])

		paid := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+txnID+"/mark-paid", tn.TestKey, map[string]any{"note": "statement 2026-11-21"})
		require.Equal(t, http.StatusOK, paid.Status, string(paid.Body))
		require.Equal(t, "succeeded", paid.JSON(t)["status"])

		st := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/transactions/"+txnID+"/status", "", nil).JSON(t)
		require.Equal(t, "succeeded", st["status"])
		require.Equal(t, "completed", st["checkoutStatus"])
		require.Equal(t, "https://shop.example.com/order-received/?tx="+txnID, st["returnUrl"])

		detail := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/transactions/"+txnID, tn.TestKey, nil).JSON(t)
		ev := detail["taxEvidence"].(map[string]any)
		require.Equal(t, "domestic", ev["treatment"])
		require.Equal(t, "DE", ev["billingCountry"])
		require.Equal(t, "billing_form", ev["billingSource"])
		var types []string
		for _, e := range detail["timeline"].([]any) {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		require.Equal(t, []string{"transaction.initiated", "transaction.pending_provider", "transaction.succeeded"}, types)

		after := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID, "billingAddress": map[string]any{}})
		require.Equal(t, http.StatusConflict, after.Status)
		require.Equal(t, "CHECKOUT_ALREADY_PAID", after.JSON(t)["code"])

		audit := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/audit-log?action=transaction.mark_paid", tn.LiveKey, nil).JSON(t)
		require.Len(t, audit["data"], 1)

		t.Run("MarkPaidNeedsTheScope", func(t *testing.T) {
			_, ro, err := env.Services().Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Mode: "test", Scopes: []string{"transaction:read"}})
			require.NoError(t, err)
			res := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+txnID+"/mark-paid", ro, nil)
			require.Equal(t, http.StatusForbidden, res.Status)
		})
	})
}

func TestConcurrentCreateAndMarkPaidYieldOneSuccess(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t)
		// A second wire provider, so two distinct attempts exist for the same checkout.
		name := "Second bank"
		p2, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "test", Name: &name,
			Settings: map[string]string{"bankName": "B2", "accountHolder": "Shop", "iban": "GB82WEST12345698765432"}})
		require.NoError(t, err)
		ids := []string{tn.Provider.ID, p2.ID}
		_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids})
		require.NoError(t, err)
		co := wooCheckout(t, env, tn, nil)

		var wg sync.WaitGroup
		txns := make(chan string, 4)
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func(pid string) {
				defer wg.Done()
				res := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
					"sessionPublicId": co["sessionPublicId"], "providerId": pid, "billingAddress": map[string]any{"country": "DE"}})
				if res.Status == http.StatusOK {
					txns <- res.JSON(t)["transactionId"].(string)
				}
			}(ids[i%2])
		}
		wg.Wait()
		close(txns)
		distinct := map[string]bool{}
		for id := range txns {
			distinct[id] = true
		}
		require.GreaterOrEqual(t, len(distinct), 2)
		statuses := make(chan int, 8)
		for id := range distinct {
			for j := 0; j < 2; j++ {
				wg.Add(1)
				go func(id string) {
					defer wg.Done()
					statuses <- apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/transactions/"+id+"/mark-paid", tn.TestKey, nil).Status
				}(id)
			}
		}
		wg.Wait()
		close(statuses)
		ok := 0
		for st := range statuses {
			if st == http.StatusOK {
				ok++
			} else {
				require.Contains(t, []int{http.StatusConflict, http.StatusServiceUnavailable}, st)
			}
		}
		require.Equal(t, 1, ok, "exactly one mark-paid wins")
		list, err := s.ListCheckoutTransactions(ctx, tn.Org.ID, co["id"].(string))
		require.NoError(t, err)
		paid := 0
		for _, x := range list {
			if x.Status.Paid() {
				paid++
			}
		}
		require.Equal(t, 1, paid)
	})
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t)
		co := wooCheckout(t, env, tn, nil)
		// Move the expiry into the past, as time passing would.
		require.NoError(t, s.ExecAdmin(ctx, "UPDATE checkouts SET expires_at = '2020-01-01 00:00:00' WHERE id = '"+co["id"].(string)+"'"))
		page := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+co["shortCode"].(string), "", nil).JSON(t)
		require.Equal(t, "expired", page["status"], "expired before the sweep runs")
		res := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID, "billingAddress": map[string]any{}})
		require.Equal(t, http.StatusConflict, res.Status)
		require.Equal(t, "CHECKOUT_EXPIRED", res.JSON(t)["code"])
		n, err := env.Main.Services.Payment.ExpireDue(ctx, 1000)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 1)
		c, err := s.GetCheckout(ctx, tn.Org.ID, co["id"].(string))
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutExpired, c.Status)
		events, err := s.ListCheckoutEvents(ctx, tn.Org.ID, c.ID)
		require.NoError(t, err)
		require.Equal(t, domain.EventCheckoutExpired, events[len(events)-1].Type)
	})
}

func TestCORSAndRateLimit(t *testing.T) {
	t.Parallel()
	s := storetest.Shared(t, store.SQLite)
	env := apptest.Start(t, s, apptest.Options{NoFrontend: true, MainBackend: func(c *config.MainBackend) { c.RateLimit = 5 }})
	tn := env.NewTenant(t)
	co := wooCheckout(t, env, tn, nil)
	url := env.MainURL + "/api/v1/checkouts/" + co["shortCode"].(string)
	ok := apptest.Do(t, http.MethodGet, url, "", nil, "Origin", env.Hosts.MainFrontendURL())
	require.Equal(t, env.Hosts.MainFrontendURL(), ok.Header.Get("Access-Control-Allow-Origin"))
	evil := apptest.Do(t, http.MethodGet, url, "", nil, "Origin", "https://evil.example")
	require.Empty(t, evil.Header.Get("Access-Control-Allow-Origin"))
	pre := apptest.Do(t, http.MethodOptions, env.MainURL+"/api/v1/transactions/create", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusForbidden, pre.Status)
	pre = apptest.Do(t, http.MethodOptions, env.MainURL+"/api/v1/transactions/create", "", nil, "Origin", env.Hosts.MainFrontendURL(), "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, pre.Status)
	require.Contains(t, pre.Header.Get("Access-Control-Allow-Methods"), "POST")

	var last *apptest.Response
	for i := 0; i < 50; i++ {
		last = apptest.Do(t, http.MethodGet, url, "", nil)
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	require.Equal(t, http.StatusTooManyRequests, last.Status, "the runtime API is rate-limited per IP")
	require.NotEmpty(t, last.Header.Get("Retry-After"))
}

func TestInternalCallsAreLimitedPerBuyer(t *testing.T) {
	t.Parallel()
	s := storetest.Shared(t, store.SQLite)
	env := apptest.Start(t, s, apptest.Options{NoFrontend: true, MainBackend: func(c *config.MainBackend) { c.RateLimit = 2 }})
	tn := env.NewTenant(t)
	co := wooCheckout(t, env, tn, nil)
	url := env.MainURL + "/api/v1/checkouts/" + co["shortCode"].(string)
	token := env.Main.Config.InternalToken
	for i := 0; i < 4; i++ {
		// Many buyers through one frontend address: each has its own budget.
		res := apptest.Do(t, http.MethodGet, url, "", nil, runtimeapi.HeaderInternalToken, token, runtimeapi.HeaderClientIP, "203.0.113."+strconv.Itoa(i))
		require.Equal(t, http.StatusOK, res.Status)
	}
	var last *apptest.Response
	for i := 0; i < 20; i++ {
		last = apptest.Do(t, http.MethodGet, url, "", nil, runtimeapi.HeaderInternalToken, token, runtimeapi.HeaderClientIP, "198.51.100.7")
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	require.Equal(t, http.StatusTooManyRequests, last.Status, "one buyer is still limited")
	bad := apptest.Do(t, http.MethodGet, url, "", nil, runtimeapi.HeaderInternalToken, "forged", runtimeapi.HeaderClientIP, "203.0.113.99")
	require.Equal(t, http.StatusUnauthorized, bad.Status, "a forged token is refused, not trusted")
}

// The main frontend (the caller with the internal token) learns the organisation and site of
// the checkout it shows, for its own log lines; a browser calling the same API does not.
func TestOnlyTheFrontendLearnsTheTenant(t *testing.T) {
	t.Parallel()
	s := storetest.Shared(t, store.SQLite)
	env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
	tn := env.NewTenant(t)
	co := wooCheckout(t, env, tn, nil)
	url := env.MainURL + "/api/v1/checkouts/" + co["shortCode"].(string)
	token := env.Main.Config.InternalToken

	res := apptest.Do(t, http.MethodGet, url, "", nil, runtimeapi.HeaderInternalToken, token, runtimeapi.HeaderClientIP, "203.0.113.1")
	require.Equal(t, http.StatusOK, res.Status)
	require.Equal(t, tn.Org.ID, res.Header.Get(runtimeapi.HeaderOrgID))
	require.Equal(t, tn.Site.ID, res.Header.Get(runtimeapi.HeaderSiteID))

	res = apptest.Do(t, http.MethodGet, url, "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.Empty(t, res.Header.Get(runtimeapi.HeaderOrgID), "a browser's call")
	require.Empty(t, res.Header.Get(runtimeapi.HeaderSiteID))

	res = apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/nope", "", nil, runtimeapi.HeaderInternalToken, token, runtimeapi.HeaderClientIP, "203.0.113.1")
	require.Equal(t, http.StatusNotFound, res.Status)
	require.Empty(t, res.Header.Get(runtimeapi.HeaderOrgID), "an unknown checkout concerns no one")
}

package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// wooIdentifier is the WooCommerce plugin's identifier rule (WC_Payment_Gateway_App_Api_Error_Context::identifier):
// anything else read from an error body is dropped.
var wooIdentifier = regexp.MustCompile(`\A[A-Za-z0-9._:-]{1,128}\z`)

// wooScalar reads the first of paths ("a.b" descends into objects) that holds a scalar, as the
// plugin's parse does.
func wooScalar(body map[string]any, paths ...string) string {
	for _, path := range paths {
		var v any = body
		for _, part := range strings.Split(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			if v, ok = m[part]; !ok {
				break
			}
		}
		if s, ok := v.(string); ok && wooIdentifier.MatchString(strings.TrimSpace(s)) {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// wooCustomerMessage is what the WooCommerce plugin shows its buyer for a failed checkout
// creation (customer_message): a fixed text per known code (never the server's message), then
// the request id.
func wooCustomerMessage(body map[string]any) string {
	messages := map[string]string{
		"CHECKOUT_BLOCKED_BY_DISPUTE":          "Payment cannot be started because an unresolved dispute is being reviewed. Please contact support.",
		"CHECKOUT_BLOCKED_BY_CUSTOMER_HOLD":    "Payment cannot be started because this customer account is under merchant review. Please contact support.",
		"CHECKOUT_RESTRICTED_BY_CUSTOMER_HOLD": "Only bank transfer payment methods are available for this account. Please choose an available bank transfer option or contact support.",
	}
	msg, ok := messages[wooScalar(body, "code", "error.code")]
	if !ok {
		msg = "Payment session creation failed due to an unexpected gateway response."
	}
	if id := wooScalar(body, "requestId", "requestID", "error.requestId", "error.requestID"); id != "" {
		msg += " Request ID: " + id
	}
	return msg
}

// A held buyer's WooCommerce checkout: the plugin's request gets the 409 its parser turns into
// the "under merchant review" message with the request id; a restricting hold the site can meet
// leaves the buyer a checkout whose hosted page and runtime API offer only the allowed provider.
func TestHeldBuyerAsTheWooCommercePluginSeesIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{})
		tn := env.NewTenant(t)
		shop := merchant(t)
		api := env.AdminURL + "/api/v1"
		co := createWooCheckout(t, env, tn, shop.URL)
		clientID := co["linkedClientId"].(string)

		placed := apptest.Do(t, http.MethodPost, api+"/clients/"+clientID+"/holds", tn.TestKey, map[string]any{"action": "block", "reason": "merchant_review"})
		require.Equal(t, http.StatusCreated, placed.Status, string(placed.Body))
		holdID := placed.JSON(t)["id"].(string)

		res := postWooCheckout(t, env, tn, shop.URL)
		require.Equal(t, http.StatusConflict, res.Status, "the plugin fails on anything but 200: %s", res.Body)
		body := res.JSON(t)
		require.Equal(t, domain.CodeBlockedByCustomerHold, body["code"])
		require.Equal(t, "Payment cannot be started because this customer account is under merchant review. Please contact support. Request ID: "+
			res.Header.Get("X-Request-ID"), wooCustomerMessage(body))
		require.Equal(t, holdID, wooScalar(body, "customerRiskHoldId", "customerRiskHold.id"), "the plugin logs the hold")
		require.Equal(t, "merchant_review", wooScalar(body, "customerRiskReason", "customerRiskHold.reason"))

		// Restricted to a provider the site has: the checkout offers only that one.
		name := "Second bank"
		second, err := env.Services().Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "test", Name: &name,
			Settings: map[string]string{"bankName": "Other Bank", "accountHolder": "Shop GmbH", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX",
				"instructions": "Use the reference."}})
		require.NoError(t, err)
		ids := []string{tn.Provider.ID, second.ID}
		_, err = env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids, DefaultProviderID: &tn.Provider.ID})
		require.NoError(t, err)
		changed := apptest.Do(t, http.MethodPatch, api+"/clients/"+clientID+"/holds/"+holdID, tn.TestKey,
			map[string]any{"action": "allow_provider_types", "reason": "lost_dispute", "allowedProviderIds": []string{second.ID}})
		require.Equal(t, http.StatusOK, changed.Status, string(changed.Body))
		res = postWooCheckout(t, env, tn, shop.URL)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		narrowed := res.JSON(t)

		rt := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+narrowed["shortCode"].(string), "", nil)
		require.Equal(t, http.StatusOK, rt.Status, string(rt.Body))
		providers := rt.JSON(t)["providers"].([]any)
		require.Len(t, providers, 1)
		require.Equal(t, second.ID, providers[0].(map[string]any)["id"])

		page, err := http.Get(narrowed["paymentUrl"].(string))
		require.NoError(t, err)
		html, err := io.ReadAll(page.Body)
		require.NoError(t, page.Body.Close())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, page.StatusCode)
		require.Contains(t, string(html), `value="`+second.ID+`"`)
		require.NotContains(t, string(html), `value="`+tn.Provider.ID+`"`, "the hosted page offers only the allowed provider")

		refused := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": narrowed["sessionPublicId"], "providerId": tn.Provider.ID, "billingAddress": map[string]any{}})
		require.Equal(t, http.StatusUnprocessableEntity, refused.Status, string(refused.Body))
		require.Equal(t, "PROVIDER_NOT_AVAILABLE", refused.JSON(t)["code"])
		ok := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": narrowed["sessionPublicId"], "providerId": second.ID, "billingAddress": map[string]any{}})
		require.Equal(t, http.StatusOK, ok.Status, string(ok.Body))

		// The old checkout, created before the hold, is not narrowed.
		old := apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+co["shortCode"].(string), "", nil)
		require.Len(t, old.JSON(t)["providers"], 2)
	})
}

// The tax engine's verdict on a buyer's VAT id, when a payment starts, is kept on the buyer's
// client (here the format check finds the id invalid).
func TestTheVATCheckIsKeptOnTheClient(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true})
		tn := env.NewTenant(t)
		format := "format"
		_, err := env.Services().Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{VATIDValidation: &format})
		require.NoError(t, err)
		res := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
			"amount": 1000, "currency": "EUR", "email": "vat.buyer@example.com", "externalReference": "vat-1",
			"billingAddress": map[string]any{"company": "Buyer SARL", "country": "FR", "vatId": "FR 12"}})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		co := res.JSON(t)
		clientID := co["linkedClientId"].(string)
		cl, err := s.GetClient(ctx, tn.Org.ID, clientID)
		require.NoError(t, err)
		require.Equal(t, "FR12", cl.VATID)
		require.Equal(t, domain.VATIDUnchecked, cl.VATIDStatus)

		started := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
			"sessionPublicId": co["sessionPublicId"], "providerId": tn.Provider.ID,
			"billingAddress": map[string]any{"country": "FR", "vatId": "FR 12"}})
		require.Equal(t, http.StatusOK, started.Status, string(started.Body))
		cl, err = s.GetClient(ctx, tn.Org.ID, clientID)
		require.NoError(t, err)
		require.Equal(t, domain.VATIDInvalid, cl.VATIDStatus)
		require.NotNil(t, cl.VATIDCheckedAt)
	})
}

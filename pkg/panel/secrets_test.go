package panel_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestSecretsShownOnce: the IPN signing secret and API key secrets appear on the answer to the
// POST that made them, never on a page fetched later (nor in a URL or a cookie); provider
// credentials are write-only.
func TestSecretsShownOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		c := signedIn(t, env, tn, domain.RoleAdmin)
		noSecretIn := func(t *testing.T, secret string, res *page) {
			t.Helper()
			require.NotContains(t, res.Body, secret)
			require.NotContains(t, res.Location, secret)
			for _, ck := range res.Header.Values("Set-Cookie") {
				require.NotContains(t, ck, secret)
			}
		}

		t.Run("SiteWebhookSecret", func(t *testing.T) {
			res := c.post("/sites", url.Values{"name": {"Secret shop"}, "ipnVersion": {"2"}, "taxDisplay": {"inclusive"}, "vatIdValidation": {"none"}, "defaultLanguage": {"en"}})
			require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
			secret := res.Doc.Find("#f-webhookSecret").AttrOr("value", "")
			require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
			require.Equal(t, "#f-webhookSecret", res.Doc.Find(".secret button[data-copy]").AttrOr("data-copy", ""), "a copy button")
			require.Contains(t, text(res, ".secret"), "shown only this once")
			siteID := res.Doc.Find("#f-siteId").AttrOr("value", "")
			site, err := env.Services().Tenancy.GetSite(ctx, tn.Admin, tn.Org.ID, siteID)
			require.NoError(t, err)
			stored, err := env.Services().Tenancy.SiteWebhookSecret(ctx, site)
			require.NoError(t, err)
			require.Equal(t, stored, secret, "the secret shown is the one notifications are signed with")
			require.NotContains(t, res.Header.Get("Cache-Control"), "public")

			noSecretIn(t, secret, c.get("/sites/"+siteID))
			noSecretIn(t, secret, c.get("/sites"))

			t.Run("RegenerateNeedsConfirmation", func(t *testing.T) {
				res := c.post("/sites/"+siteID+"/webhook-secret", nil)
				require.Equal(t, http.StatusOK, res.Status)
				require.Contains(t, text(res, ".confirm"), "stops working at once", "the confirm step")
				again, err := env.Services().Tenancy.SiteWebhookSecret(ctx, site)
				require.NoError(t, err)
				require.Equal(t, secret, again, "unchanged")
			})
			t.Run("Regenerate", func(t *testing.T) {
				res := c.post("/sites/"+siteID+"/webhook-secret", url.Values{"confirm": {"yes"}})
				require.Equal(t, http.StatusOK, res.Status)
				fresh := res.Doc.Find("#f-webhookSecret").AttrOr("value", "")
				require.True(t, strings.HasPrefix(fresh, "whsec_"))
				require.NotEqual(t, secret, fresh)
				site, err := env.Services().Tenancy.GetSite(ctx, tn.Admin, tn.Org.ID, siteID)
				require.NoError(t, err)
				stored, err := env.Services().Tenancy.SiteWebhookSecret(ctx, site)
				require.NoError(t, err)
				require.Equal(t, fresh, stored)
				noSecretIn(t, fresh, c.get("/sites/"+siteID))
			})
		})

		t.Run("APIKey", func(t *testing.T) {
			res := c.post("/api-keys", url.Values{"name": {"plugin"}, "mode": {"live"}, "scopes": {"checkout:create", "checkout:read"}})
			require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
			token := res.Doc.Find("#f-apiKeyToken").AttrOr("value", "")
			require.True(t, strings.HasPrefix(token, "sk_live_"), token)
			require.Equal(t, "#f-apiKeyToken", res.Doc.Find(".secret button[data-copy]").AttrOr("data-copy", ""))
			require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/checkouts?limit=1", token, nil).Status, "the token works")
			require.Equal(t, http.StatusForbidden, apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/sites", token, nil).Status, "with the scopes chosen")
			list := c.get("/api-keys")
			noSecretIn(t, token, list)
			require.Contains(t, text(list, "main"), "••••"+token[len(token)-4:], "the list shows it masked")

			t.Run("Rotate", func(t *testing.T) {
				keyID := strings.TrimPrefix(strings.SplitN(token, ".", 2)[0], "sk_live_")
				res := c.post("/api-keys/"+keyID+"/rotate", url.Values{"graceMinutes": {"0"}})
				require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
				fresh := res.Doc.Find("#f-apiKeyToken").AttrOr("value", "")
				require.True(t, strings.HasPrefix(fresh, "sk_live_"))
				require.NotEqual(t, token, fresh)
				require.Contains(t, text(res, ".secret h2"), "New key")
				require.Equal(t, http.StatusUnauthorized, apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/checkouts?limit=1", token, nil).Status, "the old key stopped")
				require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/checkouts?limit=1", fresh, nil).Status)
				noSecretIn(t, fresh, c.get("/api-keys"))
			})
			t.Run("NoScopes", func(t *testing.T) {
				res := c.post("/api-keys", url.Values{"name": {"nothing"}, "mode": {"test"}})
				require.Equal(t, http.StatusBadRequest, res.Status)
				require.Contains(t, text(res, "#f-scopes-error"), "between 1 and 50 scopes")
				require.Zero(t, res.Doc.Find("#f-apiKeyToken").Length())
			})
		})

		t.Run("ProviderCredentialsAreWriteOnly", func(t *testing.T) {
			sk, wh := "sk_test_"+domain.RandomString(24), "whsec_"+domain.RandomString(24)
			form := url.Values{"type": {"stripe"}, "mode": {"test"}, "name": {"Cards"}, "enabled": {"on"},
				"settings.publishableKey": {"pk_test_123"}, "credentials.secretKey": {sk}, "credentials.webhookSecret": {wh}}
			res := c.post("/providers", form)
			require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
			page := c.get(res.Location)
			require.Equal(t, http.StatusOK, page.Status)
			noSecretIn(t, sk, page)
			noSecretIn(t, wh, page)
			input := page.Doc.Find("#f-credentials-secretKey")
			require.Equal(t, "password", input.AttrOr("type", ""))
			require.Empty(t, input.AttrOr("value", ""), "never filled in")
			require.Contains(t, input.AttrOr("placeholder", ""), "sk_test_••••"+sk[len(sk)-4:], "the masked form as a hint")
			require.Contains(t, page.Doc.Find("#f-webhookUrl").AttrOr("value", ""), "/hooks/stripe/prov_")
			provID := strings.TrimPrefix(strings.Split(res.Location, "?")[0], "/providers/")

			// Saving with empty secret fields keeps them.
			keep := url.Values{"name": {"Cards renamed"}, "enabled": {"on"}, "settings.publishableKey": {"pk_test_123"},
				"credentials.secretKey": {""}, "credentials.webhookSecret": {""}}
			require.Equal(t, http.StatusSeeOther, c.post("/providers/"+provID, keep).Status)
			prov, err := env.Services().Tenancy.GetProvider(ctx, tn.Admin, tn.Org.ID, provID)
			require.NoError(t, err)
			require.Equal(t, "Cards renamed", prov.Name)
			creds, err := env.Services().Tenancy.ProviderCredentials(ctx, prov)
			require.NoError(t, err)
			require.Equal(t, map[string]string{"secretKey": sk, "webhookSecret": wh}, creds)

			// A new value replaces one.
			sk2 := "sk_test_" + domain.RandomString(24)
			keep.Set("credentials.secretKey", sk2)
			require.Equal(t, http.StatusSeeOther, c.post("/providers/"+provID, keep).Status)
			prov, err = env.Services().Tenancy.GetProvider(ctx, tn.Admin, tn.Org.ID, provID)
			require.NoError(t, err)
			creds, err = env.Services().Tenancy.ProviderCredentials(ctx, prov)
			require.NoError(t, err)
			require.Equal(t, sk2, creds["secretKey"])
			require.Equal(t, wh, creds["webhookSecret"])

			// A wrong value is refused next to its field, and not echoed.
			keep.Set("credentials.secretKey", "sk_live_wrongmode")
			bad := c.post("/providers/"+provID, keep)
			require.Equal(t, http.StatusBadRequest, bad.Status)
			require.Contains(t, text(bad, "#f-credentials-secretKey-error"), "must start with sk_test_")
			require.NotContains(t, bad.Body, "sk_live_wrongmode")
		})

		t.Run("ProviderFormErrors", func(t *testing.T) {
			res := c.post("/providers", url.Values{"type": {"wire_transfer"}, "mode": {"test"}, "name": {"Bank"}, "settings.bankName": {"B"},
				"settings.accountHolder": {"H"}, "settings.iban": {"DE00 0000"}})
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Contains(t, text(res, "#f-settings-iban-error"), "not a valid IBAN")
			require.Equal(t, "DE00 0000", res.Doc.Find("#f-settings-iban").AttrOr("value", ""), "what was typed is kept")
		})
	})
}

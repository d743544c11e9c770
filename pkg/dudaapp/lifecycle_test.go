package dudaapp_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/duda"
	dudauc "paygate.dev/pkg/integration/duda"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestDudaConnectionAdminAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		creds := w.fake.Creds()

		t.Run("ShowsTheURLsAndMasksTheSecrets", func(t *testing.T) {
			base := w.env.MainURL + "/duda/" + w.connID
			require.Equal(t, base+"/lifecycle/install", w.conn["installUrl"])
			require.Equal(t, base+"/lifecycle/uninstall", w.conn["uninstallUrl"])
			require.Equal(t, map[string]any{"live": base + "/payment-methods/live", "test": base + "/payment-methods/test"}, w.conn["paymentMethodsUrls"])
			masked := w.conn["credentials"].(map[string]any)
			require.NotContains(t, masked["appSecret"], creds.AppSecret)
			require.NotContains(t, masked["appPassword"], creds.AppPassword)
			require.Equal(t, true, w.conn["enabled"])
			require.Equal(t, []any{}, w.conn["sites"])
			// Not in the database either.
			c, err := s.GetDudaConnection(ctx, w.tn.Org.ID, w.connID)
			require.NoError(t, err)
			require.NotContains(t, c.Credentials, creds.AppSecret)
			require.NotContains(t, c.Credentials, creds.AppPassword)
		})
		t.Run("ValidatesInput", func(t *testing.T) {
			for field, body := range map[string]map[string]any{
				"appSecret": {"siteId": w.tn.Site.ID, "appUuid": "a", "appUser": "u", "appPassword": "p", "appSecret": "not base64!"},
				"siteId":    {"siteId": "site_unknown", "appUuid": "a", "appUser": "u", "appPassword": "p", "appSecret": creds.AppSecret},
				"appUuid":   {"siteId": w.tn.Site.ID, "appUuid": "a/b", "appUser": "u", "appPassword": "p", "appSecret": creds.AppSecret},
				"ipnUrl":    {"siteId": w.tn.Site.ID, "appUuid": "a", "appUser": "u", "appPassword": "p", "appSecret": creds.AppSecret, "ipnUrl": "http://example.com/ipn"},
			} {
				res := apptest.Do(t, http.MethodPost, w.env.AdminURL+"/api/v1/duda/connections", w.tn.LiveKey, body)
				require.Equal(t, http.StatusBadRequest, res.Status, field+": "+string(res.Body))
				require.Equal(t, field, res.JSON(t)["field"], string(res.Body))
			}
		})
		t.Run("ListGetPatch", func(t *testing.T) {
			list := apptest.Do(t, http.MethodGet, w.env.AdminURL+"/api/v1/duda/connections", w.tn.TestKey, nil)
			require.Equal(t, http.StatusOK, list.Status)
			require.Len(t, list.JSON(t)["data"], 1)
			res := apptest.Do(t, http.MethodPatch, w.env.AdminURL+"/api/v1/duda/connections/"+w.connID, w.tn.LiveKey, map[string]any{"enabled": false, "appSecret": ""})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.Equal(t, false, res.JSON(t)["enabled"])
			require.Equal(t, w.conn["credentials"], res.JSON(t)["credentials"], "a blank secret keeps the stored one")
			res = apptest.Do(t, http.MethodPatch, w.env.AdminURL+"/api/v1/duda/connections/"+w.connID, w.tn.LiveKey, map[string]any{"enabled": true})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})
		t.Run("ForeignOrganizationIs404", func(t *testing.T) {
			other := w.env.NewTenant(t)
			res := apptest.Do(t, http.MethodGet, w.env.AdminURL+"/api/v1/duda/connections/"+w.connID, other.TestKey, nil)
			require.Equal(t, http.StatusNotFound, res.Status)
		})
		t.Run("DeleteRefusedWhileInstalled", func(t *testing.T) {
			w.install("shop-delete")
			res := apptest.Do(t, http.MethodDelete, w.env.AdminURL+"/api/v1/duda/connections/"+w.connID, w.tn.LiveKey, nil)
			require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
		})
		t.Run("Audited", func(t *testing.T) {
			entries, err := s.ListAudit(ctx, store.AuditFilter{OrganizationID: w.tn.Org.ID, TargetID: w.connID, Limit: 10})
			require.NoError(t, err)
			var actions []string
			for _, e := range entries {
				actions = append(actions, e.Action)
			}
			require.Contains(t, actions, "duda_connection.create")
			require.Contains(t, actions, "duda_connection.update")
		})
	})
}

func TestDudaLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		installURL := w.url("/lifecycle/install")

		t.Run("RejectsABadSignature", func(t *testing.T) {
			req := w.fake.SignedLifecycleRequest(http.MethodPost, installURL, w.fake.AddSite("shop-forged"))
			req.Header.Set(duda.HeaderSignature, duda.Sign("b3RoZXIgc2VjcmV0", req.Header.Get(duda.HeaderSignatureTimestamp), []byte("{}")))
			require.Equal(t, http.StatusUnauthorized, send(t, req).Status)
			unsigned := w.fake.SignedLifecycleRequest(http.MethodPost, installURL, w.fake.AddSite("shop-forged"))
			unsigned.Header.Del(duda.HeaderSignature)
			require.Equal(t, http.StatusUnauthorized, send(t, unsigned).Status)
			_, err := s.GetDudaSite(ctx, w.connID, "shop-forged")
			require.Error(t, err, "nothing recorded")
		})
		t.Run("ACorrectlySignedMalformedBodyIs400Malformed", func(t *testing.T) {
			res := send(t, w.fake.SignedLifecycleRequest(http.MethodPost, installURL, []byte(`{"site_name": "shop-broken"`)))
			require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
			require.Contains(t, string(res.Body), "malformed", "not a signature problem")
			_, err := s.GetDudaSite(ctx, w.connID, "shop-broken")
			require.Error(t, err, "nothing recorded")
		})
		t.Run("RejectsAStaleSignature", func(t *testing.T) {
			req := w.fake.SignedLifecycleRequestAt(http.MethodPost, installURL, w.fake.AddSite("shop-stale"), time.Now().Add(-time.Hour))
			require.Equal(t, http.StatusUnauthorized, send(t, req).Status)
		})
		t.Run("RejectsAnUnknownAPIEndpoint", func(t *testing.T) {
			p := w.fake.AddSite("shop-evil")
			p.APIEndpoint = "https://api.duda.co.evil.example"
			res := send(t, w.fake.SignedLifecycleRequest(http.MethodPost, installURL, p))
			require.Equal(t, http.StatusBadRequest, res.Status)
			_, err := s.GetDudaSite(ctx, w.connID, "shop-evil")
			require.Error(t, err)
		})
		t.Run("UnknownConnectionIs404", func(t *testing.T) {
			req := w.fake.SignedLifecycleRequest(http.MethodPost, w.env.MainURL+"/duda/dcn_unknown/lifecycle/install", w.fake.AddSite("shop-x"))
			require.Equal(t, http.StatusNotFound, send(t, req).Status)
		})

		var gatewayID string
		t.Run("InstallRegistersTheGatewayAndSealsTheTokens", func(t *testing.T) {
			p := w.install("shop-1")
			gws := w.fake.Gateways("shop-1")
			require.Len(t, gws, 1)
			require.Equal(t, w.url("/payment-methods/live"), gws[0].LivePaymentMethodsURL)
			require.Equal(t, w.url("/payment-methods/test"), gws[0].TestPaymentMethodsURL)
			require.Equal(t, "Shop", gws[0].Name, "named after the connected site")
			require.NotEmpty(t, gws[0].Image)
			gatewayID = gws[0].ID

			site, err := s.GetDudaSite(ctx, w.connID, "shop-1")
			require.NoError(t, err)
			require.Equal(t, gatewayID, site.GatewayID)
			require.Equal(t, w.fake.URL(), site.APIEndpoint)
			require.True(t, site.Installed())
			require.NotNil(t, site.TokenExpiresAt)
			require.WithinDuration(t, p.Auth.ExpirationDate.Time, *site.TokenExpiresAt, time.Millisecond)
			for _, secret := range []string{p.Auth.AuthorizationCode, p.Auth.RefreshToken} {
				require.NotContains(t, site.Tokens, secret, "tokens are sealed")
				require.NotContains(t, site.InstallData, secret, "install data keeps no token")
			}
			require.Contains(t, site.InstallData, p.InstallerAccountUUID)
			tok, err := w.env.Main.Services.DudaConn.DudaTokens(ctx, site)
			require.NoError(t, err)
			require.Equal(t, p.Tokens().AccessToken, tok.AccessToken)

			res := apptest.Do(t, http.MethodGet, w.env.AdminURL+"/api/v1/duda/connections/"+w.connID, w.tn.TestKey, nil)
			sites := res.JSON(t)["sites"].([]any)
			require.Len(t, sites, 1)
			require.Equal(t, "shop-1", sites[0].(map[string]any)["siteName"])
			require.Equal(t, gatewayID, sites[0].(map[string]any)["gatewayId"])
			require.Equal(t, true, sites[0].(map[string]any)["installed"])
		})
		t.Run("ReinstallKeepsOneGateway", func(t *testing.T) {
			w.install("shop-1")
			gws := w.fake.Gateways("shop-1")
			require.Len(t, gws, 1)
			require.Equal(t, gatewayID, gws[0].ID)
		})
		t.Run("UninstallDeletesTheGatewayAndWipesTheTokens", func(t *testing.T) {
			res := send(t, w.fake.SignedLifecycleRequest(http.MethodPost, w.url("/lifecycle/uninstall"), w.fake.UninstallPayload("shop-1")))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			require.Empty(t, w.fake.Gateways("shop-1"))
			site, err := s.GetDudaSite(ctx, w.connID, "shop-1")
			require.NoError(t, err)
			require.False(t, site.Installed())
			require.Empty(t, site.Tokens)
			require.Empty(t, site.GatewayID)
			// A replayed uninstall is fine.
			res = send(t, w.fake.SignedLifecycleRequest(http.MethodPost, w.url("/lifecycle/uninstall"), w.fake.UninstallPayload("shop-1")))
			require.Equal(t, http.StatusOK, res.Status)
			// And the site offers nothing any more.
			require.Empty(t, w.methods("live", w.fake.PaymentMethodsPayload("shop-1", liveSpec())))
		})
	})
}

func TestDudaInstallRetriesTheGatewayWithAJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		p := w.fake.AddSite("shop-flaky")
		w.fake.FailAuth("shop-flaky", 2) // the call, and its one retry after a refresh
		res := send(t, w.fake.SignedLifecycleRequest(http.MethodPost, w.url("/lifecycle/install"), p))
		require.Equal(t, http.StatusOK, res.Status, "the install is kept even when registering fails")
		require.Equal(t, true, res.JSON(t)["gatewayPending"])
		require.Empty(t, w.fake.Gateways("shop-flaky"))
		require.Equal(t, 1, w.fake.Refreshes("shop-flaky"), "one refresh on the 401, never more")

		jobsQueued, err := s.ListRiverJobs(ctx, dudauc.KindGateway, 100)
		require.NoError(t, err)
		require.NotEmpty(t, jobsQueued)
		w.settle()
		gws := w.fake.Gateways("shop-flaky")
		require.Len(t, gws, 1)
		site, err := s.GetDudaSite(ctx, w.connID, "shop-flaky")
		require.NoError(t, err)
		require.Equal(t, gws[0].ID, site.GatewayID)
		// The refreshed tokens were kept, sealed.
		tok, err := w.env.Main.Services.DudaConn.DudaTokens(ctx, site)
		require.NoError(t, err)
		require.Equal(t, w.fake.Tokens("shop-flaky").AccessToken, tok.AccessToken)
		require.False(t, strings.Contains(site.Tokens, tok.AccessToken))
	})
}

// Duda refuses the registration for a while (405: the store cannot take a gateway yet): the
// job retries with backoff until Duda accepts, and the operator sees where it stands.
func TestDudaGatewayRegistrationIsRetriedWithBackoff(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		p := w.fake.AddSite("shop-405")
		w.fake.FailGatewayRegistrations("shop-405", 3, http.StatusMethodNotAllowed)
		res := send(t, w.fake.SignedLifecycleRequest(http.MethodPost, w.url("/lifecycle/install"), p))
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		require.Equal(t, true, res.JSON(t)["gatewayPending"])

		view := w.dudaSite("shop-405")
		require.Equal(t, "retrying", view["gatewayState"])
		require.Equal(t, float64(1), view["gatewayAttempts"])
		require.Contains(t, view["gatewayError"], "405")
		require.NotEmpty(t, view["gatewayNextAttemptAt"])

		w.dispatch()
		w.runJobs() // the job's first attempt: refused again, retried later
		site, err := s.GetDudaSite(ctx, w.connID, "shop-405")
		require.NoError(t, err)
		require.Equal(t, store.DudaGatewayRetrying, site.GatewayState)
		require.Equal(t, 2, site.GatewayAttempts)
		require.Contains(t, site.GatewayError, "Duda answered 405 Method Not Allowed")
		require.NotNil(t, site.GatewayNextAttemptAt)
		jobsQueued, err := s.ListRiverJobs(ctx, dudauc.KindGateway, 100)
		require.NoError(t, err)
		var retried bool
		for _, j := range jobsQueued {
			retried = retried || j.State == "scheduled"
		}
		require.True(t, retried, "the job waits for its next attempt, not failed for good")

		w.settle()
		gws := w.fake.Gateways("shop-405")
		require.Len(t, gws, 1, "registered once Duda accepts")
		site, err = s.GetDudaSite(ctx, w.connID, "shop-405")
		require.NoError(t, err)
		require.Equal(t, gws[0].ID, site.GatewayID)
		require.Equal(t, store.DudaGatewayRegistered, site.GatewayState)
		require.Equal(t, 4, site.GatewayAttempts)
		require.Empty(t, site.GatewayError)
		require.Nil(t, site.GatewayNextAttemptAt)
		view = w.dudaSite("shop-405")
		require.Equal(t, "registered", view["gatewayState"])
		require.Equal(t, gws[0].ID, view["gatewayId"])
	})
}

// A signed lifecycle call replayed within its signature's freshness window changes nothing: an
// old install would put back tokens Duda has rotated since, an old uninstall would undo a
// reinstall.
func TestDudaReplayedLifecycleCallsAreIgnored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		w := newWorld(t, s)
		installURL, uninstallURL := w.url("/lifecycle/install"), w.url("/lifecycle/uninstall")

		t.Run("AReplayedInstallDoesNotRollBackTheTokens", func(t *testing.T) {
			p := w.fake.AddSite("shop-replay")
			at := time.Now()
			res := send(t, w.fake.SignedLifecycleRequestAt(http.MethodPost, installURL, p, at))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))

			// Duda's 12 hours pass: the next call refreshes, and the install's tokens stop working.
			w.fake.ExpireTokens("shop-replay")
			w.checkoutFor("shop-replay", w.fake.CreateSession("shop-replay", testSpec()).ID)
			require.Equal(t, 1, w.fake.Refreshes("shop-replay"))

			replay := send(t, w.fake.SignedLifecycleRequestAt(http.MethodPost, installURL, p, at))
			require.Equal(t, http.StatusOK, replay.Status, string(replay.Body))
			require.Equal(t, true, replay.JSON(t)["replayed"])
			site, err := s.GetDudaSite(ctx, w.connID, "shop-replay")
			require.NoError(t, err)
			tok, err := w.env.Main.Services.DudaConn.DudaTokens(ctx, site)
			require.NoError(t, err)
			require.Equal(t, w.fake.Tokens("shop-replay"), tok, "the refreshed tokens are kept")

			// The site keeps working without another refresh.
			w.checkoutFor("shop-replay", w.fake.CreateSession("shop-replay", testSpec()).ID)
			require.Equal(t, 1, w.fake.Refreshes("shop-replay"))
		})
		t.Run("AReplayedUninstallDoesNotUndoAReinstall", func(t *testing.T) {
			w.install("shop-back")
			at := time.Now()
			res := send(t, w.fake.SignedLifecycleRequestAt(http.MethodPost, uninstallURL, w.fake.UninstallPayload("shop-back"), at))
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			w.install("shop-back")

			replay := send(t, w.fake.SignedLifecycleRequestAt(http.MethodPost, uninstallURL, w.fake.UninstallPayload("shop-back"), at))
			require.Equal(t, http.StatusOK, replay.Status, string(replay.Body))
			site, err := s.GetDudaSite(ctx, w.connID, "shop-back")
			require.NoError(t, err)
			require.True(t, site.Installed(), "still installed")
			require.Len(t, w.fake.Gateways("shop-back"), 1)
		})
	})
}

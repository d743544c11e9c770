package adminapi_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		url := env.AdminURL + "/v1/checkouts?limit=1"
		svc := env.Services()
		_, readOnly, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Mode: "test", Scopes: []string{"site:read"}})
		require.NoError(t, err)
		revokedKey, revoked, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Mode: "test", Scopes: []string{"*:*"}})
		require.NoError(t, err)
		require.NoError(t, svc.Tenancy.RevokeAPIKey(ctx, tn.Admin, tn.Org.ID, revokedKey.ID))
		soon := time.Now().Add(time.Second)
		_, expiring, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Mode: "test", Scopes: []string{"*:*"}, ExpiresAt: &soon})
		require.NoError(t, err)

		valid := tn.TestKey
		wrongSecret := valid[:len(valid)-4] + "AAAA"
		if wrongSecret == valid {
			wrongSecret = valid[:len(valid)-4] + "BBBB"
		}
		for name, tc := range map[string]struct {
			header string
			status int
		}{
			"Missing":        {"", 401},
			"NotBearer":      {"Basic " + valid, 401},
			"Malformed":      {"Bearer sk_test_nonsense", 401},
			"UnknownKey":     {"Bearer sk_test_key_01aaaaaaaaaaaaaaaaaaaaaaaa." + strings.Repeat("a", 48), 401},
			"WrongSecret":    {"Bearer " + wrongSecret, 401},
			"WrongModeLabel": {"Bearer " + strings.Replace(valid, "sk_test_", "sk_live_", 1), 401},
			"Revoked":        {"Bearer " + revoked, 401},
			"MissingScope":   {"Bearer " + readOnly, 403},
			"Valid":          {"Bearer " + valid, 200},
		} {
			t.Run(name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				require.Equal(t, tc.status, res.StatusCode)
				require.NotEmpty(t, res.Header.Get("X-Request-ID"))
			})
		}
		t.Run("Expired", func(t *testing.T) {
			time.Sleep(time.Until(soon) + 10*time.Millisecond)
			res := apptest.Do(t, http.MethodGet, url, expiring, nil)
			require.Equal(t, http.StatusUnauthorized, res.Status)
			require.Contains(t, res.JSON(t)["message"], "expired")
		})
	})
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	s := storetest.Shared(t, store.SQLite)
	env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true, RateLimit: 2})
	tn := env.NewTenant(t)
	t.Run("PerKey", func(t *testing.T) {
		var last *apptest.Response
		for i := 0; i < 10; i++ {
			last = apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/sites", tn.TestKey, nil)
			if last.Status == http.StatusTooManyRequests {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, last.Status)
		require.NotEmpty(t, last.Header.Get("Retry-After"))
		require.Equal(t, "RATE_LIMITED", last.JSON(t)["code"])
	})
	t.Run("PerIPForFailedAuthentication", func(t *testing.T) {
		var last *apptest.Response
		for i := 0; i < 20; i++ {
			last = apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/sites", "sk_test_garbage", nil)
			if last.Status == http.StatusTooManyRequests {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, last.Status)
		require.NotEmpty(t, last.Header.Get("Retry-After"))
	})
}

func TestLastUsedIsBatched(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		for i := 0; i < 3; i++ {
			require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/sites", tn.TestKey, nil).Status)
		}
		_, keyID, _, _ := parse(tn.TestKey)
		k, err := s.GetAPIKey(ctx, keyID)
		require.NoError(t, err)
		require.Nil(t, k.LastUsedAt, "authenticating writes nothing")
		require.NoError(t, env.Admin.KeyAuth.Flush(ctx))
		k, err = s.GetAPIKey(ctx, keyID)
		require.NoError(t, err)
		require.NotNil(t, k.LastUsedAt, "the batch flush records it")
	})
}

func parse(token string) (string, string, string, bool) {
	rest := strings.TrimPrefix(strings.TrimPrefix(token, "sk_test_"), "sk_live_")
	id, secret, ok := strings.Cut(rest, ".")
	return "", id, secret, ok
}

func TestErrorContract(t *testing.T) {
	t.Parallel()
	s := storetest.Shared(t, store.SQLite)
	env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	create := env.AdminURL + "/v1/checkouts/" + tn.Site.ID + "/create"
	for name, tc := range map[string]struct {
		method, url, ctype string
		body               []byte
		status             int
		code               string
	}{
		"UnknownRoute":     {"GET", env.AdminURL + "/v1/nothing-here", "", nil, 404, "ROUTE_NOT_FOUND"},
		"UnknownRootRoute": {"GET", env.AdminURL + "/nope", "", nil, 404, "ROUTE_NOT_FOUND"},
		"MalformedJSON":    {"POST", create, "application/json", []byte(`{"amount": 10,`), 400, "MALFORMED_JSON"},
		"NotAnObject":      {"POST", create, "application/json", []byte(`[1,2]`), 400, "MALFORMED_JSON"},
		"WrongContentType": {"POST", create, "text/plain", []byte(`{"amount":1}`), 415, "UNSUPPORTED_MEDIA_TYPE"},
		"TooLarge":         {"POST", create, "application/json", append(append([]byte(`{"metadata":{"x":"`), bytes.Repeat([]byte("a"), 1<<20)...), []byte(`"}}`)...), 413, "REQUEST_TOO_LARGE"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, bytes.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			req.Header.Set("Authorization", "Bearer "+tn.TestKey)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			require.Equal(t, tc.status, res.StatusCode)
			require.Equal(t, "application/json", res.Header.Get("Content-Type"))
			var b map[string]any
			require.NoError(t, jsonDecode(res.Body, &b))
			require.Equal(t, tc.code, b["code"])
			for _, k := range []string{"error", "message", "code", "requestId"} {
				require.NotEmpty(t, b[k], k)
			}
			require.Regexp(t, `^[A-Za-z0-9._:-]{1,128}$`, b["requestId"])
			require.Equal(t, res.Header.Get("X-Request-ID"), b["requestId"])
		})
	}
	t.Run("ClientRequestIDIsKeptWhenValid", func(t *testing.T) {
		res := apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/nothing", "", nil, "X-Request-ID", "woo-12345")
		require.Equal(t, "woo-12345", res.Header.Get("X-Request-ID"))
		res = apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/nothing", "", nil, "X-Request-ID", "bad id with spaces")
		require.NotEqual(t, "bad id with spaces", res.Header.Get("X-Request-ID"))
	})
}

func TestManagementAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		// Providers have a mode: the test key manages the test ones. What both modes share
		// (sites, the organisation, members, the audit log) and live keys need the live key.
		k, lk := tn.TestKey, tn.LiveKey
		base := env.AdminURL + "/api/v1"

		prov := apptest.Do(t, "POST", base+"/providers", k, map[string]any{"type": "stripe", "mode": "test", "name": "Cards",
			"settings": map[string]string{"publishableKey": "pk_test_abc"}, "credentials": map[string]string{"secretKey": "sk_test_supersecretvalue123", "webhookSecret": "whsec_abcdefghijkl"}})
		require.Equal(t, http.StatusCreated, prov.Status, string(prov.Body))
		require.NotContains(t, string(prov.Body), "supersecretvalue")
		require.Contains(t, string(prov.Body), "sk_test_••••e123")
		pid := prov.JSON(t)["id"].(string)
		got := apptest.Do(t, "GET", base+"/providers/"+pid, k, nil)
		require.NotContains(t, string(got.Body), "supersecretvalue", "credentials are write-only")
		bad := apptest.Do(t, "POST", base+"/providers", k, map[string]any{"type": "stripe", "mode": "test", "name": "x",
			"settings": map[string]string{"publishableKey": "pk_live_abc"}, "credentials": map[string]string{"secretKey": "sk_test_x", "webhookSecret": "whsec_x"}})
		require.Equal(t, http.StatusBadRequest, bad.Status)
		dis := apptest.Do(t, "PATCH", base+"/providers/"+pid, k, map[string]any{"enabled": false})
		require.Equal(t, false, dis.JSON(t)["enabled"])

		site := apptest.Do(t, "POST", base+"/sites", lk, map[string]any{"name": "Shop 2", "allowedHosts": []string{"shop2.example.com"},
			"primaryColor": "#112233", "logoUrl": "https://cdn.example.com/logo.png", "providerIds": []string{tn.Provider.ID, pid}, "defaultProviderId": pid})
		require.Equal(t, http.StatusCreated, site.Status, string(site.Body))
		sv := site.JSON(t)
		require.True(t, strings.HasPrefix(sv["webhookSecret"].(string), "whsec_"), "secret shown once at creation")
		require.EqualValues(t, 2, sv["ipnVersion"], "new sites default to IPN v2")
		sid := sv["id"].(string)
		read := apptest.Do(t, "GET", base+"/sites/"+sid, k, nil).JSON(t) // the test key sees the test providers
		require.Nil(t, read["webhookSecret"], "and never again")
		require.Equal(t, []any{tn.Provider.ID, pid}, read["providerIds"])

		up := apptest.Do(t, "PATCH", base+"/sites/"+sid, lk, map[string]any{"ipnVersion": 1, "primaryColor": "red"})
		require.Equal(t, http.StatusBadRequest, up.Status, "colours are validated")
		up = apptest.Do(t, "PATCH", base+"/sites/"+sid, lk, map[string]any{"ipnVersion": 1, "logoUrl": "http://cdn.example.com/x.png"})
		require.Equal(t, http.StatusBadRequest, up.Status, "logos are https only")
		up = apptest.Do(t, "PATCH", base+"/sites/"+sid, lk, map[string]any{"ipnVersion": 1})
		require.EqualValues(t, 1, up.JSON(t)["ipnVersion"])
		sp := apptest.Do(t, "PUT", base+"/sites/"+sid+"/providers", lk, map[string]any{"providerIds": []string{tn.Provider.ID}, "defaultProviderId": tn.Provider.ID})
		require.Empty(t, sp.JSON(t)["providerIds"], "the live key sees no test provider")
		require.Equal(t, []any{tn.Provider.ID}, apptest.Do(t, "GET", base+"/sites/"+sid, k, nil).JSON(t)["providerIds"])
		regen := apptest.Do(t, "POST", base+"/sites/"+sid+"/webhook-secret/regenerate", lk, nil)
		require.Equal(t, http.StatusOK, regen.Status)
		require.NotEqual(t, sv["webhookSecret"], regen.JSON(t)["webhookSecret"])
		require.Equal(t, http.StatusNoContent, apptest.Do(t, "DELETE", base+"/sites/"+sid, lk, nil).Status)
		require.Equal(t, http.StatusNoContent, apptest.Do(t, "DELETE", base+"/providers/"+pid, k, nil).Status)

		keys := base + "/organizations/" + tn.Org.ID + "/api-keys"
		nk := apptest.Do(t, "POST", keys, lk, map[string]any{"name": "woo", "mode": "live", "scopes": []string{"checkout:create", "checkout:read"}})
		require.Equal(t, http.StatusCreated, nk.Status, string(nk.Body))
		nkv := nk.JSON(t)
		token := nkv["key"].(string)
		require.True(t, strings.HasPrefix(token, "sk_live_"))
		list := apptest.Do(t, "GET", keys, lk, nil)
		require.NotContains(t, string(list.Body), token, "keys are listed masked")
		require.Contains(t, string(list.Body), nkv["maskedKey"])
		rot := apptest.Do(t, "POST", keys+"/"+nkv["id"].(string)+"/rotate", lk, map[string]any{})
		require.Equal(t, http.StatusCreated, rot.Status, string(rot.Body))
		newToken := rot.JSON(t)["key"].(string)
		require.Equal(t, http.StatusUnauthorized, apptest.Do(t, "GET", base+"/checkouts", token, nil).Status, "the old key stops at once")
		require.Equal(t, http.StatusOK, apptest.Do(t, "GET", base+"/checkouts", newToken, nil).Status)
		rev := apptest.Do(t, "POST", keys+"/"+rot.JSON(t)["id"].(string)+"/revoke", lk, nil)
		require.Equal(t, "revoked", rev.JSON(t)["status"])
		require.Equal(t, http.StatusUnauthorized, apptest.Do(t, "GET", base+"/checkouts", newToken, nil).Status)
		badScope := apptest.Do(t, "POST", keys, lk, map[string]any{"mode": "live", "scopes": []string{"everything"}})
		require.Equal(t, http.StatusBadRequest, badScope.Status)

		org := apptest.Do(t, "PATCH", base+"/organizations/"+tn.Org.ID, lk, map[string]any{"sellerCountry": "AT", "pricesIncludeTax": false})
		require.Equal(t, "AT", org.JSON(t)["sellerCountry"])
		require.Equal(t, http.StatusForbidden, apptest.Do(t, "POST", base+"/organizations", lk, map[string]any{"name": "x"}).Status, "only platform administrators create organisations")

		inv := apptest.Do(t, "POST", base+"/organizations/"+tn.Org.ID+"/members", lk, map[string]any{"email": "viewer." + strings.ToLower(domain.RandomString(6)) + "@example.com", "role": "viewer"})
		require.Equal(t, http.StatusCreated, inv.Status, string(inv.Body))
		uid := inv.JSON(t)["userId"].(string)
		require.Equal(t, "editor", apptest.Do(t, "PATCH", base+"/organizations/"+tn.Org.ID+"/members/"+uid, lk, map[string]any{"role": "editor"}).JSON(t)["role"])
		require.Equal(t, http.StatusNoContent, apptest.Do(t, "DELETE", base+"/organizations/"+tn.Org.ID+"/members/"+uid, lk, nil).Status)

		audit := apptest.Do(t, "GET", base+"/audit-log?limit=100", lk, nil).JSON(t)
		var actions []string
		for _, e := range audit["data"].([]any) {
			actions = append(actions, e.(map[string]any)["action"].(string))
		}
		for _, want := range []string{"provider.create", "provider.update", "site.create", "site.update", "site.webhook_secret_regenerate",
			"site.delete", "provider.delete", "api_key.create", "api_key.rotate", "api_key.revoke", "organization.update", "user.invite", "user.role_change", "user.remove"} {
			require.Contains(t, actions, want)
		}
	})
}

func TestSessionTokensForManagement(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		wrong := apptest.Do(t, "POST", base+"/auth/token", "", map[string]any{"email": tn.AdminUser.Email, "password": "nope"})
		require.Equal(t, http.StatusUnauthorized, wrong.Status)
		tok := apptest.Do(t, "POST", base+"/auth/token", "", map[string]any{"email": tn.AdminUser.Email, "password": tn.Password})
		require.Equal(t, http.StatusOK, tok.Status, string(tok.Body))
		jwt := tok.JSON(t)["token"].(string)
		me := apptest.Do(t, "GET", base+"/auth/me", jwt, nil).JSON(t)
		require.Equal(t, "admin", me["role"])
		require.Equal(t, http.StatusCreated, apptest.Do(t, "POST", base+"/sites", jwt, map[string]any{"name": "By admin"}).Status)

		// A viewer's token reads but cannot write.
		inv, err := env.Services().Tenancy.InviteMember(ctx, tn.Admin, tn.Org.ID, "v."+strings.ToLower(domain.RandomString(6))+"@example.com", domain.RoleViewer)
		require.NoError(t, err)
		_, err = env.Services().Tenancy.ResetPassword(ctx, inv.Link[strings.Index(inv.Link, "token=")+6:], "viewer password 123")
		require.NoError(t, err)
		vt := apptest.Do(t, "POST", base+"/auth/token", "", map[string]any{"email": inv.User.Email, "password": "viewer password 123"}).JSON(t)["token"].(string)
		require.Equal(t, http.StatusOK, apptest.Do(t, "GET", base+"/sites", vt, nil).Status)
		require.Equal(t, http.StatusForbidden, apptest.Do(t, "POST", base+"/sites", vt, map[string]any{"name": "x"}).Status)
		require.Equal(t, http.StatusForbidden, apptest.Do(t, "POST", base+"/checkouts/"+tn.Site.ID+"/create", vt, map[string]any{"amount": 1, "currency": "EUR", "externalReference": "x", "mode": "test"}).Status)

		// A password change ends earlier sessions.
		require.NoError(t, s.SetPassword(ctx, tn.AdminUser.ID, "x"))
		require.Equal(t, http.StatusUnauthorized, apptest.Do(t, "GET", base+"/auth/me", jwt, nil).Status)
	})
}

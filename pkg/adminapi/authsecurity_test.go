package adminapi_test

import (
	"net/http"
	"strconv"
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

// requireRetryAfter checks a 429 says when to come back: a positive whole number of seconds.
func requireRetryAfter(t *testing.T, res *apptest.Response) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, res.Status, string(res.Body))
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q is not a number of seconds", res.Header.Get("Retry-After"))
	require.Positive(t, secs)
}

// Failed authentications count per (client IP, API key id): a client that keeps sending bad
// secrets for one key from a shared address is refused for that key, and valid keys from the
// same address keep working.
func TestFailedAuthenticationCountsPerKey(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	_, keyB, err := env.Services().Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "b", Mode: "test", Scopes: []string{"*:*"}})
	require.NoError(t, err)
	url := env.AdminURL + "/api/v1/sites"
	wrong := func(key string) string {
		bad := key[:len(key)-4] + "AAAA"
		if bad == key {
			bad = key[:len(key)-4] + "BBBB"
		}
		return bad
	}

	var last *apptest.Response
	attempts, start := 0, time.Now()
	for ; attempts < 50; attempts++ {
		last = apptest.Do(t, http.MethodGet, url, wrong(tn.TestKey), nil)
		if last.Status != http.StatusUnauthorized {
			break
		}
	}
	requireRetryAfter(t, last)
	require.Equal(t, "RATE_LIMITED", last.JSON(t)["code"])
	apptest.RequireLimitedAfter(t, attempts, 10, 6*time.Second, time.Since(start)) // ten failures with one key, then refused
	requireRetryAfter(t, apptest.Do(t, http.MethodGet, url, wrong(tn.TestKey), nil))

	require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, url, keyB, nil).Status, "another key from the same address works")
	require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, url, tn.TestKey, nil).Status, "the right secret of the same key works")
	require.Equal(t, http.StatusUnauthorized, apptest.Do(t, http.MethodGet, url, wrong(keyB), nil).Status,
		"failures with another key are counted on their own")
	requireRetryAfter(t, apptest.Do(t, http.MethodGet, url, wrong(tn.TestKey), nil))
}

// Failed sign-ins (POST /auth/token) count per (client IP, e-mail address): someone guessing
// one address's password does not stop the others behind the same address from signing in.
func TestFailedSignInsCountPerAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	token := env.AdminURL + "/api/v1/auth/token"
	nobody := "nobody." + strings.ToLower(domain.RandomString(6)) + "@example.com" // never locked: only the address limit applies
	var last *apptest.Response
	attempts, start := 0, time.Now()
	for ; attempts < 50; attempts++ {
		last = apptest.Do(t, http.MethodPost, token, "", map[string]any{"email": nobody, "password": "guess-" + strconv.Itoa(attempts)})
		if last.Status != http.StatusUnauthorized {
			break
		}
	}
	requireRetryAfter(t, last)
	apptest.RequireLimitedAfter(t, attempts, 10, 6*time.Second, time.Since(start))

	ok := apptest.Do(t, http.MethodPost, token, "", map[string]any{"email": tn.AdminUser.Email, "password": tn.Password})
	require.Equal(t, http.StatusOK, ok.Status, "another address from the same client signs in: %s", ok.Body)
}

// A locked account's 429 from /auth/token says how long the lock lasts.
func TestAccountLockedCarriesRetryAfter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		token := env.AdminURL + "/api/v1/auth/token"
		for i := 0; i < tenancy.FreeAttempts; i++ {
			res := apptest.Do(t, http.MethodPost, token, "", map[string]any{"email": tn.AdminUser.Email, "password": "wrong-" + strconv.Itoa(i)})
			require.Equal(t, http.StatusUnauthorized, res.Status)
		}
		res := apptest.Do(t, http.MethodPost, token, "", map[string]any{"email": tn.AdminUser.Email, "password": tn.Password})
		requireRetryAfter(t, res)
		require.Equal(t, tenancy.CodeAccountLocked, res.JSON(t)["code"])
		secs, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		require.InDelta(t, tenancy.LockoutFor(tenancy.FreeAttempts).Seconds(), secs, 5, "the lock's real wait")
	})
}

// Signing out ends the session on the server: the token (and every other token of the user)
// is refused at once, not when it expires; a new sign-in works.
func TestLogoutEndsTheSession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		signIn := func() string {
			res := apptest.Do(t, http.MethodPost, base+"/auth/token", "", map[string]any{"email": tn.AdminUser.Email, "password": tn.Password})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			return res.JSON(t)["token"].(string)
		}
		first, second := signIn(), signIn()
		require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, base+"/auth/me", first, nil).Status)

		require.Equal(t, http.StatusNoContent, apptest.Do(t, http.MethodPost, base+"/auth/logout", first, nil).Status)
		for name, tok := range map[string]string{"the signed-out token": first, "another token of the user": second} {
			res := apptest.Do(t, http.MethodGet, base+"/auth/me", tok, nil)
			require.Equal(t, http.StatusUnauthorized, res.Status, name)
			require.Equal(t, "UNAUTHORIZED", res.JSON(t)["code"])
			require.Equal(t, http.StatusUnauthorized, apptest.Do(t, http.MethodPost, base+"/auth/refresh", tok, map[string]any{}).Status,
				"%s cannot be refreshed into a new one", name)
		}

		fresh := signIn()
		require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, base+"/auth/me", fresh, nil).Status, "signing in again works")
		require.Equal(t, http.StatusForbidden, apptest.Do(t, http.MethodPost, base+"/auth/logout", tn.TestKey, nil).Status,
			"API keys are revoked, not signed out")
		require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, base+"/auth/me", fresh, nil).Status)

		audit, err := s.ListAudit(ctx, store.AuditFilter{OrganizationID: tn.Org.ID, Action: "user.sign_out", Limit: 10})
		require.NoError(t, err)
		require.Len(t, audit, 1)
		require.Equal(t, tn.AdminUser.ID, audit[0].TargetID)
	})
}

// Every answer of the Admin API — a result, an error, a replay, a 404 of an unknown path, a
// 429 — is marked not to be cached nor content-sniffed.
func TestAPIAnswersAreNotCached(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true, RateLimit: 1})
	tn := env.NewTenant(t)
	// One key per case: the rate limit (one a second, bursts of two) is per key.
	key := func() string {
		_, k, err := env.Services().Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "k", Mode: "test", Scopes: []string{"*:*"}})
		require.NoError(t, err)
		return k
	}
	reader, writer, invalid, limited := key(), key(), key(), key()
	create := env.AdminURL + "/v1/checkouts/" + tn.Site.ID + "/create"
	body := map[string]any{"amount": 1000, "currency": "EUR", "externalReference": "order-" + domain.RandomString(6), "mode": "test"}
	cases := []struct {
		name   string
		res    func() *apptest.Response
		status int
	}{
		{"Success", func() *apptest.Response {
			return apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/auth/me", reader, nil)
		}, 200},
		{"Created", func() *apptest.Response {
			return apptest.Do(t, http.MethodPost, create, writer, body, "Idempotency-Key", "hdr-"+tn.Org.ID)
		}, 200},
		{"Replay", func() *apptest.Response {
			return apptest.Do(t, http.MethodPost, create, writer, body, "Idempotency-Key", "hdr-"+tn.Org.ID)
		}, 200},
		{"Unauthorized", func() *apptest.Response { return apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/sites", "", nil) }, 401},
		{"Invalid", func() *apptest.Response {
			return apptest.Do(t, http.MethodPost, create, invalid, []byte(`{"amount":`), "Content-Type", "application/json")
		}, 400},
		{"UnknownPath", func() *apptest.Response {
			return apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/no/such/thing", "", nil)
		}, 404},
		{"UnknownPathV1", func() *apptest.Response {
			return apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/nothing", reader, nil)
		}, 404},
		{"WrongMethod", func() *apptest.Response {
			return apptest.Do(t, http.MethodPut, env.AdminURL+"/api/v1/auth/me", reader, nil)
		}, 0}, // 404 or 405
		{"RateLimited", func() *apptest.Response {
			var last *apptest.Response
			for i := 0; i < 10; i++ {
				if last = apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/sites", limited, nil); last.Status == http.StatusTooManyRequests {
					break
				}
			}
			return last
		}, 429},
	}
	for _, tc := range cases {
		res := tc.res()
		if tc.status == 0 {
			require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, res.Status, tc.name)
		} else {
			require.Equal(t, tc.status, res.Status, "%s: %s", tc.name, res.Body)
		}
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"), tc.name)
		require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), tc.name)
		if tc.status == http.StatusTooManyRequests {
			requireRetryAfter(t, res)
		}
	}
}

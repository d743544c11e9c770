package panel_test

import (
	"net/http"
	"net/url"
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

// Signing out ends the session on the server: the old session token is refused as the panel's
// cookie and as a bearer token of the Admin API, and so is every other session of the user.
func TestSignOutEndsTheSessionEverywhere(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		me := env.AdminURL + "/api/v1/auth/me"
		email, pw := member(t, env, tn.Org.ID, domain.RoleEditor)

		c := newClient(t, env.AdminURL)
		c.login(email, pw)
		old := *c.cookies["pg_session"]
		require.Equal(t, http.StatusOK, c.get("/").Status)
		require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, me, old.Value, nil).Status, "the session works as a bearer token")
		other := newClient(t, env.AdminURL) // the same user in another browser
		other.login(email, pw)
		apiTok := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/auth/token", "", map[string]any{"email": email, "password": pw}).JSON(t)["token"].(string)

		c.get("/logout")
		res := c.post("/logout", nil)
		require.Equal(t, http.StatusSeeOther, res.Status)
		require.Equal(t, "/login?notice=signed-out", res.Location)

		// The old cookie, kept by someone who copied it, no longer opens a page ...
		replay := newClient(t, env.AdminURL)
		replay.cookies["pg_session"] = &http.Cookie{Name: "pg_session", Value: old.Value}
		page := replay.get("/checkouts")
		require.Equal(t, http.StatusSeeOther, page.Status)
		require.True(t, strings.HasPrefix(page.Location, "/login?"), page.Location)
		require.Contains(t, page.Location, "notice=signed-out")
		require.Nil(t, replay.cookies["pg_session"], "the dead cookie is cleared")
		// ... nor the Admin API as a bearer token.
		require.Equal(t, http.StatusUnauthorized, apptest.Do(t, http.MethodGet, me, old.Value, nil).Status)
		// Every other session of the user ended with it.
		require.Equal(t, http.StatusSeeOther, other.get("/").Status, "the other browser is signed out")
		require.Equal(t, http.StatusUnauthorized, apptest.Do(t, http.MethodGet, me, apiTok, nil).Status, "the API token is signed out")

		// Signing in again works; the admin's sessions were never touched.
		c.login(email, pw)
		require.Equal(t, http.StatusOK, c.get("/").Status)
		admin := signedIn(t, env, tn, domain.RoleAdmin)
		require.Equal(t, http.StatusOK, admin.get("/").Status)

		// Signing out through the Admin API ends the panel's sessions too (one check for both).
		fresh := *c.cookies["pg_session"]
		require.Equal(t, http.StatusNoContent, apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/auth/logout", fresh.Value, nil).Status)
		require.Equal(t, http.StatusSeeOther, c.get("/").Status)
	})
}

func retryAfter(t *testing.T, p *page) int {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, p.Status)
	secs, err := strconv.Atoi(p.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After %q", p.Header.Get("Retry-After"))
	require.Positive(t, secs)
	return secs
}

// Failed sign-ins count per (client IP, e-mail address): someone guessing one address from a
// shared network is slowed down, the others there still sign in. Every 429 of the sign-in and
// password forms says when to come back.
func TestSignInLimitsPerAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)

	t.Run("GuessingOneAddressDoesNotBlockOthers", func(t *testing.T) {
		c := newClient(t, env.AdminURL)
		c.get("/login")
		nobody := "nobody." + strings.ToLower(domain.RandomString(6)) + "@example.com" // never locked: only the limit applies
		var last *page
		attempts, start := 0, time.Now()
		for ; attempts < 50; attempts++ {
			last = c.post("/login", url.Values{"email": {nobody}, "password": {"guess-" + strconv.Itoa(attempts)}})
			if last.Status != http.StatusUnauthorized {
				break
			}
		}
		retryAfter(t, last)
		apptest.RequireLimitedAfter(t, attempts, 10, 6*time.Second, time.Since(start)) // ten failures for one address, then refused
		require.Contains(t, text(last, "[role=alert]"), "Too many failed sign-ins")

		c.login(tn.AdminUser.Email, tn.Password) // from the same address
		require.Equal(t, http.StatusOK, c.get("/").Status)
	})

	t.Run("LockedAccountSaysHowLong", func(t *testing.T) {
		email, pw := member(t, env, tn.Org.ID, domain.RoleViewer)
		c := newClient(t, env.AdminURL)
		c.get("/login")
		for i := 0; i < tenancy.FreeAttempts; i++ {
			require.Equal(t, http.StatusUnauthorized, c.post("/login", url.Values{"email": {email}, "password": {"wrong-" + strconv.Itoa(i)}}).Status)
		}
		res := c.post("/login", url.Values{"email": {email}, "password": {pw}})
		secs := retryAfter(t, res)
		require.InDelta(t, tenancy.LockoutFor(tenancy.FreeAttempts).Seconds(), secs, 5, "the lock's real wait")
		require.Contains(t, text(res, "[role=alert]"), "Too many failed sign-ins: try again in")
	})

	t.Run("PasswordResetRequests", func(t *testing.T) {
		c := newClient(t, env.AdminURL)
		c.get("/forgot-password")
		var last *page
		for i := 0; i < 20; i++ {
			last = c.post("/forgot-password", url.Values{"email": {"someone." + strconv.Itoa(i) + "@example.com"}})
			if last.Status != http.StatusSeeOther {
				break
			}
		}
		retryAfter(t, last)
		require.Contains(t, text(last, "[role=alert]"), "Too many requests")
	})
}

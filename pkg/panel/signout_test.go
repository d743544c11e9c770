package panel_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/platform"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// Signing out ends the session on the server: the old session token is refused as the panel's
// cookie and as a bearer token of the Admin API, and so is every other session of the user.
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
		attempts := 0
		for ; attempts < 50; attempts++ {
			last = c.post("/login", url.Values{"email": {nobody}, "password": {"guess-" + strconv.Itoa(attempts)}})
			if last.Status != http.StatusUnauthorized {
				break
			}
		}
		retryAfter(t, last)
		require.Equal(t, 10, attempts, "ten failures for one address, then refused")
		require.Contains(t, text(last, "[role=alert]"), "Too many failed sign-ins")

		c.login(tn.AdminUser.Email, tn.Password) // from the same address
		require.Equal(t, http.StatusOK, c.get("/").Status)
	})

	t.Run("LockedAccountSaysHowLong", func(t *testing.T) {
		email, pw := member(t, env, tn.Org.ID, domain.RoleViewer)
		c := newClient(t, env.AdminURL)
		c.get("/login")
		for i := 0; i < platform.FreeAttempts; i++ {
			require.Equal(t, http.StatusUnauthorized, c.post("/login", url.Values{"email": {email}, "password": {"wrong-" + strconv.Itoa(i)}}).Status)
		}
		res := c.post("/login", url.Values{"email": {email}, "password": {pw}})
		secs := retryAfter(t, res)
		require.InDelta(t, platform.LockoutFor(platform.FreeAttempts).Seconds(), secs, 5, "the lock's real wait")
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

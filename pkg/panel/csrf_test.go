package panel_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestCSRF(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		admin := signedIn(t, env, tn, domain.RoleAdmin)
		other := signedIn(t, env, tn, domain.RoleEditor) // another user
		sites := func() int {
			list, err := env.Services().Tenancy.ListSites(ctx, tn.Admin, tn.Org.ID)
			require.NoError(t, err)
			return len(list)
		}
		newSite := func(csrf string) url.Values {
			v := url.Values{"name": {"Forged " + domain.RandomString(4)}, "ipnVersion": {"2"}, "taxDisplay": {"inclusive"},
				"vatIdValidation": {"format"}, "defaultLanguage": {"en"}}
			if csrf == "-" {
				v["csrf"] = []string{} // present for the client (which then adds none), absent on the wire
			} else {
				v.Set("csrf", csrf)
			}
			return v
		}
		valid := admin.csrf()
		start := sites()

		for name, tc := range map[string]struct {
			form    url.Values
			headers []string
		}{
			"MissingToken":         {form: newSite("-"), headers: nil},
			"EmptyToken":           {form: newSite(""), headers: nil},
			"WrongToken":           {form: newSite(valid[:len(valid)-4] + "0000"), headers: nil},
			"GarbageToken":         {form: newSite("not-a-token"), headers: nil},
			"AnotherUsersToken":    {form: newSite(other.csrf()), headers: nil},
			"CrossSiteOrigin":      {form: newSite(valid), headers: []string{"Origin", "https://evil.example"}},
			"NullOrigin":           {form: newSite(valid), headers: []string{"Origin", "null"}},
			"CrossSiteReferer":     {form: newSite(valid), headers: []string{"Origin", "", "Referer", "https://evil.example/form"}},
			"NoOriginNoReferer":    {form: newSite(valid), headers: []string{"Origin", ""}},
			"FetchMetadataCrossed": {form: newSite(valid), headers: []string{"Sec-Fetch-Site", "cross-site"}},
			"SameSiteOtherOrigin":  {form: newSite(valid), headers: []string{"Origin", "http://localhost:1"}},
		} {
			t.Run(name, func(t *testing.T) {
				res := admin.post("/sites", tc.form, tc.headers...)
				require.Equal(t, http.StatusForbidden, res.Status, text(res, "main"))
				require.NotEmpty(t, text(res, "h1"))
				require.Equal(t, start, sites(), "nothing was created")
			})
		}

		t.Run("SameOriginRefererWithoutOriginIsAccepted", func(t *testing.T) {
			res := admin.post("/sites", newSite(valid), "Origin", "", "Referer", env.AdminURL+"/sites/new")
			require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
			require.Equal(t, start+1, sites())
		})

		t.Run("CrossSiteEvenWithAValidCookieAndToken", func(t *testing.T) {
			// A page on another site posting the panel's sign-out, role or refund forms.
			res := admin.post("/logout", url.Values{"csrf": {valid}}, "Origin", "https://evil.example")
			require.Equal(t, http.StatusForbidden, res.Status)
			require.NotNil(t, admin.cookies["pg_session"], "still signed in")
			require.Equal(t, http.StatusOK, admin.get("/").Status)
		})

		t.Run("SignInFormNeedsItsToken", func(t *testing.T) {
			c := newClient(t, env.AdminURL)
			c.get("/login")
			res := c.post("/login", url.Values{"email": {tn.AdminUser.Email}, "password": {tn.Password}, "csrf": {"forged"}})
			require.Equal(t, http.StatusForbidden, res.Status)
			require.Nil(t, c.cookies["pg_session"])

			fresh := newClient(t, env.AdminURL) // never saw the form: no cookie to match
			res = fresh.post("/login", url.Values{"email": {tn.AdminUser.Email}, "password": {tn.Password}, "csrf": {"0011"}})
			require.Equal(t, http.StatusForbidden, res.Status)

			cross := newClient(t, env.AdminURL)
			cross.get("/login")
			res = cross.post("/login", url.Values{"email": {tn.AdminUser.Email}, "password": {tn.Password}}, "Origin", "https://evil.example")
			require.Equal(t, http.StatusForbidden, res.Status, "login CSRF: another site cannot sign the browser in")
		})

		t.Run("ForgotAndResetFormsNeedTheirToken", func(t *testing.T) {
			c := newClient(t, env.AdminURL)
			c.get("/forgot-password")
			require.Equal(t, http.StatusForbidden, c.post("/forgot-password", url.Values{"email": {tn.AdminUser.Email}, "csrf": {"x"}}).Status)
			require.Equal(t, http.StatusForbidden, c.post("/reset-password", url.Values{"token": {"t"}, "password": {"p"}, "confirm": {"p"}, "csrf": {"x"}}).Status)
		})
	})
}

// TestSecurityHeaders checks what every panel page carries.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	anon := newClient(t, env.AdminURL)
	for _, path := range []string{"/", "/login", "/no-such-page", "/checkouts/chk_nothing", "/transactions"} {
		res := c.get(path)
		if path == "/login" {
			res = anon.get(path)
		}
		require.NotNil(t, res.Doc, path)
		csp := res.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: https:",
			"form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
			require.Contains(t, csp, d, path)
		}
		require.NotContains(t, csp, "unsafe-inline", path)
		require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"), path)
		require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), path)
		require.Equal(t, "no-store", res.Header.Get("Cache-Control"), path)
		require.Zero(t, res.Doc.Find("script:not([src]), [style], style").Length(), "no inline script or style on %s", path)
	}
}

package panel_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)

		t.Run("PagesNeedASession", func(t *testing.T) {
			c := newClient(t, env.AdminURL)
			res := c.get("/checkouts?status=open")
			require.Equal(t, http.StatusSeeOther, res.Status)
			require.Equal(t, "/login?next=%2Fcheckouts%3Fstatus%3Dopen", res.Location)
		})

		t.Run("SignsInAndGoesBack", func(t *testing.T) {
			c := newClient(t, env.AdminURL)
			login := c.get("/login?next=/checkouts")
			require.Equal(t, http.StatusOK, login.Status)
			require.Equal(t, "Sign in · Paygate", login.Doc.Find("title").Text())
			require.Equal(t, "en", login.Doc.Find("html").AttrOr("lang", ""))
			require.Equal(t, 1, login.Doc.Find(`label[for=f-email]`).Length(), "every input has a label")
			require.Equal(t, "username", login.Doc.Find(`#f-email`).AttrOr("autocomplete", ""))
			res := c.post("/login", url.Values{"email": {strings.ToUpper(tn.AdminUser.Email)}, "password": {tn.Password}, "next": {"/checkouts"}})
			require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
			require.Equal(t, "/checkouts", res.Location)
			ck := c.cookies["pg_session"]
			require.NotNil(t, ck)
			require.True(t, ck.HttpOnly, "HttpOnly")
			require.True(t, ck.Secure, "Secure (loopback counts as a secure origin)")
			require.Equal(t, http.SameSiteStrictMode, ck.SameSite)
			require.Equal(t, "/", ck.Path)
			page := c.get("/checkouts")
			require.Equal(t, http.StatusOK, page.Status)
			require.Contains(t, text(page, ".me"), tn.AdminUser.Email)
			require.Contains(t, text(page, ".org"), tn.Org.Name)
		})

		t.Run("NextStaysOnThisSite", func(t *testing.T) {
			for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
				c := newClient(t, env.AdminURL)
				c.get("/login")
				res := c.post("/login", url.Values{"email": {tn.AdminUser.Email}, "password": {tn.Password}, "next": {next}})
				require.Equal(t, http.StatusSeeOther, res.Status)
				require.Equal(t, "/", res.Location, next)
			}
		})

		t.Run("WrongPassword", func(t *testing.T) {
			email, _ := member(t, env, tn.Org.ID, domain.RoleViewer)
			c := newClient(t, env.AdminURL)
			c.get("/login")
			res := c.post("/login", url.Values{"email": {email}, "password": {"not-the-password"}})
			require.Equal(t, http.StatusUnauthorized, res.Status)
			require.Equal(t, "Wrong e-mail address or password.", text(res, "[role=alert]"))
			require.Equal(t, email, res.Doc.Find("#f-email").AttrOr("value", ""), "the address is kept")
			require.Empty(t, res.Doc.Find("#f-password").AttrOr("value", ""), "the password is not echoed")
			require.Nil(t, c.cookies["pg_session"])
			unknown := c.post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"whatever-password"}})
			require.Equal(t, http.StatusUnauthorized, unknown.Status)
			require.Equal(t, text(res, "[role=alert]"), text(unknown, "[role=alert]"), "unknown addresses answer the same")
		})

		t.Run("MissingFieldsAreShownNextToThem", func(t *testing.T) {
			c := newClient(t, env.AdminURL)
			c.get("/login")
			res := c.post("/login", url.Values{"email": {""}, "password": {""}})
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Equal(t, "Enter your e-mail address", text(res, "#f-email-error"))
			require.Equal(t, "f-email-error", res.Doc.Find("#f-email").AttrOr("aria-describedby", ""))
			require.Equal(t, "true", res.Doc.Find("#f-email").AttrOr("aria-invalid", ""))
			require.Equal(t, "Enter your password", text(res, "#f-password-error"))
		})

		t.Run("LockoutAfterRepeatedFailures", func(t *testing.T) {
			email, pw := member(t, env, tn.Org.ID, domain.RoleEditor)
			c := newClient(t, env.AdminURL)
			c.get("/login")
			for i := 0; i < tenancy.FreeAttempts; i++ {
				res := c.post("/login", url.Values{"email": {email}, "password": {"wrong-password-" + string(rune('a'+i))}})
				require.Equal(t, http.StatusUnauthorized, res.Status, "attempt %d", i+1)
			}
			res := c.post("/login", url.Values{"email": {email}, "password": {pw}})
			require.Equal(t, http.StatusTooManyRequests, res.Status, "locked even with the right password")
			require.Contains(t, text(res, "[role=alert]"), "Too many failed sign-ins: try again in")
			require.Contains(t, text(res, "[role=alert]"), "Forgot your password?")
			require.Nil(t, c.cookies["pg_session"])
		})

		t.Run("SignOut", func(t *testing.T) {
			c := signedIn(t, env, tn, domain.RoleViewer)
			confirm := c.get("/logout")
			require.Equal(t, http.StatusOK, confirm.Status)
			res := c.post("/logout", nil)
			require.Equal(t, http.StatusSeeOther, res.Status)
			require.Equal(t, "/login?notice=signed-out", res.Location)
			require.Nil(t, c.cookies["pg_session"], "the cookie is cleared")
			require.Equal(t, "You are signed out.", text(c.get(res.Location), "[role=status]"))
			require.Equal(t, http.StatusSeeOther, c.get("/").Status)
		})

		t.Run("NoOrganisation", func(t *testing.T) {
			u, err := env.Services().Tenancy.CreateUser(ctx, domain.SystemActor(""), tenancy.CreateUserInput{Email: "lonely." + strings.ToLower(domain.RandomString(6)) + "@example.com", Password: "pw-lonely-1234567"})
			require.NoError(t, err)
			c := newClient(t, env.AdminURL)
			c.get("/login")
			res := c.post("/login", url.Values{"email": {u.Email}, "password": {"pw-lonely-1234567"}})
			require.Equal(t, http.StatusForbidden, res.Status)
			require.Contains(t, text(res, "[role=alert]"), "does not belong to any organisation")
		})
	})
}

func TestSession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		key := secrets.Derive(env.MasterKey, "test-jwt") // the key apptest configures
		token := func(ttl time.Duration, u *domain.User) string {
			tok, _, err := auth.NewSessions(key, ttl).Issue(u.ID, tn.Org.ID, u.PasswordChangedAt)
			require.NoError(t, err)
			return tok
		}

		t.Run("RenewedWhenHalfItsLifeIsGone", func(t *testing.T) {
			c := newClient(t, env.AdminURL)
			old := token(6*time.Minute, tn.AdminUser) // the server's sessions last 15 minutes
			c.cookies["pg_session"] = &http.Cookie{Name: "pg_session", Value: old}
			res := c.get("/")
			require.Equal(t, http.StatusOK, res.Status)
			renewed := c.cookies["pg_session"]
			require.NotNil(t, renewed)
			require.NotEqual(t, old, renewed.Value, "a fresh token is set")
			claims, err := env.Admin.Sessions.Verify(renewed.Value)
			require.NoError(t, err)
			require.Greater(t, time.Until(claims.ExpiresAt.Time), 14*time.Minute)
			require.Equal(t, tn.Org.ID, claims.Org)
			require.True(t, renewed.Expires.After(time.Now().Add(14*time.Minute)))

			// A form rendered before the renewal still posts.
			form := url.Values{"csrf": {res.Doc.Find("input[name=csrf]").AttrOr("value", "")}, "name": {"Renamed " + tn.Org.Name}}
			c2 := newClient(t, env.AdminURL)
			c2.cookies["pg_session"] = renewed
			require.Equal(t, http.StatusSeeOther, c2.post("/organizations/settings", form).Status)
		})

		t.Run("FreshSessionIsNotRenewed", func(t *testing.T) {
			c := signedIn(t, env, tn, domain.RoleAdmin)
			before := c.cookies["pg_session"].Value
			c.get("/")
			require.Equal(t, before, c.cookies["pg_session"].Value)
		})

		t.Run("ExpiredGoesToSignIn", func(t *testing.T) {
			c := newClient(t, env.AdminURL)
			c.cookies["pg_session"] = &http.Cookie{Name: "pg_session", Value: token(-2*time.Minute, tn.AdminUser)}
			res := c.get("/sites")
			require.Equal(t, http.StatusSeeOther, res.Status)
			require.Equal(t, "/login?next=%2Fsites&notice=expired", res.Location)
			require.Nil(t, c.cookies["pg_session"], "the stale cookie is cleared")
		})

		t.Run("ForgedIsRejected", func(t *testing.T) {
			forged, _, err := auth.NewSessions([]byte(strings.Repeat("x", 32)), time.Hour).Issue(tn.AdminUser.ID, tn.Org.ID, tn.AdminUser.PasswordChangedAt)
			require.NoError(t, err)
			c := newClient(t, env.AdminURL)
			c.cookies["pg_session"] = &http.Cookie{Name: "pg_session", Value: forged}
			require.Equal(t, http.StatusSeeOther, c.get("/").Status)
		})

		t.Run("PasswordChangeEndsOlderSessions", func(t *testing.T) {
			email, pw := member(t, env, tn.Org.ID, domain.RoleEditor)
			c := newClient(t, env.AdminURL)
			c.login(email, pw)
			require.Equal(t, http.StatusOK, c.get("/").Status)
			u, err := s.GetUserByEmail(ctx, email)
			require.NoError(t, err)
			hash, err := auth.HashPassword("a-brand-new-password")
			require.NoError(t, err)
			require.NoError(t, s.SetPassword(ctx, u.ID, hash))
			res := c.get("/")
			require.Equal(t, http.StatusSeeOther, res.Status)
			require.Equal(t, "/login?notice=password-changed", res.Location)
		})

		t.Run("RemovedMemberIsSignedOut", func(t *testing.T) {
			email, pw := member(t, env, tn.Org.ID, domain.RoleViewer)
			c := newClient(t, env.AdminURL)
			c.login(email, pw)
			u, err := s.GetUserByEmail(ctx, email)
			require.NoError(t, err)
			require.NoError(t, env.Services().Tenancy.RemoveMember(ctx, tn.Admin, tn.Org.ID, u.ID))
			res := c.get("/")
			require.Equal(t, http.StatusSeeOther, res.Status)
			require.Equal(t, "/login?notice=no-organization", res.Location)
		})
	})
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)

		t.Run("ForgotAnswersTheSameForAnyAddress", func(t *testing.T) {
			before, err := s.DumpTable(ctx, "password_resets")
			require.NoError(t, err)
			for _, email := range []string{tn.AdminUser.Email, "nobody@example.com"} {
				c := newClient(t, env.AdminURL)
				require.Equal(t, http.StatusOK, c.get("/forgot-password").Status)
				res := c.post("/forgot-password", url.Values{"email": {email}})
				require.Equal(t, http.StatusSeeOther, res.Status)
				require.Equal(t, "/login?notice=reset-requested", res.Location)
			}
			after, err := s.DumpTable(ctx, "password_resets")
			require.NoError(t, err)
			require.Len(t, after, len(before)+1, "one link, for the known address only")
		})

		t.Run("InvitationLinkSetsThePassword", func(t *testing.T) {
			email := "new." + strings.ToLower(domain.RandomString(6)) + "@example.com"
			inv, err := env.Services().Tenancy.InviteMember(ctx, tn.Admin, tn.Org.ID, email, domain.RoleEditor)
			require.NoError(t, err)
			link, err := url.Parse(inv.Link)
			require.NoError(t, err)
			require.Equal(t, "/reset-password", link.Path)

			c := newClient(t, env.AdminURL)
			form := c.get(link.RequestURI())
			require.Equal(t, http.StatusOK, form.Status)
			require.Equal(t, "same-origin", form.Header.Get("Referrer-Policy"), "the token in the address never leaves in a Referer")
			require.Equal(t, link.Query().Get("token"), form.Doc.Find("input[name=token]").AttrOr("value", ""))

			mismatch := c.post("/reset-password", url.Values{"token": {link.Query().Get("token")}, "password": {"correct horse battery"}, "confirm": {"other"}})
			require.Equal(t, http.StatusBadRequest, mismatch.Status)
			require.Equal(t, "The two passwords are not the same", text(mismatch, "#f-confirm-error"))

			short := c.post("/reset-password", url.Values{"token": {link.Query().Get("token")}, "password": {"short"}, "confirm": {"short"}})
			require.Equal(t, http.StatusBadRequest, short.Status)
			require.Contains(t, text(short, "#f-password-error"), "at least")

			ok := c.post("/reset-password", url.Values{"token": {link.Query().Get("token")}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}})
			require.Equal(t, http.StatusSeeOther, ok.Status, text(ok, "main"))
			require.Equal(t, "/login?notice=password-set", ok.Location)
			c.login(email, "correct horse battery")
			require.Contains(t, text(c.get("/"), ".me"), "Editor")

			again := newClient(t, env.AdminURL)
			again.get(link.RequestURI())
			used := again.post("/reset-password", url.Values{"token": {link.Query().Get("token")}, "password": {"another password!"}, "confirm": {"another password!"}})
			require.Equal(t, http.StatusSeeOther, used.Status)
			require.Equal(t, "/forgot-password?notice=invalid-reset-link", used.Location, "a link works once")
		})
	})
}

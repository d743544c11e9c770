package panel_test

import (
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/mail/mailtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// choosePassword follows an e-mailed link as a browser would and sets the password.
func choosePassword(t *testing.T, env *apptest.Env, link, password string) {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, env.AdminURL+"/reset-password", u.Scheme+"://"+u.Host+u.Path, "the link points at this admin backend")
	c := newClient(t, env.AdminURL)
	form := c.get(u.RequestURI())
	require.Equal(t, http.StatusOK, form.Status)
	res := c.post("/reset-password", url.Values{"token": {u.Query().Get("token")}, "password": {password}, "confirm": {password}})
	require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
	require.Equal(t, "/login?notice=password-set", res.Location)
}

func TestForgotPasswordEmailArrivesOverSMTPAndItsLinkResetsThePassword(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)

		c := newClient(t, env.AdminURL)
		c.get("/forgot-password")
		res := c.post("/forgot-password", url.Values{"email": {tn.AdminUser.Email}})
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		require.Equal(t, "/login?notice=reset-requested", res.Location)

		m := env.Mail.NextTo(t, tn.AdminUser.Email)
		require.Equal(t, "no-reply@paygate.test", m.From, "envelope sender is MAIL_FROM")
		require.Equal(t, []string{tn.AdminUser.Email}, m.To)
		require.True(t, m.TLS, "sent over STARTTLS")
		require.Equal(t, "paygate", m.AuthUser, "with AUTH")
		from, err := mail.ParseAddress(m.Header.Get("From"))
		require.NoError(t, err)
		require.Equal(t, "no-reply@paygate.test", from.Address)
		require.Equal(t, "Reset your password", m.Header.Get("Subject"))
		require.NotEmpty(t, m.Header.Get("Date"))
		require.Contains(t, m.Header.Get("Message-ID"), "@paygate.test>")
		link := m.Link()
		require.Contains(t, link, "/reset-password?token=")

		choosePassword(t, env, link, "a brand new password 1")
		fresh := newClient(t, env.AdminURL)
		fresh.login(tn.AdminUser.Email, "a brand new password 1")
		old := newClient(t, env.AdminURL)
		old.get("/login")
		require.Equal(t, http.StatusUnauthorized, old.post("/login", url.Values{"email": {tn.AdminUser.Email}, "password": {tn.Password}}).Status,
			"the old password no longer works")

		// An unknown address gets the same answer and no e-mail.
		anon := newClient(t, env.AdminURL)
		anon.get("/forgot-password")
		res = anon.post("/forgot-password", url.Values{"email": {"nobody." + strings.ToLower(domain.RandomString(6)) + "@example.com"}})
		require.Equal(t, "/login?notice=reset-requested", res.Location)
		require.Empty(t, env.Mail.Pending())
	})
}

func TestPanelInvitationEmailArrivesOverSMTPAndItsLinkSetsThePassword(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		c := signedIn(t, env, tn, domain.RoleAdmin)
		email := "invitee." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		res := c.post("/users", url.Values{"email": {email}, "role": {"editor"}})
		require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
		require.Contains(t, text(res, ".notice"), "They get an e-mail with a link")
		require.Zero(t, res.Doc.Find("#f-inviteLink").Length(), "mailed: the link is not on the page")

		m := env.Mail.NextTo(t, email)
		require.Equal(t, "You are invited to the payment dashboard", m.Header.Get("Subject"))
		require.Contains(t, m.Text, "as editor")
		choosePassword(t, env, m.Link(), "invitee password 123")
		n := newClient(t, env.AdminURL)
		n.login(email, "invitee password 123")
		require.Contains(t, text(n.get("/"), ".me"), "Editor")
	})
}

// With MAIL_DISABLED=true nothing is dropped silently: "forgot password" says e-mail is off
// (for every address alike) and an invitation shows its link to the administrator.
func TestWithoutMailTheFlowsSaySo(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true,
			AdminBackend: func(c *config.AdminBackend) { c.Mail = config.Mail{Disabled: true} }})
		tn := env.NewTenant(t)
		before, err := s.DumpTable(ctx, "password_resets")
		require.NoError(t, err)
		for _, email := range []string{tn.AdminUser.Email, "nobody@example.com"} {
			c := newClient(t, env.AdminURL)
			c.get("/forgot-password")
			res := c.post("/forgot-password", url.Values{"email": {email}})
			require.Equal(t, http.StatusServiceUnavailable, res.Status)
			require.Contains(t, text(res, ".alert"), "E-mail is turned off on this installation")
		}
		after, err := s.DumpTable(ctx, "password_resets")
		require.NoError(t, err)
		// The package's other tests share this database and make links of their own meanwhile:
		// count this tenant's user's (a link needs a user: none can exist for the unknown address).
		mine := func(rows []string) (n int) {
			for _, r := range rows {
				if strings.Contains(r, tn.AdminUser.ID) {
					n++
				}
			}
			return n
		}
		require.Equal(t, mine(before), mine(after), "no link is made that nobody can receive")

		c := signedIn(t, env, tn, domain.RoleAdmin)
		email := "offline." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		res := c.post("/users", url.Values{"email": {email}, "role": {"viewer"}})
		require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
		require.Contains(t, text(res, ".notice"), "No e-mail was sent")
		link := res.Doc.Find("#f-inviteLink").AttrOr("value", "")
		require.Contains(t, link, "/reset-password?token=", "the inviting administrator gets the link to pass on")
		choosePassword(t, env, link, "offline password 123")
		require.Empty(t, env.Mail.All(), "nothing went to the SMTP server")
	})
}

// A mail server that refuses the recipient: the reset request says the e-mail could not be
// sent, the invitation shows its link, and the failure is logged without the link (the log
// check at the end of every apptest test fails on a token).
func TestRefusedMailIsReportedAndNeverLogsTheLink(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true, Mail: &mailtest.Options{
			TLS: config.SMTPStartTLS, Username: "u", Password: "refusing-server-pw",
			RejectRcpt: func(a string) bool { return strings.HasPrefix(a, "bounce.") }}})
		tn := env.NewTenant(t)
		bounce := "bounce." + strings.ToLower(domain.RandomString(8)) + "@example.com"
		_, err := env.Services().Tenancy.CreateUser(ctx, domain.SystemActor(""), tenancy.CreateUserInput{Email: bounce, Password: "pw-" + domain.RandomString(16)})
		require.NoError(t, err)

		c := newClient(t, env.AdminURL)
		c.get("/forgot-password")
		res := c.post("/forgot-password", url.Values{"email": {bounce}})
		require.Equal(t, http.StatusServiceUnavailable, res.Status)
		require.Contains(t, text(res, ".alert"), "could not be sent")

		admin := signedIn(t, env, tn, domain.RoleAdmin)
		invitee := "bounce.new." + strings.ToLower(domain.RandomString(6)) + "@example.com"
		inv := admin.post("/users", url.Values{"email": {invitee}, "role": {"viewer"}})
		require.Equal(t, http.StatusOK, inv.Status)
		require.Contains(t, text(inv, ".notice"), "No e-mail was sent")
		require.Contains(t, inv.Doc.Find("#f-inviteLink").AttrOr("value", ""), "/reset-password?token=")

		var failures int
		for _, l := range env.Logs.Lines() {
			if strings.Contains(l, `"msg":"e-mail not sent"`) {
				failures++
				require.Contains(t, l, "550")
			}
		}
		require.Equal(t, 2, failures, "each failure is logged (without its link)")
		require.Empty(t, env.Logs.Leaks())
		require.Empty(t, env.Mail.All())
	})
}

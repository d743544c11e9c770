package panel_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/duda"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// dudaSecret is a random app secret in the base64 form Duda hands out.
func dudaSecret() string {
	return base64.StdEncoding.EncodeToString([]byte("secret-" + domain.RandomString(24)))
}

// dudaConnection connects a Duda app to the tenant's site through the platform.
func dudaConnection(t testing.TB, env *apptest.Env, tn *apptest.Tenant) *dudaconn.DudaConnection {
	t.Helper()
	site, uuid, user, pw, sec := tn.Site.ID, "app-"+domain.RandomString(8), "user-"+domain.RandomString(6), "pw-"+domain.RandomString(20), dudaSecret()
	dc, err := env.Services().DudaConn.CreateDudaConnection(ctx, tn.Admin, tn.Org.ID, dudaconn.DudaConnectionInput{
		SiteID: &site, AppUUID: &uuid, AppUser: &user, AppPassword: &pw, AppSecret: &sec})
	require.NoError(t, err)
	return dc
}

// installDuda records Duda's install call for a site of the connection, as the lifecycle
// endpoint does.
func installDuda(t testing.TB, env *apptest.Env, dc *dudaconn.DudaConnection, siteName string, expires time.Time) *store.DudaSite {
	t.Helper()
	site := &store.DudaSite{SiteName: siteName, APIEndpoint: "https://api-sandbox.duda.co", InstallData: "{}"}
	require.NoError(t, env.Services().DudaConn.RecordDudaInstall(ctx, dc.DudaConnection, site,
		duda.Tokens{AccessToken: "acc-" + domain.RandomString(10), RefreshToken: "ref-" + domain.RandomString(10), ExpiresAt: expires}))
	return site
}

// dudaForm is the connection form as a browser posts it (the hidden "off" before the box).
func dudaForm(siteID, uuid, user, pw, secret, ipn string, enabled bool) url.Values {
	v := url.Values{"siteId": {siteID}, "appUuid": {uuid}, "appUser": {user}, "appPassword": {pw}, "appSecret": {secret}, "ipnUrl": {ipn},
		"enabled": {"off"}}
	if enabled {
		v.Add("enabled", "on")
	}
	return v
}

func openDuda(t testing.TB, env *apptest.Env, tn *apptest.Tenant, id string) (*dudaconn.DudaConnection, *dudaconn.DudaApp) {
	t.Helper()
	dc, err := env.Services().DudaConn.GetDudaConnection(ctx, tn.Admin, tn.Org.ID, id)
	require.NoError(t, err)
	app, err := env.Services().DudaConn.OpenDudaConnection(ctx, dc.DudaConnection)
	require.NoError(t, err)
	return dc, app
}

// TestDudaConnections: an administrator connects a Duda app through the form, finds the URLs
// for Duda's developer portal and the installed Duda sites on its page, edits it without
// retyping the write-only secrets, disables, enables and deletes it.
func TestDudaConnections(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		admin := signedIn(t, env, tn, domain.RoleAdmin)
		viewer := signedIn(t, env, tn, domain.RoleViewer)

		empty := admin.get("/duda")
		require.Equal(t, http.StatusOK, empty.Status)
		require.Contains(t, text(empty, "p.empty"), "No Duda connections yet.")
		require.Equal(t, 1, empty.Doc.Find(`p.empty a[href="/duda/new"]`).Length(), "the empty state links to the form")
		require.Equal(t, 1, empty.Doc.Find(`.page-head a[href="/duda/new"]`).Length())
		require.Equal(t, "page", empty.Doc.Find(`nav a[href="/duda"]`).AttrOr("aria-current", ""), "Duda is in the navigation")
		require.Equal(t, "Duda", text(empty, `nav a[href="/duda"]`))
		viewerEmpty := viewer.get("/duda")
		require.Equal(t, http.StatusOK, viewerEmpty.Status)
		require.Zero(t, viewerEmpty.Doc.Find(`a[href="/duda/new"]`).Length(), "no way to the form for viewers")

		form := admin.get("/duda/new")
		require.Equal(t, http.StatusOK, form.Status)
		require.Equal(t, tn.Site.ID, form.Doc.Find(`#f-siteId option[selected]`).AttrOr("value", ""), "the only site is chosen")
		require.Equal(t, "password", form.Doc.Find("#f-appPassword").AttrOr("type", ""))
		require.Equal(t, "password", form.Doc.Find("#f-appSecret").AttrOr("type", ""))

		uuid, user, pw, secret := "app-"+domain.RandomString(8), "api-"+domain.RandomString(6), "pw-"+domain.RandomString(24), dudaSecret()
		noSecrets := func(t *testing.T, p *page) {
			t.Helper()
			require.NotContains(t, p.Body, pw)
			require.NotContains(t, p.Body, secret)
			require.NotContains(t, p.Location, pw)
			require.NotContains(t, p.Location, secret)
		}

		t.Run("FieldErrors", func(t *testing.T) {
			res := admin.post("/duda", dudaForm(tn.Site.ID, "", user, pw, secret, "", true))
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Contains(t, text(res, "#f-appUuid-error"), "The App UUID")
			require.Contains(t, res.Doc.Find("#f-appUuid").AttrOr("aria-describedby", ""), "f-appUuid-error")
			require.Equal(t, "true", res.Doc.Find("#f-appUuid").AttrOr("aria-invalid", ""))
			require.Equal(t, "#f-appUuid", res.Doc.Find("[role=alert] a").AttrOr("href", ""), "the summary leads to the field")
			require.Equal(t, user, res.Doc.Find("#f-appUser").AttrOr("value", ""), "what was typed is kept")
			require.Empty(t, res.Doc.Find("#f-appPassword").AttrOr("value", ""), "secrets are not echoed")
			noSecrets(t, res)

			res = admin.post("/duda", dudaForm(tn.Site.ID, uuid, user, pw, secret, "http://shop.example.com/ipn", true))
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Equal(t, "The IPN URL must use https", text(res, "#f-ipnUrl-error"))
			require.Equal(t, "http://shop.example.com/ipn", res.Doc.Find("#f-ipnUrl").AttrOr("value", ""))
			require.Equal(t, uuid, res.Doc.Find("#f-appUuid").AttrOr("value", ""))
			noSecrets(t, res)

			res = admin.post("/duda", dudaForm(tn.Site.ID, uuid, user, pw, "not base64!", "", true))
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Contains(t, text(res, "#f-appSecret-error"), "base64 secret")

			res = admin.post("/duda", dudaForm("site_unknown", uuid, user, pw, secret, "", true))
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Contains(t, text(res, "#f-siteId-error"), "The site must be one of the organisation's sites")

			list, err := env.Services().DudaConn.ListDudaConnections(ctx, tn.Admin, tn.Org.ID)
			require.NoError(t, err)
			require.Empty(t, list, "nothing was created")
		})

		res := admin.post("/duda", dudaForm(tn.Site.ID, uuid, user, pw, secret, "https://shop.example.com/ipn", true))
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		path, _, _ := strings.Cut(res.Location, "?")
		require.True(t, strings.HasPrefix(path, "/duda/"), res.Location)
		id := strings.TrimPrefix(path, "/duda/")
		noSecrets(t, res)
		dc, app := openDuda(t, env, tn, id)
		require.Equal(t, tn.Site.ID, dc.SiteID)
		require.Equal(t, uuid, dc.AppUUID)
		require.Equal(t, user, dc.AppUser)
		require.True(t, dc.Enabled)
		require.Equal(t, pw, app.Credentials.AppPassword)
		require.Equal(t, secret, app.Credentials.AppSecret)
		require.Equal(t, "https://shop.example.com/ipn", app.IPNURL)

		t.Run("Detail", func(t *testing.T) {
			page := admin.get(res.Location)
			require.Equal(t, http.StatusOK, page.Status)
			require.Contains(t, text(page, ".notice"), "Duda connection created")
			require.Equal(t, "Duda app for "+tn.Site.Name, text(page, "h1"))
			require.Equal(t, "enabled", text(page, ".page-head .badge"))
			noSecrets(t, page)
			for input, want := range map[string]string{"#f-installUrl": dc.URLs.Install, "#f-uninstallUrl": dc.URLs.Uninstall,
				"#f-paymentMethodsLiveUrl": dc.URLs.PaymentMethodsLive, "#f-paymentMethodsTestUrl": dc.URLs.PaymentMethodsTest} {
				require.NotEmpty(t, want)
				require.Contains(t, want, "/duda/"+id+"/")
				el := page.Doc.Find(input)
				require.Equal(t, want, el.AttrOr("value", ""), input)
				_, ro := el.Attr("readonly")
				require.True(t, ro, input)
				require.Equal(t, 1, page.Doc.Find(`button[data-copy="`+input+`"]`).Length(), "a copy button for %s", input)
			}
			require.Contains(t, text(page, "#portal-h"), "Set up in Duda's developer portal")
			require.Equal(t, "None yet: the app has not been installed on a Duda site.", text(page, "#sites-h + p.empty"))
			maskedPw, maskedSecret := domain.MaskSecret(pw), domain.MaskSecret(secret)
			require.Contains(t, maskedPw, "••••")
			for sel, masked := range map[string]string{"#f-appPassword": maskedPw, "#f-appSecret": maskedSecret} {
				el := page.Doc.Find(sel)
				require.Equal(t, "password", el.AttrOr("type", ""))
				require.Empty(t, el.AttrOr("value", ""), "never filled in")
				require.Equal(t, masked+" (unchanged)", el.AttrOr("placeholder", ""))
				require.Contains(t, text(page, sel+"-hint"), "Leave empty to keep it")
			}
			require.Contains(t, text(page, "dl.facts"), maskedPw)
			require.Equal(t, uuid, page.Doc.Find("#f-appUuid").AttrOr("value", ""))
			require.Equal(t, "https://shop.example.com/ipn", page.Doc.Find("#f-ipnUrl").AttrOr("value", ""))
			_, checked := page.Doc.Find(`#duda-form input[type=checkbox][name=enabled]`).Attr("checked")
			require.True(t, checked)
			require.Equal(t, 1, page.Doc.Find(`form[action="/duda/`+id+`/delete"] input[name=confirm][value=ask]`).Length(), "deleting asks first")

			list := admin.get("/duda")
			row := list.Doc.Find("main tbody tr")
			require.Equal(t, 1, row.Length())
			require.Equal(t, tn.Site.Name, text(list, `main tbody a[href="/sites/`+tn.Site.ID+`"]`))
			require.Equal(t, uuid, text(list, `main tbody a[href="/duda/`+id+`"]`))
			require.Equal(t, "enabled", text(list, "main tbody .badge"))
			require.Equal(t, "0 Duda sites", text(list, `main tbody td[data-label="Installed on"]`))
			noSecrets(t, list)
		})

		t.Run("ViewersSeeNoWriteControls", func(t *testing.T) {
			page := viewer.get("/duda/" + id)
			require.Equal(t, http.StatusOK, page.Status)
			require.Equal(t, dc.URLs.Install, page.Doc.Find("#f-installUrl").AttrOr("value", ""), "the URLs are there")
			require.Zero(t, page.Doc.Find("main form").Length(), "no edit, enable/disable or delete form")
			require.Zero(t, page.Doc.Find("main button[type=submit]").Length())
			require.Contains(t, text(page, "main"), "only administrators change it")
			noSecrets(t, page)
		})

		t.Run("UpdateKeepsSecretsLeftEmpty", func(t *testing.T) {
			res := admin.post("/duda/"+id, dudaForm(tn.Site.ID, uuid, "renamed-user", "", "", "https://shop.example.com/ipn2", true))
			require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
			require.Equal(t, "/duda/"+id+"?notice=duda-saved", res.Location)
			dc, app := openDuda(t, env, tn, id)
			require.Equal(t, "renamed-user", dc.AppUser)
			require.Equal(t, "https://shop.example.com/ipn2", app.IPNURL)
			require.Equal(t, pw, app.Credentials.AppPassword, "kept")
			require.Equal(t, secret, app.Credentials.AppSecret, "kept")
			require.Equal(t, "Duda connection saved.", text(admin.get(res.Location), ".notice"))

			// A new value replaces one secret; an empty IPN URL removes it.
			pw2 := "pw-" + domain.RandomString(24)
			require.Equal(t, http.StatusSeeOther, admin.post("/duda/"+id, dudaForm(tn.Site.ID, uuid, "renamed-user", pw2, "", "", true)).Status)
			_, app = openDuda(t, env, tn, id)
			require.Equal(t, pw2, app.Credentials.AppPassword)
			require.Equal(t, secret, app.Credentials.AppSecret)
			require.Empty(t, app.IPNURL)
			pw = pw2

			// A wrong value is refused next to its field, and nothing changes.
			bad := admin.post("/duda/"+id, dudaForm(tn.Site.ID, uuid, "renamed-user", "", "", "ftp://shop.example.com", true))
			require.Equal(t, http.StatusBadRequest, bad.Status)
			require.Equal(t, "The IPN URL must use https", text(bad, "#f-ipnUrl-error"))
			require.Equal(t, "ftp://shop.example.com", bad.Doc.Find("#f-ipnUrl").AttrOr("value", ""))
			require.Equal(t, domain.MaskSecret(pw2)+" (unchanged)", bad.Doc.Find("#f-appPassword").AttrOr("placeholder", ""))
			noSecrets(t, bad)
			_, app = openDuda(t, env, tn, id)
			require.Empty(t, app.IPNURL)
		})

		t.Run("DisableAndEnable", func(t *testing.T) {
			page := admin.get("/duda/" + id)
			require.Equal(t, "off", page.Doc.Find(`#duda-toggle button[name=enabled]`).AttrOr("value", ""))
			require.Equal(t, "Disable connection", text(page, "#duda-toggle button"))

			res := admin.post("/duda/"+id, url.Values{"enabled": {"off"}})
			require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
			require.Equal(t, "/duda/"+id+"?notice=duda-disabled", res.Location)
			dc, app := openDuda(t, env, tn, id)
			require.False(t, dc.Enabled)
			require.Equal(t, "renamed-user", dc.AppUser, "the toggle changes nothing else")
			require.Equal(t, pw, app.Credentials.AppPassword)
			page = admin.get(res.Location)
			require.Contains(t, text(page, ".notice"), "is disabled")
			require.Equal(t, "disabled", text(page, ".page-head .badge"))
			require.Equal(t, "on", page.Doc.Find(`#duda-toggle button[name=enabled]`).AttrOr("value", ""))
			_, checked := page.Doc.Find(`#duda-form input[type=checkbox][name=enabled]`).Attr("checked")
			require.False(t, checked)
			require.Equal(t, "disabled", text(admin.get("/duda"), "main tbody .badge"))

			res = admin.post("/duda/"+id, url.Values{"enabled": {"on"}})
			require.Equal(t, "/duda/"+id+"?notice=duda-enabled", res.Location)
			dc, _ = openDuda(t, env, tn, id)
			require.True(t, dc.Enabled)

			// The edit form's box, left unticked, disables too.
			res = admin.post("/duda/"+id, dudaForm(tn.Site.ID, uuid, "renamed-user", "", "", "", false))
			require.Equal(t, "/duda/"+id+"?notice=duda-saved", res.Location)
			dc, _ = openDuda(t, env, tn, id)
			require.False(t, dc.Enabled)
			require.Equal(t, http.StatusSeeOther, admin.post("/duda/"+id, dudaForm(tn.Site.ID, uuid, "renamed-user", "", "", "", true)).Status)
			dc, _ = openDuda(t, env, tn, id)
			require.True(t, dc.Enabled)
		})

		t.Run("InstalledSitesAndDelete", func(t *testing.T) {
			expires := time.Date(2031, 5, 6, 7, 8, 0, 0, time.UTC)
			bakery := installDuda(t, env, dc, "bakery-"+strings.ToLower(domain.RandomString(4)), expires)
			require.NoError(t, env.Services().DudaConn.SetDudaGateway(ctx, bakery, "cpg_bakery"))
			gone := installDuda(t, env, dc, "gone-"+strings.ToLower(domain.RandomString(4)), expires)
			require.NoError(t, env.Services().DudaConn.UninstallDudaSite(ctx, gone))

			page := admin.get("/duda/" + id)
			rows := page.Doc.Find(`section[aria-labelledby=sites-h] tbody tr`)
			require.Equal(t, 2, rows.Length())
			byName := map[string]*goquery.Selection{}
			rows.Each(func(_ int, r *goquery.Selection) {
				byName[r.Find(`td[data-label="Duda site"] .mono`).Text()] = r
			})
			cell := func(r *goquery.Selection, label string) string {
				return strings.Join(strings.Fields(r.Find(`td[data-label="`+label+`"]`).Text()), " ")
			}
			b := byName[bakery.SiteName]
			require.NotNil(t, b, "the installed site is listed")
			require.Equal(t, "installed", cell(b, "Status"))
			require.Equal(t, "cpg_bakery", cell(b, "Gateway id"))
			require.Equal(t, "2031-05-06 07:08 UTC", cell(b, "Token expires"))
			require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d UTC$`, cell(b, "Installed"))
			require.Equal(t, "—", cell(b, "Uninstalled"))
			g := byName[gone.SiteName]
			require.NotNil(t, g)
			require.Equal(t, "uninstalled", cell(g, "Status"))
			require.Regexp(t, `UTC$`, cell(g, "Uninstalled"))
			require.Equal(t, "1 Duda site", text(admin.get("/duda"), `main tbody td[data-label="Installed on"]`), "only the installed one counts")
			require.Equal(t, "registered", cell(b, "Gateway"))
			require.Equal(t, "—", cell(g, "Gateway"))

			// Registering the gateway on another store is being retried: the operator sees
			// Duda's answer, the attempts and the next one; then that it gave up.
			flaky := installDuda(t, env, dc, "flaky-"+strings.ToLower(domain.RandomString(4)), expires)
			next := time.Date(2031, 5, 6, 9, 10, 0, 0, time.UTC)
			refusal := "Duda answered 405 Method Not Allowed to POST /api/integrationhub/application/site/x/ecommerce/payment-gateways"
			require.NoError(t, env.Store.SetDudaSiteGatewayState(ctx, flaky.ID, store.DudaGatewayRetrying, refusal, 3, &next))
			row := func() *goquery.Selection {
				var out *goquery.Selection
				admin.get("/duda/" + id).Doc.Find(`section[aria-labelledby=sites-h] tbody tr`).Each(func(_ int, r *goquery.Selection) {
					if r.Find(`td[data-label="Duda site"] .mono`).Text() == flaky.SiteName {
						out = r
					}
				})
				require.NotNil(t, out, "the store is listed")
				return out
			}
			require.Equal(t, "retrying 3 attempts so far, next 2031-05-06 09:10 UTC "+refusal, cell(row(), "Gateway"))
			require.NoError(t, env.Store.SetDudaSiteGatewayState(ctx, flaky.ID, store.DudaGatewayFailed, refusal, 80, nil))
			require.Equal(t, "failed gave up after 80 attempts; reinstall the app on the Duda site to try again "+refusal, cell(row(), "Gateway"))
			require.NoError(t, env.Services().DudaConn.UninstallDudaSite(ctx, flaky))

			// Still installed: it cannot be deleted.
			refused := admin.post("/duda/"+id+"/delete", nil)
			require.Equal(t, http.StatusConflict, refused.Status)
			require.Contains(t, text(refused, "main"), "still installed on 1 Duda site")
			_, err := env.Services().DudaConn.GetDudaConnection(ctx, tn.Admin, tn.Org.ID, id)
			require.NoError(t, err)

			require.NoError(t, env.Services().DudaConn.UninstallDudaSite(ctx, bakery))
			admin.get("/duda/" + id)
			res := admin.post("/duda/"+id+"/delete", nil)
			require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
			require.Equal(t, "/duda?notice=duda-deleted", res.Location)
			list := admin.get(res.Location)
			require.Equal(t, "Duda connection deleted.", text(list, ".notice"))
			require.Contains(t, text(list, "p.empty"), "No Duda connections yet.")
			require.Equal(t, http.StatusNotFound, admin.get("/duda/"+id).Status)
			_, err = env.Services().DudaConn.GetDudaConnection(ctx, tn.Admin, tn.Org.ID, id)
			require.True(t, domain.IsNotFound(err), "%v", err)
		})
	})
}

// TestDudaConnectionOfAnotherOrganization: another organisation's connection id is not found,
// for reading, saving and deleting alike, and nothing changes.
func TestDudaConnectionOfAnotherOrganization(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn, other := env.NewTenant(t), env.NewTenant(t)
	foreign := dudaConnection(t, env, other)
	c := signedIn(t, env, tn, domain.RoleAdmin)

	require.Equal(t, http.StatusNotFound, c.get("/duda/"+foreign.ID).Status)
	c.get("/duda")
	require.Equal(t, http.StatusNotFound, c.post("/duda/"+foreign.ID, url.Values{"enabled": {"off"}}).Status)
	require.Equal(t, http.StatusNotFound, c.post("/duda/"+foreign.ID, dudaForm(tn.Site.ID, "x", "y", "z", dudaSecret(), "", true)).Status)
	require.Equal(t, http.StatusNotFound, c.post("/duda/"+foreign.ID+"/delete", nil).Status)
	list := c.get("/duda")
	require.NotContains(t, list.Body, foreign.ID)
	require.NotContains(t, list.Body, foreign.AppUUID)

	after, err := env.Services().DudaConn.GetDudaConnection(ctx, other.Admin, other.Org.ID, foreign.ID)
	require.NoError(t, err)
	require.True(t, after.Enabled)
	require.Equal(t, foreign.AppUUID, after.AppUUID)
	require.Equal(t, foreign.AppUser, after.AppUser)
	require.Equal(t, foreign.SiteID, after.SiteID)
}

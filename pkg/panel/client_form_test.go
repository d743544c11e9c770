package panel_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// clientAudit is the audit log of one client, newest first.
func clientAudit(t *testing.T, env *apptest.Env, tn *apptest.Tenant, id string) []domain.AuditEntry {
	t.Helper()
	rows, _, err := env.Services().Tenancy.ListAudit(ctx, tn.Admin, domain.AuditFilter{OrganizationID: tn.Org.ID, TargetID: id, Limit: 50})
	require.NoError(t, err)
	return rows
}

// An editor creates a client with the panel's form (every mistake shown at once, in words,
// nothing written until it is right; another client's e-mail is the e-mail field's mistake)
// and edits it; both go through the client use cases the Admin API uses and are audited (the
// edit names only what changed). Viewers get neither form.
func TestClientFormsCreateAndEdit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		editor := signedIn(t, env, tn, domain.RoleEditor)
		viewer := signedIn(t, env, tn, domain.RoleViewer)
		email := "jane." + strings.ToLower(domain.RandomString(6)) + "@example.com"

		list := editor.get("/clients")
		require.Equal(t, 1, list.Doc.Find(`.page-head a[href="/clients/new"]`).Length(), "editors find the form")
		require.Zero(t, viewer.get("/clients").Doc.Find(`a[href="/clients/new"]`).Length(), "viewers do not")
		require.Equal(t, http.StatusForbidden, viewer.get("/clients/new").Status)
		require.Equal(t, http.StatusForbidden, viewer.post("/clients", url.Values{"mode": {"test"}, "email": {email}}).Status)

		form := editor.get("/clients/new")
		require.Equal(t, http.StatusOK, form.Status, text(form, "main"))
		require.Equal(t, "test", form.Doc.Find(`input[name=mode][checked]`).AttrOr("value", ""))

		full := func(v url.Values) url.Values {
			base := url.Values{"mode": {"test"}, "email": {email}, "name": {"Jane Doe"}, "company": {"Doe GmbH"}, "vatId": {"DE 123 456 789"},
				"billingAddress.phone": {"+49 30 1234567"}, "billingAddress.address1": {"Hauptstr. 1"}, "billingAddress.address2": {""},
				"billingAddress.postcode": {"10115"}, "billingAddress.city": {"Berlin"}, "billingAddress.country": {"de"}}
			for k, vals := range v {
				base[k] = vals
			}
			return base
		}
		bad := editor.post("/clients", full(url.Values{"email": {"not-an-address"}, "name": {strings.Repeat("n", 300)},
			"billingAddress.country": {"Germany"}, "vatId": {strings.Repeat("1", 40)}}))
		require.Equal(t, http.StatusBadRequest, bad.Status, text(bad, "main"))
		requireEveryError(t, bad, "email", map[string]string{
			"email":                  "The e-mail address must be a valid e-mail address",
			"name":                   "The name must be at most 255 characters",
			"billingAddress-country": "The country must be a two-letter country code like DE",
			"vatId":                  "The VAT id must be at most 32 characters",
		})
		require.Equal(t, "Doe GmbH", bad.Doc.Find("#f-company").AttrOr("value", ""), "what was typed stays")
		require.NotContains(t, text(bad, "main"), "billingAddress", "words, not the API's field names")
		none, _, err := env.Services().Client.ListClients(ctx, tn.Admin, domain.ClientFilter{OrganizationID: tn.Org.ID, Search: "Doe GmbH", Limit: 5})
		require.NoError(t, err)
		require.Empty(t, none, "nothing was created")

		res := editor.post("/clients", full(nil))
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		id := strings.TrimPrefix(strings.SplitN(res.Location, "?", 2)[0], "/clients/")
		require.True(t, strings.HasPrefix(id, domain.PrefixClient+"_"), res.Location)
		cl, err := env.Services().Client.GetClient(ctx, tn.Admin, tn.Org.ID, id)
		require.NoError(t, err)
		require.Equal(t, domain.ModeTest, cl.Mode)
		require.Equal(t, []string{email, "Jane Doe", "Doe GmbH", "DE123456789", string(domain.VATIDUnchecked)},
			[]string{cl.Email, cl.Name, cl.Company, cl.VATID, string(cl.VATIDStatus)})
		require.Equal(t, domain.Address{Address1: "Hauptstr. 1", Postcode: "10115", City: "Berlin", Country: "DE", Phone: "+49 30 1234567"}, *cl.BillingAddress)
		audit := clientAudit(t, env, tn, id)
		require.Len(t, audit, 1)
		require.Equal(t, "client.create", audit[0].Action)

		taken := editor.post("/clients", full(url.Values{"email": {strings.ToUpper(email)}}))
		require.Equal(t, http.StatusConflict, taken.Status, text(taken, "main"))
		require.Equal(t, "Another client of test mode has this e-mail address", text(taken, "#f-email-error"))

		page := editor.get("/clients/" + id)
		require.Equal(t, 1, page.Doc.Find(`a[href="/clients/`+id+`/edit"]`).Length(), "editors find the edit form")
		require.Contains(t, text(page, "main"), "+49 30 1234567")
		require.Zero(t, viewer.get("/clients/"+id).Doc.Find(`a[href="/clients/`+id+`/edit"]`).Length(), "viewers do not")
		require.Equal(t, http.StatusForbidden, viewer.get("/clients/"+id+"/edit").Status)
		require.Equal(t, http.StatusForbidden, viewer.post("/clients/"+id, full(url.Values{"company": {"Viewer AG"}})).Status)

		edit := editor.get("/clients/" + id + "/edit")
		require.Equal(t, http.StatusOK, edit.Status, text(edit, "main"))
		require.Equal(t, email, edit.Doc.Find("#f-email").AttrOr("value", ""))
		require.Equal(t, "+49 30 1234567", edit.Doc.Find("#f-billingAddress-phone").AttrOr("value", ""))
		require.Zero(t, edit.Doc.Find(`input[name=mode]`).Length(), "a client's mode does not change")

		wrong := editor.post("/clients/"+id, full(url.Values{"email": {" "}, "billingAddress.country": {"XX"}}))
		require.Equal(t, http.StatusBadRequest, wrong.Status, text(wrong, "main"))
		requireEveryError(t, wrong, "email", map[string]string{
			"email": "The e-mail address is required", "billingAddress-country": "The country must be a two-letter country code like DE"})

		saved := editor.post("/clients/"+id, full(url.Values{"company": {"Doe & Partner GmbH"}, "billingAddress.phone": {"+49 30 7654321"},
			"vatId": {"DE123456789"}}))
		require.Equal(t, http.StatusSeeOther, saved.Status, text(saved, "main"))
		require.Contains(t, saved.Location, "notice=client-saved")
		cl, err = env.Services().Client.GetClient(ctx, tn.Admin, tn.Org.ID, id)
		require.NoError(t, err)
		require.Equal(t, "Doe & Partner GmbH", cl.Company)
		require.Equal(t, "+49 30 7654321", cl.BillingAddress.Phone)
		require.Equal(t, "Berlin", cl.BillingAddress.City)
		audit = clientAudit(t, env, tn, id)
		require.Len(t, audit, 2)
		require.Equal(t, "client.update", audit[0].Action)
		require.ElementsMatch(t, []any{"company", "billingAddress"}, audit[0].Details["fields"], "only what changed")
	})
}

// An administrator turns the organisation's dispute block on and off on the settings screen
// (audited); the screen shows its state; editors and viewers cannot change it.
func TestOrganizationSettingsDisputeSwitch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		admin := signedIn(t, env, tn, domain.RoleAdmin)
		settings := func(on bool) url.Values {
			v := url.Values{"name": {tn.Org.Name}, "sellerCountry": {"DE"}, "pricesIncludeTax": {"on"}}
			if on {
				v.Set("blockCheckoutsOnDispute", "on")
			}
			return v
		}
		box := "#f-blockCheckoutsOnDispute"
		page := admin.get("/organizations")
		require.Equal(t, 1, page.Doc.Find(box).Length())
		_, checked := page.Doc.Find(box).Attr("checked")
		require.False(t, checked)

		for _, role := range []domain.Role{domain.RoleViewer, domain.RoleEditor} {
			c := signedIn(t, env, tn, role)
			require.Zero(t, c.get("/organizations").Doc.Find(box).Length(), role)
			require.Equal(t, http.StatusForbidden, c.post("/organizations/settings", settings(true)).Status, role)
		}
		o, err := env.Services().Tenancy.GetOrganization(ctx, tn.Admin, tn.Org.ID)
		require.NoError(t, err)
		require.False(t, o.BlockCheckoutsOnDispute)

		require.Equal(t, http.StatusSeeOther, admin.post("/organizations/settings", settings(true)).Status)
		o, err = env.Services().Tenancy.GetOrganization(ctx, tn.Admin, tn.Org.ID)
		require.NoError(t, err)
		require.True(t, o.BlockCheckoutsOnDispute)
		_, checked = admin.get("/organizations").Doc.Find(box).Attr("checked")
		require.True(t, checked)
		audit, _, err := env.Services().Tenancy.ListAudit(ctx, tn.Admin, domain.AuditFilter{OrganizationID: tn.Org.ID, Action: "organization.update", Limit: 5})
		require.NoError(t, err)
		require.NotEmpty(t, audit)
		require.Equal(t, true, audit[0].Details["blockCheckoutsOnDispute"])

		require.Equal(t, http.StatusSeeOther, admin.post("/organizations/settings", settings(false)).Status)
		o, err = env.Services().Tenancy.GetOrganization(ctx, tn.Admin, tn.Org.ID)
		require.NoError(t, err)
		require.False(t, o.BlockCheckoutsOnDispute)
	})
}

// TestBrowserClientFormShowsEveryError: in Chromium, an administrator sends the new-client form
// with three mistakes: the three messages stand in words beside their fields and in the summary;
// the page passes axe; corrected, the client is created and its page links to the edit form.
func TestBrowserClientFormShowsEveryError(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	b := browsertest.New(t)
	signInBrowser(t, b, env, tn.AdminUser.Email, tn.Password)
	b.Navigate(env.AdminURL + "/clients")
	b.Click(`.page-head a[href="/clients/new"]`)
	b.WaitText("main h1", "New client")
	b.Type("#f-email", "jane-at-example.com")
	b.Type("#f-company", "Doe GmbH")
	b.Type("#f-billingAddress-phone", "+49 30 1234567")
	b.Type("#f-billingAddress-country", "Germany")
	b.Type("#f-vatId", strings.Repeat("1", 40))
	b.Click("#client-form button[type=submit]")
	b.WaitText("[role=alert]", "Please correct the 3 highlighted fields")
	for id, msg := range map[string]string{
		"#f-email-error": "The e-mail address must be a valid e-mail address", "#f-billingAddress-country-error": "two-letter country code like DE",
		"#f-vatId-error": "The VAT id must be at most 32 characters",
	} {
		require.Contains(t, b.Text(id), msg, id)
		require.Contains(t, b.Text("[role=alert]"), msg)
	}
	require.Equal(t, "Doe GmbH", b.Value("#f-company"), "what was typed stays")
	requireAccessible(t, b, "the client form with three errors")

	b.Eval(`for (const id of ["f-email", "f-billingAddress-country", "f-vatId"]) document.getElementById(id).value = ""; true`, nil)
	b.Type("#f-email", "jane@example.com")
	b.Type("#f-billingAddress-country", "DE")
	b.Click("#client-form button[type=submit]")
	b.WaitText(".notice", "Client created.")
	require.Contains(t, b.Text("main"), "Doe GmbH")
	require.Contains(t, b.Text("main"), "+49 30 1234567")
	b.Click(`main a[href$="/edit"]`)
	b.WaitText("main h1", "Edit client jane@example.com")
	require.Equal(t, "DE", b.Value("#f-billingAddress-country"))
	requireAccessible(t, b, "the client edit form")
	b.SetViewport(browsertest.PhoneWidth, 800)
	for _, path := range []string{"/clients/new", strings.TrimPrefix(b.URL(), env.AdminURL)} {
		b.Navigate(env.AdminURL + path)
		b.WaitVisible("main h1")
		var width float64
		b.Eval(`document.documentElement.scrollWidth`, &width)
		require.LessOrEqual(t, width, float64(browsertest.PhoneWidth), "nothing on %s scrolls sideways", path)
	}
	noPanelErrors(t, b, "400 (Bad Request)")
}

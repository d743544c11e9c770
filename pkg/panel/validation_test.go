package panel_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestSiteFormShowsEveryErrorAtOnce: a site form with four wrong fields answers with all four,
// each beside its field in words (the API's field names become labels), and a summary listing them.
func TestSiteFormShowsEveryErrorAtOnce(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	c.get("/sites/new")
	res := c.post("/sites", url.Values{"name": {" "}, "logoUrl": {"http://logo.example.com/a.png"}, "primaryColor": {"blue"},
		"allowedHosts": {"shop.example.com\nnot a host"}, "taxDisplay": {"inclusive"}, "vatIdValidation": {"format"},
		"defaultLanguage": {"en"}, "ipnVersion": {"2"}})
	require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
	want := map[string]string{
		"name":         "Name is required (at most 200 characters)",
		"logoUrl":      "Logo URL must be an absolute https URL",
		"primaryColor": "Primary colour must be a hex colour like #1a73e8",
		"allowedHosts": `"not a host" is not a host name (use example.com or *.example.com)`,
	}
	for field, msg := range want {
		require.Contains(t, text(res, "#f-"+field+"-error"), msg, field)
		require.Equal(t, "true", res.Doc.Find("#f-"+field).AttrOr("aria-invalid", ""), field)
	}
	summary := text(res, "[role=alert]")
	require.Contains(t, summary, "Please correct the 4 highlighted fields:")
	for _, msg := range want {
		require.Contains(t, summary, msg)
	}
	require.Equal(t, "#f-name", res.Doc.Find("[role=alert] a").AttrOr("href", ""), "the summary leads to the first")
}

// TestBrowserSiteFormErrorsAreAccessible: the site form with several errors at once passes axe.
func TestBrowserSiteFormErrorsAreAccessible(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	b := browsertest.New(t)
	signInBrowser(t, b, env, tn.AdminUser.Email, tn.Password)
	b.Navigate(env.AdminURL + "/sites/new")
	b.Type("#f-logoUrl", "http://logo.example.com/a.png")
	b.Type("#f-primaryColor", "blue")
	b.Eval(`document.getElementById("site-form").noValidate = true; true`, nil) // let the server judge
	b.Click("#site-form button[type=submit]")
	b.WaitText("[role=alert]", "highlighted fields")
	require.Contains(t, b.Text("#f-primaryColor-error"), "Primary colour must be a hex colour")
	requireAccessible(t, b, "the site form with errors")
}

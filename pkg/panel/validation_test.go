package panel_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
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

// TestCheckoutFormShowsEveryErrorAtOnce: the Create Checkout form with a wrong price, a wrong
// validity, a wrong e-mail address and return URL answers with all of them, each beside its
// field in words: the panel's own checks and the platform's together (nothing is created).
func TestCheckoutFormShowsEveryErrorAtOnce(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleEditor)
	c.get("/checkouts/new")
	form := url.Values{"site": {tn.Site.ID}, "mode": {"test"}, "currency": {"EUR"}, "email": {"not-an-address"},
		"externalReference": {"INV-9"}, "returnUrl": {"http://shop.example.com/thanks"}, "expiryValue": {"0"}, "expiryUnit": {"days"},
		"item_name": {"Poster"}, "item_quantity": {"1"}, "item_unitPrice": {"12,345.6.7"}, "item_vatRate": {""}, "item_type": {"goods"}}
	res := c.post("/checkouts", form)
	require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
	want := map[string]string{
		"items-0-unitPrice": "Enter a price like 24.99 (at most 2 decimal places for EUR)",
		"expiryValue":       "Enter how long the link stays valid, like 7 days",
		"email":             "The e-mail address must be a valid e-mail address",
		"returnUrl":         "The return URL must use https",
	}
	for field, msg := range want {
		require.Contains(t, text(res, "#f-"+field+"-error"), msg, field)
	}
	summary := text(res, "[role=alert]")
	require.Contains(t, summary, "Please correct the 4 highlighted fields:")
	for _, msg := range want {
		require.Contains(t, summary, msg)
	}
	rows, _, err := env.Services().Checkout.ListCheckouts(ctx, tn.Admin, domain.CheckoutFilter{OrganizationID: tn.Org.ID, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, rows, "nothing was created")

	// With the panel's own fields right, the platform's errors are all shown too.
	form.Set("item_unitPrice", "12.50")
	form.Set("expiryValue", "2")
	form.Set("cancelUrl", "ftp://shop.example.com/")
	res = c.post("/checkouts", form)
	require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
	require.Contains(t, text(res, "#f-email-error"), "valid e-mail address")
	require.Contains(t, text(res, "#f-returnUrl-error"), "must use https")
	require.Contains(t, text(res, "#f-cancelUrl-error"), "The cancel URL")
	require.Contains(t, text(res, "[role=alert]"), "Please correct the 3 highlighted fields:")
}

// TestProviderFormShowsEveryErrorAtOnce: a Stripe provider form with no name, a live
// publishable key in test mode and two wrong secrets answers with all four, each beside its
// field, named by its label.
func TestProviderFormShowsEveryErrorAtOnce(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	c.get("/providers/new?type=stripe")
	res := c.post("/providers", url.Values{"type": {"stripe"}, "mode": {"test"}, "name": {" "}, "enabled": {"on"},
		"settings.publishableKey": {"pk_live_abc"}, "credentials.secretKey": {"sk_live_abc"}, "credentials.webhookSecret": {"secret"}})
	require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
	for id, msg := range map[string]string{
		"#f-name-error": "Name is required", "#f-settings-publishableKey-error": "must start with pk_test_",
		"#f-credentials-secretKey-error": "must start with sk_test_", "#f-credentials-webhookSecret-error": "must start with whsec_",
	} {
		require.Contains(t, text(res, id), msg, id)
	}
	require.Contains(t, text(res, "[role=alert]"), "Please correct the 4 highlighted fields:")
	require.NotContains(t, text(res, "main"), "publishableKey must", "the field's label, not the API's name")
	ps, err := env.Services().Tenancy.ListProviders(ctx, tn.Admin, tn.Org.ID)
	require.NoError(t, err)
	for _, p := range ps {
		require.NotEqual(t, domain.ProviderStripe, p.Type, "nothing was created")
	}
}

// TestBrowserCheckoutFormShowsEveryError: in Chromium, the Create Checkout form sent with four
// wrong fields shows the four messages in words beside their fields and in the summary, which
// leads to the first; the page passes axe (light and dark).
func TestBrowserCheckoutFormShowsEveryError(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	b := browsertest.New(t)
	signInBrowser(t, b, env, tn.AdminUser.Email, tn.Password)
	b.Navigate(env.AdminURL + "/checkouts/new")
	b.Type("#f-email", "not-an-address")
	b.Type("#f-expiryValue", "0")
	b.Type("#f-items-0-name", "Poster")
	b.Type("#f-items-0-unitPrice", "12,34.5.6")
	b.Type("#f-returnUrl", "http://shop.example.com/thanks")
	b.Click(`main form button[type=submit]:not([name])`)
	b.WaitText("[role=alert]", "Please correct the 4 highlighted fields")
	for id, msg := range map[string]string{
		"#f-email-error": "The e-mail address must be a valid e-mail address", "#f-expiryValue-error": "like 7 days",
		"#f-items-0-unitPrice-error": "Enter a price like 24.99", "#f-returnUrl-error": "The return URL must use https",
	} {
		require.Contains(t, b.Text(id), msg, id)
		require.Contains(t, b.Text("[role=alert]"), msg)
	}
	require.Equal(t, "Poster", b.Value("#f-items-0-name"), "what was typed stays")
	requireAccessible(t, b, "the checkout form with four errors")
	_, err := chromedp.Call(b.Context(), emulation.SetEmulatedMedia,
		emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	require.NoError(t, err)
	requireAccessible(t, b, "the checkout form with four errors in dark mode")
	b.Screenshot(t, "panel-checkout-form-errors-dark")
	noPanelErrors(t, b, "400 (Bad Request)")
}

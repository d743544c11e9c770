package panel_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// noPanelErrors fails when a panel page logged errors: script exceptions, CSP violations,
// failed loads. Messages containing one of expected (an HTTP status the test provoked) pass.
func noPanelErrors(t *testing.T, b *browsertest.Browser, expected ...string) {
	t.Helper()
	noErrorsSince(t, b, 0, expected...)
}

// noErrorsSince is noPanelErrors for the messages logged after the first `from` ones (pages
// of other services visited before are not the panel's).
func noErrorsSince(t *testing.T, b *browsertest.Browser, from int, expected ...string) {
	t.Helper()
	var errs []string
	for _, e := range b.Errors()[from:] {
		allowed := false
		for _, x := range expected {
			allowed = allowed || strings.Contains(e, x)
		}
		if !allowed {
			errs = append(errs, e)
		}
	}
	require.Empty(t, errs, "the page logged errors")
}

// signInBrowser signs in through the form, with the keyboard for the last step.
func signInBrowser(t *testing.T, b *browsertest.Browser, env *apptest.Env, email, password string) {
	t.Helper()
	b.Navigate(env.AdminURL + "/login")
	b.Type("#f-email", email)
	b.Type("#f-password", password)
	b.Press(browsertest.Enter)
	b.WaitFor(`location.pathname !== "/login"`, "leaving the sign-in page")
	b.WaitVisible("#main h1")
}

// TestBrowserOperatorWalk is an operator's first session, as a new user would try it: sign in,
// create a site and a wire-transfer provider, assign it, create an API key, create a checkout
// from the form and open its payment link, mark the transfer paid, refund it. Each page is
// photographed at desktop and phone width.
func TestBrowserOperatorWalk(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{})
	tn := env.NewTenant(t)
	b := browsertest.New(t)
	b.AllowClipboard()

	// Sign-in, with a wrong password first.
	b.Navigate(env.AdminURL + "/")
	b.WaitURL("/login")
	b.Screenshot(t, "panel-login")
	b.Type("#f-email", tn.AdminUser.Email)
	b.Type("#f-password", "not my password")
	b.Click("button[type=submit]")
	b.WaitText("[role=alert]", "Wrong e-mail address or password.")
	b.Type("#f-password", tn.Password)
	b.Click("button[type=submit]")
	b.WaitText("h1", "Overview")
	b.Screenshot(t, "panel-overview-empty")
	noPanelErrors(t, b, "401 (Unauthorized)", "400 (Bad Request)")

	// A site, with branding previewed live.
	b.Navigate(env.AdminURL + "/sites/new")
	b.Type("#f-name", "Poster Shop")
	b.Type("#f-allowedHosts", "posters.example.com")
	b.Type("#f-primaryColor", "#0f766e")
	b.WaitText("#preview-name", "Poster Shop")
	var brand string
	b.Eval(`getComputedStyle(document.getElementById("preview")).getPropertyValue("--brand").trim()`, &brand)
	require.Equal(t, "#0f766e", brand, "the preview follows the colour")
	b.Screenshot(t, "panel-site-new")
	b.Click("#site-form button[type=submit]")
	b.WaitText(".secret h2", "Site created")
	secret := b.Value("#f-webhookSecret")
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	b.Click(`button[data-copy="#f-webhookSecret"]`)
	b.WaitLive("Copied")
	require.Equal(t, secret, b.Clipboard())
	b.Screenshot(t, "panel-site-created")
	siteID := b.Value("#f-siteId")
	require.True(t, strings.HasPrefix(siteID, "site_"), siteID)
	b.Navigate(env.AdminURL + "/sites/" + siteID)
	require.NotContains(t, b.Text("main"), secret, "the secret is shown once")

	// A wire-transfer provider.
	b.Navigate(env.AdminURL + "/providers/new")
	b.Screenshot(t, "panel-provider-type")
	b.Click(`input[value=wire_transfer]`)
	b.Click(`main button[type=submit]`)
	b.WaitVisible("#f-settings-iban")
	b.Type("#f-name", "Poster bank account")
	b.Type("#f-settings-bankName", "Sparkasse")
	b.Type("#f-settings-accountHolder", "Poster Shop GmbH")
	b.Type("#f-settings-iban", "DE89 3704 0044 0532 0130 00")
	b.Type("#f-settings-bic", "COBADEFFXXX")
	b.Type("#f-settings-instructions", "Use the reference shown.")
	b.Screenshot(t, "panel-provider-new")
	b.Click(`main form button[type=submit]`)
	b.WaitText(".notice", "Provider created")
	provURL := b.URL()
	provID := provURL[strings.LastIndex(provURL, "/")+1 : strings.Index(provURL, "?")]
	require.Equal(t, "DE89370400440532013000", b.Value("#f-settings-iban"), "the IBAN is normalised")
	b.Screenshot(t, "panel-provider")

	// Assign it to the site as the default.
	b.Navigate(env.AdminURL + "/sites/" + siteID)
	require.True(t, b.Exists("#default-"+provID+":disabled"), "the default radio waits for its checkbox")
	b.Click("#provider-" + provID)
	b.Click("#default-" + provID)
	b.Click("#site-form button[type=submit]")
	b.WaitText(".notice", "Site saved")
	var checked bool
	b.Eval(`document.getElementById("default-`+provID+`").checked`, &checked)
	require.True(t, checked)
	b.Screenshot(t, "panel-site")

	// An API key, its secret copied once.
	b.Navigate(env.AdminURL + "/api-keys")
	b.Type("#f-name", "Poster shop plugin")
	b.Click(`main form[action="/api-keys"] button[type=submit]`)
	b.WaitText(".secret h2", "created")
	token := b.Value("#f-apiKeyToken")
	require.True(t, strings.HasPrefix(token, "sk_test_"), token)
	b.Click(`button[data-copy="#f-apiKeyToken"]`)
	b.WaitLive("Copied")
	require.Equal(t, token, b.Clipboard())
	b.Screenshot(t, "panel-api-keys-created")
	res := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+siteID+"/create", token, map[string]any{
		"amount": 500, "currency": "EUR", "externalReference": "api-1", "items": []map[string]any{{"name": "Sticker", "quantity": 1, "unitPrice": 500}}})
	require.Equal(t, http.StatusOK, res.Status, "the new key works: %s", res.Body)
	b.Navigate(env.AdminURL + "/api-keys")
	require.NotContains(t, b.Text("main"), token, "the key is shown once")

	// A checkout from the form: two items, one added with the script and one removed again.
	b.Navigate(env.AdminURL + "/checkouts/new")
	b.Select("#f-site", siteID)
	b.Type("#f-email", "collector@example.com")
	b.Type("#f-externalReference", "POSTER-42")
	b.Type("#f-items-0-name", "Poster A2")
	b.Type("#f-items-0-quantity", "2")
	b.Type("#f-items-0-unitPrice", "24.50")
	b.Click(`button[value=add-row]`)
	b.WaitVisible("#f-items-1-name")
	require.Equal(t, "#f-items-1-name", b.Focused(), "focus moves to the new row")
	b.TypeFocused("Frame")
	b.Type("#f-items-1-unitPrice", "30")
	b.Click(`button[value=add-row]`)
	b.WaitVisible("#f-items-2-name")
	b.Click(`button[value=remove-row-2]`)
	b.WaitHidden("#f-items-2-name")
	b.WaitLive("Item removed")
	b.Type("#f-returnUrl", "https://posters.example.com/thanks")
	b.Screenshot(t, "panel-checkout-new")

	// A typo is explained next to its field; fixing it creates the checkout.
	b.Type("#f-items-1-unitPrice", "30,00")
	b.Click(`main form button[type=submit]:not([name])`)
	b.WaitVisible("#f-items-1-unitPrice-error")
	require.Equal(t, "true", b.Attr("#f-items-1-unitPrice", "aria-invalid"))
	require.Contains(t, b.Text("[role=alert]"), "Enter a price like 24.99")
	require.Equal(t, "Poster A2", b.Value("#f-items-0-name"), "what was typed is kept")
	b.Screenshot(t, "panel-checkout-new-errors")
	b.Type("#f-items-1-unitPrice", "30")
	b.Focus("#f-items-1-unitPrice")
	b.Press(browsertest.Enter) // the default button creates (not the first item's Remove)
	b.WaitText(".notice", "Checkout created")
	payURL := b.Value("#f-paymentUrl")
	require.True(t, strings.HasPrefix(payURL, env.FrontendURL+"/checkout/"), payURL)
	require.True(t, b.Visible("svg.qr"), "a QR code")
	require.Contains(t, b.Text("main"), "79.00 EUR")
	b.Click(`button[data-copy="#f-paymentUrl"]`)
	b.WaitLive("Copied")
	require.Equal(t, payURL, b.Clipboard())
	b.Screenshot(t, "panel-checkout")
	noPanelErrors(t, b, "401 (Unauthorized)", "400 (Bad Request)")
	coURL := b.URL()
	coID := coURL[strings.LastIndex(coURL, "/")+1 : strings.Index(coURL, "?")]
	co, err := env.Store.GetCheckout(ctx, tn.Org.ID, coID)
	require.NoError(t, err)

	// The payment link opens the hosted page.
	b.Navigate(payURL)
	require.Equal(t, payURL, b.URL())
	if body := b.Text("body"); strings.Contains(body, "Poster Shop") {
		require.Contains(t, body, "Poster A2", "the hosted page shows the checkout")
		b.Screenshot(t, "panel-walk-hosted-page")
	} else {
		t.Logf("the hosted page did not render the checkout yet: %.200s", body)
	}

	// The buyer chooses the wire transfer (runtime API), then the operator marks it paid.
	created := apptest.Do(t, http.MethodPost, env.MainURL+"/api/v1/transactions/create", "", map[string]any{
		"sessionPublicId": co.SessionPublicID, "providerId": provID,
		"billingAddress": map[string]any{"name": "Ada Collector", "email": "collector@example.com", "country": "DE"}})
	require.Equal(t, http.StatusOK, created.Status, string(created.Body))
	txnID := created.JSON(t)["transactionId"].(string)
	hostedErrors := len(b.Errors()) // the hosted page is another service's
	b.Navigate(env.AdminURL + "/transactions/" + txnID)
	require.Equal(t, "Pending provider", b.Text(".page-head .badge"))
	b.Screenshot(t, "panel-transaction-pending")
	b.Type("#f-note", "Statement 2026-11-21")
	b.Click(`form[action$="/mark-paid"] button`)
	b.WaitText("#confirm-dialog h2", "as paid?") // the confirm step, in a dialog
	require.Contains(t, b.Text("#confirm-dialog"), "Note: “Statement 2026-11-21”")
	b.Click(`#confirm-dialog button[type=submit]`)
	b.WaitText(".notice", "marked as paid")
	require.Equal(t, "Succeeded", b.Text(".page-head .badge"))

	// A partial refund, then the rest.
	b.Type("#f-amount", "10")
	b.Type("#f-reason", "Frame arrived broken")
	b.Click(`form[action$="/refund"] button`)
	b.WaitText("#confirm-dialog h2", "Refund 10.00 EUR?")
	requireAccessible(t, b, "the refund's confirm dialog")
	b.Click(`#confirm-dialog button[type=submit]`)
	b.WaitText(".notice", "refund was recorded")
	require.Equal(t, "Partially refunded", b.Text(".page-head .badge"))
	require.Contains(t, b.Text("main"), "Frame arrived broken")
	b.Click(`form[action$="/refund"] button`)
	b.WaitText("#confirm-dialog h2", "Refund")
	b.Click(`#confirm-dialog button[type=submit]`)
	b.WaitText(".page-head .badge", "Refunded")
	require.Equal(t, "The refund was recorded.", b.Text(".notice"))
	require.False(t, b.Exists(`form[action$="/refund"]`), "nothing is left to refund")
	b.Screenshot(t, "panel-transaction")
	noErrorsSince(t, b, hostedErrors)

	// The other pages, with data now.
	for name, path := range map[string]string{
		"overview": "/", "checkouts": "/checkouts", "transactions": "/transactions", "sites": "/sites", "providers": "/providers",
		"users": "/users", "audit": "/audit", "organizations": "/organizations", "api-keys": "/api-keys", "not-found": "/no/such/page",
	} {
		b.Navigate(env.AdminURL + path)
		b.WaitVisible("main h1")
		b.Screenshot(t, "panel-"+name)
	}
	b.Navigate(env.AdminURL + "/")
	require.Contains(t, b.Text("main"), "79.00 EUR", "the overview counts the payment")
	noErrorsSince(t, b, hostedErrors, "404 (Not Found)")

	// Sign out, then the forgotten-password page.
	b.Click(`.me button`)
	b.WaitText(".notice", "signed out")
	b.Navigate(env.AdminURL + "/forgot-password")
	b.Screenshot(t, "panel-forgot-password")

	// An invited colleague chooses a password from the link and signs in.
	inv, err := env.Services().Tenancy.InviteMember(ctx, tn.Admin, tn.Org.ID, "colleague@posters.example", domain.RoleEditor)
	require.NoError(t, err)
	b.Navigate(inv.Link)
	b.WaitText("h1", "Choose a password")
	b.Screenshot(t, "panel-reset-password")
	b.Type("#f-password", "four random words here")
	b.Type("#f-confirm", "four random words here")
	b.Click("main button[type=submit]")
	b.WaitText(".notice", "Your password is set")
	signInBrowser(t, b, env, "colleague@posters.example", "four random words here")
	require.Contains(t, b.Text(".me"), "Editor")
	noErrorsSince(t, b, hostedErrors, "404 (Not Found)", "401 (Unauthorized)", "400 (Bad Request)")
}

// TestBrowserPhoneLayout checks the narrow layout: the menu collapses behind a button, tables
// become cards, the lists' filters fit, and the skip link reaches the content.
func TestBrowserPhoneLayout(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	paid := paidTransaction(t, env, tn, 4200)
	if _, err := env.Services().Payment.Refund(ctx, tn.Admin, tn.Org.ID, paid.ID, payment.RefundInput{Reason: "a very long reason without spaces: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}); err != nil {
		t.Fatal(err)
	}
	b := browsertest.New(t)
	b.SetViewport(browsertest.PhoneWidth, 800)
	signInBrowser(t, b, env, tn.AdminUser.Email, tn.Password)
	b.Navigate(env.AdminURL + "/transactions")
	require.False(t, b.Visible("#nav"), "the menu is collapsed")
	require.Equal(t, "false", b.Attr(".menu-toggle", "aria-expanded"))
	b.Focus(".menu-toggle")
	b.Press(browsertest.Enter)
	b.WaitVisible("#nav")
	require.Equal(t, "true", b.Attr(".menu-toggle", "aria-expanded"))
	var display string
	b.Eval(`getComputedStyle(document.querySelector("table.cards tbody tr")).display`, &display)
	require.Equal(t, "block", display, "rows are stacked cards")
	for _, path := range []string{"/", "/checkouts", "/checkouts/" + paid.CheckoutID, "/checkouts/new", "/transactions", "/transactions/" + paid.ID,
		"/sites", "/sites/" + tn.Site.ID, "/providers", "/providers/" + tn.Provider.ID, "/api-keys", "/users", "/audit", "/organizations"} {
		b.Navigate(env.AdminURL + path)
		var width float64
		b.Eval(`document.documentElement.scrollWidth`, &width)
		require.LessOrEqual(t, width, float64(browsertest.PhoneWidth), "nothing on %s scrolls sideways", path)
	}

	// The lists' filters fit the phone: every control inside the screen's width, the short
	// ones two to a row, the whole form within one screen's height.
	for _, path := range []string{"/checkouts", "/transactions"} {
		b.Navigate(env.AdminURL + path)
		var fit struct {
			Height, Controls, Outside, Paired float64
		}
		b.Eval(`(() => {
			const f = document.querySelector("form.filters"), cs = [...f.querySelectorAll("input, select, button")];
			const rows = new Set(cs.filter(c => c.tagName === "SELECT").map(c => Math.round(c.getBoundingClientRect().top)));
			return {height: f.getBoundingClientRect().height, controls: cs.length,
				outside: cs.filter(c => { const r = c.getBoundingClientRect(); return r.left < 0 || r.right > innerWidth || r.width < 80; }).length,
				paired: f.querySelectorAll("select").length - rows.size};
		})()`, &fit)
		t.Logf("%s filters at %dpx: %+v", path, browsertest.PhoneWidth, fit)
		require.GreaterOrEqual(t, fit.Controls, 5.0, "%s: the filter form is there", path)
		require.Zero(t, fit.Outside, "%s: every filter is inside the screen and wide enough to use", path)
		require.Positive(t, fit.Paired, "%s: the selects sit two to a row", path)
		require.Less(t, fit.Height, 800.0, "%s: the filters take less than a screen", path)
	}

	b.Navigate(env.AdminURL + "/")
	b.Press(browsertest.Tab)
	require.True(t, b.FocusedMatches("a.skip"), "the skip link comes first")
	b.Press(browsertest.Enter)
	b.WaitFor(`location.hash === "#main"`, "the skip link to work")
	noPanelErrors(t, b)
}

// TestBrowserViewerCannotWrite signs in as a viewer: no write control is shown, and forms
// posted by hand from the page (with the page's own CSRF token) are refused with 403.
func TestBrowserViewerCannotWrite(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	paid := paidTransaction(t, env, tn, 2000)
	pending := wireTransaction(t, env, tn, newCheckout(t, env, tn, 3000))
	email, pw := member(t, env, tn.Org.ID, domain.RoleViewer)
	b := browsertest.New(t)
	signInBrowser(t, b, env, email, pw)

	b.Navigate(env.AdminURL + "/transactions/" + paid.ID)
	require.False(t, b.Exists(`form[action$="/refund"]`))
	b.Navigate(env.AdminURL + "/transactions/" + pending.ID)
	require.False(t, b.Exists(`form[action$="/mark-paid"]`))
	b.Screenshot(t, "panel-viewer-transaction")
	before := snapshot(t, env.Store, tn.Org.ID)

	for _, post := range []struct{ path, body string }{
		{"/transactions/" + paid.ID + "/refund", "amount=1"},
		{"/transactions/" + pending.ID + "/mark-paid", "note=x"},
		{"/checkouts", "site=" + tn.Site.ID + "&mode=test&currency=EUR&externalReference=v1&item_name=x&item_quantity=1&item_unitPrice=1&item_type=goods&expiryValue=1&expiryUnit=days"},
		{"/sites", "name=Viewer+site&ipnVersion=2"},
		{"/sites/" + tn.Site.ID + "/webhook-secret", "confirm=yes"},
		{"/providers", "type=wire_transfer&mode=test&name=x&settings.bankName=b&settings.accountHolder=h&settings.iban=DE89370400440532013000"},
		{"/api-keys", "name=x&mode=test&scopes=*:*"},
		{"/users", "email=friend@example.com&role=admin"},
		{"/organizations/settings", "name=Taken+over"},
	} {
		var status int
		b.Eval(fmt.Sprintf(`(async function(){var t=document.querySelector("input[name=csrf]").value;
			var r=await fetch(%q,{method:"POST",headers:{"Content-Type":"application/x-www-form-urlencoded"},body:"csrf="+encodeURIComponent(t)+"&"+%q});
			return r.status})()`, post.path, post.body), &status)
		require.Equal(t, http.StatusForbidden, status, post.path)
	}
	require.Equal(t, before, snapshot(t, env.Store, tn.Org.ID), "nothing changed")
}

// TestBrowserCrossSiteFormIsRejected lets a page on another origin submit a form to the panel
// while the operator is signed in: the browser sends the session cookie (loopback ports are
// the same site), and the panel refuses the request for its Origin.
func TestBrowserCrossSiteFormIsRejected(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title><form method="post" action="%s/api-keys">
<input name="name" value="stolen"><input name="mode" value="live"><input name="scopes" value="*:*"><input name="csrf" value="guess">
<button>Claim</button></form><script>document.forms[0].submit()</script>`, env.AdminURL)
	}))
	t.Cleanup(evil.Close)
	b := browsertest.New(t)
	signInBrowser(t, b, env, tn.AdminUser.Email, tn.Password)
	before := snapshot(t, env.Store, tn.Org.ID)
	b.Navigate(evil.URL)
	b.WaitURL(env.AdminURL + "/api-keys")
	b.WaitText("h1", "Request refused")
	require.Contains(t, b.Text("main"), "sent from another site")
	b.Screenshot(t, "panel-cross-site-refused")
	require.Equal(t, before, snapshot(t, env.Store, tn.Org.ID), "no key was created")
	b.Navigate(env.AdminURL + "/")
	b.WaitText("h1", "Overview") // still signed in
}

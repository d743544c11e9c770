package panel_test

import (
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestBrowserDarkMode: with the system in dark mode the panel's pages turn dark (no script,
// no setting: prefers-color-scheme) and keep axe's contrast rules; in light mode they stay light.
func TestBrowserDarkMode(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	sd := seedDashboard(t, env)
	paid := paidTransaction(t, env, sd.tn, 2500)
	b := browsertest.New(t)
	signInBrowser(t, b, env, sd.tn.AdminUser.Email, sd.tn.Password)
	background := func() string {
		var bg string
		b.Eval(`getComputedStyle(document.documentElement).backgroundColor`, &bg)
		return bg
	}
	b.Navigate(env.AdminURL + "/dashboard?mode=test&period=7")
	require.Equal(t, "rgb(245, 246, 248)", background(), "light by default")

	_, err := chromedp.Call(b.Context(), emulation.SetEmulatedMedia,
		emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	require.NoError(t, err)
	for _, path := range []string{"/dashboard?mode=test&period=7", "/", "/transactions/" + paid.ID, "/checkouts", "/sites/" + sd.tn.Site.ID, "/api-keys", "/audit"} {
		b.Navigate(env.AdminURL + path)
		b.WaitVisible("#main h1")
		require.Equal(t, "rgb(18, 22, 29)", background(), path)
		var ink string
		b.Eval(`getComputedStyle(document.querySelector("#main h1")).color`, &ink)
		require.Equal(t, "rgb(230, 233, 239)", ink, path)
		b.Eval(`document.querySelectorAll("details").forEach(d => d.open = true); true`, nil)
		requireAccessible(t, b, path+" in dark mode")
	}
	// A confirm dialog in dark mode.
	pending := wireTransaction(t, env, sd.tn, newCheckout(t, env, sd.tn, 4200))
	b.Navigate(env.AdminURL + "/transactions/" + pending.ID)
	askDialog(t, b, `form[action$="/mark-paid"] button[type=submit]`, "Mark 42.00 EUR as paid?")
	var dialogBG string
	b.Eval(`getComputedStyle(document.getElementById("confirm-dialog")).backgroundColor`, &dialogBG)
	require.Equal(t, "rgb(27, 33, 43)", dialogBG, "the dialog is dark")
	requireAccessible(t, b, "a confirm dialog in dark mode")
	b.Screenshot(t, "panel-dialog-dark")
	b.Navigate(env.AdminURL + "/dashboard?mode=test&period=7")
	b.Screenshot(t, "panel-dashboard-dark")
	noPanelErrors(t, b)
}

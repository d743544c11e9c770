package panel_test

import (
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// askDialog clicks an action's button and checks the confirm dialog that opens: a native modal
// <dialog> with the heading and statements, Cancel focused.
func askDialog(t *testing.T, b *browsertest.Browser, opener, heading string, says ...string) {
	t.Helper()
	b.Click(opener)
	b.WaitVisible("#confirm-dialog[open]")
	var modal bool
	b.Eval(`(function(){var d=document.getElementById("confirm-dialog");return d.tagName==="DIALOG"&&d.matches(":modal")})()`, &modal)
	require.True(t, modal, "a native modal dialog")
	require.Equal(t, heading, b.Text("#confirm-dialog h2"))
	for _, s := range says {
		require.Contains(t, b.Text("#confirm-dialog"), s)
	}
	require.True(t, b.FocusedMatches("#confirm-dialog button[data-cancel]"), "Cancel has the focus, not %s", b.Focused())
	require.Equal(t, "confirm-dialog-h", b.Attr("#confirm-dialog", "aria-labelledby"))
	require.NotEmpty(t, b.Text("#"+b.Attr("#confirm-dialog", "aria-describedby")), "the statements describe the dialog")
}

// cancelDialog closes the dialog with Cancel (or Escape): the focus goes back to the button.
func cancelDialog(t *testing.T, b *browsertest.Browser, opener string, escape bool) {
	t.Helper()
	if escape {
		b.Press(browsertest.Escape)
	} else {
		b.Click("#confirm-dialog button[data-cancel]")
	}
	b.WaitFor(`!document.getElementById("confirm-dialog")`, "the dialog to close")
	require.True(t, b.FocusedMatches(opener), "the focus is back on %s, not %s", opener, b.Focused())
}

// TestBrowserConfirmDialogs opens the confirm dialog of every destructive action, cancels it
// (nothing changes) and confirms it (the action is done), as an administrator in a real browser;
// a refund amount that is wrong opens no dialog but the form's error; with script disabled the
// same step is a page.
func TestBrowserConfirmDialogs(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	svc := env.Services()
	b := browsertest.New(t)
	signInBrowser(t, b, env, tn.AdminUser.Email, tn.Password)

	// Mark paid: cancel, then confirm.
	pending := wireTransaction(t, env, tn, newCheckout(t, env, tn, 123456))
	b.Navigate(env.AdminURL + "/transactions/" + pending.ID)
	b.Type("#f-note", "Statement 12")
	markPaid := `form[action$="/mark-paid"] button[type=submit]`
	askDialog(t, b, markPaid, "Mark 1,234.56 EUR as paid?", "1,234.56 EUR received by bank transfer", "Note: “Statement 12”")
	requireAccessible(t, b, "the mark-paid dialog")
	b.Screenshot(t, "panel-dialog-mark-paid")
	cancelDialog(t, b, markPaid, false)
	got, err := svc.Payment.GetTransaction(ctx, tn.Admin, tn.Org.ID, pending.ID)
	require.NoError(t, err)
	require.Equal(t, domain.TxnPendingProvider, got.Transaction.Status, "cancelled: nothing happened")
	askDialog(t, b, markPaid, "Mark 1,234.56 EUR as paid?")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "marked as paid")
	require.Equal(t, "Succeeded", b.Text(".page-head .badge"))

	// Refund: a wrong amount shows the form's error; a right one asks, Escape cancels, then confirm.
	b.Type("#f-amount", "2000")
	refund := `form[action$="/refund"] button[type=submit]`
	b.Click(refund)
	b.WaitText("#f-amount-error", "The amount must be at most 1,234.56 EUR")
	require.False(t, b.Exists("#confirm-dialog"), "no dialog for a wrong amount")
	b.Type("#f-amount", "12.5")
	askDialog(t, b, refund, "Refund 12.50 EUR?", "12.50 EUR of transaction "+pending.ID+" (1,234.56 EUR) goes back to the payer.",
		"Afterwards 1,222.06 EUR can still be refunded.")
	cancelDialog(t, b, refund, true)
	got, err = svc.Payment.GetTransaction(ctx, tn.Admin, tn.Org.ID, pending.ID)
	require.NoError(t, err)
	require.Empty(t, got.Refunds, "cancelled: nothing happened")
	askDialog(t, b, refund, "Refund 12.50 EUR?")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "refund was recorded")
	require.Equal(t, "Partially refunded", b.Text(".page-head .badge"))

	// API keys: rotate, revoke, delete.
	k, _, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "Shop plugin", Mode: "test", Scopes: []string{"checkout:create"}})
	require.NoError(t, err)
	b.Navigate(env.AdminURL + "/api-keys")
	b.Select("#grace-"+k.ID, "10080")
	rotate := `form[action="/api-keys/` + k.ID + `/rotate"] button`
	askDialog(t, b, rotate, "Rotate the API key “Shop plugin”?", "keeps working for 7 days")
	cancelDialog(t, b, rotate, false)
	askDialog(t, b, rotate, "Rotate the API key “Shop plugin”?")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText("#token-h", "New key for “Shop plugin”")
	revoke := `form[action="/api-keys/` + k.ID + `/revoke"] button`
	askDialog(t, b, revoke, "Revoke the API key “Shop plugin”?", "stops working at once")
	cancelDialog(t, b, revoke, false)
	again, err := svc.Tenancy.GetAPIKey(ctx, tn.Admin, tn.Org.ID, k.ID)
	require.NoError(t, err)
	require.Nil(t, again.RevokedAt, "cancelled: nothing happened")
	askDialog(t, b, revoke, "Revoke the API key “Shop plugin”?")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "revoked")
	del := `form[action="/api-keys/` + k.ID + `/delete"] button`
	askDialog(t, b, del, "Delete API key “Shop plugin” (sk_test_"+k.ID+")?", "cannot be undone")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "deleted")
	require.False(t, b.Exists(del))

	// End a checkout.
	co := newCheckout(t, env, tn, 2499)
	b.Navigate(env.AdminURL + "/checkouts/" + co.ID)
	end := `form[action$="/expire"] button`
	askDialog(t, b, end, "End checkout "+co.Reference()+" for 24.99 EUR now?", "stops taking payments at once")
	cancelDialog(t, b, end, false)
	askDialog(t, b, end, "End checkout "+co.Reference()+" for 24.99 EUR now?")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "checkout was ended")

	// Remove a member.
	email, _ := member(t, env, tn.Org.ID, domain.RoleViewer)
	id := memberID(t, env, tn, email)
	b.Navigate(env.AdminURL + "/users")
	remove := `form[action="/users/` + id + `/remove"] button`
	askDialog(t, b, remove, "Remove "+email+" from "+tn.Org.Name+"?")
	cancelDialog(t, b, remove, false)
	require.Equal(t, id, memberID(t, env, tn, email), "cancelled: nothing happened")
	askDialog(t, b, remove, "Remove "+email+" from "+tn.Org.Name+"?")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "removed")
	require.Empty(t, memberID(t, env, tn, email))

	// A new signing secret, then deleting a spare site, a provider and a Duda connection.
	b.Navigate(env.AdminURL + "/sites/" + tn.Site.ID)
	secret := `form[action$="/webhook-secret"] button`
	askDialog(t, b, secret, "Generate a new signing secret for “"+tn.Site.Name+"”?", "stops working at once")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitVisible("#f-webhookSecret")

	siteName, hosts := "Spare shop", []string{"spare.example.com"}
	site, _, err := svc.Tenancy.CreateSite(ctx, tn.Admin, tn.Org.ID, tenancy.SiteInput{Name: &siteName, AllowedHosts: &hosts})
	require.NoError(t, err)
	b.Navigate(env.AdminURL + "/sites/" + site.ID)
	askDialog(t, b, `form[action$="/delete"] button`, "Delete site “Spare shop” ("+site.ID+")?", "This cannot be undone.")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "Site deleted")

	name := "Spare bank"
	p, err := svc.Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "test", Name: &name,
		Settings: map[string]string{"bankName": "B", "accountHolder": "H", "iban": "DE89370400440532013000"}})
	require.NoError(t, err)
	b.Navigate(env.AdminURL + "/providers/" + p.ID)
	askDialog(t, b, `form[action$="/delete"] button`, "Delete Wire transfer provider “Spare bank” (test mode, "+p.ID+")?")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "Provider deleted")

	dc := dudaConnection(t, env, tn)
	b.Navigate(env.AdminURL + "/duda/" + dc.ID)
	askDialog(t, b, `form[action$="/delete"] button`, "Delete Duda connection of the app "+dc.AppUUID+" ("+dc.ID+")?")
	b.Click("#confirm-dialog button[type=submit]")
	b.WaitText(".notice", "Duda connection deleted")
	noPanelErrors(t, b, "422 (Unprocessable Entity)") // the wrong refund amount's answer

	// Without script the same step is a page, with a link back.
	_, err = chromedp.Call(b.Context(), emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)
	other := wireTransaction(t, env, tn, newCheckout(t, env, tn, 990))
	b.Navigate(env.AdminURL + "/transactions/" + other.ID)
	b.Click(markPaid)
	b.WaitText(".confirm h1", "Mark 9.90 EUR as paid?")
	require.False(t, b.Exists("dialog"))
	b.Click(".confirm a[data-cancel]")
	b.WaitText(".page-head .badge", "Pending provider")
	b.Click(markPaid)
	b.WaitText(".confirm h1", "Mark 9.90 EUR as paid?")
	// axe needs script: allowed again on the page as it was served (panel.js did not run).
	_, err = chromedp.Call(b.Context(), emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false})
	require.NoError(t, err)
	requireAccessible(t, b, "the confirm page without script")
	b.Click(".confirm button[type=submit]")
	b.WaitText(".notice", "marked as paid")
}

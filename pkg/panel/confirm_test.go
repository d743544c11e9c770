package panel_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// formOf reads a form of the page as a browser would submit it: its action and its fields
// (inputs with their values, selects with their selected option), with overrides.
func formOf(t *testing.T, p *page, sel string, set map[string]string) (string, url.Values) {
	t.Helper()
	f := p.Doc.Find(sel)
	require.Equal(t, 1, f.Length(), "form %s", sel)
	action, _ := f.Attr("action")
	v := url.Values{}
	f.Find("input[name], textarea[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		v.Set(name, s.AttrOr("value", s.Text()))
	})
	f.Find("select[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		opt := s.Find("option[selected]")
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		v.Set(name, opt.AttrOr("value", ""))
	})
	for k, x := range set {
		v.Set(k, x)
	}
	return action, v
}

// submit posts the page's form (overrides in set) and returns the answer.
func submit(t *testing.T, c *client, p *page, sel string, set map[string]string) *page {
	t.Helper()
	action, v := formOf(t, p, sel, set)
	return c.post(action, v)
}

// confirmed checks a confirm step (heading and statements) and submits it.
func confirmed(t *testing.T, c *client, p *page, heading string, says ...string) *page {
	t.Helper()
	require.Equal(t, http.StatusOK, p.Status, text(p, "main"))
	require.Equal(t, heading, text(p, ".confirm h1"))
	for _, s := range says {
		require.Contains(t, text(p, ".confirm"), s)
	}
	require.Equal(t, 1, p.Doc.Find(`.confirm a[href]`).Length(), "a way back")
	return submit(t, c, p, ".confirm form", nil)
}

// TestConfirmSteps: mark-paid, refund, rotating an API key and deleting a site, a provider or
// an API key first show a page stating what will happen, with the amount formatted, and
// change nothing until it is confirmed; the step needs no script.
func TestConfirmSteps(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	svc := env.Services()

	t.Run("MarkPaid", func(t *testing.T) {
		txn := wireTransaction(t, env, tn, newCheckout(t, env, tn, 123456))
		page := c.get("/transactions/" + txn.ID)
		ask := submit(t, c, page, `form[action$="/mark-paid"]`, map[string]string{"note": "Statement 12"})
		got, err := svc.Payment.GetTransaction(ctx, tn.Admin, tn.Org.ID, txn.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnPendingProvider, got.Transaction.Status, "nothing happens before the confirmation")
		done := confirmed(t, c, ask, "Mark 1,234.56 EUR as paid?", "1,234.56 EUR received by bank transfer with the reference "+*txn.PaymentReference,
			"Note: “Statement 12”", "cannot be undone")
		require.Equal(t, http.StatusSeeOther, done.Status)
		got, err = svc.Payment.GetTransaction(ctx, tn.Admin, tn.Org.ID, txn.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnSucceeded, got.Transaction.Status)
	})

	t.Run("Refund", func(t *testing.T) {
		paid := paidTransaction(t, env, tn, 5000)
		page := c.get("/transactions/" + paid.ID)
		// A wrong amount is said at once on the form, in words, with the amount formatted.
		bad := submit(t, c, page, `form[action$="/refund"]`, map[string]string{"amount": "60"})
		require.Equal(t, http.StatusUnprocessableEntity, bad.Status)
		require.Contains(t, text(bad, "main"), "The amount must be at most 50.00 EUR, what is left to refund.")
		ask := submit(t, c, page, `form[action$="/refund"]`, map[string]string{"amount": "12.5", "reason": "scratched"})
		got, err := svc.Payment.GetTransaction(ctx, tn.Admin, tn.Org.ID, paid.ID)
		require.NoError(t, err)
		require.Empty(t, got.Refunds, "nothing happens before the confirmation")
		done := confirmed(t, c, ask, "Refund 12.50 EUR?", "12.50 EUR of transaction "+paid.ID+" (50.00 EUR) goes back to the payer.",
			"Afterwards 37.50 EUR can still be refunded.", "Reason: “scratched”")
		require.Equal(t, http.StatusSeeOther, done.Status)
		got, err = svc.Payment.GetTransaction(ctx, tn.Admin, tn.Org.ID, paid.ID)
		require.NoError(t, err)
		require.Len(t, got.Refunds, 1)
		require.Equal(t, int64(1250), got.Refunds[0].Amount)

		// An empty amount is everything left, stated as an amount and sent as one.
		ask = submit(t, c, c.get("/transactions/"+paid.ID), `form[action$="/refund"]`, nil)
		require.Equal(t, "37.50", ask.Doc.Find(`.confirm input[name=amount]`).AttrOr("value", ""))
		confirmed(t, c, ask, "Refund 37.50 EUR?", "Afterwards 0.00 EUR can still be refunded.")
		got, err = svc.Payment.GetTransaction(ctx, tn.Admin, tn.Org.ID, paid.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnRefunded, got.Transaction.Status)
	})

	t.Run("RotateAndDeleteAPIKey", func(t *testing.T) {
		k, _, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "Shop plugin", Mode: "test", Scopes: []string{"checkout:create"}})
		require.NoError(t, err)
		page := c.get("/api-keys")
		ask := submit(t, c, page, `form[action="/api-keys/`+k.ID+`/rotate"]`, map[string]string{"graceMinutes": "10080"})
		again, err := svc.Tenancy.GetAPIKey(ctx, tn.Admin, tn.Org.ID, k.ID)
		require.NoError(t, err)
		require.Nil(t, again.ExpiresAt, "nothing happens before the confirmation")
		done := confirmed(t, c, ask, "Rotate the API key “Shop plugin”?", "The current secret keeps working for 7 days")
		require.Contains(t, done.Doc.Find("#f-apiKeyToken").AttrOr("value", ""), "sk_test_", "the new key, shown once")
		again, err = svc.Tenancy.GetAPIKey(ctx, tn.Admin, tn.Org.ID, k.ID)
		require.NoError(t, err)
		require.NotNil(t, again.ExpiresAt)
		require.WithinDuration(t, time.Now().Add(7*24*time.Hour), *again.ExpiresAt, time.Minute)

		require.NoError(t, svc.Tenancy.RevokeAPIKey(ctx, tn.Admin, tn.Org.ID, k.ID))
		ask = submit(t, c, c.get("/api-keys"), `form[action="/api-keys/`+k.ID+`/delete"]`, nil)
		confirmed(t, c, ask, "Delete API key “Shop plugin” (sk_test_"+k.ID+")?", "This cannot be undone.")
		_, err = svc.Tenancy.GetAPIKey(ctx, tn.Admin, tn.Org.ID, k.ID)
		require.True(t, domain.IsNotFound(err), "%v", err)
	})

	t.Run("DeleteSiteAndProvider", func(t *testing.T) {
		siteName, hosts := "Spare shop", []string{"spare.example.com"}
		site, _, err := svc.Tenancy.CreateSite(ctx, tn.Admin, tn.Org.ID, tenancy.SiteInput{Name: &siteName, AllowedHosts: &hosts})
		require.NoError(t, err)
		ask := submit(t, c, c.get("/sites/"+site.ID), `form[action$="/delete"]`, nil)
		_, err = svc.Tenancy.GetSite(ctx, tn.Admin, tn.Org.ID, site.ID)
		require.NoError(t, err, "nothing happens before the confirmation")
		require.Equal(t, "/sites/"+site.ID, ask.Doc.Find(".confirm a").AttrOr("href", ""))
		confirmed(t, c, ask, "Delete site “Spare shop” ("+site.ID+")?", "Only a site without checkouts can be deleted.")
		_, err = svc.Tenancy.GetSite(ctx, tn.Admin, tn.Org.ID, site.ID)
		require.True(t, domain.IsNotFound(err), "%v", err)

		name := "Spare bank"
		p, err := svc.Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "test", Name: &name,
			Settings: map[string]string{"bankName": "B", "accountHolder": "H", "iban": "DE89370400440532013000"}})
		require.NoError(t, err)
		ask = submit(t, c, c.get("/providers/"+p.ID), `form[action$="/delete"]`, nil)
		confirmed(t, c, ask, "Delete Wire transfer provider “Spare bank” (test mode, "+p.ID+")?", "disable it instead")
		_, err = svc.Tenancy.GetProvider(ctx, tn.Admin, tn.Org.ID, p.ID)
		require.True(t, domain.IsNotFound(err), "%v", err)
	})
}

// TestConfirmStepsOfEveryDestructiveAction: revoking an API key, ending a checkout, removing
// a member, a new signing secret and deleting a Duda connection ask first too (no script), say
// what will happen (with the checkout's amount formatted), change nothing until confirmed, and
// a viewer gets no confirm step for what they may not do.
func TestConfirmStepsOfEveryDestructiveAction(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	svc := env.Services()

	t.Run("RevokeAPIKey", func(t *testing.T) {
		k, _, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "Old plugin", Mode: "test", Scopes: []string{"checkout:create"}})
		require.NoError(t, err)
		ask := submit(t, c, c.get("/api-keys"), `form[action="/api-keys/`+k.ID+`/revoke"]`, nil)
		again, err := svc.Tenancy.GetAPIKey(ctx, tn.Admin, tn.Org.ID, k.ID)
		require.NoError(t, err)
		require.Nil(t, again.RevokedAt, "nothing happens before the confirmation")
		done := confirmed(t, c, ask, "Revoke the API key “Old plugin”?", "sk_test_"+k.ID+" stops working at once")
		require.Equal(t, "/api-keys?notice=key-revoked", done.Location)
		again, err = svc.Tenancy.GetAPIKey(ctx, tn.Admin, tn.Org.ID, k.ID)
		require.NoError(t, err)
		require.NotNil(t, again.RevokedAt)
	})

	t.Run("EndCheckout", func(t *testing.T) {
		co := newCheckout(t, env, tn, 249900)
		ask := submit(t, c, c.get("/checkouts/"+co.ID), `form[action$="/expire"]`, nil)
		got, err := svc.Checkout.GetCheckout(ctx, tn.Admin, tn.Org.ID, co.ID)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutOpen, got.Checkout.Status, "nothing happens before the confirmation")
		confirmed(t, c, ask, "End checkout "+co.Reference()+" for 2,499.00 EUR now?", "checkout "+co.ID+" (2,499.00 EUR) stops taking payments at once")
		got, err = svc.Checkout.GetCheckout(ctx, tn.Admin, tn.Org.ID, co.ID)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutExpired, got.Checkout.Status)
	})

	t.Run("RemoveMember", func(t *testing.T) {
		email, _ := member(t, env, tn.Org.ID, domain.RoleEditor)
		id := memberID(t, env, tn, email)
		require.NotEmpty(t, id)
		ask := submit(t, c, c.get("/users"), `form[action="/users/`+id+`/remove"]`, nil)
		require.Equal(t, id, memberID(t, env, tn, email), "nothing happens before the confirmation")
		confirmed(t, c, ask, "Remove "+email+" from "+tn.Org.Name+"?", email+" (editor) can no longer work in "+tn.Org.Name)
		require.Empty(t, memberID(t, env, tn, email))
	})

	t.Run("NewSigningSecret", func(t *testing.T) {
		before, err := svc.Tenancy.SiteWebhookSecret(ctx, tn.Site)
		require.NoError(t, err)
		ask := submit(t, c, c.get("/sites/"+tn.Site.ID), `form[action$="/webhook-secret"]`, nil)
		same, err := svc.Tenancy.SiteWebhookSecret(ctx, tn.Site)
		require.NoError(t, err)
		require.Equal(t, before, same, "nothing happens before the confirmation")
		done := confirmed(t, c, ask, "Generate a new signing secret for “"+tn.Site.Name+"”?", "stops working at once")
		require.Contains(t, done.Doc.Find("#f-webhookSecret").AttrOr("value", ""), "whsec_", "the new secret, shown once")
	})

	t.Run("DeleteDudaConnection", func(t *testing.T) {
		dc := dudaConnection(t, env, tn)
		ask := submit(t, c, c.get("/duda/"+dc.ID), `form[action$="/delete"]`, nil)
		_, err := svc.DudaConn.GetDudaConnection(ctx, tn.Admin, tn.Org.ID, dc.ID)
		require.NoError(t, err, "nothing happens before the confirmation")
		confirmed(t, c, ask, "Delete Duda connection of the app "+dc.AppUUID+" ("+dc.ID+")?", "credentials are erased")
		_, err = svc.DudaConn.GetDudaConnection(ctx, tn.Admin, tn.Org.ID, dc.ID)
		require.True(t, domain.IsNotFound(err), "%v", err)
	})

	t.Run("ViewersGetNoStep", func(t *testing.T) {
		v := signedIn(t, env, tn, domain.RoleViewer)
		v.get("/checkouts")
		co := newCheckout(t, env, tn, 1000)
		for _, path := range []string{"/checkouts/" + co.ID + "/expire", "/sites/" + tn.Site.ID + "/webhook-secret", "/sites/" + tn.Site.ID + "/delete",
			"/users/" + tn.AdminUser.ID + "/remove",
			"/transactions/" + paidTransaction(t, env, tn, 1000).ID + "/refund"} {
			res := v.post(path, url.Values{"confirm": {"ask"}})
			require.Equal(t, http.StatusForbidden, res.Status, path)
			require.Zero(t, res.Doc.Find(".confirm").Length(), path)
		}
	})
}

// memberID is the user id of the organisation's member with the e-mail ("" for none).
func memberID(t *testing.T, env *apptest.Env, tn *apptest.Tenant, email string) string {
	t.Helper()
	ms, err := env.Services().Tenancy.ListMembers(ctx, tn.Admin, tn.Org.ID)
	require.NoError(t, err)
	for _, m := range ms {
		if m.User.Email == email {
			return m.User.ID
		}
	}
	return ""
}

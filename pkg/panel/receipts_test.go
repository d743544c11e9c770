package panel_test

import (
	"mime"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/mail/mailtest"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/queue/queuetest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func decodedSubject(t *testing.T, m mailtest.Message) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	return s
}

// receiptsTo counts the messages the loopback server accepted for addr.
func receiptsTo(env *apptest.Env, addr string) int {
	n := 0
	for _, m := range env.Mail.All() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				n++
			}
		}
	}
	return n
}

// TestReceiptAfterPaymentAndResendFromThePanel runs the real services: a buyer pays a checkout
// on the page in Italian (a wire transfer an operator marks paid), the main backend's outbox
// consumer queues the receipt, the admin backend's receipt worker sends it over SMTP (exactly one, in Italian,
// marked as a test payment); on the transaction page a viewer sees the receipt but no resend,
// a POST without the CSRF token is refused, and an editor's "Send receipt again" sends one
// more, audited. No line of any service's log holds the buyer's address.
func TestReceiptAfterPaymentAndResendFromThePanel(t *testing.T) {
	t.Parallel()
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, Workers: true})
		// The admin backend's email queue, as its Serve runs it (apptest serves its handler
		// alone): its receipt service, with its mailer, works the jobs.
		ws := river.NewWorkers()
		env.Admin.Receipts.RegisterWorkers(ws)
		queuetest.Start(t, s, map[string]int{queue.Email: 1}, ws, queuetest.Options{})
		tn := env.NewTenant(t)
		buyer := "kundin-" + strings.ToLower(domain.RandomString(8)) + "@example.com"
		env.Logs.Forbid(buyer)
		co := newCheckout(t, env, tn, 2500)
		st, err := env.Services().Payment.StartTransaction(ctx, payment.StartInput{SessionPublicID: co.SessionPublicID, ProviderID: tn.Provider.ID,
			Language: "it", Buyer: payment.Buyer{BillingDetails: domain.BillingDetails{Name: "Giulia", Email: buyer, Country: "IT"}}})
		require.NoError(t, err)
		txn, err := env.Services().Payment.MarkPaid(ctx, tn.Admin, tn.Org.ID, st.Transaction.ID, "")
		require.NoError(t, err)

		m := env.Mail.NextTo(t, buyer)
		require.Equal(t, "[TEST] La tua ricevuta da "+tn.Site.Name, decodedSubject(t, m))
		require.Contains(t, m.Text, "ID transazione: "+txn.ID)
		require.Contains(t, m.Text, "Poster")
		require.Contains(t, m.HTML, `lang="it"`)

		viewer := signedIn(t, env, tn, domain.RoleViewer)
		page := viewer.get("/transactions/" + txn.ID)
		require.Equal(t, http.StatusOK, page.Status)
		require.Eventually(t, func() bool {
			page = viewer.get("/transactions/" + txn.ID)
			return strings.Contains(text(page, "section[aria-labelledby=receipts-h] table"), "sent")
		}, 10*time.Second, 50*time.Millisecond, "the receipt is listed as sent")
		require.Contains(t, text(page, "section[aria-labelledby=receipts-h] table"), "after the payment")
		require.Zero(t, page.Doc.Find(`form[action$="/resend-receipt"]`).Length(), "viewers cannot resend")
		require.Equal(t, http.StatusForbidden, viewer.post("/transactions/"+txn.ID+"/resend-receipt", nil).Status)

		editor := signedIn(t, env, tn, domain.RoleEditor)
		page = editor.get("/transactions/" + txn.ID)
		require.Equal(t, 1, page.Doc.Find(`form[action$="/resend-receipt"]`).Length())
		require.Equal(t, http.StatusForbidden, editor.post("/transactions/"+txn.ID+"/resend-receipt", url.Values{"csrf": {"forged"}}).Status)
		res := editor.post("/transactions/"+txn.ID+"/resend-receipt", nil)
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		require.Equal(t, "The receipt is queued to be sent to the buyer again.", text(editor.get(res.Location), ".notice"))

		again := env.Mail.NextTo(t, buyer)
		require.Equal(t, decodedSubject(t, m), decodedSubject(t, again))
		require.Equal(t, 2, receiptsTo(env, buyer), "the payment's receipt and one resend")
		rs, err := env.Store.ListReceipts(ctx, tn.Org.ID, txn.ID)
		require.NoError(t, err)
		require.Len(t, rs, 2)
		require.Equal(t, domain.ReceiptResend, rs[1].Kind)
		audit, err := env.Store.ListAudit(ctx, store.AuditFilter{OrganizationID: tn.Org.ID, Action: "receipt.resend", Limit: 10})
		require.NoError(t, err)
		require.Len(t, audit, 1)
		require.Equal(t, txn.ID, audit[0].TargetID)
		require.Equal(t, rs[1].RequestedBy, audit[0].ActorID)
		require.Empty(t, env.Logs.Leaks())
	})
}

// TestSiteFormReceiptsSwitch: the site form shows the switch on for a new site; a site created
// with the box unticked, or saved so, sends no receipts (audited), and the form shows it off.
func TestSiteFormReceiptsSwitch(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	admin := signedIn(t, env, tn, domain.RoleAdmin)
	checked := func(path string) bool {
		box := admin.get(path).Doc.Find(`input[name=receipts]`)
		require.Equal(t, 1, box.Length())
		_, on := box.Attr("checked")
		return on
	}
	require.True(t, checked("/sites/new"), "receipts are on for a new site")
	require.True(t, checked("/sites/"+tn.Site.ID), "and for the tenant's site")

	settings := url.Values{"name": {"Quiet shop"}, "ipnVersion": {"2"}, "taxDisplay": {"inclusive"}, "vatIdValidation": {"none"}, "defaultLanguage": {"en"}}
	res := admin.post("/sites", settings) // no "receipts": the box unticked
	require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
	sites, err := env.Store.ListSites(ctx, tn.Org.ID)
	require.NoError(t, err)
	var quiet *domain.Site
	for i := range sites {
		if sites[i].Name == "Quiet shop" {
			quiet = &sites[i]
		}
	}
	require.NotNil(t, quiet)
	require.True(t, quiet.ReceiptsDisabled)
	require.False(t, checked("/sites/"+quiet.ID))

	settings.Set("name", tn.Site.Name)
	res = admin.post("/sites/"+tn.Site.ID, settings)
	require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
	site, err := env.Store.GetSite(ctx, tn.Org.ID, tn.Site.ID)
	require.NoError(t, err)
	require.True(t, site.ReceiptsDisabled)
	settings.Set("receipts", "on")
	require.Equal(t, http.StatusSeeOther, admin.post("/sites/"+tn.Site.ID, settings).Status)
	require.True(t, checked("/sites/"+tn.Site.ID))
	audit, err := env.Store.ListAudit(ctx, store.AuditFilter{OrganizationID: tn.Org.ID, Action: "site.receipts", Limit: 10})
	require.NoError(t, err)
	require.Len(t, audit, 3, "off for the new site, off and on again for the tenant's")
}

package panel_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestDuplicatePaymentPage: a second attempt that took the money after the checkout was paid is
// shown as "Duplicate payment — refund it" with the refund form; refunded from the panel, it is
// a refunded duplicate, and the first payment is untouched.
func TestDuplicatePaymentPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		co := newCheckout(t, env, tn, 2500)
		first := wireTransaction(t, env, tn, co)
		// A second attempt of the same checkout (another tab), still waiting for its money.
		second := &domain.Transaction{ID: domain.NewID(domain.PrefixTransaction), OrganizationID: tn.Org.ID, CheckoutID: co.ID, SiteID: co.SiteID,
			ProviderID: tn.Provider.ID, ProviderType: domain.ProviderWireTransfer, Mode: co.Mode, Currency: first.Currency,
			NetAmount: first.NetAmount, TaxAmount: first.TaxAmount, GrossAmount: first.GrossAmount}
		require.NoError(t, s.CreateTransaction(ctx, second))
		_, err := env.Services().Payment.MarkPaid(ctx, tn.Admin, tn.Org.ID, first.ID, "")
		require.NoError(t, err)
		// Then the provider reports that the second attempt took the money too.
		dup, err := env.Services().Payment.ApplyOutcome(ctx, second, payment.Outcome{To: domain.TxnSucceeded})
		require.NoError(t, err)
		require.True(t, dup.Duplicate)
		require.Equal(t, domain.TxnSucceeded, dup.Status)

		c := signedIn(t, env, tn, domain.RoleEditor)
		p := c.get("/transactions/" + dup.ID)
		require.Equal(t, http.StatusOK, p.Status)
		require.Equal(t, "Duplicate payment", text(p, "#duplicate-badge"))
		require.Equal(t, "Duplicate payment — refund it", text(p, "#duplicate-note h2"))
		require.Equal(t, 1, p.Doc.Find(`form[action="/transactions/`+dup.ID+`/refund"]`).Length(), "the refund control")
		require.Equal(t, "Refund the duplicate payment", text(p, `form[action$="/refund"] h3`))
		require.Contains(t, text(p, "main"), "duplicate_payment")

		list := c.get("/transactions")
		require.Equal(t, 1, list.Doc.Find(`main tbody tr:contains("`+dup.ID+`") .badge:contains("Duplicate")`).Length(), "marked in the list")
		require.Zero(t, list.Doc.Find(`main tbody tr:contains("`+first.ID+`") .badge:contains("Duplicate")`).Length())

		done := c.post("/transactions/"+dup.ID+"/refund", url.Values{"amount": {""}, "reason": {"paid twice"}})
		require.Equal(t, http.StatusSeeOther, done.Status, done.Body)
		p = c.get(done.Location)
		require.Equal(t, "Refunded duplicate payment", text(p, "#duplicate-note h2"))
		require.Zero(t, p.Doc.Find(`form[action$="/refund"]`).Length(), "nothing is left to refund")
		refunded, err := s.GetTransaction(ctx, tn.Org.ID, dup.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnRefunded, refunded.Status)
		require.Equal(t, refunded.GrossAmount, refunded.RefundedAmount)
		require.True(t, refunded.Duplicate)

		still, err := s.GetTransaction(ctx, tn.Org.ID, first.ID)
		require.NoError(t, err)
		require.Equal(t, domain.TxnSucceeded, still.Status, "the order's payment is untouched")
		page := c.get("/transactions/" + first.ID)
		require.Zero(t, page.Doc.Find("#duplicate-note").Length())
	})
}

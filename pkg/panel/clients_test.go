package panel_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// The clients list finds a buyer; the client page shows its lifetime value, payments, the
// (empty) invoices and credit notes, and is linked from its checkouts and transactions; an
// editor places a hold, which only an admin may release; both are audited and listed on the page.
func TestClientPageAndHolds(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		paid := paidTransaction(t, env, tn, 2500)
		co, err := s.GetCheckout(ctx, tn.Org.ID, paid.CheckoutID)
		require.NoError(t, err)
		require.NotNil(t, co.LinkedClientID, "the checkout's buyer became a client")
		id := *co.LinkedClientID
		editor := signedIn(t, env, tn, domain.RoleEditor)

		list := editor.get("/clients?q=BUYER@example")
		require.Equal(t, http.StatusOK, list.Status, text(list, "main"))
		require.Equal(t, 1, list.Doc.Find(`main a[href="/clients/`+id+`"]`).Length(), text(list, "main"))
		none := editor.get("/clients?q=nobody")
		require.Contains(t, text(none, "main"), "No clients match")

		for _, from := range []string{"/checkouts/" + co.ID, "/transactions/" + paid.ID} {
			p := editor.get(from)
			require.Equal(t, http.StatusOK, p.Status)
			require.Equal(t, "/clients/"+id, p.Doc.Find("a[data-client-link]").AttrOr("href", ""), from)
		}

		page := editor.get("/clients/" + id)
		require.Equal(t, http.StatusOK, page.Status, text(page, "main"))
		require.Equal(t, "25.00 EUR", strings.TrimSpace(page.Doc.Find(`[data-net="EUR"]`).Text()))
		require.Equal(t, 1, page.Doc.Find(`main a[href="/transactions/`+paid.ID+`"]`).Length())
		require.Contains(t, text(page, "[data-invoices]"), "No invoices yet")
		require.Contains(t, text(page, "[data-credit-notes]"), "No credit notes yet")
		require.Equal(t, 1, page.Doc.Find("#hold-form").Length(), "an editor may place a hold")

		// Validation: a reason that is not a code is refused, nothing is written.
		bad := editor.post("/clients/"+id+"/holds", url.Values{"action": {"block"}, "reason": {"Jane is a fraud"}})
		require.Equal(t, http.StatusBadRequest, bad.Status)
		holds, err := s.ListClientHolds(ctx, tn.Org.ID, id)
		require.NoError(t, err)
		require.Empty(t, holds)

		res := editor.post("/clients/"+id+"/holds", url.Values{"action": {"allow_provider_types"}, "reason": {"lost_dispute"},
			"providerType": {"wire_transfer"}, "note": {"Chargeback in March"}})
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		holds, err = s.ListClientHolds(ctx, tn.Org.ID, id)
		require.NoError(t, err)
		require.Len(t, holds, 1)
		hold := holds[0]
		require.Equal(t, []string{"wire_transfer"}, hold.AllowedProviderTypes)

		page = editor.get("/clients/" + id)
		require.Equal(t, hold.ID, page.Doc.Find("[data-active-hold]").AttrOr("data-active-hold", ""))
		require.Contains(t, text(page, "[data-active-hold]"), "Wire transfer")
		require.Equal(t, 0, page.Doc.Find(`form[action="/clients/`+id+`/holds/`+hold.ID+`/release"]`).Length(), "an editor cannot release")
		denied := editor.post("/clients/"+id+"/holds/"+hold.ID+"/release", url.Values{})
		require.Equal(t, http.StatusForbidden, denied.Status)

		admin := signedIn(t, env, tn, domain.RoleAdmin)
		res = admin.post("/clients/"+id+"/holds/"+hold.ID+"/release", url.Values{"note": {"paid back"}})
		require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
		page = admin.get("/clients/" + id)
		require.Equal(t, 0, page.Doc.Find("[data-active-hold]").Length())
		history := page.Doc.Find("[data-hold-history] li")
		require.Equal(t, 2, history.Length())
		require.Contains(t, history.First().Text(), "Client hold · release")
		require.Contains(t, history.Last().Text(), "Client hold · place")
		require.Contains(t, history.Last().Text(), "lost_dispute")
	})
}

package panel_test

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestPanelExportsCSV downloads the lists' CSV exports as an operator does, from the links of
// the list pages: checkouts and transactions with the list's filters, and the refunds of the
// transactions page's site, provider, mode and dates.
func TestPanelExportsCSV(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		paid := paidTransaction(t, env, tn, 4200)
		refund, err := env.Services().Payment.Refund(ctx, tn.Admin, tn.Org.ID, paid.ID, payment.RefundInput{Amount: ptr(int64(1200)), Reason: "=SUM(A1)"})
		require.NoError(t, err)
		other := paidTransaction(t, env, tn, 900) // paid, not refunded
		c := signedIn(t, env, tn, domain.RoleAdmin)

		rows := func(path string) [][]string {
			t.Helper()
			res := c.get(path)
			require.Equal(t, http.StatusOK, res.Status, res.Body)
			require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
			require.Contains(t, res.Header.Get("Content-Disposition"), "attachment")
			out, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
			require.NoError(t, err)
			require.NotEmpty(t, out, "a header at least")
			return out
		}
		list := c.get("/transactions?mode=test&status=succeeded&site=" + tn.Site.ID)
		require.Equal(t, http.StatusOK, list.Status)
		href, ok := list.Doc.Find(`a[download]:contains("Export refunds as CSV")`).Attr("href")
		require.True(t, ok, "the transactions page links the refunds export")
		u, err := url.Parse(href)
		require.NoError(t, err)
		require.Equal(t, "/refunds/export.csv", u.Path)
		require.Equal(t, url.Values{"mode": {"test"}, "site": {tn.Site.ID}}, u.Query(), "the filters refunds have, not the transactions' status")
		got := rows(href)
		require.Equal(t, []string{"id", "created_at", "status", "transaction_id", "amount", "currency", "reason", "manual", "source",
			"provider_reference", "failure_message"}, got[0])
		require.Len(t, got, 2)
		require.Equal(t, refund.ID, got[1][0])
		require.Equal(t, paid.ID, got[1][3])
		require.Equal(t, "12.00", got[1][4])
		require.Equal(t, "'=SUM(A1)", got[1][6], "a formula is defused")
		require.Len(t, rows("/refunds/export.csv?mode=live"), 1, "live refunds: none")
		require.Len(t, rows("/refunds/export.csv?to="+refund.CreatedAt.AddDate(0, 0, -2).Format("2006-01-02")), 1, "none made before then")
		require.Equal(t, http.StatusBadRequest, c.get("/refunds/export.csv?from=yesterday").Status)

		href, ok = list.Doc.Find(`a[download]:contains("Export these transactions as CSV")`).Attr("href")
		require.True(t, ok)
		got = rows(href)
		require.Len(t, got, 2, "the list's filters: the refunded payment is partially_refunded, not succeeded")
		require.Equal(t, other.ID, got[1][0])

		cl := c.get("/checkouts?q=" + url.QueryEscape(paid.CheckoutID))
		href, ok = cl.Doc.Find(`a[download]:contains("as CSV")`).Attr("href")
		require.True(t, ok, "the checkouts page links its export")
		got = rows(href)
		require.Len(t, got, 2)
		require.Equal(t, paid.CheckoutID, got[1][0])

		viewer := signedIn(t, env, tn, domain.RoleViewer)
		require.Equal(t, http.StatusForbidden, viewer.get("/refunds/export.csv").Status, "exports are the editor's and up (export:execute)")
	})
}

package panel_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// TestAuditAndTimelineAreReadable: the audit log and a transaction's timeline show their data
// as labelled values (no JSON), amounts formatted with their currency, ids linked to their pages.
func TestAuditAndTimelineAreReadable(t *testing.T) {
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	c := signedIn(t, env, tn, domain.RoleAdmin)
	txn := wireTransaction(t, env, tn, newCheckout(t, env, tn, 123456))
	_, err := env.Services().Payment.MarkPaid(ctx, tn.Admin, tn.Org.ID, txn.ID, "statement 7")
	require.NoError(t, err)
	k, _, err := env.Services().Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "plugin", Mode: "test", Scopes: []string{"checkout:create"}})
	require.NoError(t, err)
	_, _, err = env.Services().Tenancy.RotateAPIKey(ctx, tn.Admin, tn.Org.ID, k.ID, 60*60e9)
	require.NoError(t, err)

	res := c.get("/audit")
	require.Equal(t, http.StatusOK, res.Status)
	row := func(action string) *goquery.Selection {
		return res.Doc.Find("tbody tr").FilterFunction(func(_ int, s *goquery.Selection) bool {
			return strings.TrimSpace(s.Find(`td[data-label=Action]`).Text()) == action
		}).First()
	}
	paid := row("transaction.mark_paid")
	require.Equal(t, "/transactions/"+txn.ID, paid.Find(`td[data-label=Object] a`).AttrOr("href", ""))
	details := strings.Join(strings.Fields(paid.Find(`td[data-label=Details]`).Text()), " ")
	require.Contains(t, details, "Amount: 1,234.56 EUR")
	require.Contains(t, details, "Note: statement 7")
	require.NotContains(t, details, "currency")
	rotated := strings.Join(strings.Fields(row("api_key.rotate").Find(`td[data-label=Details]`).Text()), " ")
	require.Contains(t, rotated, "Old key kept working for: keeps working for 1 hour")
	created := row("checkout.create")
	require.Equal(t, "/sites/"+tn.Site.ID, created.Find(`td[data-label=Details] a`).AttrOr("href", ""))
	for _, cell := range res.Doc.Find(`td[data-label=Details]`).Nodes {
		txt := goquery.NewDocumentFromNode(cell).Text()
		require.NotContains(t, txt, "{", "no JSON in the audit log")
		require.NotContains(t, txt, `":`, "no JSON in the audit log")
	}

	res = c.get("/transactions/" + txn.ID)
	timeline := strings.Join(strings.Fields(res.Doc.Find(".timeline").Text()), " ")
	require.Contains(t, timeline, "Gross: 1,234.56 EUR")
	require.NotContains(t, timeline, "{")
}

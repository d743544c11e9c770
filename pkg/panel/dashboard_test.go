package panel_test

import (
	_ "embed"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/browsertest"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// axeSource is axe-core 4.14.1 (MPL-2.0, testdata/axe.LICENSE), injected into pages under test.
//
//go:embed testdata/axe.min.js
var axeSource string

// axeViolations runs axe-core on the browser's current page and lists its violations as
// "rule: help (targets)".
func axeViolations(t *testing.T, b *browsertest.Browser) []string {
	t.Helper()
	b.Eval(axeSource+"\n;true", nil) // DevTools evaluation is not subject to the page's CSP
	var res []struct {
		ID    string   `json:"id"`
		Help  string   `json:"help"`
		Nodes []string `json:"nodes"`
	}
	b.Eval(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v =>
		({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))})))`, &res)
	var out []string
	for _, v := range res {
		out = append(out, fmt.Sprintf("%s: %s (%s)", v.ID, v.Help, strings.Join(v.Nodes, ", ")))
	}
	return out
}

// requireAccessible fails when axe finds a violation on the current page.
func requireAccessible(t *testing.T, b *browsertest.Browser, what string) {
	t.Helper()
	require.Empty(t, axeViolations(t, b), "axe violations on %s", what)
}

// checkoutIn creates a test checkout in a currency.
func checkoutIn(t testing.TB, env *apptest.Env, tn *apptest.Tenant, amount int64, currency string) *domain.Checkout {
	t.Helper()
	co, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{
		Amount: amount, Currency: currency, Email: "buyer@example.com", ExternalReference: "order-" + domain.RandomString(6), Mode: domain.ModeTest,
		Items: []checkout.ItemInput{{Name: "Poster", Quantity: 1, UnitPrice: amount, ItemType: "goods"}}})
	require.NoError(t, err)
	return co
}

// dated runs an UPDATE that dates a seeded row (the store stamps its own clock; test-made ids
// and times only).
func dated(t testing.TB, env *apptest.Env, table, set, id string, at time.Time) {
	t.Helper()
	v := at.UTC().Format("2006-01-02 15:04:05-07:00")
	require.NoError(t, env.Store.ExecAdmin(ctx, fmt.Sprintf(`UPDATE %s SET %s WHERE id = '%s'`, table,
		strings.ReplaceAll(set, "?", "'"+v+"'"), id)))
}

// dashboardSeed is what seedDashboard made: the tenant, the other tenant, and today (UTC).
type dashboardSeed struct {
	tn, other *apptest.Tenant
	today     time.Time
}

// seedDashboard pays, refunds and fails wire transfers through the platform, then dates them
// over the last days: in EUR 120.00 today, 30.00 two days ago (5.00 of it refunded yesterday),
// 9.99 nine days ago (the previous period) and a failed 15.00 four days ago; in USD 45.00
// three days ago; an open 8.00 EUR awaiting the bank. Another organisation takes 777.77 EUR today.
func seedDashboard(t *testing.T, env *apptest.Env) dashboardSeed {
	t.Helper()
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	ago := func(days, hour int) time.Time { return today.AddDate(0, 0, -days).Add(time.Duration(hour) * time.Hour) }
	sd := dashboardSeed{tn: env.NewTenant(t), other: env.NewTenant(t), today: today}
	tn := sd.tn
	pay := func(tn *apptest.Tenant, amount int64, currency string, at time.Time) *domain.Transaction {
		txn := wireTransaction(t, env, tn, checkoutIn(t, env, tn, amount, currency))
		paid, err := env.Services().Payment.MarkPaid(ctx, tn.Admin, tn.Org.ID, txn.ID, "")
		require.NoError(t, err)
		if !at.IsZero() {
			dated(t, env, "transactions", "succeeded_at = ?, updated_at = ?", paid.ID, at)
		}
		return paid
	}
	pay(tn, 12000, "EUR", time.Time{})
	refunded := pay(tn, 3000, "EUR", ago(2, 10))
	amount := int64(500)
	r, err := env.Services().Payment.Refund(ctx, tn.Admin, tn.Org.ID, refunded.ID, payment.RefundInput{Amount: &amount, Source: "dashboard"})
	require.NoError(t, err)
	require.Equal(t, domain.RefundSucceeded, r.Status, "a wire transfer's refund is recorded as done")
	dated(t, env, "refunds", "updated_at = ?", r.ID, ago(1, 9))
	pay(tn, 999, "EUR", ago(9, 12))
	pay(tn, 4500, "USD", ago(3, 15))
	failed := wireTransaction(t, env, tn, checkoutIn(t, env, tn, 1500, "EUR"))
	_, err = env.Store.TransitionTransaction(ctx, domain.Transition{OrganizationID: tn.Org.ID, TransactionID: failed.ID, To: domain.TxnFailed})
	require.NoError(t, err)
	dated(t, env, "transactions", "updated_at = ?", failed.ID, ago(4, 11))
	pending := wireTransaction(t, env, tn, checkoutIn(t, env, tn, 800, "EUR"))
	require.Equal(t, domain.TxnPendingProvider, pending.Status, "a transfer waits for the bank")
	pay(sd.other, 77777, "EUR", time.Time{})
	return sd
}

// TestDashboardFiguresOnThePage reads the dashboard's tables as an operator of the seeded
// organisation, on both databases: the summary, each day, the chart's points and the per-site
// table match the seeded payments; the other organisation's payment is nowhere.
func TestDashboardFiguresOnThePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		sd := seedDashboard(t, env)
		c := signedIn(t, env, sd.tn, domain.RoleViewer)
		res := c.get("/dashboard?mode=test&period=7")
		require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
		require.NotContains(t, res.Body, "777.77", "another organisation's payment")

		cells := func(sel string) []string {
			var out []string
			res.Doc.Find(sel).Children().Each(func(_ int, s *goquerySelection) { out = append(out, strings.Join(strings.Fields(s.Text()), " ")) })
			return out
		}
		require.Equal(t, []string{"Gross", "150.00 EUR", "9.99 EUR", "+1401.5 %"}, cells(`#summary-EUR tr[data-figure=gross]`))
		require.Equal(t, []string{"Refunds", "5.00 EUR", "0.00 EUR", "new"}, cells(`#summary-EUR tr[data-figure=refunded]`))
		require.Equal(t, []string{"Net", "145.00 EUR", "9.99 EUR", "+1351.4 %"}, cells(`#summary-EUR tr[data-figure=net]`))
		require.Equal(t, []string{"Completed", "2", "1", "+100.0 %"}, cells(`#summary-EUR tr[data-figure=completed]`))
		require.Equal(t, []string{"Failed", "1", "0", "new"}, cells(`#summary-EUR tr[data-figure=failed]`))
		require.Equal(t, "33.3 %", cells(`#summary-EUR tr[data-figure=failure-ratio]`)[1])
		require.Equal(t, "8.00 EUR (1)", cells(`#summary-EUR tr[data-figure=pending]`)[1])
		require.Equal(t, []string{"Gross", "45.00 USD", "0.00 USD", "new"}, cells(`#summary-USD tr[data-figure=gross]`))
		require.Equal(t, "25.0 %", text(res, `#counts [data-figure=failure-ratio]`), "1 failed of 4 finished, over both currencies")

		day := func(n int) string { return sd.today.AddDate(0, 0, -n).Format(time.DateOnly) }
		require.Len(t, res.Doc.Find(`#days-EUR tbody tr`).Nodes, 7)
		require.Equal(t, []string{sd.today.AddDate(0, 0, -2).Format("2 Jan 2006"), "30.00 EUR", "0.00 EUR", "30.00 EUR", "1", "0"},
			cells(`#days-EUR tr[data-day="`+day(2)+`"]`))
		require.Equal(t, []string{"0.00 EUR", "5.00 EUR", "−5.00 EUR", "0", "0"}, cells(`#days-EUR tr[data-day="` + day(1) + `"]`)[1:])
		require.Equal(t, []string{"120.00 EUR", "0.00 EUR", "120.00 EUR", "1", "0"}, cells(`#days-EUR tr[data-day="` + day(0) + `"]`)[1:])
		require.Equal(t, []string{"0", "1"}, cells(`#days-EUR tr[data-day="` + day(4) + `"]`)[4:])

		// The chart: one point per day with the table's gross and net.
		points := res.Doc.Find(`#chart-EUR circle.point`)
		require.Equal(t, 7, points.Length())
		gross, _ := res.Doc.Find(`#chart-EUR circle[data-day="` + day(2) + `"]`).Attr("data-gross")
		net, _ := res.Doc.Find(`#chart-EUR circle[data-day="` + day(1) + `"]`).Attr("data-net")
		require.Equal(t, "3000", gross)
		require.Equal(t, "-500", net)
		require.Equal(t, 7, res.Doc.Find(`#chart-USD circle.point`).Length())

		require.Equal(t, []string{sd.tn.Site.Name, "EUR", "150.00 EUR", "5.00 EUR", "145.00 EUR", "2", "1"},
			cells(`#sites tr[data-site="`+sd.tn.Site.ID+`"][data-currency=EUR]`))

		// Thirty days take the previous period's payment in; live mode has none.
		res = c.get("/dashboard?mode=test&period=30")
		require.Equal(t, []string{"Gross", "159.99 EUR", "0.00 EUR", "new"}, cells(`#summary-EUR tr[data-figure=gross]`))
		res = c.get("/dashboard?mode=live&period=7")
		require.Equal(t, 0, res.Doc.Find(`svg.trend`).Length())
		require.Contains(t, text(res, "main"), "No live payments in this period.")

		// A custom period: the two days two and one days ago.
		res = c.get("/dashboard?mode=test&period=custom&from=" + day(2) + "&to=" + day(1))
		require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
		require.Equal(t, []string{"Gross", "30.00 EUR", "0.00 EUR", "new"}, cells(`#summary-EUR tr[data-figure=gross]`))
		require.Equal(t, []string{"Gross", "0.00 USD", "45.00 USD", "−100.0 %"}, cells(`#summary-USD tr[data-figure=gross]`))
		require.Len(t, res.Doc.Find(`#days-EUR tbody tr`).Nodes, 2)

		// A custom period with its last day first is refused in words, the form kept.
		res = c.get("/dashboard?mode=test&period=custom&from=" + day(1) + "&to=" + day(2))
		require.Equal(t, http.StatusUnprocessableEntity, res.Status)
		require.Equal(t, "The last day of the custom period must not be before its first day.", text(res, "[role=alert]"))
		require.Equal(t, day(1), res.Doc.Find("#f-from").AttrOr("value", ""))
	})
}

type goquerySelection = goquery.Selection

// TestBrowserDashboard is an operator opening the dashboard in Chromium, on both databases:
// the chart is an SVG drawn by the server (no script needed, the CSP stays strict) with one
// point per day carrying the table's figures, the daily table opens without script, and axe
// finds no violation.
func TestBrowserDashboard(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		sd := seedDashboard(t, env)
		b := browsertest.New(t)
		signInBrowser(t, b, env, sd.tn.AdminUser.Email, sd.tn.Password)
		b.Navigate(env.AdminURL + "/dashboard?mode=test")
		b.WaitText("h1", "Dashboard")
		require.True(t, b.Exists(`input[name=period][value="30"]:checked`), "30 days by default")
		b.Click(`input[name=period][value="7"]`)
		b.Click(`.dash-filters button[type=submit]`)
		b.WaitURL("period=7")
		b.WaitVisible("#chart-EUR")

		var pts []struct {
			Day   string `json:"day"`
			Gross string `json:"gross"`
			Net   string `json:"net"`
			Title string `json:"title"`
		}
		b.Eval(`[...document.querySelectorAll("#chart-EUR circle.point")].map(c => ({day: c.dataset.day, gross: c.dataset.gross,
			net: c.dataset.net, title: c.querySelector("title").textContent}))`, &pts)
		require.Len(t, pts, 7)
		var rows [][]string
		b.Eval(`[...document.querySelectorAll("#days-EUR tbody tr")].map(r => [r.dataset.day, ...[...r.cells].map(c => c.textContent.trim())])`, &rows)
		require.Len(t, rows, 7)
		for i, p := range pts {
			require.Equal(t, rows[i][0], p.Day, "the chart's days are the table's")
			require.Contains(t, p.Title, "gross "+rows[i][2]+", net "+rows[i][4])
		}
		require.Equal(t, sd.today.Format(time.DateOnly), pts[6].Day)
		require.Equal(t, "12000", pts[6].Gross)
		require.Equal(t, "120.00 EUR", rows[6][2])
		var label string
		b.Eval(`document.getElementById("chart-EUR").getAttribute("aria-labelledby").split(" ").map(id => document.getElementById(id).textContent).join(" ")`, &label)
		require.Contains(t, label, "Daily gross and net in EUR")

		// The daily table is in a disclosure that works without script.
		var open bool
		b.Eval(`document.querySelector("#currency-EUR details").open`, &open)
		require.False(t, open)
		b.Click(`#currency-EUR details summary`)
		b.WaitFor(`document.querySelector("#currency-EUR details").open`, "the daily table opens")
		b.WaitVisible("#days-EUR")
		require.NotContains(t, b.Text("main"), "777.77")
		b.Screenshot(t, "panel-dashboard")
		requireAccessible(t, b, "the dashboard")
		noPanelErrors(t, b)

		// The period error is announced and accessible too.
		b.Navigate(env.AdminURL + "/dashboard?mode=test&period=custom&from=2026-02-10&to=2026-01-01")
		b.WaitText("[role=alert]", "must not be before its first day")
		requireAccessible(t, b, "the dashboard's period error")
		noPanelErrors(t, b, "422")
	})
}

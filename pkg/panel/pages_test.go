package panel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/panel"
	"paygate.dev/pkg/payment"
	"paygate.dev/pkg/reporting"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

func TestOverview(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		c := signedIn(t, env, tn, domain.RoleViewer)

		empty := c.get("/")
		require.Equal(t, http.StatusOK, empty.Status)
		require.Equal(t, 3, empty.Doc.Find("main section.card").Length(), "today, 7 and 30 days")
		require.Contains(t, text(empty, "main"), "No live transactions yet.")

		paidTransaction(t, env, tn, 2500)
		refunded := paidTransaction(t, env, tn, 1000)
		_, err := env.Services().Payment.Refund(ctx, tn.Admin, tn.Org.ID, refunded.ID, payment.RefundInput{Amount: ptr(int64(400))})
		require.NoError(t, err)
		cancelled := wireTransaction(t, env, tn, newCheckout(t, env, tn, 700))
		_, err = env.Services().Payment.CancelByBuyer(ctx, cancelled.ID)
		require.NoError(t, err)
		wireTransaction(t, env, tn, newCheckout(t, env, tn, 300)) // still open: not counted in the rate
		gbp, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{Amount: 990, Currency: "GBP", ExternalReference: "uk-1", Mode: domain.ModeTest})
		require.NoError(t, err)
		gbpTxn := wireTransaction(t, env, tn, gbp)
		_, err = env.Services().Payment.MarkPaid(ctx, tn.Admin, tn.Org.ID, gbpTxn.ID, "")
		require.NoError(t, err)

		res := c.get("/")
		require.Equal(t, http.StatusOK, res.Status)
		require.Contains(t, text(res, ".page-head"), "Showing test mode", "test payments while there are no live ones")
		for i := 0; i < 3; i++ {
			card := res.Doc.Find("main section.card").Eq(i)
			txt := strings.Join(strings.Fields(card.Text()), " ")
			items := card.Find("li")
			require.Equal(t, 3, items.Length(), "EUR, its refunds, GBP")
			require.Equal(t, "35.00 EUR", items.Eq(0).Find(".stat").Text(), "card %d", i)
			require.Equal(t, "2 payments", items.Eq(0).Find(".muted").Text())
			require.Equal(t, "4.00 EUR", items.Eq(1).Find("span").Last().Text())
			require.Equal(t, "9.90 GBP", items.Eq(2).Find(".stat").Text())
			require.Equal(t, "1 payment", items.Eq(2).Find(".muted").Text())
			require.Contains(t, txt, "Success rate: 75.0 % (3 of 4 finished attempts)")
		}
		require.Equal(t, 5, res.Doc.Find("main table tbody tr").Length(), "recent transactions")

		live := c.get("/?mode=live")
		require.Contains(t, text(live, ".page-head"), "Showing live mode")
		require.Contains(t, text(live, "main section.card"), "No payments.")
		require.Contains(t, text(live, "main section.card"), "Success rate: —")
	})
}

func TestStatsWindows(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		prov := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, prov)
		now := time.Now().UTC()
		pay := func(amount int64, status domain.TransactionStatus, at time.Time) {
			txn := storetest.Transaction(t, s, storetest.Checkout(t, s, site, amount), prov)
			require.NoError(t, s.RewriteTransactionForTest(ctx, org.ID, txn.ID, map[string]any{"status": status, "created_at": store.UTC(at),
				"succeeded_at": store.UTC(at)}))
		}
		pay(100, domain.TxnSucceeded, now.Add(-time.Minute))
		pay(200, domain.TxnSucceeded, now.Add(-3*24*time.Hour))
		pay(400, domain.TxnRefunded, now.Add(-20*24*time.Hour))
		pay(800, domain.TxnSucceeded, now.Add(-40*24*time.Hour)) // outside every window
		pay(1600, domain.TxnFailed, now.Add(-2*24*time.Hour))
		stats, err := s.Stats(ctx, org.ID, domain.ModeTest, now.Add(-time.Hour), now.Add(-7*24*time.Hour), now.Add(-30*24*time.Hour))
		require.NoError(t, err)
		require.Len(t, stats, 3)
		want := []struct{ count, gross, succeeded, finished int64 }{{1, 100, 1, 1}, {2, 300, 2, 3}, {3, 700, 3, 4}}
		for i, w := range want {
			require.Len(t, stats[i].Volumes, 1)
			require.Equal(t, "EUR", stats[i].Volumes[0].Currency)
			require.Equal(t, w.count, stats[i].Volumes[0].Count, "window %d", i)
			require.Equal(t, w.gross, stats[i].Volumes[0].Gross, "window %d", i)
			require.Equal(t, w.succeeded, stats[i].Succeeded, "window %d", i)
			require.Equal(t, w.finished, stats[i].Finished, "window %d", i)
		}
		live, err := s.Stats(ctx, org.ID, domain.ModeLive, now.Add(-30*24*time.Hour))
		require.NoError(t, err)
		require.Empty(t, live[0].Volumes)
		require.Zero(t, live[0].Finished)
		other := storetest.Org(t, s)
		none, err := s.Stats(ctx, other.ID, domain.ModeTest, now.Add(-30*24*time.Hour))
		require.NoError(t, err)
		require.Empty(t, none[0].Volumes, "scoped by organisation")
	})
}

func ptr[T any](v T) *T { return &v }

func TestLists(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		c := signedIn(t, env, tn, domain.RoleViewer)
		var made []*domain.Checkout
		for i := 0; i < 27; i++ {
			made = append(made, newCheckout(t, env, tn, int64(100+i)))
		}
		special, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{Amount: 4200, Currency: "EUR",
			Email: "special.buyer@example.org", ExternalReference: "ORDER-<script>", Mode: domain.ModeTest})
		require.NoError(t, err)
		_, err = env.Services().Checkout.ExpireCheckout(ctx, tn.Admin, tn.Org.ID, made[0].ID)
		require.NoError(t, err)

		t.Run("CheckoutsPaginate", func(t *testing.T) {
			first := c.get("/checkouts?mode=test")
			require.Equal(t, http.StatusOK, first.Status)
			require.Equal(t, 25, first.Doc.Find("main table tbody tr").Length())
			next := first.Doc.Find(`a[rel=next]`).AttrOr("href", "")
			require.Contains(t, next, "mode=test", "filters are kept")
			second := c.get(next)
			require.Equal(t, 3, second.Doc.Find("main table tbody tr").Length())
			require.Zero(t, second.Doc.Find(`a[rel=next]`).Length())
			require.Equal(t, "/checkouts?mode=test", second.Doc.Find(`.pager a`).First().AttrOr("href", ""), "back to the first page")
			prev := second.Doc.Find(`a[rel=prev]`).AttrOr("href", "")
			require.Contains(t, prev, "before="+second.Doc.Find("main table tbody tr a.mono").First().Text())
			back := c.get(prev)
			require.Equal(t, first.Doc.Find("main table tbody").Text(), back.Doc.Find("main table tbody").Text(), "Previous shows the first page again")
			require.Zero(t, back.Doc.Find(`a[rel=prev]`).Length(), "nothing is newer than the first page")
			require.Equal(t, next, back.Doc.Find(`a[rel=next]`).AttrOr("href", ""))
		})
		t.Run("CheckoutsSearchAndFilter", func(t *testing.T) {
			res := c.get("/checkouts?q=special.buyer")
			require.Equal(t, 1, res.Doc.Find("main table tbody tr").Length())
			require.Contains(t, text(res, "main table"), "ORDER-<script>", "merchant text is escaped, not markup")
			require.Zero(t, res.Doc.Find("main table script").Length())
			require.Equal(t, "special.buyer", res.Doc.Find("#f-q").AttrOr("value", ""))
			require.Equal(t, 1, c.get("/checkouts?q="+url.QueryEscape(special.ID)).Doc.Find("main table tbody tr").Length())
			expired := c.get("/checkouts?status=expired")
			require.Equal(t, 1, expired.Doc.Find("main table tbody tr").Length())
			require.Equal(t, "expired", expired.Doc.Find("#f-status option[selected]").AttrOr("value", ""))
			today := time.Now().UTC().Format("2006-01-02")
			require.Equal(t, 25, c.get("/checkouts?from="+today+"&to="+today).Doc.Find("main table tbody tr").Length())
			require.Zero(t, c.get("/checkouts?to=2001-01-01").Doc.Find("main table tbody tr").Length())
			bad := c.get("/checkouts?from=yesterday")
			require.Equal(t, http.StatusBadRequest, bad.Status)
			require.Contains(t, text(bad, "[role=alert]"), "date like")
			badStatus := c.get("/checkouts?status=nope")
			require.Equal(t, http.StatusBadRequest, badStatus.Status)
			require.Equal(t, "Status must be open, completed, expired or cancelled", text(badStatus, "[role=alert]"))
		})
		t.Run("Transactions", func(t *testing.T) {
			paid := paidTransaction(t, env, tn, 5000)
			open := wireTransaction(t, env, tn, made[5])
			res := c.get("/transactions?status=succeeded")
			require.Equal(t, 1, res.Doc.Find("main table tbody tr").Length())
			require.Contains(t, text(res, "main table"), paid.ID)
			all := c.get("/transactions")
			require.Equal(t, 2, all.Doc.Find("main table tbody tr").Length())
			byRef := c.get("/transactions?q=" + url.QueryEscape(*open.PaymentReference))
			require.Equal(t, 1, byRef.Doc.Find("main table tbody tr").Length())
			detail := c.get("/transactions/" + paid.ID)
			require.Equal(t, http.StatusOK, detail.Status)
			require.Contains(t, text(detail, "main"), "Tax evidence")
			require.Contains(t, detail.Doc.Find("pre").First().Text(), `"treatment": "domestic"`, "tax evidence as pretty JSON")
			require.Equal(t, "No notifications yet.", text(detail, "section[aria-labelledby=ipn-h] .empty"))
			require.GreaterOrEqual(t, detail.Doc.Find("ol.timeline li").Length(), 3)
		})
		t.Run("TransactionsByBuyerEmail", func(t *testing.T) {
			co := newCheckout(t, env, tn, 700)
			st, err := env.Services().Payment.StartTransaction(ctx, payment.StartInput{SessionPublicID: co.SessionPublicID, ProviderID: tn.Provider.ID,
				Buyer: payment.Buyer{BillingDetails: domain.BillingDetails{Name: "Ørjan Quist", Email: "Orjan.QUIST@Example.NET", Country: "DE"}}})
			require.NoError(t, err)
			for _, path := range []string{"/transactions?q=quist%40example", "/transactions?email=orjan.quist", "/transactions?q=%C3%B8rjan"} {
				res := c.get(path)
				require.Equal(t, http.StatusOK, res.Status, path)
				require.Equal(t, 1, res.Doc.Find("main table tbody tr").Length(), path)
				require.Contains(t, text(res, "main table"), st.Transaction.ID, path)
			}
			require.Equal(t, "orjan.quist", c.get("/transactions?email=orjan.quist").Doc.Find("#f-email").AttrOr("value", ""), "the filter is echoed")
			require.Zero(t, c.get("/transactions?email=quist&status=succeeded").Doc.Find("main table tbody tr").Length(), "with the other filters")
			byID := c.get("/transactions?q=" + strings.ToUpper(strings.TrimPrefix(st.Transaction.ID, "txn_")))
			require.Equal(t, 1, byID.Doc.Find("main table tbody tr").Length(), "an id in upper case without its prefix")
			other := signedIn(t, env, env.NewTenant(t), domain.RoleViewer)
			require.Zero(t, other.get("/transactions?email=orjan.quist").Doc.Find("main table tbody tr").Length(), "another organisation's operator")
		})
		t.Run("Audit", func(t *testing.T) {
			admin := signedIn(t, env, tn, domain.RoleAdmin)
			res := admin.get("/audit?action=checkout.expire")
			require.Equal(t, http.StatusOK, res.Status)
			require.Equal(t, 1, res.Doc.Find("main table tbody tr").Length())
			require.Contains(t, text(res, "main table"), made[0].ID)
		})
		t.Run("NotFound", func(t *testing.T) {
			other := env.NewTenant(t)
			foreign := newCheckout(t, env, other, 100)
			for _, path := range []string{"/checkouts/" + foreign.ID, "/checkouts/chk_nothing", "/transactions/txn_nothing", "/sites/" + other.Site.ID,
				"/providers/" + other.Provider.ID, "/no/such/page"} {
				res := c.get(path)
				require.Equal(t, http.StatusNotFound, res.Status, path)
				require.Equal(t, "text/html; charset=UTF-8", res.Header.Get("Content-Type"), path)
				require.NotEmpty(t, text(res, "main h1"), path)
				require.Equal(t, 1, res.Doc.Find(`nav a[href="/"]`).Length(), "the navigation stays")
			}
			api := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/no-such-thing", "", nil)
			require.Equal(t, http.StatusNotFound, api.Status)
			require.Equal(t, "ROUTE_NOT_FOUND", api.JSON(t)["code"], "the API keeps its JSON 404")
			require.Equal(t, http.StatusNotFound, apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/nope", "", nil).Status)
			require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, env.AdminURL+"/health", "", nil).Status)
			plain := apptest.Do(t, http.MethodGet, env.AdminURL+"/no/such/page", "", nil)
			require.Equal(t, "ROUTE_NOT_FOUND", plain.JSON(t)["code"], "clients that do not ask for HTML get JSON")
			anon := newClient(t, env.AdminURL).get("/no/such/page")
			require.Equal(t, http.StatusNotFound, anon.Status)
			require.Equal(t, "/login", anon.Doc.Find("main a").Last().AttrOr("href", ""))
		})
		t.Run("Assets", func(t *testing.T) {
			home := c.get("/")
			css := home.Doc.Find(`link[rel=stylesheet]`).AttrOr("href", "")
			js := home.Doc.Find(`script[src]`).AttrOr("src", "")
			require.Regexp(t, `^/assets/panel\.[0-9a-f]{12}\.css$`, css)
			require.Regexp(t, `^/assets/panel\.[0-9a-f]{12}\.js$`, js)
			res := apptest.Do(t, http.MethodGet, env.AdminURL+css, "", nil)
			require.Equal(t, http.StatusOK, res.Status)
			require.Equal(t, "public, max-age=31536000, immutable", res.Header.Get("Cache-Control"))
			require.Contains(t, res.Header.Get("Content-Type"), "text/css")
			require.Equal(t, http.StatusNotFound, apptest.Do(t, http.MethodGet, env.AdminURL+"/assets/panel.000000000000.css", "", nil).Status)
		})
	})
}

func TestOrganizations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		other := env.NewTenant(t)

		t.Run("PlatformAdminCreatesAndSwitches", func(t *testing.T) {
			pw := "pw-" + domain.RandomString(16)
			u, err := env.Services().Tenancy.CreateUser(ctx, domain.SystemActor(""), tenancy.CreateUserInput{Email: "root." + strings.ToLower(domain.RandomString(6)) + "@example.com", Password: pw, PlatformAdmin: true})
			require.NoError(t, err)
			c := newClient(t, env.AdminURL)
			c.login(u.Email, pw)
			list := c.get("/organizations")
			require.Equal(t, http.StatusOK, list.Status)
			require.GreaterOrEqual(t, list.Doc.Find("main table tbody tr").Length(), 2, "every organisation")
			require.Equal(t, 1, list.Doc.Find(`form[action="/organizations"]`).Length(), "the create form")

			bad := c.post("/organizations", url.Values{"name": {""}})
			require.Equal(t, http.StatusBadRequest, bad.Status)
			require.Contains(t, text(bad, "#f-create-name-error"), "Name is required")

			name := "Fresh " + domain.RandomString(5)
			res := c.post("/organizations", url.Values{"name": {name}, "sellerCountry": {"at"}, "pricesIncludeTax": {"on"}})
			require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
			home := c.get("/")
			require.Equal(t, name, text(home, ".org"), "working in the new organisation")

			res = c.post("/organizations/switch", url.Values{"org": {other.Org.ID}})
			require.Equal(t, http.StatusSeeOther, res.Status)
			require.Equal(t, other.Org.Name, text(c.get("/"), ".org"))
			sites := c.get("/sites")
			require.Contains(t, text(sites, "main table"), other.Site.ID)
		})

		t.Run("MembersSwitchBetweenTheirOrganisations", func(t *testing.T) {
			email, pw := member(t, env, tn.Org.ID, domain.RoleViewer)
			u, err := s.GetUserByEmail(ctx, email)
			require.NoError(t, err)
			require.NoError(t, s.AddMembership(ctx, &domain.Membership{OrganizationID: other.Org.ID, UserID: u.ID, Role: domain.RoleEditor}))
			c := newClient(t, env.AdminURL)
			c.login(email, pw)
			list := c.get("/organizations")
			require.Equal(t, 2, list.Doc.Find("main table tbody tr").Length())
			require.Zero(t, list.Doc.Find(`form[action="/organizations"]`).Length(), "only platform administrators create organisations")
			target := other.Org.ID
			if strings.Contains(text(c.get("/"), ".org"), other.Org.Name) {
				target = tn.Org.ID
			}
			require.Equal(t, http.StatusSeeOther, c.post("/organizations/switch", url.Values{"org": {target}}).Status)
			home := c.get("/")
			require.Contains(t, text(home, ".org"), map[string]string{tn.Org.ID: tn.Org.Name, other.Org.ID: other.Org.Name}[target])

			third := env.NewTenant(t)
			res := c.post("/organizations/switch", url.Values{"org": {third.Org.ID}})
			require.Equal(t, http.StatusNotFound, res.Status, "not a member: as if it did not exist")
		})

		t.Run("SettingsErrorsStayOnTheForm", func(t *testing.T) {
			c := signedIn(t, env, tn, domain.RoleAdmin)
			res := c.post("/organizations/settings", url.Values{"name": {tn.Org.Name}, "supportEmail": {"nope"}, "sellerCountry": {"DE"}})
			require.Equal(t, http.StatusBadRequest, res.Status)
			require.Contains(t, text(res, "#f-supportEmail-error"), "valid e-mail")
			require.Equal(t, "nope", res.Doc.Find("#f-supportEmail").AttrOr("value", ""))
		})
	})
}

func TestUsersPage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		c := signedIn(t, env, tn, domain.RoleAdmin)
		email := "colleague." + strings.ToLower(domain.RandomString(5)) + "@example.com"
		res := c.post("/users", url.Values{"email": {email}, "role": {"editor"}})
		require.Equal(t, http.StatusOK, res.Status, text(res, "main"))
		require.Contains(t, text(res, ".notice"), email+" is invited")
		require.Zero(t, res.Doc.Find("#f-inviteLink").Length(), "the link is only shown on development servers")
		require.Contains(t, text(res, "main table"), email)

		bad := c.post("/users", url.Values{"email": {"x"}, "role": {"editor"}})
		require.Equal(t, http.StatusBadRequest, bad.Status)
		require.Contains(t, text(bad, "#f-email-error"), "valid e-mail")

		last := c.post("/users/"+tn.AdminUser.ID+"/role", url.Values{"role": {"viewer"}})
		require.Equal(t, http.StatusConflict, last.Status)
		require.Contains(t, text(last, "[role=alert]"), "at least one administrator")
	})
}

// fakeNotifications stands in for the IPN package.
type fakeNotifications struct {
	mu      sync.Mutex
	resends []string
}

func (f *fakeNotifications) ListAttempts(_ context.Context, actor domain.Actor, _, txnID string) ([]panel.NotificationAttempt, error) {
	if err := auth.Authorize(actor, "ipn", "read"); err != nil {
		return nil, err
	}
	code := 500
	return []panel.NotificationAttempt{{DeliveryID: "ipn_1", Attempt: 1, Trigger: "scheduled", URL: "https://shop.example.com/ipn", EventVersion: 3,
		StartedAt: time.Now(), StatusCode: &code, LatencyMS: 42, Error: "merchant answered 500"}}, nil
}

func (f *fakeNotifications) ListDeliveries(_ context.Context, actor domain.Actor, _, _ string) ([]panel.NotificationDelivery, error) {
	if err := auth.Authorize(actor, "ipn", "read"); err != nil {
		return nil, err
	}
	return []panel.NotificationDelivery{{ID: "ipn_1", EventVersion: 3, Status: "failed", Attempts: 1, LastError: "merchant answered 500"}}, nil
}

func (f *fakeNotifications) Resend(_ context.Context, actor domain.Actor, _, txnID string) error {
	if err := auth.Authorize(actor, "ipn", "execute"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.resends = append(f.resends, txnID)
	return nil
}

// TestNotifications mounts a panel with IPN attempts (as the lead wires pkg/ipn) on its own
// server over the same services.
func TestNotifications(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	fake := &fakeNotifications{}
	e := httpapi.New(httpapi.Options{Log: env.Admin.Log})
	srv := httptest.NewUnstartedServer(e)
	srv.Start()
	t.Cleanup(srv.Close)
	hosts := env.Hosts
	hosts.AdminBackendDomain = strings.TrimPrefix(srv.URL, "http://")
	p, err := panel.New(panel.Deps{Tenancy: env.Services().Tenancy, Checkout: env.Services().Checkout, Payment: env.Services().Payment, DudaConn: env.Services().DudaConn, Reporting: reporting.New(env.Store, nil), Sessions: env.Admin.Sessions,
		SigningKey: secrets.Derive(env.MasterKey, "test-jwt"), Hosts: hosts, Notifications: fake})
	require.NoError(t, err)
	p.Register(e)

	paid := paidTransaction(t, env, tn, 1200)
	viewerEmail, viewerPW := member(t, env, tn.Org.ID, domain.RoleViewer)
	viewer := newClient(t, srv.URL)
	viewer.login(viewerEmail, viewerPW)
	page := viewer.get("/transactions/" + paid.ID)
	require.Equal(t, http.StatusOK, page.Status)
	require.Contains(t, text(page, "section[aria-labelledby=ipn-h] table"), "merchant answered 500")
	require.Contains(t, text(page, "section[aria-labelledby=ipn-h] table"), "HTTP 500")
	require.Zero(t, page.Doc.Find(`form[action$="/resend-ipn"]`).Length(), "viewers cannot resend")
	require.Equal(t, http.StatusForbidden, viewer.post("/transactions/"+paid.ID+"/resend-ipn", nil).Status)

	editor := newClient(t, srv.URL)
	editorEmail, editorPW := member(t, env, tn.Org.ID, domain.RoleEditor)
	editor.login(editorEmail, editorPW)
	require.Equal(t, 1, editor.get("/transactions/"+paid.ID).Doc.Find(`form[action$="/resend-ipn"]`).Length())
	res := editor.post("/transactions/"+paid.ID+"/resend-ipn", nil)
	require.Equal(t, http.StatusSeeOther, res.Status)
	require.Equal(t, "The notification is queued to be sent again.", text(editor.get(res.Location), ".notice"))
	require.Equal(t, []string{paid.ID}, fake.resends)
}

// TestNotificationsEndToEnd runs the real notifications: the main backend's workers deliver the
// IPNs of a wire transfer to a merchant, the transaction page lists the attempts, and an
// editor's resend reaches the merchant again with the same delivery id.
func TestNotificationsEndToEnd(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var deliveries []string
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		deliveries = append(deliveries, r.Header.Get("X-IPN-Delivery-ID"))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(merchant.Close)
	received := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), deliveries...)
	}
	// A database of its own: the workers would otherwise dispatch the other tests' events.
	s := storetest.Fresh(t, store.SQLite)
	_, err := s.Migrate(ctx, -1)
	require.NoError(t, err)
	env := apptest.Start(t, s, apptest.Options{NoFrontend: true, Workers: true})
	tn := env.NewTenant(t)
	co, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{Amount: 1500, Currency: "EUR",
		ExternalReference: "ipn-1", IPNURL: merchant.URL + "/ipn", Mode: domain.ModeTest})
	require.NoError(t, err)
	txn := wireTransaction(t, env, tn, co)
	require.Eventually(t, func() bool { return len(received()) > 0 }, 30*time.Second, 50*time.Millisecond, "the merchant is notified")

	editor := signedIn(t, env, tn, domain.RoleEditor)
	var page *page
	require.Eventually(t, func() bool {
		page = editor.get("/transactions/" + txn.ID)
		// The attempts' table (a notification still queued has a row in the queue's table above).
		return page.Doc.Find("section[aria-labelledby=ipn-h] table.cards tbody tr").Length() > 0
	}, 30*time.Second, 100*time.Millisecond, "the attempts are listed")
	require.Contains(t, text(page, "section[aria-labelledby=ipn-h] table.cards"), merchant.URL+"/ipn")
	require.Contains(t, text(page, "section[aria-labelledby=ipn-h] table.cards"), "delivered")
	require.Equal(t, 1, page.Doc.Find(`form[action$="/resend-ipn"]`).Length())

	// Every notification the transaction owes (initiated, then pending) has arrived before the
	// resend, or a late one would be taken for it: every event dispatched, every delivery done.
	require.Eventually(t, func() bool {
		evs, err := env.Store.ListTransactionEvents(ctx, tn.Org.ID, txn.ID)
		require.NoError(t, err)
		for _, ev := range evs {
			if ev.DispatchedAt == nil {
				return false
			}
		}
		ds, err := env.Store.ListIPNDeliveries(ctx, tn.Org.ID, txn.ID)
		require.NoError(t, err)
		for _, d := range ds {
			if d.Status != domain.IPNDeliveryDelivered {
				return false
			}
		}
		return len(ds) > 0 && len(received()) == len(ds)
	}, 30*time.Second, 50*time.Millisecond, "every notification owed is delivered")
	before := len(received())
	res := editor.post("/transactions/"+txn.ID+"/resend-ipn", nil)
	require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
	require.Eventually(t, func() bool { return len(received()) > before }, 30*time.Second, 50*time.Millisecond, "the resend arrives")
	got := received()
	require.Contains(t, got[:before], got[len(got)-1], "a resend carries the delivery id of a notification already sent")

	viewer := signedIn(t, env, tn, domain.RoleViewer)
	require.Zero(t, viewer.get("/transactions/"+txn.ID).Doc.Find(`form[action$="/resend-ipn"]`).Length())
	require.Equal(t, http.StatusForbidden, viewer.post("/transactions/"+txn.ID+"/resend-ipn", nil).Status)
}

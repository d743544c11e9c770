package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/integration/dudaconn"
	"paygate.dev/pkg/invoice"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// modeObjects are one organisation's objects of one mode.
type modeObjects struct {
	provider *domain.Provider
	checkout *domain.Checkout
	txn      *domain.Transaction
	key      *domain.APIKey
	invoice  *domain.Invoice
}

func makeModeObjects(t *testing.T, env *apptest.Env, s *store.Store, tn *apptest.Tenant, m domain.Mode) modeObjects {
	t.Helper()
	svc := env.Services()
	p := tn.Provider
	if m == domain.ModeLive {
		name := "Live bank transfer"
		var err error
		p, err = svc.Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "live", Name: &name,
			Settings: map[string]string{"bankName": "Live Bank", "accountHolder": "Shop GmbH", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}})
		require.NoError(t, err)
		ids := []string{tn.Provider.ID, p.ID}
		_, err = svc.Tenancy.UpdateSite(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, tenancy.SiteInput{ProviderIDs: &ids})
		require.NoError(t, err)
	}
	c, err := svc.Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{Amount: 700, Currency: "EUR",
		ExternalReference: "mode-" + string(m), Mode: m})
	require.NoError(t, err)
	txn := storetest.Transaction(t, s, c, p)
	k, _, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: string(m) + " reader", Mode: string(m), Scopes: []string{"checkout:read"}})
	require.NoError(t, err)
	inv, err := invoice.New(invoice.Options{Store: store.PortOf[invoice.Store](s)}).CreateDraft(ctx, tn.Admin, tn.Org.ID, invoice.DraftInput{
		Mode: m, Currency: "EUR", Lines: []invoice.LineInput{{Description: "Thing", Quantity: 1, UnitPrice: 700}}})
	require.NoError(t, err)
	return modeObjects{provider: p, checkout: c, txn: txn, key: k, invoice: inv}
}

// Every route of the Admin API (the OpenAPI document lists exactly these: see
// TestOpenAPIMatchesTheRoutes), called with an all-scopes key of one mode against the same
// organisation's objects of the other mode, answers 404 for those objects, 403 for what both
// modes share and a test key may not change, lists none of them, and changes nothing.
func TestModesNeverCross(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		objs := map[domain.Mode]modeObjects{
			domain.ModeTest: makeModeObjects(t, env, s, tn, domain.ModeTest),
			domain.ModeLive: makeModeObjects(t, env, s, tn, domain.ModeLive),
		}
		siteBefore, err := s.GetSite(ctx, tn.Org.ID, tn.Site.ID)
		require.NoError(t, err)
		str := func(v string) *string { return &v }
		dc, err := env.Services().DudaConn.CreateDudaConnection(ctx, tn.Admin, tn.Org.ID, dudaconn.DudaConnectionInput{SiteID: &tn.Site.ID,
			AppUUID: str("app-uuid"), AppUser: str("app-user"), AppPassword: str("app-password"), AppSecret: str("c2VjcmV0")})
		require.NoError(t, err)

		for _, walk := range []struct {
			key         string
			mine, other domain.Mode
		}{{tn.TestKey, domain.ModeTest, domain.ModeLive}, {tn.LiveKey, domain.ModeLive, domain.ModeTest}} {
			o := objs[walk.other]
			t.Run("A"+string(walk.mine)+"KeyOn"+string(walk.other)+"Objects", func(t *testing.T) {
				for _, r := range env.Admin.API.Routes() {
					if r.Public || strings.HasPrefix(r.Path, "/auth/") {
						continue // not about objects
					}
					name := r.Method + " " + r.Path
					shared := r.Object == nil && !strings.HasPrefix(r.Path, "/checkouts") && !strings.HasPrefix(r.Path, "/transactions") &&
						!strings.HasPrefix(r.Path, "/providers") && !strings.Contains(r.Path, "/api-keys") && !strings.HasPrefix(r.Path, "/invoices")
					if shared && walk.mine == domain.ModeLive {
						continue // a live key may change what both modes share
					}
					t.Run(name, func(t *testing.T) {
						id := ""
						switch {
						case strings.HasPrefix(r.Path, "/checkouts/:id"):
							id = o.checkout.ID
						case strings.HasPrefix(r.Path, "/transactions/:id"):
							id = o.txn.ID
						case strings.HasPrefix(r.Path, "/providers/:id"):
							id = o.provider.ID
						case strings.HasPrefix(r.Path, "/sites/:id"):
							id = tn.Site.ID
						case strings.HasPrefix(r.Path, "/duda/connections/:id"):
							id = dc.ID
						case strings.HasPrefix(r.Path, "/invoices/:id"):
							id = o.invoice.ID
						}
						path := strings.NewReplacer(":id", id, ":siteId", tn.Site.ID, ":orgId", tn.Org.ID, ":keyId", o.key.ID,
							":userId", tn.AdminUser.ID).Replace(r.Path)
						var body any
						switch r.Method {
						case http.MethodPost, http.MethodPatch, http.MethodPut:
							body = map[string]any{"mode": string(walk.other), "type": "wire_transfer", "name": "owned", "scopes": []string{"*:*"},
								"metadata": map[string]any{"owned": true}, "amount": 700, "currency": "EUR", "externalReference": "attack",
								"settings": map[string]string{"bankName": "Evil", "accountHolder": "Mallory", "iban": "GB82 WEST 1234 5698 7654 32", "bic": "NWBKGB2L"},
								"email":    "intruder@example.com", "role": "admin", "providerIds": []string{}, "enabled": false,
								"lines": []map[string]any{{"description": "x", "quantity": 1, "unitPrice": 100}}}
						}
						res := apptest.Do(t, r.Method, env.AdminURL+"/api/v1"+path, walk.key, body)
						code := ""
						if !strings.HasPrefix(r.Path, "/exports/") || res.Status != http.StatusOK {
							code, _ = res.JSON(t)["code"].(string)
						}
						switch {
						case r.Method == http.MethodPost && r.Path == "/checkouts/:siteId/create":
							// Its own mode's checkout, on the shared site: allowed, and never of the other mode.
							require.Equal(t, http.StatusOK, res.Status, string(res.Body))
							require.Equal(t, string(walk.mine), res.JSON(t)["mode"])
						case r.Object != nil:
							require.Equal(t, http.StatusNotFound, res.Status, "%s: %s", name, res.Body)
						case r.Method == http.MethodPost && (r.Path == "/providers" || r.Path == "/clients" || r.Path == "/invoices" || strings.HasSuffix(r.Path, "/api-keys")):
							require.Equal(t, http.StatusForbidden, res.Status, "%s: %s", name, res.Body)
							require.Equal(t, domain.CodeModeMismatch, code)
						case r.Path == "/organizations" && r.Method == http.MethodPost:
							require.Equal(t, http.StatusForbidden, res.Status, "only platform administrators: %s", res.Body)
						case shared && (r.Method != http.MethodGet || r.Path == "/audit-log"):
							require.Equal(t, http.StatusForbidden, res.Status, "%s: %s", name, res.Body)
							require.Equal(t, domain.CodeLiveModeRequired, code)
						default: // reads and lists: the other mode's objects are not there
							require.Equal(t, http.StatusOK, res.Status, "%s: %s", name, res.Body)
							for _, secret := range []string{o.checkout.ID, o.txn.ID, o.provider.ID, o.key.ID, o.invoice.ID} {
								require.NotContains(t, string(res.Body), secret, "%s shows a %s-mode object", name, walk.other)
							}
						}
					})
				}
				// Asking a list for the other mode finds nothing either.
				for _, list := range []string{"/checkouts", "/transactions"} {
					res := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1"+list+"?mode="+string(walk.other), walk.key, nil)
					require.Equal(t, http.StatusOK, res.Status, string(res.Body))
					require.Empty(t, res.JSON(t)["data"], list)
				}
			})
		}

		// Nothing changed.
		for m, o := range objs {
			c, err := s.GetCheckout(ctx, tn.Org.ID, o.checkout.ID)
			require.NoError(t, err)
			require.Equal(t, domain.CheckoutOpen, c.Status, m)
			require.Empty(t, c.Metadata, m)
			txn, err := s.GetTransaction(ctx, tn.Org.ID, o.txn.ID)
			require.NoError(t, err)
			require.Equal(t, o.txn.Status, txn.Status, "%s: not marked paid", m)
			refunds, err := s.ListRefunds(ctx, tn.Org.ID, o.txn.ID)
			require.NoError(t, err)
			require.Empty(t, refunds, m)
			p, err := s.GetProvider(ctx, tn.Org.ID, o.provider.ID)
			require.NoError(t, err)
			require.Equal(t, o.provider.Settings["iban"], p.Settings["iban"], "%s: the bank details buyers see", m)
			require.Equal(t, o.provider.Name, p.Name, m)
			require.True(t, p.Enabled, m)
			k, err := s.GetAPIKey(ctx, o.key.ID)
			require.NoError(t, err)
			require.Nil(t, k.RevokedAt, m)
			require.Equal(t, o.key.SecretHash, k.SecretHash, "%s: not rotated", m)
			inv, err := s.GetInvoice(ctx, tn.Org.ID, o.invoice.ID)
			require.NoError(t, err)
			require.Equal(t, domain.InvoiceDraft, inv.Status, "%s: not issued", m)
			require.Empty(t, inv.Notes, m)
		}
		site, err := s.GetSite(ctx, tn.Org.ID, tn.Site.ID)
		require.NoError(t, err)
		require.Equal(t, siteBefore.Name, site.Name)
		require.Equal(t, siteBefore.AllowedHosts, site.AllowedHosts)
		require.Equal(t, siteBefore.WebhookSecret, site.WebhookSecret, "the webhook secret was not regenerated")
		ps, err := s.ListSiteProviders(ctx, tn.Org.ID, tn.Site.ID)
		require.NoError(t, err)
		require.Len(t, ps, 2)
		keys, err := s.ListAPIKeys(ctx, tn.Org.ID)
		require.NoError(t, err)
		require.Len(t, keys, 4, "no key was created")
		conn, err := s.GetDudaConnection(ctx, tn.Org.ID, dc.ID)
		require.NoError(t, err)
		require.True(t, conn.Enabled)
		members, err := s.ListMembers(ctx, tn.Org.ID)
		require.NoError(t, err)
		require.Len(t, members, 1)
		live, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: tn.Org.ID, Mode: domain.ModeLive, Limit: 10})
		require.NoError(t, err)
		require.Len(t, live, 2, "the live checkout and the live key's own one")
	})
}

// A new route cannot forget the checks that run before its handler (and before an idempotent
// replay): every authenticated route names its permission, and every route whose path
// addresses an object with a mode names that object.
func TestEveryRouteDeclaresItsPermissionAndModedObject(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	decidesItself := map[string]bool{"GET /auth/me": true, "POST /auth/refresh": true, "POST /auth/logout": true,
		"GET /organizations": true, "POST /organizations": true}
	for _, r := range env.Admin.API.Routes() {
		name := r.Method + " " + r.Path
		if !r.Public && !decidesItself[name] {
			require.NotEmpty(t, r.Perm, "%s names no permission", name)
		}
		for _, prefix := range []string{"/checkouts/:id", "/transactions/:id", "/providers/:id", "/organizations/:orgId/api-keys/:keyId"} {
			if strings.HasPrefix(r.Path, prefix) {
				require.NotNil(t, r.Object, "%s addresses an object with a mode", name)
			}
		}
	}
}

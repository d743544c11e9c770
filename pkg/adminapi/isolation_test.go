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

// Every authenticated route, called with a second organisation's all-scopes keys (test and live) against the
// first organisation's objects, answers 404 (or 403) and changes nothing.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		victim, attacker := env.NewTenant(t), env.NewTenant(t)
		svc := env.Services()
		c, err := svc.Checkout.CreateCheckout(ctx, victim.Admin, victim.Org.ID, victim.Site.ID, checkout.CheckoutInput{Amount: 500, Currency: "EUR", ExternalReference: "victim-1", Mode: domain.ModeTest})
		require.NoError(t, err)
		txn := storetest.Transaction(t, s, c, victim.Provider)
		key, _, err := svc.Tenancy.CreateAPIKey(ctx, victim.Admin, victim.Org.ID, tenancy.APIKeyInput{Mode: "test", Scopes: []string{"checkout:read"}})
		require.NoError(t, err)
		str := func(v string) *string { return &v }
		dc, err := svc.DudaConn.CreateDudaConnection(ctx, victim.Admin, victim.Org.ID, dudaconn.DudaConnectionInput{SiteID: &victim.Site.ID,
			AppUUID: str("app-uuid"), AppUser: str("app-user"), AppPassword: str("app-password"), AppSecret: str("c2VjcmV0")})
		require.NoError(t, err)
		email := "victim.buyer@example.com"
		cl, err := svc.Client.CreateClient(ctx, victim.Admin, victim.Org.ID, domain.ModeTest, domain.ClientInput{Email: &email})
		require.NoError(t, err)
		hold, err := svc.Client.PlaceHold(ctx, victim.Admin, victim.Org.ID, cl.ID, domain.HoldInput{Action: domain.HoldBlock, Reason: "fraud_review"})
		require.NoError(t, err)

		draft, err := invoice.New(invoice.Options{Store: store.PortOf[invoice.Store](s)}).CreateDraft(ctx, victim.Admin, victim.Org.ID, invoice.DraftInput{
			Mode: domain.ModeTest, Currency: "EUR", Notes: "victim", Lines: []invoice.LineInput{{Description: "Thing", Quantity: 1, UnitPrice: 1000}}})
		require.NoError(t, err)

		ids := func(path string) map[string]string {
			id := ""
			switch {
			case strings.HasPrefix(path, "/checkouts/:id"):
				id = c.ID
			case strings.HasPrefix(path, "/transactions/:id"):
				id = txn.ID
			case strings.HasPrefix(path, "/sites/:id"):
				id = victim.Site.ID
			case strings.HasPrefix(path, "/providers/:id"):
				id = victim.Provider.ID
			case strings.HasPrefix(path, "/duda/connections/:id"):
				id = dc.ID
			case strings.HasPrefix(path, "/clients/:id"):
				id = cl.ID
			case strings.HasPrefix(path, "/invoices/:id"):
				id = draft.ID
			}
			return map[string]string{":holdId": hold.ID, ":id": id, ":siteId": victim.Site.ID, ":orgId": victim.Org.ID, ":keyId": key.ID, ":userId": victim.AdminUser.ID}
		}
		bodies := map[string]any{
			"POST /checkouts/:siteId/create":              map[string]any{"amount": 100, "currency": "EUR", "externalReference": "attack"},
			"PATCH /checkouts/:id":                        map[string]any{"metadata": map[string]any{"owned": true}},
			"PATCH /sites/:id":                            map[string]any{"name": "owned"},
			"PUT /sites/:id/providers":                    map[string]any{"providerIds": []string{}},
			"PATCH /providers/:id":                        map[string]any{"name": "owned"},
			"PATCH /organizations/:orgId":                 map[string]any{"name": "owned"},
			"POST /organizations/:orgId/api-keys":         map[string]any{"mode": "test", "scopes": []string{"*:*"}},
			"POST /organizations/:orgId/members":          map[string]any{"email": "intruder@example.com", "role": "admin"},
			"PATCH /organizations/:orgId/members/:userId": map[string]any{"role": "viewer"},
			"PATCH /duda/connections/:id":                 map[string]any{"enabled": false},
			"PATCH /clients/:id":                          map[string]any{"name": "owned"},
			"POST /clients/:id/holds":                     map[string]any{"action": "block", "reason": "owned"},
			"PATCH /clients/:id/holds/:holdId":            map[string]any{"action": "block", "reason": "owned"},
			"PATCH /invoices/:id":                         map[string]any{"notes": "owned"},
		}
		lists := map[string]bool{"/checkouts": true, "/transactions": true, "/sites": true, "/providers": true, "/audit-log": true, "/organizations": true, "/duda/connections": true,
			"/clients": true, "/invoices": true, "/credit-notes": true, "/invoice-settings": true, "/exports/checkouts": true, "/exports/transactions": true, "/exports/refunds": true} // exports are lists (CSV) of the caller's own objects
		for _, r := range env.Admin.API.Routes() {
			if r.Public || r.Path == "/auth/me" || r.Path == "/auth/refresh" || r.Path == "/sites" && r.Method == http.MethodPost ||
				r.Path == "/providers" && r.Method == http.MethodPost || r.Path == "/organizations" && r.Method == http.MethodPost ||
				r.Path == "/duda/connections" && r.Method == http.MethodPost || r.Path == "/clients" && r.Method == http.MethodPost ||
				r.Path == "/invoices" && r.Method == http.MethodPost || r.Path == "/invoice-settings" && r.Method == http.MethodPatch {
				continue // not about another tenant's objects (creating in one's own organisation is allowed)
			}
			name := r.Method + " " + r.Path
			t.Run(name, func(t *testing.T) {
				path := r.Path
				for p, v := range ids(r.Path) {
					path = strings.ReplaceAll(path, p, v)
				}
				body := bodies[name]
				if body == nil && (r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut) {
					body = map[string]any{}
				}
				// Both of the attacker's keys: the live one may change what both modes share.
				for _, key := range []string{attacker.TestKey, attacker.LiveKey} {
					res := apptest.Do(t, r.Method, env.AdminURL+"/api/v1"+path, key, body)
					if lists[r.Path] && r.Method == http.MethodGet && res.Status != http.StatusForbidden {
						require.Equal(t, http.StatusOK, res.Status)
						for _, secret := range []string{victim.Org.ID, victim.Site.ID, c.ID, txn.ID, victim.Provider.ID, dc.ID, cl.ID, email, draft.ID} {
							require.NotContains(t, string(res.Body), secret, "a list leaks the other tenant's objects")
						}
						continue
					}
					require.Contains(t, []int{http.StatusNotFound, http.StatusForbidden}, res.Status, "%s: %s", name, res.Body)
				}
			})
		}
		// Nothing of the victim's changed.
		site, err := s.GetSite(ctx, victim.Org.ID, victim.Site.ID)
		require.NoError(t, err)
		require.Equal(t, "Shop", site.Name)
		ps, err := s.ListSiteProviders(ctx, victim.Org.ID, victim.Site.ID)
		require.NoError(t, err)
		require.Len(t, ps, 1)
		got, err := s.GetCheckout(ctx, victim.Org.ID, c.ID)
		require.NoError(t, err)
		require.Equal(t, domain.CheckoutOpen, got.Status)
		require.Empty(t, got.Metadata)
		k, err := s.GetAPIKey(ctx, key.ID)
		require.NoError(t, err)
		require.Nil(t, k.RevokedAt)
		org, err := s.GetOrganization(ctx, victim.Org.ID)
		require.NoError(t, err)
		require.Equal(t, victim.Org.Name, org.Name)
		members, err := s.ListMembers(ctx, victim.Org.ID)
		require.NoError(t, err)
		require.Len(t, members, 1)
		p, err := s.GetProvider(ctx, victim.Org.ID, victim.Provider.ID)
		require.NoError(t, err)
		require.Equal(t, "Bank transfer", p.Name)
		conn, err := s.GetDudaConnection(ctx, victim.Org.ID, dc.ID)
		require.NoError(t, err)
		require.True(t, conn.Enabled)
		gotClient, err := s.GetClient(ctx, victim.Org.ID, cl.ID)
		require.NoError(t, err)
		require.Equal(t, "", gotClient.Name)
		gotHold, err := s.GetClientHold(ctx, victim.Org.ID, cl.ID, hold.ID)
		require.NoError(t, err)
		require.True(t, gotHold.Active())
		require.Equal(t, "fraud_review", gotHold.Reason)
		holds, err := s.ListClientHolds(ctx, victim.Org.ID, cl.ID)
		require.NoError(t, err)
		require.Len(t, holds, 1)
		inv, err := s.GetInvoice(ctx, victim.Org.ID, draft.ID)
		require.NoError(t, err)
		require.Equal(t, domain.InvoiceDraft, inv.Status)
		require.Equal(t, "victim", inv.Notes)
		list, err := s.ListCheckouts(ctx, store.CheckoutFilter{OrganizationID: victim.Org.ID, ExternalReference: "attack", Limit: 5})
		require.NoError(t, err)
		require.Empty(t, list)
	})
}

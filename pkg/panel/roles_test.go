package panel_test

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

var eventIDRE = regexp.MustCompile(`evt_[0-9a-z]+`)

// snapshot is every row of the organisation's tables, to prove a refused POST changed nothing.
// Events count by id only: background dispatchers (of any test sharing the database) stamp
// them as dispatched.
func snapshot(t testing.TB, s *store.Store, orgID string) string {
	t.Helper()
	var rows []string
	for _, table := range []string{"organizations", "memberships", "sites", "site_providers", "providers", "api_keys",
		"checkouts", "checkout_items", "transactions", "refunds", "events", "audit_log", "duda_connections", "duda_sites"} {
		all, err := s.DumpTable(ctx, table)
		require.NoError(t, err)
		for _, r := range all {
			if !strings.Contains(r, orgID) {
				continue
			}
			if table == "events" {
				r = eventIDRE.FindString(r)
			}
			rows = append(rows, table+": "+r)
		}
	}
	sort.Strings(rows)
	return strings.Join(rows, "\n")
}

// writeAction is one form of the panel, posted by hand.
type writeAction struct {
	name string
	// min is the least role allowed; "" means no organisation role is enough (platform
	// administrators only).
	min domain.Role
	// ok is the status of a successful post.
	ok int
	// prepare creates what the action works on and returns its path and form.
	prepare func(t *testing.T) (string, url.Values)
}

func writeActions(env *apptest.Env, tn *apptest.Tenant) []writeAction {
	svc := env.Services()
	site := func(t *testing.T) *domain.Site {
		name := "Spare " + domain.RandomString(4)
		s, _, err := svc.Tenancy.CreateSite(ctx, tn.Admin, tn.Org.ID, tenancy.SiteInput{Name: &name})
		require.NoError(t, err)
		return s
	}
	key := func(t *testing.T) *domain.APIKey {
		k, _, err := svc.Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "k", Mode: "test", Scopes: []string{"checkout:create"}})
		require.NoError(t, err)
		return k
	}
	user := func(t *testing.T) string {
		email, _ := member(t, env, tn.Org.ID, domain.RoleViewer)
		u, err := env.Store.GetUserByEmail(ctx, email)
		require.NoError(t, err)
		return u.ID
	}
	siteForm := func(name string) url.Values {
		return url.Values{"name": {name}, "allowedHosts": {"shop.example.com\nlocalhost"}, "primaryColor": {"#112233"}, "ipnVersion": {"2"},
			"taxDisplay": {"inclusive"}, "vatIdValidation": {"format"}, "defaultLanguage": {"de"},
			"providerIds": {tn.Provider.ID}, "defaultProviderId": {tn.Provider.ID}}
	}
	wire := func(name string) url.Values {
		return url.Values{"type": {"wire_transfer"}, "mode": {"test"}, "name": {name}, "enabled": {"on"}, "settings.bankName": {"B"},
			"settings.accountHolder": {"H"}, "settings.iban": {"DE89370400440532013000"}}
	}
	return []writeAction{
		{"CreateCheckout", domain.RoleEditor, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/checkouts", url.Values{"site": {tn.Site.ID}, "mode": {"test"}, "currency": {"EUR"}, "externalReference": {"r-" + domain.RandomString(5)},
				"item_name": {"Thing"}, "item_quantity": {"2"}, "item_unitPrice": {"5.00"}, "item_vatRate": {""}, "item_type": {"goods"},
				"expiryValue": {"2"}, "expiryUnit": {"days"}}
		}},
		{"ExpireCheckout", domain.RoleEditor, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/checkouts/" + newCheckout(t, env, tn, 1000).ID + "/expire", nil
		}},
		{"ExtendCheckout", domain.RoleEditor, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/checkouts/" + newCheckout(t, env, tn, 1000).ID + "/extend", url.Values{"expiryValue": {"5"}, "expiryUnit": {"days"}}
		}},
		{"MarkPaid", domain.RoleEditor, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/transactions/" + wireTransaction(t, env, tn, newCheckout(t, env, tn, 1000)).ID + "/mark-paid", url.Values{"note": {"seen on statement"}}
		}},
		{"Refund", domain.RoleEditor, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/transactions/" + paidTransaction(t, env, tn, 1000).ID + "/refund", url.Values{"amount": {"2.50"}, "reason": {"damaged"}}
		}},
		{"CreateSite", domain.RoleAdmin, http.StatusOK, func(t *testing.T) (string, url.Values) {
			return "/sites", siteForm("New " + domain.RandomString(4))
		}},
		{"UpdateSite", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/sites/" + tn.Site.ID, siteForm("Renamed " + domain.RandomString(4))
		}},
		{"RegenerateWebhookSecret", domain.RoleAdmin, http.StatusOK, func(t *testing.T) (string, url.Values) {
			return "/sites/" + tn.Site.ID + "/webhook-secret", url.Values{"confirm": {"yes"}}
		}},
		{"DeleteSite", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/sites/" + site(t).ID + "/delete", nil
		}},
		{"CreateProvider", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/providers", wire("Bank " + domain.RandomString(4))
		}},
		{"UpdateProvider", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/providers/" + tn.Provider.ID, wire("Bank " + domain.RandomString(4))
		}},
		{"DeleteProvider", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			name := "Spare bank"
			p, err := svc.Tenancy.CreateProvider(ctx, tn.Admin, tn.Org.ID, tenancy.ProviderInput{Type: "wire_transfer", Mode: "test", Name: &name,
				Settings: map[string]string{"bankName": "B", "accountHolder": "H", "iban": "DE89370400440532013000"}})
			require.NoError(t, err)
			return "/providers/" + p.ID + "/delete", nil
		}},
		{"CreateDudaConnection", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/duda", dudaForm(tn.Site.ID, "app-"+domain.RandomString(6), "user", "pw-"+domain.RandomString(12), dudaSecret(), "", true)
		}},
		{"UpdateDudaConnection", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/duda/" + dudaConnection(t, env, tn).ID, dudaForm(tn.Site.ID, "app-"+domain.RandomString(6), "renamed", "", "", "https://shop.example.com/ipn", true)
		}},
		{"DisableDudaConnection", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/duda/" + dudaConnection(t, env, tn).ID, url.Values{"enabled": {"off"}}
		}},
		{"DeleteDudaConnection", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/duda/" + dudaConnection(t, env, tn).ID + "/delete", nil
		}},
		{"CreateAPIKey", domain.RoleAdmin, http.StatusOK, func(t *testing.T) (string, url.Values) {
			return "/api-keys", url.Values{"name": {"shop"}, "mode": {"test"}, "scopes": {"checkout:create"}}
		}},
		{"RevokeAPIKey", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/api-keys/" + key(t).ID + "/revoke", nil
		}},
		{"RotateAPIKey", domain.RoleAdmin, http.StatusOK, func(t *testing.T) (string, url.Values) {
			return "/api-keys/" + key(t).ID + "/rotate", url.Values{"graceMinutes": {"60"}}
		}},
		{"DeleteAPIKey", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/api-keys/" + key(t).ID + "/delete", nil
		}},
		{"InviteUser", domain.RoleAdmin, http.StatusOK, func(t *testing.T) (string, url.Values) {
			return "/users", url.Values{"email": {"invitee." + strings.ToLower(domain.RandomString(6)) + "@example.com"}, "role": {"editor"}}
		}},
		{"ChangeRole", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/users/" + user(t) + "/role", url.Values{"role": {"editor"}}
		}},
		{"RemoveUser", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/users/" + user(t) + "/remove", nil
		}},
		{"UpdateOrganization", domain.RoleAdmin, http.StatusSeeOther, func(t *testing.T) (string, url.Values) {
			return "/organizations/settings", url.Values{"name": {"Org " + domain.RandomString(5)}, "sellerCountry": {"DE"}, "pricesIncludeTax": {"on"}}
		}},
		{"CreateOrganization", "", 0, func(t *testing.T) (string, url.Values) {
			return "/organizations", url.Values{"name": {"Mine " + domain.RandomString(5)}}
		}},
	}
}

// TestRoleMatrix posts every write form of the panel as a viewer, an editor and an admin: the
// server answers 403 (and changes nothing) whenever the role is not enough, whether or not the
// page showed the form.
func TestRoleMatrix(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		clients := map[domain.Role]*client{}
		roles := []domain.Role{domain.RoleViewer, domain.RoleEditor, domain.RoleAdmin}
		for _, r := range roles {
			clients[r] = signedIn(t, env, tn, r)
		}
		for _, a := range writeActions(env, tn) {
			t.Run(a.name, func(t *testing.T) {
				for _, role := range roles {
					path, form := a.prepare(t)
					allowed := a.min != "" && role.AtLeast(a.min)
					before := snapshot(t, s, tn.Org.ID)
					res := clients[role].post(path, form)
					after := snapshot(t, s, tn.Org.ID)
					if allowed {
						require.Equal(t, a.ok, res.Status, "%s as %s: %s", a.name, role, text(res, "main"))
						require.NotEqual(t, before, after, "%s as %s changed something", a.name, role)
						continue
					}
					require.Equal(t, http.StatusForbidden, res.Status, "%s as %s: %s", a.name, role, text(res, "main"))
					require.Equal(t, "Not allowed", text(res, "h1"))
					require.Equal(t, before, after, "%s as %s changed nothing", a.name, role)
				}
			})
		}

		t.Run("PagesForHigherRoles", func(t *testing.T) {
			for path, min := range map[string]domain.Role{"/checkouts/new": domain.RoleEditor, "/sites/new": domain.RoleAdmin,
				"/providers/new": domain.RoleAdmin, "/duda/new": domain.RoleAdmin, "/api-keys": domain.RoleAdmin, "/audit": domain.RoleAdmin} {
				for _, role := range roles {
					want := http.StatusForbidden
					if role.AtLeast(min) {
						want = http.StatusOK
					}
					require.Equal(t, want, clients[role].get(path).Status, "%s as %s", path, role)
				}
			}
		})

		t.Run("ControlsAreHiddenFromViewers", func(t *testing.T) {
			paid := paidTransaction(t, env, tn, 1500)
			viewer, editor := clients[domain.RoleViewer], clients[domain.RoleEditor]
			txn := viewer.get("/transactions/" + paid.ID)
			require.Equal(t, http.StatusOK, txn.Status)
			require.Zero(t, txn.Doc.Find(`form[action$="/refund"]`).Length(), "no refund form for viewers")
			require.Equal(t, 1, editor.get("/transactions/"+paid.ID).Doc.Find(`form[action$="/refund"]`).Length())

			list := viewer.get("/checkouts")
			require.Zero(t, list.Doc.Find(`a[href="/checkouts/new"]`).Length())
			require.NotZero(t, editor.get("/checkouts").Doc.Find(`a[href="/checkouts/new"]`).Length())

			site := viewer.get("/sites/" + tn.Site.ID)
			require.Equal(t, site.Doc.Find("#site-form fieldset").Length(), site.Doc.Find("#site-form fieldset[disabled]").Length(), "read-only for viewers")
			require.Zero(t, site.Doc.Find(`#site-form button[type=submit]`).Length())
			require.Zero(t, site.Doc.Find(`form[action$="/webhook-secret"]`).Length())

			nav := viewer.get("/")
			require.Zero(t, nav.Doc.Find(`nav a[href="/api-keys"]`).Length())
			require.Zero(t, nav.Doc.Find(`nav a[href="/audit"]`).Length())
			require.Zero(t, viewer.get("/users").Doc.Find(`form[action="/users"]`).Length(), "no invite form")
		})
	})
}

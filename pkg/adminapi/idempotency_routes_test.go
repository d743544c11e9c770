package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/adminapi"
	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/checkout"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// Every POST the admin backend's echo serves under the API's prefixes goes through the one
// idempotency layer: its route declares a strategy, the first request's answer is kept under
// the caller's namespace, the same request again is replayed, and another request with the key
// is 422 IDEMPOTENCY_KEY_REUSED. Only sign-in (public: no actor to namespace a key) is outside.
func TestEveryPOSTGoesThroughTheIdempotencyLayer(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		declared := map[string]adminapi.Route{}
		for _, r := range env.Admin.API.Routes() {
			declared[r.Method+" "+r.Path] = r
		}
		public := map[string]bool{"/auth/token": true}
		actor := domain.Actor{Type: domain.ActorUser, ID: tn.AdminUser.ID}
		ids := strings.NewReplacer(":siteId", "site_nope", ":orgId", tn.Org.ID, ":keyId", "key_nope", ":userId", "usr_nope", ":id", "nope_1")
		walked := 0
		for _, er := range env.Admin.Echo.Routes() {
			prefix := ""
			for _, p := range adminapi.Prefixes {
				if strings.HasPrefix(er.Path, p+"/") {
					prefix = p
				}
			}
			if er.Method != http.MethodPost || prefix == "" {
				continue
			}
			path := strings.TrimPrefix(er.Path, prefix)
			r, ok := declared[http.MethodPost+" "+path]
			require.True(t, ok, "POST %s is served but not one of the API's routes", er.Path)
			if public[path] {
				require.True(t, r.Public, path)
				continue
			}
			require.NotZero(t, r.Idem, "POST %s declares no idempotency strategy", path)
			walked++
			t.Run(strings.ReplaceAll(er.Path, "/", "_"), func(t *testing.T) {
				res := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/auth/token", "", map[string]any{"email": tn.AdminUser.Email, "password": tn.Password})
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				session := res.JSON(t)["token"].(string)
				url := env.AdminURL + ids.Replace(er.Path)
				key := "walk-" + domain.RandomString(10)
				first := apptest.Do(t, http.MethodPost, url, session, "{", "Idempotency-Key", key)
				require.Less(t, first.Status, 500, string(first.Body))
				rec, err := s.GetIdempotency(ctx, tn.Org.ID, adminapi.IdempotencyScope(actor, key))
				require.NoError(t, err)
				require.NotNil(t, rec, "POST %s kept no answer for its Idempotency-Key (%d %s)", path, first.Status, first.Body)
				require.Equal(t, "completed", rec.State)
				if path == "/auth/logout" {
					return // the session is over: its replay is refused before the layer (401)
				}
				again := apptest.Do(t, http.MethodPost, url, session, "{", "Idempotency-Key", key)
				require.Equal(t, first.Status, again.Status, string(again.Body))
				require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"), string(again.Body))
				require.Equal(t, first.Body, again.Body)
				other := apptest.Do(t, http.MethodPost, url, session, `{"other":true}`, "Idempotency-Key", key)
				require.Equal(t, http.StatusUnprocessableEntity, other.Status, string(other.Body))
				require.Equal(t, domain.CodeIdempotencyReused, other.JSON(t)["code"])
			})
		}
		require.GreaterOrEqual(t, walked, 2*15, "both prefixes' POST routes were walked")
	})
}

// The route's permission is checked before a replay, on every strategy: once an admin is
// demoted to viewer, the answers to their checkout (InUseCase) and refund (External) keys are
// not replayed to them (403, nothing of the answer shown); promoted again, they are, unchanged.
func TestReplayIsRefusedAfterTheRoleWasReduced(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		inv, err := env.Services().Tenancy.InviteMember(ctx, tn.Admin, tn.Org.ID, "admin3."+strings.ToLower(domain.RandomString(6))+"@example.com", domain.RoleAdmin)
		require.NoError(t, err)
		_, err = env.Services().Tenancy.ResetPassword(ctx, inv.Link[strings.Index(inv.Link, "token=")+6:], "admin3 password 123")
		require.NoError(t, err)
		res := apptest.Do(t, http.MethodPost, base+"/auth/token", "", map[string]any{"email": inv.User.Email, "password": "admin3 password 123"})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		session := res.JSON(t)["token"].(string)

		c, err := env.Services().Checkout.CreateCheckout(ctx, tn.Admin, tn.Org.ID, tn.Site.ID, checkout.CheckoutInput{Amount: 900, Currency: "EUR", ExternalReference: "demote", Mode: domain.ModeTest})
		require.NoError(t, err)
		txn := storetest.Transaction(t, s, c, tn.Provider)
		_, err = env.Services().Payment.MarkPaid(ctx, tn.Admin, tn.Org.ID, txn.ID, "paid")
		require.NoError(t, err)
		chk := woo("demoted-"+domain.RandomString(6), nil, 4200)
		chk["mode"] = "test" // a dashboard session names the mode
		calls := []struct {
			url  string
			body any
		}{
			{base + "/checkouts/" + tn.Site.ID + "/create", chk},
			{base + "/transactions/" + txn.ID + "/refunds", map[string]any{"amount": 100, "reason": "demoted"}},
		}
		firsts := make([]*apptest.Response, len(calls))
		keys := make([]string, len(calls))
		for i, call := range calls {
			keys[i] = "demote-" + domain.RandomString(8)
			firsts[i] = apptest.Do(t, http.MethodPost, call.url, session, call.body, "Idempotency-Key", keys[i])
			require.Less(t, firsts[i].Status, 300, string(firsts[i].Body))
		}
		require.NoError(t, env.Services().Tenancy.ChangeMemberRole(ctx, tn.Admin, tn.Org.ID, inv.User.ID, domain.RoleViewer))
		for i, call := range calls {
			res := apptest.Do(t, http.MethodPost, call.url, session, call.body, "Idempotency-Key", keys[i])
			require.Equal(t, http.StatusForbidden, res.Status, "%s: %s", call.url, res.Body)
			require.Empty(t, res.Header.Get("Idempotent-Replayed"))
			require.NotContains(t, string(res.Body), firsts[i].JSON(t)["id"].(string))
		}
		require.NoError(t, env.Services().Tenancy.ChangeMemberRole(ctx, tn.Admin, tn.Org.ID, inv.User.ID, domain.RoleAdmin))
		for i, call := range calls {
			res := apptest.Do(t, http.MethodPost, call.url, session, call.body, "Idempotency-Key", keys[i])
			require.Equal(t, firsts[i].Status, res.Status, "%s: %s", call.url, res.Body)
			require.Equal(t, "true", res.Header.Get("Idempotent-Replayed"))
			require.Equal(t, firsts[i].Body, res.Body)
		}
		refunds, err := s.ListRefunds(ctx, tn.Org.ID, txn.ID)
		require.NoError(t, err)
		require.Len(t, refunds, 1, "one refund for one Idempotency-Key")
	})
}

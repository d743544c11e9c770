package adminapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// An Idempotency-Key's answer goes only to the actor who asked, after the route's permission
// check; answers that carry a secret shown once are kept sealed, never in clear.
func TestIdempotencyAnswersOnlyTheActorWhoAsked(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1"
		keys := base + "/organizations/" + tn.Org.ID + "/api-keys"
		token := func(email, password string) string {
			res := apptest.Do(t, http.MethodPost, base+"/auth/token", "", map[string]any{"email": email, "password": password})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			return res.JSON(t)["token"].(string)
		}
		admin := token(tn.AdminUser.Email, tn.Password)
		inv, err := env.Services().Tenancy.InviteMember(ctx, tn.Admin, tn.Org.ID, "viewer."+strings.ToLower(domain.RandomString(6))+"@example.com", domain.RoleViewer)
		require.NoError(t, err)
		_, err = env.Services().Tenancy.ResetPassword(ctx, inv.Link[strings.Index(inv.Link, "token=")+6:], "viewer password 123")
		require.NoError(t, err)
		viewer := token(inv.User.Email, "viewer password 123")
		newKey := map[string]any{"name": "woo", "mode": "live", "scopes": []string{"checkout:create"}}

		var shown []string // every secret an answer showed
		secretOf := func(res *apptest.Response, field string) string {
			v, _ := res.JSON(t)[field].(string)
			require.NotEmpty(t, v, "%s in %s", field, res.Body)
			if _, _, sec, ok := auth.ParseToken(v); ok {
				v = sec
			}
			shown = append(shown, v)
			return v
		}

		t.Run("AViewerReplayingAnAdminsKeyGetsNoSecretAndNoObject", func(t *testing.T) {
			key := "create-" + domain.RandomString(8)
			first := apptest.Do(t, http.MethodPost, keys, admin, newKey, "Idempotency-Key", key)
			require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
			secret := secretOf(first, "key")
			res := apptest.Do(t, http.MethodPost, keys, viewer, newKey, "Idempotency-Key", key)
			require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
			require.NotContains(t, string(res.Body), secret)
			require.NotContains(t, string(res.Body), first.JSON(t)["id"].(string))
			require.Empty(t, res.Header.Get("Idempotent-Replayed"))
		})
		t.Run("AKeyWithoutTheScopeGetsNoReplay", func(t *testing.T) {
			key := "create-" + domain.RandomString(8)
			first := apptest.Do(t, http.MethodPost, keys, tn.LiveKey, newKey, "Idempotency-Key", key)
			require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
			secret := secretOf(first, "key")
			reader := apptest.Do(t, http.MethodPost, keys, tn.LiveKey, map[string]any{"name": "reader", "mode": "live", "scopes": []string{"checkout:read"}})
			require.Equal(t, http.StatusCreated, reader.Status, string(reader.Body))
			readerKey := reader.JSON(t)["key"].(string)
			secretOf(reader, "key")
			res := apptest.Do(t, http.MethodPost, keys, readerKey, newKey, "Idempotency-Key", key)
			require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
			require.Equal(t, domain.CodeInsufficientScope, res.JSON(t)["code"])
			require.NotContains(t, string(res.Body), secret)
		})
		t.Run("AnotherActorWithTheRightIsAnotherRequest", func(t *testing.T) {
			key := "create-" + domain.RandomString(8)
			first := apptest.Do(t, http.MethodPost, keys, tn.LiveKey, newKey, "Idempotency-Key", key)
			require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
			secret := secretOf(first, "key")
			other := apptest.Do(t, http.MethodPost, keys, admin, newKey, "Idempotency-Key", key)
			require.Equal(t, http.StatusCreated, other.Status, string(other.Body))
			require.Empty(t, other.Header.Get("Idempotent-Replayed"))
			require.NotEqual(t, secret, secretOf(other, "key"))
			require.NotEqual(t, first.JSON(t)["id"], other.JSON(t)["id"])
		})
		t.Run("TheSameActorGetsTheSecretAgainFromTheSealedAnswer", func(t *testing.T) {
			for _, c := range []struct {
				url, field string
				body       any
			}{
				{keys, "key", newKey},
				{base + "/sites", "webhookSecret", map[string]any{"name": "Sealed shop"}},
				{base + "/sites/" + tn.Site.ID + "/webhook-secret/regenerate", "webhookSecret", nil},
			} {
				key := "sealed-" + domain.RandomString(8)
				first := apptest.Do(t, http.MethodPost, c.url, admin, c.body, "Idempotency-Key", key)
				require.Less(t, first.Status, 300, string(first.Body))
				secretOf(first, c.field)
				again := apptest.Do(t, http.MethodPost, c.url, admin, c.body, "Idempotency-Key", key)
				require.Equal(t, first.Status, again.Status, string(again.Body))
				require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
				require.Equal(t, first.Body, again.Body, c.url)
			}
		})
		t.Run("ADemotedAdminGetsNoReplay", func(t *testing.T) {
			inv, err := env.Services().Tenancy.InviteMember(ctx, tn.Admin, tn.Org.ID, "admin2."+strings.ToLower(domain.RandomString(6))+"@example.com", domain.RoleAdmin)
			require.NoError(t, err)
			_, err = env.Services().Tenancy.ResetPassword(ctx, inv.Link[strings.Index(inv.Link, "token=")+6:], "admin2 password 123")
			require.NoError(t, err)
			second := token(inv.User.Email, "admin2 password 123")
			key := "rotate-" + domain.RandomString(8)
			first := apptest.Do(t, http.MethodPost, keys, second, newKey, "Idempotency-Key", key)
			require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
			secret := secretOf(first, "key")
			err = env.Services().Tenancy.ChangeMemberRole(ctx, tn.Admin, tn.Org.ID, inv.User.ID, domain.RoleViewer)
			require.NoError(t, err)
			res := apptest.Do(t, http.MethodPost, keys, second, newKey, "Idempotency-Key", key)
			require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
			require.NotContains(t, string(res.Body), secret)
		})
		t.Run("RotationAnswersAreSealedToo", func(t *testing.T) {
			created := apptest.Do(t, http.MethodPost, keys, tn.LiveKey, newKey)
			require.Equal(t, http.StatusCreated, created.Status, string(created.Body))
			secretOf(created, "key")
			key := "rotate-" + domain.RandomString(8)
			rot := apptest.Do(t, http.MethodPost, keys+"/"+created.JSON(t)["id"].(string)+"/rotate", tn.LiveKey, map[string]any{}, "Idempotency-Key", key)
			require.Equal(t, http.StatusCreated, rot.Status, string(rot.Body))
			secretOf(rot, "key")
		})
		// Nothing any answer showed is stored in clear: not in an idempotency record, not in
		// the audit log, not anywhere pg_dump reaches.
		require.GreaterOrEqual(t, len(shown), 9)
		storetest.RequireNoPlaintext(t, s, shown...)
	})
}

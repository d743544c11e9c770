package adminapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// A site's eventsUrl is set, shown and removed through the site endpoints, and validated as an
// ipnUrl is: an internal target (literal, localhost, or a name resolving to one) is refused with
// 400 IPN_URL_PRIVATE on field eventsUrl, a URL of the wrong form with a validation error, and
// nothing is written.
func TestSiteEventsURLIsValidatedLikeAnIPNURL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, strictAdmin(newNames()))
		tn := env.NewTenant(t)
		site := env.AdminURL + "/api/v1/sites/" + tn.Site.ID
		patch := func(t *testing.T, v any) *apptest.Response {
			return apptest.Do(t, http.MethodPatch, site, tn.LiveKey, map[string]any{"eventsUrl": v})
		}
		stored := func(t *testing.T) *string {
			got, err := s.GetSite(t.Context(), tn.Org.ID, tn.Site.ID)
			require.NoError(t, err)
			return got.EventsURL
		}

		r := patch(t, "  https://shop.public.test/paygate-events ")
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		require.Equal(t, "https://shop.public.test/paygate-events", r.JSON(t)["eventsUrl"])
		require.Equal(t, "https://shop.public.test/paygate-events", apptest.Do(t, http.MethodGet, site, tn.LiveKey, nil).JSON(t)["eventsUrl"])
		got, err := s.GetSite(t.Context(), tn.Org.ID, tn.Site.ID)
		require.NoError(t, err)
		require.False(t, got.EventsAllowPrivate, "accepted under the strict policy, and recorded so")

		for name, bad := range map[string]string{
			"Loopback": "http://127.0.0.1:8080/events", "Private": "https://10.0.0.1/events", "Localhost": "http://localhost/events",
			"Metadata": "http://169.254.169.254/", "NameResolvesToLoop": "https://shop.internal.test/events", "OneAnswerIsPrivate": "https://mixed.test/events",
		} {
			t.Run(name, func(t *testing.T) {
				r := patch(t, bad)
				require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
				b := r.JSON(t)
				require.Equal(t, domain.CodeIPNURLPrivate, b["code"], string(r.Body))
				require.Equal(t, "eventsUrl", b["field"])
				require.Equal(t, "https://shop.public.test/paygate-events", *stored(t), "nothing written")
			})
		}
		for name, bad := range map[string]string{
			"PlainHTTP": "http://shop.public.test/events", "NotAbsolute": "/events", "OtherScheme": "ftp://shop.public.test/events",
			"Credentials": "https://user:pw@shop.public.test/events",
		} {
			t.Run(name, func(t *testing.T) {
				r := patch(t, bad)
				require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
				b := r.JSON(t)
				require.Equal(t, domain.CodeValidation, b["code"], string(r.Body))
				require.Equal(t, "eventsUrl", b["field"])
			})
		}
		t.Run("NullKeepsBlankRemoves", func(t *testing.T) {
			require.Equal(t, http.StatusOK, patch(t, nil).Status)
			require.NotNil(t, stored(t))
			r := patch(t, "")
			require.Equal(t, http.StatusOK, r.Status, string(r.Body))
			require.Nil(t, r.JSON(t)["eventsUrl"])
			require.Nil(t, stored(t))
		})
		t.Run("OnCreate", func(t *testing.T) {
			r := apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/sites", tn.LiveKey, map[string]any{"name": "Second", "eventsUrl": "https://10.1.2.3/e"})
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			require.Equal(t, domain.CodeIPNURLPrivate, r.JSON(t)["code"])
			r = apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/sites", tn.LiveKey, map[string]any{"name": "Third", "eventsUrl": "https://shop.public.test/e"})
			require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
			require.Equal(t, "https://shop.public.test/e", r.JSON(t)["eventsUrl"])
		})
	})
}

package panel_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestSiteFormEventsURL: the site form sets, shows and removes the site's invoice events URL;
// a URL of the wrong form is shown beside its field, with the other fields' errors.
func TestSiteFormEventsURL(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	tn := env.NewTenant(t)
	admin := signedIn(t, env, tn, domain.RoleAdmin)
	shown := func() string {
		in := admin.get("/sites/" + tn.Site.ID).Doc.Find(`input[name=eventsUrl]`)
		require.Equal(t, 1, in.Length())
		return in.AttrOr("value", "")
	}
	require.Equal(t, "", shown())
	stored := func() *string {
		site, err := env.Store.GetSite(ctx, tn.Org.ID, tn.Site.ID)
		require.NoError(t, err)
		return site.EventsURL
	}

	settings := url.Values{"name": {tn.Site.Name}, "ipnVersion": {"2"}, "taxDisplay": {"inclusive"}, "vatIdValidation": {"none"},
		"defaultLanguage": {"en"}, "receipts": {"on"}, "eventsUrl": {"https://shop.example.com/paygate-events"}}
	res := admin.post("/sites/"+tn.Site.ID, settings)
	require.Equal(t, http.StatusSeeOther, res.Status, text(res, "main"))
	require.Equal(t, "https://shop.example.com/paygate-events", *stored())
	require.Equal(t, "https://shop.example.com/paygate-events", shown())

	bad := url.Values{}
	for k, v := range settings {
		bad[k] = v
	}
	bad.Set("eventsUrl", "http://shop.example.com/paygate-events")
	bad.Set("primaryColor", "blue")
	res = admin.post("/sites/"+tn.Site.ID, bad)
	require.Equal(t, http.StatusBadRequest, res.Status, text(res, "main"))
	require.Contains(t, text(res, "#f-eventsUrl-error"), "Invoice events URL must use https")
	require.Contains(t, text(res, "#f-primaryColor-error"), "Primary colour")
	require.Equal(t, "https://shop.example.com/paygate-events", *stored(), "nothing written")

	settings.Set("eventsUrl", "")
	require.Equal(t, http.StatusSeeOther, admin.post("/sites/"+tn.Site.ID, settings).Status)
	require.Nil(t, stored())
	require.Equal(t, "", shown())
}

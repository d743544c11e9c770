package panel_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/providers/fakepay"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// TestProviderScreensComeFromTheRegisteredProviders: a provider the panel has never heard of
// (fakepay, registered with its one line) is offered on the new-provider page with its own
// name and description, its form has the fields it declares with its labels, a configuration
// saved through the form is checked by its own rules, and its page shows its webhook URL
// because it takes webhooks — on both databases (the schema no longer lists provider types).
func TestProviderScreensComeFromTheRegisteredProviders(t *testing.T) {
	t.Parallel()
	storetest.EachOwn(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true, Providers: providers.Registry{fakepay.Register()}})
		tn := env.NewTenant(t)
		c := signedIn(t, env, tn, domain.RoleAdmin)

		choice := c.get("/providers/new")
		require.Equal(t, http.StatusOK, choice.Status)
		require.Contains(t, choice.Body, `value="fakepay"`)
		require.Contains(t, choice.Body, "A payment provider for tests.")
		require.Contains(t, choice.Body, `value="wire_transfer"`, "the built-in types are offered beside it")

		form := c.get("/providers/new?type=fakepay")
		require.Equal(t, http.StatusOK, form.Status)
		require.Contains(t, form.Body, "New Fakepay provider")
		require.Contains(t, form.Body, `name="settings.label"`)
		require.Contains(t, form.Body, "At most 40 characters.")
		require.Contains(t, form.Body, `name="credentials.webhookSecret"`)
		require.NotContains(t, form.Body, `name="settings.iban"`)

		bad := c.post("/providers", url.Values{"type": {"fakepay"}, "mode": {"test"}, "name": {"Fake"},
			"settings.label": {"x"}, "credentials.webhookSecret": {"whsec_not_ours"}})
		require.Equal(t, http.StatusBadRequest, bad.Status)
		require.Contains(t, text(bad, "#f-credentials-webhookSecret-error"), "must start with fp_whsec_")

		ok := c.post("/providers", url.Values{"type": {"fakepay"}, "mode": {"test"}, "name": {"Fake"},
			"settings.label": {"Fake pay"}, "credentials.webhookSecret": {"fp_whsec_" + domain.RandomString(12)}})
		require.Equal(t, http.StatusSeeOther, ok.Status, ok.Body)
		id := strings.TrimPrefix(strings.Split(ok.Location, "?")[0], "/providers/")
		page := c.get("/providers/" + id)
		require.Equal(t, http.StatusOK, page.Status)
		require.Contains(t, page.Body, "/hooks/fakepay/"+id, "it takes webhooks: its page says where")
		require.Contains(t, page.Body, "Fake pay")

		wire := c.get("/providers/" + tn.Provider.ID)
		require.NotContains(t, wire.Body, "/hooks/", "wire transfer takes no webhooks")
	})
}

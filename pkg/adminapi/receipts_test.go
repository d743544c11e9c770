package adminapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// The site object carries receiptsEnabled (additive): true for a new site; a live key turns it
// off and on, with and without an Idempotency-Key (then in the request's transaction), each
// change audited; a test key may read it but not change it (sites are shared by both modes).
func TestSiteReceiptsEnabled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{NoFrontend: true, NoMain: true})
		tn := env.NewTenant(t)
		base := env.AdminURL + "/api/v1/sites/" + tn.Site.ID
		require.Equal(t, true, apptest.Do(t, "GET", base, tn.TestKey, nil).JSON(t)["receiptsEnabled"])

		off := apptest.Do(t, "PATCH", base, tn.LiveKey, map[string]any{"receiptsEnabled": false})
		require.Equal(t, http.StatusOK, off.Status, string(off.Body))
		require.Equal(t, false, off.JSON(t)["receiptsEnabled"])
		site, err := s.GetSite(context.Background(), tn.Org.ID, tn.Site.ID)
		require.NoError(t, err)
		require.True(t, site.ReceiptsDisabled)

		on := apptest.Do(t, "PATCH", base, tn.LiveKey, map[string]any{"receiptsEnabled": true, "ipnVersion": 1}, "Idempotency-Key", "rcpt-on-1")
		require.Equal(t, http.StatusOK, on.Status, string(on.Body))
		require.Equal(t, true, on.JSON(t)["receiptsEnabled"])
		require.EqualValues(t, 1, on.JSON(t)["ipnVersion"])
		require.Equal(t, true, apptest.Do(t, "GET", base, tn.LiveKey, nil).JSON(t)["receiptsEnabled"])

		denied := apptest.Do(t, "PATCH", base, tn.TestKey, map[string]any{"receiptsEnabled": false})
		require.Equal(t, http.StatusForbidden, denied.Status, string(denied.Body))
		require.Equal(t, true, apptest.Do(t, "GET", base, tn.LiveKey, nil).JSON(t)["receiptsEnabled"])

		audit, err := s.ListAudit(context.Background(), store.AuditFilter{OrganizationID: tn.Org.ID, Action: "site.receipts", Limit: 10})
		require.NoError(t, err)
		require.Len(t, audit, 2)
	})
}

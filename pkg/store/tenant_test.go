package store_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// Looking up a checkout, transaction, site or provider names, for the rest of the request's
// log lines, the organisation and site it belongs to; a failed lookup names nothing.
func TestLookupsNameTheRequestsTenant(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		prov := storetest.Provider(t, s, org.ID, domain.ModeTest)
		site := storetest.Site(t, s, org.ID, prov)
		co := storetest.Checkout(t, s, site, 1000)
		txn := storetest.Transaction(t, s, co, prov)
		tenant := func(ctx context.Context) [2]string {
			o, st := logging.Tenant(ctx)
			return [2]string{o, st}
		}
		both := [2]string{org.ID, site.ID}
		for name, lookup := range map[string]func(context.Context) error{
			"CheckoutByShortCode": func(ctx context.Context) error { _, err := s.GetCheckoutByShortCode(ctx, co.ShortCode); return err },
			"CheckoutBySession":   func(ctx context.Context) error { _, err := s.GetCheckoutBySession(ctx, co.SessionPublicID); return err },
			"Checkout":            func(ctx context.Context) error { _, err := s.GetCheckout(ctx, org.ID, co.ID); return err },
			"TransactionByID":     func(ctx context.Context) error { _, err := s.GetTransactionByID(ctx, txn.ID); return err },
			"Transaction":         func(ctx context.Context) error { _, err := s.GetTransaction(ctx, org.ID, txn.ID); return err },
			"Site":                func(ctx context.Context) error { _, err := s.GetSite(ctx, org.ID, site.ID); return err },
			"SiteWithProviderTypes": func(ctx context.Context) error {
				_, _, err := s.GetSiteWithProviderTypes(ctx, org.ID, site.ID, domain.ModeTest)
				return err
			},
		} {
			t.Run(name, func(t *testing.T) {
				ctx := logging.Scope(context.Background())
				require.NoError(t, lookup(ctx))
				require.Equal(t, both, tenant(ctx))
			})
		}
		t.Run("ProviderNamesOnlyTheOrganisation", func(t *testing.T) {
			ctx := logging.Scope(context.Background())
			_, err := s.GetProviderByID(ctx, prov.ID)
			require.NoError(t, err)
			require.Equal(t, [2]string{org.ID, ""}, tenant(ctx))
		})
		t.Run("NotFoundNamesNothing", func(t *testing.T) {
			ctx := logging.Scope(context.Background())
			_, err := s.GetCheckoutByShortCode(ctx, "nope")
			require.True(t, domain.IsNotFound(err))
			other := storetest.Org(t, s)
			_, err = s.GetSite(ctx, other.ID, site.ID)
			require.True(t, domain.IsNotFound(err), "another organisation's site")
			require.Equal(t, [2]string{}, tenant(ctx))
		})
	})
}

// The store's own lines (slow statements) written for a request name its tenant as well, once
// a lookup has named it.
func TestSlowQueryLinesNameTheRequestsTenant(t *testing.T) {
	t.Parallel()
	logs := logtest.New()
	s, err := store.Open(ctx, store.Config{SQLitePath: filepath.Join(t.TempDir(), "db"), Logger: logs.Logger("main-backend"), SlowQuery: time.Nanosecond})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Migrate(ctx, -1)
	require.NoError(t, err)
	org := storetest.Org(t, s)
	prov := storetest.Provider(t, s, org.ID, domain.ModeTest)
	site := storetest.Site(t, s, org.ID, prov)
	co := storetest.Checkout(t, s, site, 1000)

	req := logging.With(logging.Scope(context.Background()), logging.KeyRequestID, "req_slow")
	_, err = s.GetCheckoutByShortCode(req, co.ShortCode)
	require.NoError(t, err)
	before := len(logs.Lines())
	_, err = s.ListSites(req, org.ID)
	require.NoError(t, err)
	after := logs.Lines()[before:]
	require.NotEmpty(t, after)
	for _, raw := range after {
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &l))
		require.Equal(t, "slow query", l["msg"])
		require.Equal(t, "req_slow", l["request_id"], raw)
		require.Equal(t, org.ID, l["org_id"], raw)
		require.Equal(t, site.ID, l["site_id"], raw)
	}
}

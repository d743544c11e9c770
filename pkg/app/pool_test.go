package app_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// The DB_* settings reach the pool a service opens (on SQLite, its read pool).
func TestServicesOpenTheConfiguredPool(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		url, pool := "", "postgres"
		if s.Dialect() == store.Postgres {
			var err error
			url, err = s.URL()
			require.NoError(t, err)
		} else {
			files, err := s.SQLiteFiles(context.Background())
			require.NoError(t, err)
			url, pool = "sqlite:"+files[0], "sqlite_read"
		}
		cfg := adminConfig(config.AppProduction)
		cfg.Mail.Disabled = true
		cfg.DatabaseURL = url
		cfg.DB = config.DBPool{MaxConns: 7, MaxIdleConns: 3}
		a, err := app.NewAdminBackend(context.Background(), cfg, logtest.New().Logger("admin-backend"))
		require.NoError(t, err)
		defer a.Store.Close()
		require.Equal(t, 7, a.Store.PoolStats()[pool].MaxOpenConnections)
	})
}

package tenancy_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// Two replicas starting at once on an empty database both seed the demo: one creates it, the
// other finds it and creates nothing (it used to fail on users_email_key). Each "replica" has
// its own connection pool, as two processes would.
func TestDemoSeedIsSafeWhenTwoProcessesStartAtOnce(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			for round := 0; round < 4; round++ {
				first := storetest.Fresh(t, d)
				_, err := first.Migrate(ctx, -1)
				require.NoError(t, err)
				second := reopen(t, first)

				svcs := []*tenancy.Service{newService(t, first), newService(t, second)}
				demos := make([]*tenancy.Demo, 2)
				errs := make([]error, 2)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range svcs {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						<-start
						demos[i], errs[i] = svcs[i].SeedDemo(ctx)
					}(i)
				}
				close(start)
				wg.Wait()
				require.NoError(t, errs[0], "round %d", round)
				require.NoError(t, errs[1], "round %d", round)
				require.True(t, (demos[0] == nil) != (demos[1] == nil), "round %d: exactly one process created the demo", round)
				demo := demos[0]
				if demo == nil {
					demo = demos[1]
				}
				n, err := first.CountOrganizations(ctx)
				require.NoError(t, err)
				require.EqualValues(t, 1, n, "round %d: one demo organisation", round)
				u, err := first.GetUserByEmail(ctx, demo.AdminEmail)
				require.NoError(t, err)
				require.True(t, u.PlatformAdmin)
				_, err = svcs[0].SignIn(ctx, demo.AdminEmail, demo.AdminPassword)
				require.NoError(t, err, "the printed password is the stored one")
			}
		})
	}
}

// reopen opens a second connection pool on the database of s.
func reopen(t *testing.T, s *store.Store) *store.Store {
	t.Helper()
	url, err := s.URL()
	if s.Dialect() == store.SQLite {
		files, ferr := s.SQLiteFiles(ctx)
		require.NoError(t, ferr)
		url, err = "sqlite:"+files[0], nil
	}
	require.NoError(t, err)
	other, err := store.Open(ctx, store.Config{URL: url})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	return other
}

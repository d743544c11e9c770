package store_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// Three migrators on one empty database at once (three replicas running `migrate` as they
// start): every migration is applied exactly once, and each migrator's log says which ones it
// applied, with version and name, or that the schema was already up to date.
func TestConcurrentMigratorsLogWhatEachApplied(t *testing.T) {
	t.Parallel()
	latest := store.LatestVersion()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fresh := storetest.Fresh(t, d)
			url, err := fresh.URL()
			if d == store.SQLite {
				files, ferr := fresh.SQLiteFiles(ctx)
				require.NoError(t, ferr)
				url, err = "sqlite:"+files[0], nil
			}
			require.NoError(t, err)

			const n = 3
			logs := make([]*logtest.Capture, n)
			applied := make([][]string, n)
			errs := make([]error, n)
			stores := make([]*store.Store, n)
			for i := range stores {
				logs[i] = logtest.New()
				stores[i], err = store.Open(ctx, store.Config{URL: url, Logger: logs[i].Logger(fmt.Sprintf("migrator-%d", i))})
				require.NoError(t, err)
				defer stores[i].Close()
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range stores {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					<-start
					applied[i], errs[i] = stores[i].Migrate(ctx, -1)
				}(i)
			}
			close(start)
			wg.Wait()

			byVersion := map[int]int{} // version -> migrator that logged it
			for i := range stores {
				require.NoError(t, errs[i], "migrator %d", i)
				var logged []string
				final := ""
				for _, line := range logs[i].Lines() {
					var e struct {
						Msg       string `json:"msg"`
						Level     string `json:"level"`
						Version   int    `json:"version"`
						Name      string `json:"name"`
						Direction string `json:"direction"`
						Migrator  string `json:"migrator"`
					}
					require.NoError(t, json.Unmarshal([]byte(line), &e), line)
					switch {
					case e.Msg == "migration applied" && e.Version == 0:
						// One of River's migrations (named "river NNN_name (up)"), which migrator
						// applies them first takes River's lock.
						require.True(t, strings.HasPrefix(e.Name, "river "), line)
						logged = append(logged, e.Name)
					case strings.HasPrefix(e.Msg, "adopted "):
						// Migration 0011's report of the jobs it moved to River, after its line.
						require.Equal(t, 11, e.Version, line)
						logged = append(logged, e.Msg)
					case e.Msg == "migration applied":
						require.Equal(t, "INFO", e.Level)
						require.Equal(t, "up", e.Direction)
						require.NotEmpty(t, e.Name)
						require.NotEmpty(t, e.Migrator)
						prev, dup := byVersion[e.Version]
						require.False(t, dup, "version %d applied by migrators %d and %d", e.Version, prev, i)
						byVersion[e.Version] = i
						logged = append(logged, fmt.Sprintf("%04d_%s (up)", e.Version, e.Name))
					case e.Msg == "schema already up to date" || e.Msg == "schema migrated":
						require.Equal(t, latest, e.Version)
						final = e.Msg
					}
				}
				require.Equal(t, applied[i], append([]string(nil), logged...), "migrator %d logs exactly what it applied", i)
				if len(logged) == 0 {
					require.Equal(t, "schema already up to date", final, "migrator %d", i)
				} else {
					require.Equal(t, "schema migrated", final, "migrator %d", i)
				}
				t.Logf("migrator %d applied %d migrations", i, len(logged))
			}
			require.Len(t, byVersion, latest, "every migration applied exactly once")
			v, err := fresh.SchemaVersion(ctx)
			require.NoError(t, err)
			require.Equal(t, latest, v)
		})
	}
}

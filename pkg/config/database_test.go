package config_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/store"
)

func TestDatabasePoolDefaultsPerDatabase(t *testing.T) {
	t.Parallel()
	m := production()
	m["DATABASE_URL"] = "postgres://paygate@db:5432/paygate"
	c, err := config.LoadMainBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, config.DBPool{MaxConns: 20, MaxIdleConns: 20, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}, c.DB)

	delete(m, "DATABASE_URL") // SQLite: the read pool
	a, err := config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, config.DBPool{MaxConns: 8, MaxIdleConns: 8}, a.DB)

	// The store's own defaults (for callers without a configuration) are the same.
	for _, d := range []store.Dialect{store.Postgres, store.SQLite} {
		def, sp := config.DefaultDBPool(d == store.SQLite), store.DefaultPool(d)
		require.Equal(t, store.Pool{MaxConns: def.MaxConns, MaxIdleConns: def.MaxIdleConns, ConnMaxLifetime: def.ConnMaxLifetime, ConnMaxIdleTime: def.ConnMaxIdleTime}, sp, d)
	}
}

func TestDatabasePoolSettings(t *testing.T) {
	t.Parallel()
	m := production()
	m["DATABASE_URL"] = "postgres://paygate@db:5432/paygate"
	m["DB_MAX_CONNS"] = "12"
	m["DB_MAX_IDLE_CONNS"] = "4"
	m["DB_CONN_MAX_LIFETIME"] = "1h"
	m["DB_CONN_MAX_IDLE_TIME"] = "0"
	c, err := config.LoadAdminBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, config.DBPool{MaxConns: 12, MaxIdleConns: 4, ConnMaxLifetime: time.Hour}, c.DB, "0 is never")
	attrs := fmt.Sprintln(c.LogAttrs()...)
	for _, want := range []string{"db_max_conns 12", "db_max_idle_conns 4", "db_conn_max_lifetime 1h0m0s", "db_conn_max_idle_time 0s"} {
		require.Contains(t, attrs, want, "the start-up line shows the pool")
	}

	delete(m, "DB_MAX_IDLE_CONNS")
	mb, err := config.LoadMainBackend(env(m))
	require.NoError(t, err)
	require.Equal(t, 12, mb.DB.MaxIdleConns, "idle defaults to DB_MAX_CONNS")
}

func TestDatabasePoolBadValuesAreNamed(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ key, value string }{
		"ZeroConns":        {"DB_MAX_CONNS", "0"},
		"TooManyConns":     {"DB_MAX_CONNS", "5000"},
		"NotANumber":       {"DB_MAX_CONNS", "twenty"},
		"IdleAboveMax":     {"DB_MAX_IDLE_CONNS", "21"},
		"ZeroIdle":         {"DB_MAX_IDLE_CONNS", "0"},
		"LifetimeNoUnit":   {"DB_CONN_MAX_LIFETIME", "30"},
		"LifetimeTooShort": {"DB_CONN_MAX_LIFETIME", "500ms"},
		"IdleTimeTooLong":  {"DB_CONN_MAX_IDLE_TIME", "48h"},
		"NegativeIdleTime": {"DB_CONN_MAX_IDLE_TIME", "-1m"},
	} {
		t.Run(name, func(t *testing.T) {
			m := production()
			m["DATABASE_URL"] = "postgres://paygate@db:5432/paygate"
			m[tc.key] = tc.value
			_, err := config.LoadMainBackend(env(m))
			require.ErrorContains(t, err, tc.key+":")
		})
	}
}

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/logging/logtest"
)

// exitLine runs app.Exit and returns the one JSON line it wrote.
func exitLine(t *testing.T, service string, err error) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	require.Equal(t, 1, app.Exit(service, err, &buf))
	out := buf.String()
	require.Equal(t, 1, strings.Count(out, "\n"), "one line: %q", out)
	require.Empty(t, logtest.Scan(out), "no credential")
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &line), out)
	require.Equal(t, "ERROR", line["level"])
	require.Equal(t, service, line["service"])
	require.Equal(t, "fatal error", line["msg"])
	require.Equal(t, err.Error(), line["error"])
	require.NotEmpty(t, line["time"])
	return line
}

// A service that cannot start says why in one structured line on stderr, with a stable code
// where the cause is known, instead of a bare string.
func TestExitWritesOneStructuredLine(t *testing.T) {
	t.Parallel()
	t.Run("InvalidConfiguration", func(t *testing.T) {
		_, err := config.LoadAdminBackend(config.NewEnv(config.MapLookup(map[string]string{"APP_ENV": "production", "SESSION_TTL": "forever"})))
		require.Error(t, err)
		line := exitLine(t, "admin-backend", err)
		require.Equal(t, "config", line["kind"])
		require.Equal(t, app.CodeConfigInvalid, line["code"])
		problems := line["problems"].([]any)
		require.NotEmpty(t, problems)
		var names []string
		for _, p := range problems {
			name, _, _ := strings.Cut(p.(string), ":")
			names = append(names, name)
		}
		require.Contains(t, names, "SESSION_TTL")
		require.Contains(t, names, "MASTER_KEY")
	})
	t.Run("SchemaBehind", func(t *testing.T) {
		cfg := config.MainBackend{Common: config.Common{AppEnv: config.AppProduction, DataDir: t.TempDir()}}
		_, err := app.NewMainBackend(context.Background(), cfg, logtest.New().Logger("main-backend"))
		require.Error(t, err, "an empty database is behind")
		line := exitLine(t, "main-backend", err)
		require.Equal(t, "schema", line["kind"])
		require.Equal(t, "SCHEMA_BEHIND", line["code"])
		require.EqualValues(t, 0, line["schema_version"])
		require.Positive(t, line["schema_needed"])
	})
	t.Run("DatabaseUnavailable", func(t *testing.T) {
		cfg := config.MainBackend{Common: config.Common{AppEnv: config.AppProduction,
			DatabaseURL: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"}}
		_, err := app.NewMainBackend(context.Background(), cfg, logtest.New().Logger("main-backend"))
		require.Error(t, err)
		line := exitLine(t, "main-backend", err)
		require.Equal(t, "database", line["kind"])
		require.Equal(t, app.CodeDatabaseUnavailable, line["code"])
	})
	t.Run("AddressInUse", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		_, err = net.Listen("tcp", ln.Addr().String())
		require.Error(t, err)
		line := exitLine(t, "main-frontend", fmt.Errorf("serve: %w", err))
		require.Equal(t, "listen", line["kind"])
		require.Equal(t, app.CodeListenFailed, line["code"])
	})
	t.Run("UnknownCauseHasNoCode", func(t *testing.T) {
		line := exitLine(t, "admin-backend", errors.New(`unknown command "serv"`))
		require.NotContains(t, line, "code")
		require.NotContains(t, line, "kind")
	})
	t.Run("NoErrorOrStopped", func(t *testing.T) {
		var buf bytes.Buffer
		require.Equal(t, 0, app.Exit("admin-backend", nil, &buf))
		require.Equal(t, 0, app.Exit("admin-backend", fmt.Errorf("serve: %w", context.Canceled), &buf))
		require.Empty(t, buf.String())
	})
}

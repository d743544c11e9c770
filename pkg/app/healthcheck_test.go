package app_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/app"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func loopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return ln
}

// serveAdmin runs an admin backend on s until the returned stop is called.
func serveAdmin(t *testing.T, s *store.Store) (public, internal string, stop func()) {
	t.Helper()
	cfg := adminConfig(config.AppProduction)
	cfg.Mail.Disabled = true
	a, err := app.AdminBackendOn(cfg, logtest.New().Logger("admin-backend"), s)
	require.NoError(t, err)
	ln, iln := loopback(t), loopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	isrv := &http.Server{Handler: a.Internal, ReadHeaderTimeout: time.Second}
	go func() { _ = isrv.Serve(iln) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		_ = isrv.Close()
		require.NoError(t, <-done)
	}
	t.Cleanup(stop)
	return ln.Addr().String(), iln.Addr().String(), stop
}

// The `healthcheck` command of every binary: 0 with a running, ready service; 1 with a one-line
// reason when it is not ready or not running.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	public, internal, stop := serveAdmin(t, storetest.Shared(t, store.SQLite))

	var out bytes.Buffer
	require.NoError(t, app.Healthcheck(ctx, public, "", false, &out))
	require.Equal(t, "healthy: http://"+public+"/ready answered 200 ready\n", out.String())
	out.Reset()
	require.NoError(t, app.Healthcheck(ctx, public, internal, false, &out), "INTERNAL_LISTEN is asked when set")
	require.Contains(t, out.String(), internal)
	_, port, _ := net.SplitHostPort(public)
	out.Reset()
	require.NoError(t, app.Healthcheck(ctx, "0.0.0.0:"+port, "", true, &out), "LISTEN_HOST 0.0.0.0 is asked on loopback")
	require.Contains(t, out.String(), "/health answered 200")

	stop()
	err := app.Healthcheck(ctx, public, "", false, &out)
	require.ErrorContains(t, err, "unhealthy: http://"+public+"/ready")
	require.ErrorContains(t, err, "connection refused")
	var stderr bytes.Buffer
	require.Equal(t, 1, app.Exit("admin-backend", err, &stderr), "the command exits 1")
	require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "with one line: %q", stderr.String())
}

// A running service whose database schema is behind is unhealthy: the internal listener's
// answer says why, the public one only that it is not ready.
func TestHealthcheckOfAServiceThatIsNotReady(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	public, internal, _ := serveAdmin(t, storetest.Fresh(t, store.SQLite)) // not migrated

	var out bytes.Buffer
	err := app.Healthcheck(ctx, public, internal, false, &out)
	require.ErrorContains(t, err, "answered 503: database schema is at version 0")
	require.NotContains(t, err.Error(), "\n")
	err = app.Healthcheck(ctx, public, "", false, &out)
	require.ErrorContains(t, err, "answered 503: not ready")
	require.NoError(t, app.Healthcheck(ctx, public, "", true, &out), "it is alive, though")
}

func TestHealthcheckArguments(t *testing.T) {
	t.Parallel()
	live, err := app.HealthcheckArgs(nil)
	require.NoError(t, err)
	require.False(t, live)
	live, err = app.HealthcheckArgs([]string{"live"})
	require.NoError(t, err)
	require.True(t, live)
	_, err = app.HealthcheckArgs([]string{"--verbose"})
	require.Error(t, err)
}

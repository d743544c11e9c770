package e2e

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

const metricsToken = "metrics-token-0123456789abcdef0123"

// /metrics and /ready's reason are for the operator: in production the public listener serves
// /metrics only with METRICS_TOKEN (404 otherwise) and /ready without its reason; the internal
// listener (INTERNAL_LISTEN) serves both in full. /health stays public.
func TestOpsEndpointsAreNotPublic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		withToken := func(o *config.Ops) { o.MetricsToken = metricsToken }
		env := apptest.Start(t, s, apptest.Options{
			MainBackend: func(c *config.MainBackend) { withToken(&c.Ops) },
			Frontend:    func(c *config.MainFrontend) { withToken(&c.Ops) },
		})
		bare := apptest.Start(t, s, apptest.Options{}) // production, no token configured
		services := map[string]struct {
			public, bare string
			internal     http.Handler
		}{
			"main-backend":  {env.MainURL, bare.MainURL, env.Main.Internal},
			"main-frontend": {env.FrontendURL, bare.FrontendURL, env.Frontend.Internal},
			"admin-backend": {bare.AdminURL, bare.AdminURL, bare.Admin.Internal},
		}
		for name, svc := range services {
			t.Run(name, func(t *testing.T) {
				res := apptest.Do(t, http.MethodGet, svc.bare+"/metrics", "", nil)
				require.Equal(t, http.StatusNotFound, res.Status, "production without METRICS_TOKEN: no public /metrics")
				require.NotContains(t, string(res.Body), "paygate_")
				res = apptest.Do(t, http.MethodGet, svc.bare+"/metrics", "anything-0123456789abcdef", nil)
				require.Equal(t, http.StatusNotFound, res.Status)
				require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, svc.bare+"/health", "", nil).Status)

				if svc.public != svc.bare {
					res = apptest.Do(t, http.MethodGet, svc.public+"/metrics", "", nil)
					require.Equal(t, http.StatusNotFound, res.Status)
					res = apptest.Do(t, http.MethodGet, svc.public+"/metrics", "wrong-token-0123456789abcdef", nil)
					require.Equal(t, http.StatusNotFound, res.Status)
					res = apptest.Do(t, http.MethodGet, svc.public+"/metrics", metricsToken, nil)
					require.Equal(t, http.StatusOK, res.Status)
					require.Contains(t, string(res.Body), "paygate_http_request_duration_seconds")
				}

				internal := httptest.NewServer(svc.internal)
				t.Cleanup(internal.Close)
				res = apptest.Do(t, http.MethodGet, internal.URL+"/metrics", "", nil)
				require.Equal(t, http.StatusOK, res.Status)
				require.Contains(t, string(res.Body), "go_goroutines")
				require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, internal.URL+"/ready", "", nil).Status)
				require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, internal.URL+"/health", "", nil).Status)
			})
		}

		// Not ready: the public answer says so without the reason; the internal one and the
		// token holder get it.
		down := apptest.Start(t, s, apptest.Options{NoMain: true,
			Frontend: func(c *config.MainFrontend) { withToken(&c.Ops) }})
		res := apptest.Do(t, http.MethodGet, down.FrontendURL+"/ready", "", nil)
		require.Equal(t, http.StatusServiceUnavailable, res.Status)
		require.Equal(t, map[string]any{"status": "not ready", "service": "main-frontend"}, res.JSON(t))
		require.NotContains(t, strings.ToLower(string(res.Body)), "unreachable")
		res = apptest.Do(t, http.MethodGet, down.FrontendURL+"/ready", metricsToken, nil)
		require.Equal(t, http.StatusServiceUnavailable, res.Status)
		require.Contains(t, res.JSON(t)["reason"], "main backend unreachable")
		internal := httptest.NewServer(down.Frontend.Internal)
		t.Cleanup(internal.Close)
		res = apptest.Do(t, http.MethodGet, internal.URL+"/ready", "", nil)
		require.Equal(t, http.StatusServiceUnavailable, res.Status)
		require.Contains(t, res.JSON(t)["reason"], "main backend unreachable")
		require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, down.FrontendURL+"/health", "", nil).Status)
	})
}

// INTERNAL_LISTEN starts the second listener beside the public one, with the service.
func TestInternalListenServesMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		env := apptest.Start(t, s, apptest.Options{MainBackend: func(c *config.MainBackend) { c.InternalListen = addr }})
		var res *http.Response
		require.Eventually(t, func() bool {
			res, err = http.Get("http://" + addr + "/metrics")
			return err == nil
		}, 10*time.Second, 20*time.Millisecond, "the internal listener comes up")
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Contains(t, string(b), "paygate_")
		require.Equal(t, http.StatusNotFound, apptest.Do(t, http.MethodGet, env.MainURL+"/metrics", "", nil).Status)
	})
}

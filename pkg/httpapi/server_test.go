package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/logging/logtest"
)

// A handler that learns the request's tenant tags every later line of the request: its own,
// the error handler's and the access log line the outermost middleware writes at the end.
func TestAccessLogCarriesTheTenantAnInnerLayerNamed(t *testing.T) {
	t.Parallel()
	logs := logtest.New()
	log := logs.Logger("admin-backend")
	e := httpapi.New(httpapi.Options{Log: log})
	e.GET("/sites/:id", func(c echo.Context) error {
		ctx := c.Request().Context()
		log.InfoContext(ctx, "before the lookup")
		logging.SetTenant(ctx, "org_1", c.Param("id"))
		log.InfoContext(ctx, "handler")
		return errors.New("boom")
	})
	e.GET("/health", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	req := httptest.NewRequest(http.MethodGet, "/sites/site_1", nil)
	req.Header.Set(httpapi.HeaderRequestID, "req_abc")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	require.Equal(t, http.StatusInternalServerError, rec.Code)

	var got []map[string]any
	for _, l := range logs.Lines() {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		got = append(got, m)
	}
	require.Len(t, got, 4, logs.Lines())
	require.Equal(t, "before the lookup", got[0]["msg"])
	require.NotContains(t, got[0], "org_id", "not known yet")
	for _, m := range got[1:] {
		require.Equal(t, "org_1", m["org_id"], m["msg"])
		require.Equal(t, "site_1", m["site_id"], m["msg"])
		require.Equal(t, "req_abc", m["request_id"], m["msg"])
	}
	require.Equal(t, "unhandled error", got[2]["msg"])
	require.Equal(t, "request", got[3]["msg"])
	require.Equal(t, "/sites/:id", got[3]["route"])
}

// Two requests never share a scope.
func TestEachRequestHasItsOwnScope(t *testing.T) {
	t.Parallel()
	logs := logtest.New()
	e := httpapi.New(httpapi.Options{Log: logs.Logger("main-backend")})
	e.GET("/a", func(c echo.Context) error {
		logging.SetTenant(c.Request().Context(), "org_a", "")
		return c.NoContent(http.StatusNoContent)
	})
	e.GET("/b", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	for _, p := range []string{"/a", "/b"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	lines := logs.Lines()
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `"org_id":"org_a"`)
	require.NotContains(t, lines[1], "org_id")
}

package adminapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// A key that is over its rate limit is authenticated all the same: its 429's lines name its
// organisation, as every line after authentication does.
func TestRateLimitedRequestLinesNameTheOrganisation(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true, RateLimit: 1})
	tn := env.NewTenant(t)
	var last *apptest.Response
	for i := 0; i < 10; i++ {
		last = apptest.Do(t, http.MethodGet, env.AdminURL+"/v1/sites", tn.TestKey, nil)
		if last.Status == http.StatusTooManyRequests {
			break
		}
	}
	require.Equal(t, http.StatusTooManyRequests, last.Status)
	rid := last.Header.Get(httpapi.HeaderRequestID)
	var lines int
	for _, raw := range env.Logs.Lines() {
		var l map[string]any
		require.NoError(t, json.Unmarshal([]byte(raw), &l))
		if l["request_id"] == rid {
			lines++
			require.Equal(t, tn.Org.ID, l["org_id"], raw)
		}
	}
	require.Positive(t, lines)
}

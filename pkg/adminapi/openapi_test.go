package adminapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/adminapi"
	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

var echoParam = regexp.MustCompile(`:([A-Za-z]+)`)

// The OpenAPI document and the router must agree: every registered route is documented and
// every documented route exists (under both prefixes).
func TestOpenAPIMatchesTheRoutes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, storetest.Shared(t, store.SQLite), apptest.Options{NoFrontend: true, NoMain: true})
	res := apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, res.Status)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &doc))
	require.Equal(t, "3.1.0", doc.OpenAPI)

	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range env.Echo().Routes() {
		for _, prefix := range adminapi.Prefixes {
			if rest, ok := strings.CutPrefix(r.Path, prefix+"/"); ok {
				registered[r.Method+" /"+echoParam.ReplaceAllString(rest, "{$1}")] = true
			}
		}
	}
	var missing, stale []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	require.Empty(t, missing, "registered routes missing from openapi.json")
	require.Empty(t, stale, "documented routes that do not exist")
	for _, prefix := range adminapi.Prefixes {
		for k := range documented {
			method, path, _ := strings.Cut(k, " ")
			echoPath := prefix + regexp.MustCompile(`\{([A-Za-z]+)\}`).ReplaceAllString(path, ":$1")
			found := false
			for _, r := range env.Echo().Routes() {
				if r.Method == method && r.Path == echoPath {
					found = true
				}
			}
			require.True(t, found, "%s %s is not served", method, echoPath)
		}
	}
}

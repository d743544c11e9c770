package e2e

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

// A buyer who reloads the hosted page faster than the runtime API allows gets a 429 with
// Retry-After and a page in their language that says when to try again; nothing of it is an
// ERROR in the logs (it is the limit working, not a failure).
func TestHostedPageAnswersTheRuntimeRateLimitWith429(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		env := apptest.Start(t, s, apptest.Options{MainBackend: func(c *config.MainBackend) { c.RateLimit = 1 }}) // 1/s, burst 2
		tn := env.NewTenant(t)
		co := apptest.Do(t, http.MethodPost, env.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
			"amount": 1000, "currency": "EUR", "externalReference": "rl-1"}).JSON(t)
		page := env.FrontendURL + "/checkout/" + co["shortCode"].(string)

		var res *apptest.Response
		for i := 0; i < 20; i++ {
			res = apptest.Do(t, http.MethodGet, page, "", nil, "Accept-Language", "de-DE,de;q=0.9")
			if res.Status != http.StatusOK {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, res.Status, string(res.Body))
		secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
		require.NoError(t, err, "Retry-After is whole seconds: %q", res.Header.Get("Retry-After"))
		require.GreaterOrEqual(t, secs, 1)
		require.Contains(t, res.Header.Get("Content-Type"), "text/html")
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(res.Body)))
		require.NoError(t, err)
		require.Equal(t, "de", doc.Find("html").AttrOr("lang", ""))
		require.Equal(t, "Zu viele Anfragen", strings.TrimSpace(doc.Find("h1").Text()))
		require.Contains(t, doc.Find(".state p").First().Text(), "in "+strconv.Itoa(secs)+" s erneut")
		require.NotEmpty(t, res.Header.Get("Content-Security-Policy"))

		// The runtime API's own 429 says when to come back too.
		var api *apptest.Response
		for i := 0; i < 20; i++ {
			api = apptest.Do(t, http.MethodGet, env.MainURL+"/api/v1/checkouts/"+co["shortCode"].(string), "", nil)
			if api.Status != http.StatusOK {
				break
			}
		}
		require.Equal(t, http.StatusTooManyRequests, api.Status, string(api.Body))
		require.NotEmpty(t, api.Header.Get("Retry-After"))
		require.Equal(t, "RATE_LIMITED", api.JSON(t)["code"])

		var sawLimit bool
		for _, line := range env.Logs.Lines() {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
			require.NotEqual(t, "ERROR", rec["level"], "no ERROR line for a rate-limited buyer: %s", line)
			if rec["msg"] == "request" && rec["status"] == float64(http.StatusTooManyRequests) && rec["route"] == "/checkout/:code" {
				sawLimit = true
			}
		}
		require.True(t, sawLimit, "the frontend's access log records the 429")
	})
}

package e2e

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/apptest"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/ratelimit/redistest"
	"paygate.dev/pkg/secrets"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
	"paygate.dev/pkg/tenancy"
)

// replicas starts two admin backends and two main backends on one PostgreSQL and one master
// key, as two replicas of each are deployed, sharing rate limits through redis when it is set.
func replicas(t *testing.T, redis config.Redis) (a, b *apptest.Env) {
	t.Helper()
	s := storetest.Shared(t, store.Postgres)
	mk, _ := secrets.ParseKey(secrets.GenerateKey())
	o := apptest.Options{NoFrontend: true, MasterKey: mk, Redis: redis, RateLimit: 10,
		MainBackend: func(c *config.MainBackend) { c.RateLimit = 10 }}
	return apptest.Start(t, s, o), apptest.Start(t, s, o)
}

// burst is what the limits of 10 per second allow at once (API_RATE_LIMIT and
// RUNTIME_RATE_LIMIT: burst twice the rate).
const rate, burst = 10, 20

// flood sends n GETs as fast as 10 clients can, alternating between the urls, and counts the
// answers by status; elapsed runs from the first request sent to the last answer read.
func flood(t *testing.T, n int, urls []string, token string) (byStatus map[int]int, elapsed time.Duration) {
	t.Helper()
	var mu sync.Mutex
	byStatus = map[int]int{}
	var errs []error
	next := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				req, _ := http.NewRequest(http.MethodGet, urls[i%len(urls)], nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				res, err := client.Do(req)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					byStatus[res.StatusCode]++
					if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
						errs = append(errs, errRetryAfter)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed = time.Since(start)
	require.Empty(t, errs)
	return byStatus, elapsed
}

var errRetryAfter = errors.New("429 without Retry-After")

// mostShared is what one limit of rate per second with this burst can let through in elapsed,
// whoever counts: the burst, one more per refill interval that passed, and one for rounding.
func mostShared(elapsed time.Duration) int { return burst + int(elapsed.Seconds()*rate) + 1 }

// The check: 100 requests in about a second with a limit of 10 per second pass about
// 20 across two replicas, not twice that. With REDIS_URL the replicas share one count per API
// key (Admin API) and per client address (runtime API); without it each counts alone, which
// this test measures too, so that its bound is seen to tell the two apart.
func TestRequestLimitsAreSharedByReplicas(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		name := map[bool]string{true: "Redis", false: "InProcess"}[shared]
		t.Run(name, func(t *testing.T) {
			var redis config.Redis
			if shared {
				redis = redistest.Config(t)
			}
			a, b := replicas(t, redis)
			tn := a.NewTenant(t)
			startLine := map[bool]string{true: "rate limits shared through Redis", false: "rate limits in process: each replica counts alone"}[shared]
			for _, env := range []*apptest.Env{a, b} {
				require.Equal(t, 2, strings.Count(strings.Join(env.Logs.Lines(), "\n"), startLine), "one start-up line per backend says where limits are counted")
			}

			co := apptest.Do(t, http.MethodPost, a.AdminURL+"/v1/checkouts/"+tn.Site.ID+"/create", tn.TestKey, map[string]any{
				"amount": 1000, "currency": "EUR", "externalReference": "shared-limits"})
			require.Equal(t, http.StatusOK, co.Status, string(co.Body))
			code := co.JSON(t)["shortCode"].(string)
			// A key with its whole budget left (creating the checkout took one of the test key's).
			_, key, err := a.Services().Tenancy.CreateAPIKey(ctx, tn.Admin, tn.Org.ID, tenancy.APIKeyInput{Name: "flood", Mode: "test", Scopes: []string{"*:*"}})
			require.NoError(t, err)
			a.Logs.Forbid(key)
			b.Logs.Forbid(key)

			for _, api := range []struct {
				name  string
				urls  []string
				token string
			}{
				{"AdminAPIPerKey", []string{a.AdminURL + "/v1/sites", b.AdminURL + "/v1/sites"}, key},
				{"RuntimeAPIPerAddress", []string{a.MainURL + "/api/v1/checkouts/" + code, b.MainURL + "/api/v1/checkouts/" + code}, ""},
			} {
				got, elapsed := flood(t, 100, api.urls, api.token)
				passed := got[http.StatusOK]
				t.Logf("%s %s: %d of 100 passed across two replicas in %s (%v)", name, api.name, passed, elapsed.Round(time.Millisecond), got)
				require.Equal(t, 100, got[http.StatusOK]+got[http.StatusTooManyRequests], "every answer is 200 or 429: %v", got)
				if shared {
					require.GreaterOrEqual(t, passed, burst, "%s: the burst passes", api.name)
					require.LessOrEqual(t, passed, mostShared(elapsed), "%s: one limit for both replicas", api.name)
				} else {
					require.GreaterOrEqual(t, passed, 2*burst, "%s: each replica alone lets its burst through", api.name)
				}
			}
		})
	}
}

// Failed authentications count across replicas too: a guesser who alternates between them
// gets the budget of one (10 failures for a key from an address, 10 wrong passwords for an
// e-mail address from an address), not one per replica. Without Redis each replica counts
// alone (20), measured too.
func TestFailedAuthenticationLimitsAreSharedByReplicas(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(map[bool]string{true: "Redis", false: "InProcess"}[shared], func(t *testing.T) {
			t.Parallel()
			var redis config.Redis
			if shared {
				redis = redistest.Config(t)
			}
			failedAuthentications(t, shared, redis)
		})
	}
}

func failedAuthentications(t *testing.T, shared bool, redis config.Redis) {
	a, b := replicas(t, redis)
	tn := a.NewTenant(t)
	wrong := tn.TestKey[:len(tn.TestKey)-4] + "AAAA"
	if wrong == tn.TestKey {
		wrong = tn.TestKey[:len(tn.TestKey)-4] + "BBBB"
	}
	nobody := "nobody." + strings.ToLower(domain.RandomString(6)) + "@example.com"
	for _, tc := range []struct {
		name string
		try  func(env *apptest.Env, i int) *apptest.Response
	}{
		{"APIKey", func(env *apptest.Env, _ int) *apptest.Response {
			return apptest.Do(t, http.MethodGet, env.AdminURL+"/api/v1/sites", wrong, nil)
		}},
		{"SignIn", func(env *apptest.Env, i int) *apptest.Response {
			return apptest.Do(t, http.MethodPost, env.AdminURL+"/api/v1/auth/token", "", map[string]any{"email": nobody, "password": "guess-" + strconv.Itoa(i)})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var last *apptest.Response
			attempts, start := 0, time.Now()
			for ; attempts < 50; attempts++ {
				last = tc.try([]*apptest.Env{a, b}[attempts%2], attempts)
				if last.Status != http.StatusUnauthorized {
					break
				}
			}
			t.Logf("shared=%t %s: %d failures across two replicas before 429", shared, tc.name, attempts)
			require.Equal(t, http.StatusTooManyRequests, last.Status, string(last.Body))
			require.NotEmpty(t, last.Header.Get("Retry-After"))
			if !shared {
				require.GreaterOrEqual(t, attempts, 20, "each replica alone lets its 10 through")
				return
			}
			apptest.RequireLimitedAfter(t, attempts, 10, 6*time.Second, time.Since(start))
			require.Equal(t, http.StatusTooManyRequests, tc.try([]*apptest.Env{a, b}[(attempts+1)%2], attempts).Status, "the other replica refuses too")
		})
	}
	require.Equal(t, http.StatusOK, apptest.Do(t, http.MethodGet, b.AdminURL+"/api/v1/sites", tn.TestKey, nil).Status, "the right secret still works")
}

// A REDIS_URL that does not answer (a closed port) neither stops the backends nor fails a
// request: they start with a WARN line, decide in process (each replica alone, as without
// Redis), count each such decision in paygate_ratelimit_redis_fallbacks_total, and log the
// outage once, not once per request.
func TestUnreachableRedisFallsBackToInProcessLimits(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	a, b := replicas(t, config.Redis{URL: "redis://" + closed + "/0", KeyPrefix: "unused:"})
	tn := a.NewTenant(t)
	logs := strings.Join(a.Logs.Lines(), "\n")
	require.Equal(t, 2, strings.Count(logs, "rate limits shared through Redis, but it does not answer"), logs)

	got, elapsed := flood(t, 100, []string{a.AdminURL + "/v1/sites", b.AdminURL + "/v1/sites"}, tn.TestKey)
	t.Logf("Redis down: %d of 100 passed across two replicas in %s (%v)", got[http.StatusOK], elapsed.Round(time.Millisecond), got)
	require.Equal(t, 100, got[http.StatusOK]+got[http.StatusTooManyRequests], "never a 500: %v", got)
	require.GreaterOrEqual(t, got[http.StatusOK], 2*burst, "each replica limits alone")
	require.Less(t, got[http.StatusOK], 100, "but it does limit")

	for _, env := range []*apptest.Env{a, b} {
		m, err := env.Admin.Metrics.Gather()
		require.NoError(t, err)
		require.GreaterOrEqual(t, m["paygate_ratelimit_redis_fallbacks_total"], 50.0, "each decision taken in process is counted")
		lines := strings.Join(env.Logs.Lines(), "\n")
		require.LessOrEqual(t, strings.Count(lines, "rate limits: Redis does not answer"), 2, "logged once a minute (per backend), not per request")
	}
}

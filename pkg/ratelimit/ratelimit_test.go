package ratelimit_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/ratelimit"
	"paygate.dev/pkg/ratelimit/redistest"
)

var ctx = context.Background()

func newRedis(t *testing.T, cfg config.Redis, o ratelimit.RedisOptions) *ratelimit.Redis {
	t.Helper()
	c, err := ratelimit.NewRedisClient(cfg.URL)
	require.NoError(t, err)
	o.Client, o.Prefix = c, cfg.KeyPrefix
	if o.HashKey == nil {
		o.HashKey = []byte("test hash key, the same on every replica")
	}
	r := ratelimit.NewRedis(o)
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// Both implementations have the same semantics: Burst at once, then Rate per Period; a refused
// event takes nothing; Blocked takes nothing; the wait until the next event is told.
func TestLimiters(t *testing.T) {
	t.Parallel()
	for name, limits := range map[string]func(t *testing.T) ratelimit.Limits{
		"Local": func(*testing.T) ratelimit.Limits { return ratelimit.NewLocal() },
		"Redis": func(t *testing.T) ratelimit.Limits { return newRedis(t, redistest.Config(t), ratelimit.RedisOptions{}) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			t.Run("BurstThenRetryAfter", func(t *testing.T) {
				t.Parallel()
				l := limits(t).New("test", ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 3})
				for i := 0; i < 3; i++ {
					blocked, _ := l.Blocked(ctx, "k")
					require.False(t, blocked, "event %d", i)
					ok, wait := l.Allow(ctx, "k")
					require.True(t, ok, "event %d of the burst", i)
					require.Zero(t, wait)
				}
				for i := 0; i < 5; i++ {
					ok, wait := l.Allow(ctx, "k")
					require.False(t, ok, "over the burst")
					require.InDelta(t, time.Minute.Seconds(), wait.Seconds(), 5, "one event refills in a minute")
				}
				blocked, wait := l.Blocked(ctx, "k")
				require.True(t, blocked)
				require.InDelta(t, time.Minute.Seconds(), wait.Seconds(), 5, "refused events took nothing")
				ok, _ := l.Allow(ctx, "other")
				require.True(t, ok, "each key has its own budget")
			})
			t.Run("BlockedTakesNothing", func(t *testing.T) {
				t.Parallel()
				l := limits(t).New("test", ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 2})
				for i := 0; i < 20; i++ {
					blocked, wait := l.Blocked(ctx, "k")
					require.False(t, blocked)
					require.Zero(t, wait)
				}
				ok1, _ := l.Allow(ctx, "k")
				ok2, _ := l.Allow(ctx, "k")
				ok3, wait := l.Allow(ctx, "k")
				require.True(t, ok1 && ok2, "the whole burst is left after 20 Blocked")
				require.False(t, ok3)
				require.InDelta(t, time.Hour.Seconds(), wait.Seconds(), 5)
			})
			t.Run("Refills", func(t *testing.T) {
				t.Parallel()
				l := limits(t).New("test", ratelimit.PerSecond(10, 2))
				for {
					if ok, _ := l.Allow(ctx, "k"); !ok {
						break
					}
				}
				blocked, wait := l.Blocked(ctx, "k")
				require.True(t, blocked)
				require.LessOrEqual(t, wait, 100*time.Millisecond, "one event every 100 ms")
				time.Sleep(wait + 20*time.Millisecond)
				ok, _ := l.Allow(ctx, "k")
				require.True(t, ok, "refilled after the wait it told")
			})
			t.Run("PurposesCountApart", func(t *testing.T) {
				t.Parallel()
				ls := limits(t)
				a, b := ls.New("a", ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1}), ls.New("b", ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 1})
				okA, _ := a.Allow(ctx, "k")
				okB, _ := b.Allow(ctx, "k")
				require.True(t, okA && okB)
			})
			t.Run("FailLimiter", func(t *testing.T) {
				t.Parallel()
				f := ratelimit.NewFailLimiter(limits(t), "signin", ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 3},
					ratelimit.Limit{Rate: 1, Period: time.Minute, Burst: 5})
				for i := 0; i < 3; i++ {
					over, _ := f.Fail(ctx, "10.0.0.1", "a@example.com")
					require.False(t, over, "failure %d", i)
				}
				blocked, wait := f.Blocked(ctx, "10.0.0.1", "a@example.com")
				require.True(t, blocked, "the identity's budget is spent")
				require.InDelta(t, 60, wait.Seconds(), 5)
				blocked, _ = f.Blocked(ctx, "10.0.0.2", "a@example.com")
				require.False(t, blocked, "another address trying the same identity is not blocked")
				blocked, _ = f.Blocked(ctx, "10.0.0.1", "b@example.com")
				require.False(t, blocked, "another identity from the same address is not blocked")
				over, _ := f.Fail(ctx, "10.0.0.1", "b@example.com")
				require.False(t, over, "fourth failure of the address, first of b")
				over, _ = f.Fail(ctx, "10.0.0.1", "c@example.com")
				require.False(t, over, "fifth failure of the address")
				blocked, _ = f.Blocked(ctx, "10.0.0.1", "d@example.com")
				require.True(t, blocked, "the address's budget over all identities is spent")
			})
		})
	}
}

// Limiters on two Redis connections with the same prefix (two replicas) share one budget, and
// what Redis holds names neither the key nor the purpose's raw input: keys are HMACs.
func TestRedisCountsAreSharedAndKeysHashed(t *testing.T) {
	t.Parallel()
	cfg := redistest.Config(t)
	limit := ratelimit.Limit{Rate: 10, Period: time.Minute, Burst: 10}
	a := newRedis(t, cfg, ratelimit.RedisOptions{}).New("api-key", limit)
	b := newRedis(t, cfg, ratelimit.RedisOptions{}).New("api-key", limit)
	key := "key:ak_secretlookingid"
	email := "\x00person@example.com"
	passed := 0
	for i := 0; i < 40; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		if ok, _ := l.Allow(ctx, key); ok {
			passed++
		}
		_, _ = l.Allow(ctx, "10.1.2.3"+email)
	}
	require.Equal(t, 10, passed, "one budget of 10 across both replicas (each alone would let 10 through: 20)")

	keys := redistest.Keys(t, cfg.URL, "*"+cfg.KeyPrefix+"*")
	require.Len(t, keys, 2)
	re := regexp.MustCompile(`^rate:` + regexp.QuoteMeta(cfg.KeyPrefix) + `rl:api-key:[0-9a-f]{32}$`)
	for _, k := range keys {
		require.Regexp(t, re, k)
		for _, clear := range []string{"ak_secretlookingid", "person", "example.com", "10.1.2.3"} {
			require.NotContains(t, k, clear)
		}
	}

	// Another HMAC key (another deployment's master key) names other keys.
	other := newRedis(t, cfg, ratelimit.RedisOptions{HashKey: []byte("another deployment")})
	mine := newRedis(t, cfg, ratelimit.RedisOptions{})
	require.NotEqual(t, mine.Key("api-key", key), other.Key("api-key", key))
	require.Equal(t, mine.Key("api-key", key), newRedis(t, cfg, ratelimit.RedisOptions{}).Key("api-key", key))
}

// flakyRedis forwards to the test Redis until it is taken down: then it refuses new
// connections and cuts the open ones, as a Redis that went away would.
type flakyRedis struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func startFlakyRedis(t *testing.T, target string) *flakyRedis {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &flakyRedis{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); f.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if f.down.Load() {
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, up)
			f.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return f
}

func (f *flakyRedis) cut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func (f *flakyRedis) setDown(down bool) {
	f.down.Store(down)
	if down {
		f.cut()
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// When Redis stops answering, no request fails and none goes unlimited: each decision is taken
// in process, counted in the fallback counter, and logged once (not once per request); when
// Redis answers again the limits are shared again, and that is logged once too.
func TestRedisOutageFallsBackToTheProcess(t *testing.T) {
	t.Parallel()
	cfg := redistest.Config(t)
	opts, err := redis.ParseURL(cfg.URL)
	require.NoError(t, err)
	proxy := startFlakyRedis(t, opts.Addr)
	var logs syncBuffer
	fallbacks := prometheus.NewCounter(prometheus.CounterOpts{Name: "fallbacks"})
	r := newRedis(t, config.Redis{URL: "redis://" + proxy.ln.Addr().String() + "/0", KeyPrefix: cfg.KeyPrefix},
		ratelimit.RedisOptions{Log: slog.New(slog.NewJSONHandler(&logs, nil)), Fallbacks: fallbacks})
	require.NoError(t, r.Ping(ctx))
	l := r.New("runtime", ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 5})

	ok, _ := l.Allow(ctx, "buyer")
	require.True(t, ok)
	require.Zero(t, testutil.ToFloat64(fallbacks))

	proxy.setDown(true)
	start := time.Now()
	passed := 0
	for i := 0; i < 50; i++ {
		if ok, wait := l.Allow(ctx, "buyer"); ok {
			passed++
		} else {
			require.Positive(t, wait)
		}
	}
	require.Less(t, time.Since(start), 3*time.Second, "an outage costs at most one timeout per second, not one per request")
	require.Equal(t, 5, passed, "in process, the limit still holds (this replica alone counts)")
	require.Equal(t, 50.0, testutil.ToFloat64(fallbacks))
	blocked, _ := l.Blocked(ctx, "buyer")
	require.True(t, blocked, "Blocked falls back too")
	require.Equal(t, 1, strings.Count(logs.String(), "Redis does not answer"), logs.String())

	proxy.setDown(false)
	require.Eventually(t, func() bool {
		_, _ = l.Allow(ctx, "someone")
		return strings.Contains(logs.String(), "Redis answers again")
	}, 10*time.Second, 50*time.Millisecond)
	for i := 0; i < 4; i++ {
		ok, _ := l.Allow(ctx, "buyer")
		require.True(t, ok, "back on Redis, where 1 of 5 was used before the outage")
	}
	ok, _ = l.Allow(ctx, "buyer")
	require.False(t, ok)
	require.Equal(t, 1, strings.Count(logs.String(), "Redis answers again"))
}

// A Redis that was never there (a closed port) is the same: every decision in process.
func TestRedisNeverReachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()
	fallbacks := prometheus.NewCounter(prometheus.CounterOpts{Name: "fallbacks"})
	r := newRedis(t, config.Redis{URL: "redis://" + closed + "/0", KeyPrefix: "unused:"}, ratelimit.RedisOptions{Fallbacks: fallbacks})
	require.Error(t, r.Ping(ctx))
	f := ratelimit.NewFailLimiter(r, "x", ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 2}, ratelimit.Limit{Rate: 1, Period: time.Hour, Burst: 100})
	over1, _ := f.Fail(ctx, "ip", "id")
	over2, _ := f.Fail(ctx, "ip", "id")
	over3, wait := f.Fail(ctx, "ip", "id")
	require.False(t, over1 || over2)
	require.True(t, over3)
	require.InDelta(t, time.Hour.Seconds(), wait.Seconds(), 5)
	require.Equal(t, 6.0, testutil.ToFloat64(fallbacks))
}

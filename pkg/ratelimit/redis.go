package ratelimit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Redis keeps the counts in Redis or Valkey, shared by every replica connected to it, with
// redis_rate's GCRA scripts (one round trip per decision, atomic on the server).
//
// Keys are <prefix>rl:<purpose>:<HMAC of the key> (redis_rate puts "rate:" in front): an API
// key id, e-mail address or client address never reaches Redis in clear, and the HMAC key is
// derived from the master key, so the names cannot be reversed by hashing guesses. Keys expire
// once their bucket is full again; Redis needs no persistence for them.
//
// When Redis does not answer (refused, timed out, any error), the request is never refused
// for it and never fails: the decision is taken in process, as Local would take it, so during
// an outage each replica enforces the limit alone (N replicas let N times the limit through,
// as without Redis). Such decisions are counted in the Fallbacks counter, and logged at most
// once a minute; after a failure Redis is not asked again for RetryAfter (one second), so an
// outage costs at most one timeout per second, not one per request.
type Redis struct {
	rdb     *redis.Client
	rl      *redis_rate.Limiter
	prefix  string
	hashKey []byte
	log     *slog.Logger
	timeout time.Duration
	retry   time.Duration
	logGap  time.Duration
	now     func() time.Time

	fallbacks prometheus.Counter

	downUntil atomic.Int64 // unix nanoseconds until which Redis is not asked
	mu        sync.Mutex
	lastWarn  time.Time // when the last "Redis does not answer" line was written
	warned    bool      // a failure was logged and its recovery not yet
	skipped   int       // fallbacks since the last line
}

// RedisOptions configure a Redis.
type RedisOptions struct {
	// Client is the connection (see NewRedisClient).
	Client *redis.Client
	// Prefix starts every key (default "paygate:"; tests use their own).
	Prefix string
	// HashKey keys the HMAC that names keys in Redis (the same on every replica).
	HashKey []byte
	Log     *slog.Logger
	// Fallbacks counts decisions taken in process because Redis did not answer (optional).
	Fallbacks prometheus.Counter
	// Timeout bounds one decision's round trip (default 500ms).
	Timeout time.Duration
}

// NewRedis returns limits counted in Redis.
func NewRedis(o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = "paygate:"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Timeout == 0 {
		o.Timeout = 500 * time.Millisecond
	}
	return &Redis{rdb: o.Client, rl: redis_rate.NewLimiter(o.Client), prefix: o.Prefix, hashKey: o.HashKey, log: o.Log,
		timeout: o.Timeout, retry: time.Second, logGap: time.Minute, now: time.Now, fallbacks: o.Fallbacks}
}

// NewRedisClient connects to a redis://, rediss:// (TLS) or unix:// URL. Unless the URL says
// otherwise (dial_timeout, dialer_retries, read_timeout, write_timeout, pool_timeout,
// max_retries), it waits briefly and never retries: a limit decision must not hold a request
// up, and a retried script could count one request twice.
//
// go-redis's own logger is silenced (it is global to the process): it writes a line to stderr
// for every failed dial, which during an outage is one a second; Redis logs outages itself,
// once a minute, in the service's log.
func NewRedisClient(rawURL string) (*redis.Client, error) {
	quietOnce.Do(func() { redis.SetLogger(quiet{}) })
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if u, err := url.Parse(rawURL); err == nil {
		q = u.Query()
	}
	set := func(name string, apply func()) {
		if !q.Has(name) {
			apply()
		}
	}
	set("dial_timeout", func() { opts.DialTimeout = time.Second })
	set("dialer_retries", func() { opts.DialerRetries = 1 })
	set("read_timeout", func() { opts.ReadTimeout = 500 * time.Millisecond })
	set("write_timeout", func() { opts.WriteTimeout = 500 * time.Millisecond })
	set("pool_timeout", func() { opts.PoolTimeout = 500 * time.Millisecond })
	set("max_retries", func() { opts.MaxRetries = -1 })
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}

var quietOnce sync.Once

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return r.rdb.Ping(ctx).Err()
}

// New makes the limiter for purpose.
func (r *Redis) New(purpose string, l Limit) Limiter {
	return &redisLimiter{r: r, purpose: purpose, limit: redis_rate.Limit{Rate: l.Rate, Period: l.Period, Burst: l.Burst},
		local: newBuckets(l, r.now)}
}

// Shared is true: every replica on the same Redis shares the counts.
func (*Redis) Shared() bool { return true }

// Close closes the connection.
func (r *Redis) Close() error { return r.rdb.Close() }

// Key is the name under which key's count for purpose is kept (without redis_rate's "rate:").
func (r *Redis) Key(purpose, key string) string {
	m := hmac.New(sha256.New, r.hashKey)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(key))
	return r.prefix + "rl:" + purpose + ":" + hex.EncodeToString(m.Sum(nil)[:16])
}

// call runs one script with a bounded wait; it reports false when Redis is to be left alone
// or did not answer (the caller then decides in process).
func (r *Redis) call(ctx context.Context, fn func(ctx context.Context) (*redis_rate.Result, error)) (*redis_rate.Result, bool) {
	if r.now().UnixNano() < r.downUntil.Load() {
		r.fellBack(ctx, nil)
		return nil, false
	}
	// A buyer who closes the tab does not skip the shared count: only the timeout ends the call.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	res, err := fn(ctx)
	if err != nil {
		r.downUntil.Store(r.now().Add(r.retry).UnixNano())
		r.fellBack(ctx, err)
		return nil, false
	}
	r.answered(ctx)
	return res, true
}

// fellBack and answered log with the request's context: the line names the request (and its
// organisation) during which Redis stopped or started answering again.
func (r *Redis) fellBack(ctx context.Context, err error) {
	if r.fallbacks != nil {
		r.fallbacks.Inc()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skipped++
	if err == nil || r.now().Sub(r.lastWarn) < r.logGap {
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.New("no answer within " + r.timeout.String())
	}
	r.log.WarnContext(ctx, "rate limits: Redis does not answer; each replica limits alone until it does",
		"err", err.Error(), "decisions_in_process", r.skipped)
	r.lastWarn, r.warned, r.skipped = r.now(), true, 0
}

func (r *Redis) answered(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.warned {
		r.log.InfoContext(ctx, "rate limits: Redis answers again; limits are shared", "decisions_in_process", r.skipped)
		r.warned, r.skipped = false, 0
	}
}

type redisLimiter struct {
	r       *Redis
	purpose string
	limit   redis_rate.Limit
	local   *buckets
}

func (l *redisLimiter) Allow(ctx context.Context, key string) (bool, time.Duration) {
	k := l.r.Key(l.purpose, key)
	res, ok := l.r.call(ctx, func(ctx context.Context) (*redis_rate.Result, error) { return l.r.rl.Allow(ctx, k, l.limit) })
	if !ok {
		return l.local.Allow(ctx, key)
	}
	if res.Allowed > 0 {
		return true, 0
	}
	return false, max(res.RetryAfter, time.Millisecond)
}

// Blocked asks for at most zero events: the script then reports whether one would be allowed
// and when, and changes nothing.
func (l *redisLimiter) Blocked(ctx context.Context, key string) (bool, time.Duration) {
	k := l.r.Key(l.purpose, key)
	res, ok := l.r.call(ctx, func(ctx context.Context) (*redis_rate.Result, error) {
		return l.r.rl.AllowAtMost(ctx, k, l.limit, 0)
	})
	if !ok {
		return l.local.Blocked(ctx, key)
	}
	if res.RetryAfter < 0 {
		return false, 0
	}
	return true, max(res.RetryAfter, time.Millisecond)
}

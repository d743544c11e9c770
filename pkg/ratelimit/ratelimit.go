// Package ratelimit limits how often something may happen per key (an API key, a client
// address, an address and the identity it tried): request limits and failed-authentication
// limits.
//
// A Limits makes the limiters of one service. Local counts in this process: with several
// replicas each counts alone, and together they let the limit through once per replica.
// Redis counts in Redis or Valkey with GCRA (github.com/go-redis/redis_rate), so every replica
// that shares the server shares the counts. Both have the same semantics: a bucket of Burst
// that refills at Rate per Period, and a refused request takes nothing from it.
//
// When Redis does not answer, a Redis limiter decides that request in process (as Local would)
// and counts it in paygate_ratelimit_redis_fallbacks_total; see Redis for the policy.
package ratelimit

import (
	"context"
	"time"
)

// Limit is Burst events at once, refilled at Rate per Period.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// PerSecond allows rate events per second with bursts of burst.
func PerSecond(rate, burst int) Limit { return Limit{Rate: rate, Period: time.Second, Burst: burst} }

// perSecond is the refill rate in events per second.
func (l Limit) perSecond() float64 { return float64(l.Rate) / l.Period.Seconds() }

// Limiter limits events per key.
type Limiter interface {
	// Allow takes one event from key's budget. When none is left it takes nothing and returns
	// false and how long until one is.
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration)
	// Blocked reports, without taking anything, whether key's budget is spent and how long
	// until it is not.
	Blocked(ctx context.Context, key string) (blocked bool, retryAfter time.Duration)
}

// Limits makes a service's limiters, all counting in the same place.
type Limits interface {
	// New makes the limiter for purpose (a short name such as "api-key", unique per service:
	// limiters of one purpose share their counts) with limit l.
	New(purpose string, l Limit) Limiter
	// Shared reports whether the counts are shared with other replicas.
	Shared() bool
	// Close releases the connection, if any.
	Close() error
}

// FailLimiter slows down guessing. It counts failed authentications per (client IP, identity)
// — the API key id or e-mail address that was tried — so one client's failures behind a shared
// address (an office NAT) use up only the budget of what it tried, not everyone's; and per IP
// over all identities, with a looser budget, so trying many identities is slowed too.
type FailLimiter struct {
	perIdentity Limiter
	perIP       Limiter
}

// NewFailLimiter allows perIdentity failures per (IP, identity) and perIP failures per IP;
// purpose names the pair.
func NewFailLimiter(ls Limits, purpose string, perIdentity, perIP Limit) *FailLimiter {
	return &FailLimiter{perIdentity: ls.New(purpose+"-identity", perIdentity), perIP: ls.New(purpose+"-ip", perIP)}
}

func identityKey(ip, identity string) string { return ip + "\x00" + identity }

// Blocked reports, without counting, whether ip has no failures left for identity (or at all),
// and how long until it has.
func (f *FailLimiter) Blocked(ctx context.Context, ip, identity string) (bool, time.Duration) {
	b1, w1 := f.perIdentity.Blocked(ctx, identityKey(ip, identity))
	b2, w2 := f.perIP.Blocked(ctx, ip)
	return b1 || b2, max(w1, w2)
}

// Fail counts a failure of ip with identity. It reports whether the failure was over either
// budget, and how long until the next is allowed.
func (f *FailLimiter) Fail(ctx context.Context, ip, identity string) (bool, time.Duration) {
	ok1, w1 := f.perIdentity.Allow(ctx, identityKey(ip, identity))
	ok2, w2 := f.perIP.Allow(ctx, ip)
	return !ok1 || !ok2, max(w1, w2)
}

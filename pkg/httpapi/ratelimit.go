package httpapi

import (
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket per key (API key id, client IP). Limits are per process: with
// several replicas the effective limit is the sum, which is the usual trade for not writing
// to a shared store on every request.
type Limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter allows rate requests per second per key with bursts of burst.
func NewLimiter(rate float64, burst int) *Limiter {
	return &Limiter{rate: rate, burst: float64(burst), now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes a token for key; when none is left it returns false and how long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.sweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// Blocked reports, without taking a token, whether key has none left and how long until it has.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return false, 0
	}
	tokens := math.Min(l.burst, b.tokens+l.now().Sub(b.last).Seconds()*l.rate)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / l.rate * float64(time.Second))
}

// RetryAfterSeconds rounds a wait up to whole seconds (at least 1) for the Retry-After header.
func RetryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// FailLimiter slows down guessing. It counts failed authentications per (client IP, identity)
// — the API key id or e-mail address that was tried — so one client's failures behind a shared
// address (an office NAT) use up only the budget of what it tried, not everyone's; and per IP
// over all identities, with a looser budget, so trying many identities is slowed too.
type FailLimiter struct {
	perIdentity *Limiter
	perIP       *Limiter
}

// NewFailLimiter allows identityBurst failures per (IP, identity), then identityRate per
// second, and ipBurst failures per IP, then ipRate per second.
func NewFailLimiter(identityRate float64, identityBurst int, ipRate float64, ipBurst int) *FailLimiter {
	return &FailLimiter{perIdentity: NewLimiter(identityRate, identityBurst), perIP: NewLimiter(ipRate, ipBurst)}
}

func identityKey(ip, identity string) string { return ip + "\x00" + identity }

// Blocked reports, without counting, whether ip has no failures left for identity (or at all),
// and how long until it has.
func (f *FailLimiter) Blocked(ip, identity string) (bool, time.Duration) {
	b1, w1 := f.perIdentity.Blocked(identityKey(ip, identity))
	b2, w2 := f.perIP.Blocked(ip)
	return b1 || b2, max(w1, w2)
}

// Fail counts a failure of ip with identity. It reports whether the failure was over either
// budget, and how long until the next is allowed.
func (f *FailLimiter) Fail(ip, identity string) (bool, time.Duration) {
	ok1, w1 := f.perIdentity.Allow(identityKey(ip, identity))
	ok2, w2 := f.perIP.Allow(ip)
	return !ok1 || !ok2, max(w1, w2)
}

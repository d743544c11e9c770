package ratelimit

import (
	"context"
	"math"
	"sync"
	"time"
)

// Local keeps the counts in this process's memory. With several replicas each counts alone:
// the effective limit is the sum. It is the default when no Redis is configured, and what a
// Redis limiter falls back to while Redis does not answer.
type Local struct {
	now func() time.Time
}

// NewLocal returns limits counted in process.
func NewLocal() *Local { return &Local{now: time.Now} }

// New makes a token bucket per key.
func (ls *Local) New(_ string, l Limit) Limiter { return newBuckets(l, ls.now) }

// Shared is false: each replica counts alone.
func (*Local) Shared() bool { return false }

// Close does nothing.
func (*Local) Close() error { return nil }

// buckets is a token bucket per key.
type buckets struct {
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

func newBuckets(l Limit, now func() time.Time) *buckets {
	return &buckets{rate: l.perSecond(), burst: float64(l.Burst), now: now, buckets: map[string]*bucket{}}
}

// idle is how long a bucket must be untouched before it is forgotten: by then it is full again
// (forgetting it changes nothing), for every limit in use here.
func (l *buckets) idle() time.Duration {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	return max(10*time.Minute, full)
}

// Allow takes a token for key; when none is left it returns false and how long until one is.
func (l *buckets) Allow(_ context.Context, key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.sweep) > time.Minute {
		idle := l.idle()
		for k, b := range l.buckets {
			if now.Sub(b.last) > idle {
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
	return false, l.wait(b.tokens)
}

// Blocked reports, without taking a token, whether key has none left and how long until it has.
func (l *buckets) Blocked(_ context.Context, key string) (bool, time.Duration) {
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
	return true, l.wait(tokens)
}

func (l *buckets) wait(tokens float64) time.Duration {
	return time.Duration((1 - tokens) / l.rate * float64(time.Second))
}

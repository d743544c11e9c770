// Package redistest gives tests the machine's Redis (or Valkey): TEST_REDIS_URL, default
// redis://127.0.0.1:6379/0. The server is shared with other tests and other checkouts running
// at the same time, so each test keeps to keys under a random prefix of its own, deletes them
// when it ends, and never flushes anything.
//
// When the server does not answer the test is skipped, except under CI=true, where it fails:
// CI must never pass without having tested the shared limits (as with PostgreSQL, see storetest).
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"paygate.dev/pkg/config"
)

// DefaultURL is the server tests use when TEST_REDIS_URL is unset.
const DefaultURL = "redis://127.0.0.1:6379/0"

// URL returns the test server's URL once it has answered a PING.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = DefaultURL
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("Redis unavailable at %s (%v); start redis-server or set TEST_REDIS_URL. Under CI=true this fails.", opts.Addr, err)
		}
		t.Fatalf("Redis unavailable at %s: %v", opts.Addr, err)
	}
	return u
}

// Config is the test server with a key prefix of the test's own; the keys under it are deleted
// when the test ends. Services started with the same Config share their counts.
func Config(t testing.TB) config.Redis {
	t.Helper()
	u := URL(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := "paygate-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() { deleteKeys(t, u, "*"+prefix+"*") })
	return config.Redis{URL: u, KeyPrefix: prefix}
}

// Keys lists the keys matching pattern (SCAN, never KEYS).
func Keys(t testing.TB, url, pattern string) []string {
	t.Helper()
	opts, _ := redis.ParseURL(url)
	c := redis.NewClient(opts)
	defer c.Close()
	var out []string
	iter := c.Scan(context.Background(), 0, pattern, 1000).Iterator()
	for v := range iter.Vals(context.Background()) {
		out = append(out, v)
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan %s: %v", pattern, err)
	}
	return out
}

func deleteKeys(t testing.TB, url, pattern string) {
	keys := Keys(t, url, pattern)
	if len(keys) == 0 {
		return
	}
	opts, _ := redis.ParseURL(url)
	c := redis.NewClient(opts)
	defer c.Close()
	if err := c.Del(context.Background(), keys...).Err(); err != nil {
		t.Errorf("delete the test's keys: %v", err)
	}
}

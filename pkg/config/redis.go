package config

import (
	"log/slog"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis is where the backends count rate limits so that every replica shares them
// (REDIS_URL or REDIS_URL_FILE: Redis or Valkey). Empty: each process counts alone.
type Redis struct {
	// URL is redis://[[user]:password@]host[:port][/db], rediss://... for TLS, or unix://path.
	URL string
	// KeyPrefix starts every key (default "paygate:"; tests only, not read from the
	// environment: each test keeps to its own keys on the shared test server).
	KeyPrefix string
}

// Configured reports whether limits are shared through Redis.
func (r Redis) Configured() bool { return r.URL != "" }

// Describe names the server for logs, without credentials: "redis://valkey:6379/0", or
// "in process" when none is configured.
func (r Redis) Describe() string {
	if r.URL == "" {
		return "in process"
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return "redis"
	}
	if u.Scheme == "unix" {
		return "unix://" + u.Path
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		db = "0"
	}
	return u.Scheme + "://" + u.Host + "/" + db
}

// LogValue describes the server without its password, so that logging the struct by mistake
// never prints it.
func (r Redis) LogValue() slog.Value { return slog.StringValue(r.Describe()) }

// String hides the password as LogValue does (fmt's %v and %+v).
func (r Redis) String() string { return r.Describe() }

func readRedis(e *Env) Redis {
	r := Redis{URL: e.Secret("REDIS_URL")}
	if r.URL == "" {
		return r
	}
	// Never quote the value or the parser's error: the URL may hold the password.
	if _, err := redis.ParseURL(r.URL); err != nil {
		e.Fail("REDIS_URL", "must be a URL like redis://:password@valkey:6379/0 (rediss:// for TLS, or unix:///path/to/socket)")
		r.URL = ""
	}
	return r
}

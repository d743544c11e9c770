package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/ratelimit"
	"paygate.dev/pkg/secrets"
)

// rateLimits decides where the service counts its rate limits (per-key request limits,
// failed authentications, reset mails) and says which in one start-up line: shared through
// Redis/Valkey when REDIS_URL is set, in this process otherwise.
//
// A REDIS_URL that does not answer at start-up does not stop the service: it starts, says so
// in a WARN line, and decides in process until Redis answers, exactly as it does when Redis
// goes away later (see ratelimit.Redis). Refusing to start would turn a Redis outage into an
// outage of checkouts and payments the moment a replica restarts; the limits only fall back
// to what every replica enforced before they were shared.
func rateLimits(c config.Common, log *slog.Logger, m *metrics.Registry) (ratelimit.Limits, error) {
	if !c.Redis.Configured() {
		log.Info("rate limits in process: each replica counts alone", "rate_limits", c.Redis.Describe())
		return ratelimit.NewLocal(), nil
	}
	client, err := ratelimit.NewRedisClient(c.Redis.URL)
	if err != nil {
		// Never the parser's error: it may quote the URL and its password.
		return nil, errors.New("REDIS_URL is not a Redis URL (redis://:password@host:6379/0)")
	}
	fallbacks := prometheus.NewCounter(prometheus.CounterOpts{Name: "paygate_ratelimit_redis_fallbacks_total",
		Help: "Rate-limit decisions taken in this process because Redis did not answer (each replica then counts alone)."})
	m.MustRegister(fallbacks)
	r := ratelimit.NewRedis(ratelimit.RedisOptions{Client: client, Prefix: c.Redis.KeyPrefix, Log: log, Fallbacks: fallbacks,
		// Keys are HMACs under a key every replica derives alike from the master key.
		HashKey: secrets.Derive(c.MasterKey, "rate-limit-keys")})
	if err := r.Ping(context.Background()); err != nil {
		log.Warn("rate limits shared through Redis, but it does not answer: each replica counts alone until it does",
			"rate_limits", c.Redis.Describe(), "err", err.Error())
	} else {
		log.Info("rate limits shared through Redis", "rate_limits", c.Redis.Describe())
	}
	return r, nil
}

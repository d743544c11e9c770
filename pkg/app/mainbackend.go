package app

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/ratelimit"
	"paygate.dev/pkg/runtimesrv"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/tax"
)

// MainBackend is the main backend: provider webhooks at /hooks/..., the checkout runtime API
// under /api/v1, and the background workers.
type MainBackend struct {
	Config config.MainBackend
	Log    *slog.Logger
	Store  *store.Store
	// Services are the capabilities' use cases, over the store.
	Services Services
	Metrics  *metrics.Registry
	Echo     *echo.Echo
	// Internal serves /health, /ready with its reason and /metrics on INTERNAL_LISTEN.
	Internal http.Handler
	Runtime  *runtimesrv.Server
	// Queue works the background jobs (nil unless WORKERS=true); Notifier delivers merchant
	// notifications.
	Queue    *queue.Client
	Notifier *ipn.Notifier
	// Limits counts the runtime API's and the Duda endpoints' rate limits (Redis or in process).
	Limits ratelimit.Limits

	// eventHooks are extra outbox consumers (integrations); registrations add job kinds and
	// periodic tasks.
	eventHooks    map[string]ipn.Hook
	registrations []registration

	ownsStore bool

	workers []func(ctx context.Context)
}

// NewMainBackend connects to the database (whose schema must be current) and builds the routes
// and workers.
func NewMainBackend(ctx context.Context, cfg config.MainBackend, log *slog.Logger) (*MainBackend, error) {
	s, err := openStore(ctx, cfg.Common, log)
	if err != nil {
		return nil, err
	}
	b, err := MainBackendOn(ctx, cfg, log, s)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	b.ownsStore = true
	return b, nil
}

// MainBackendOn builds the main backend on an open store (tests share one store).
func MainBackendOn(ctx context.Context, cfg config.MainBackend, log *slog.Logger, s *store.Store) (*MainBackend, error) {
	keys, err := cfg.Keyring()
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	limits, err := rateLimits(cfg.Common, log, m)
	if err != nil {
		return nil, err
	}
	vies := tax.NewCachedVIES(&tax.VIESClient{BaseURL: cfg.VIESURL, HTTP: &http.Client{Timeout: 8 * time.Second}}, 24*time.Hour)
	svc := NewServices(ServiceDeps{Store: s, Keys: keys, Hosts: cfg.Hosts, Log: log, Metrics: m, Dev: cfg.Dev(),
		Providers: providerRegistry(cfg.Common, log), VIES: vies, IPNAllowPrivate: cfg.IPNAllowPrivateTargets})
	b := &MainBackend{Config: cfg, Log: log, Store: s, Services: svc, Metrics: m, Limits: limits}
	e := httpapi.New(httpapi.Options{Log: log, Metrics: m, TrustProxy: cfg.TrustProxy})
	ops := httpapi.Ops{Service: "main-backend", Ready: readiness(s), Metrics: m.Handler(), Token: cfg.MetricsToken, Dev: cfg.Dev()}
	httpapi.MountOps(e, ops)
	b.Internal = ops.InternalHandler(log)
	if err := registerMainBackend(ctx, e, b); err != nil {
		_ = limits.Close()
		return nil, err
	}
	b.Echo = e
	return b, nil
}

// Handler serves every route.
func (b *MainBackend) Handler() http.Handler { return b.Echo }

// Serve runs the HTTP server and, when configured, the workers until ctx ends; then it drains
// requests, lets running jobs finish (cancelling and re-queueing those still running after
// SHUTDOWN_TIMEOUT), and closes the pool. The workers stop while requests drain, not after, so
// that the whole shutdown fits in SHUTDOWN_TIMEOUT (and in docker-compose.yml's
// stop_grace_period, 5 s more).
func (b *MainBackend) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	bg, stop := context.WithCancel(context.Background())
	defer context.AfterFunc(ctx, stop)()
	if b.Config.Workers {
		for _, w := range b.workers {
			wg.Add(1)
			go func(w func(context.Context)) { defer wg.Done(); w(bg) }(w)
		}
	}
	internal, err := serveInternal(ctx, b.Log, b.Config.InternalListen, b.Internal, b.Config.ShutdownTimeout)
	if err == nil {
		err = httpapi.ServeListener(ctx, b.Log, ln, b.Handler(), b.Config.ShutdownTimeout)
		if ierr := internal(); err == nil {
			err = ierr
		}
	}
	stop()
	wg.Wait()
	if cerr := b.Limits.Close(); err == nil {
		err = cerr
	}
	if b.ownsStore {
		if cerr := b.Store.Close(); err == nil {
			err = cerr
		}
	}
	b.Log.Info("stopped")
	return err
}

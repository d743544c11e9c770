package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"

	"paygate.dev/pkg/adminapi"
	"paygate.dev/pkg/auth"
	"paygate.dev/pkg/config"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/mail"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/ratelimit"
	"paygate.dev/pkg/receipt"
	"paygate.dev/pkg/store"
)

// AdminBackend is the admin backend: Admin API (/api/v1 and /v1), API keys, checkout creation
// and the Admin Panel.
type AdminBackend struct {
	Config config.AdminBackend
	Log    *slog.Logger
	Store  *store.Store
	// Services are the capabilities' use cases, over the store.
	Services Services
	KeyAuth  *auth.KeyAuthenticator
	Sessions *auth.Sessions
	Metrics  *metrics.Registry
	API      *adminapi.API
	Notifier *ipn.Notifier
	// Receipts sends buyers' receipts (the email queue) and resends them from the panel.
	Receipts *receipt.Service
	// Limits counts the API's and the panel's rate limits (Redis or in process).
	Limits ratelimit.Limits
	Echo   *echo.Echo
	// Internal serves /health, /ready with its reason and /metrics on INTERNAL_LISTEN.
	Internal http.Handler
	// DemoOut is where the demo's banner goes (nil: stdout).
	DemoOut io.Writer
	// isTerminal overrides the check whether DemoOut is a terminal (tests).
	isTerminal func(io.Writer) bool

	ownsStore bool
}

// NewAdminBackend connects to the database (whose schema must be current) and builds the routes.
func NewAdminBackend(ctx context.Context, cfg config.AdminBackend, log *slog.Logger) (*AdminBackend, error) {
	s, err := openStore(ctx, cfg.Common, log)
	if err != nil {
		return nil, err
	}
	a, err := AdminBackendOn(cfg, log, s)
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	a.ownsStore = true
	return a, nil
}

// AdminBackendOn builds the admin backend on an open store (tests share one store).
func AdminBackendOn(cfg config.AdminBackend, log *slog.Logger, s *store.Store) (*AdminBackend, error) {
	keys, err := cfg.Keyring()
	if err != nil {
		return nil, err
	}
	mailer, err := mail.New(cfg.AppEnv, cfg.Mail, log)
	if err != nil {
		return nil, err
	}
	receipts, err := adminReceipts(cfg.AppEnv, cfg.Mail, log, s)
	if err != nil {
		return nil, err
	}
	m := metrics.New()
	limits, err := rateLimits(cfg.Common, log, m)
	if err != nil {
		return nil, err
	}
	svc := NewServices(ServiceDeps{Store: s, Keys: keys, Hosts: cfg.Hosts, Log: log, Metrics: m, Mailer: mailer, Dev: cfg.Dev(),
		Providers: providerRegistry(cfg.Common, log), IPNAllowPrivate: cfg.IPNAllowPrivateTargets, IPNResolver: cfg.IPNResolver})
	a := &AdminBackend{Config: cfg, Log: log, Store: s, Services: svc, Metrics: m, Limits: limits, Receipts: receipts,
		KeyAuth:  auth.NewKeyAuthenticator(s, keys, 2*time.Second, log),
		Sessions: auth.NewSessions(cfg.JWTSigningKey, cfg.SessionTTL)}
	svc.Tenancy.OnAPIKeyChange(a.KeyAuth.Forget)
	e := httpapi.New(httpapi.Options{Log: log, Metrics: m, TrustProxy: cfg.TrustProxy})
	ops := httpapi.Ops{Service: "admin-backend", Ready: readiness(s), Metrics: m.Handler(), Token: cfg.MetricsToken, Dev: cfg.Dev()}
	httpapi.MountOps(e, ops)
	a.Internal = ops.InternalHandler(log)
	registerAdminRoutes(e, a)
	a.Echo = e
	return a, nil
}

// Handler serves every route.
func (a *AdminBackend) Handler() http.Handler { return a.Echo }

// SeedDemo creates the demo on an empty database and shows its secrets once (announceDemo).
func (a *AdminBackend) SeedDemo(ctx context.Context) error {
	d, err := a.Services.Tenancy.SeedDemo(ctx)
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	if d != nil {
		a.announceDemo(ctx, d)
	} else {
		a.Log.Info("demo data present; its secrets were printed when it was created")
	}
	return nil
}

// Serve runs the HTTP server and the background work until ctx ends, then shuts down
// gracefully: drain requests, flush API-key usage, finish sending e-mail, close the pool.
func (a *AdminBackend) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	bg, stop := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); a.KeyAuth.Run(bg, 30*time.Second) }()
	mailq, err := a.mailQueue(ctx)
	var internal func() error
	if err == nil {
		internal, err = serveInternal(ctx, a.Log, a.Config.InternalListen, a.Internal, a.Config.ShutdownTimeout)
	}
	if err == nil {
		err = httpapi.ServeListener(ctx, a.Log, ln, a.Handler(), a.Config.ShutdownTimeout)
		if ierr := internal(); err == nil {
			err = ierr
		}
	}
	stop()
	wg.Wait()
	if mailq != nil {
		sctx, cancel := context.WithTimeout(context.Background(), max(a.Config.ShutdownTimeout, time.Second))
		_ = mailq.Stop(sctx)
		cancel()
	}
	if cerr := a.Limits.Close(); err == nil {
		err = cerr
	}
	if a.ownsStore {
		if cerr := a.Store.Close(); err == nil {
			err = cerr
		}
	}
	a.Log.Info("stopped")
	return err
}

// mailQueue starts the River client that sends the e-mail this backend could not send at once
// (the email queue). It works that kind only, so it never becomes River's leader (the main
// backends, which know every kind, take turns at that). It polls: its jobs are a minute old by
// design, and nothing is lost by finding them a few seconds later.
func (a *AdminBackend) mailQueue(ctx context.Context) (*queue.Client, error) {
	if err := a.Store.CheckSchema(ctx); err != nil {
		// Serve anyway, so /ready can say why it is not ready (the schema fell behind, or an
		// embedding test serves an unmigrated database); River's tables may not exist yet.
		a.Log.WarnContext(ctx, "e-mail queue not started: the database schema is not current", "error", err)
		return nil, nil
	}
	ws := river.NewWorkers()
	a.Services.Tenancy.RegisterMailWorker(ws)
	a.Receipts.RegisterWorkers(ws)
	q, err := queue.New(ctx, queue.Config{Store: a.Store, Log: a.Log, Metrics: a.Metrics, Workers: ws, NotLeader: true, PollOnly: true,
		PollInterval: 5 * time.Second, Queues: map[string]int{queue.Email: queue.Concurrency[queue.Email]}})
	if err != nil {
		return nil, err
	}
	return q, q.Start(context.WithoutCancel(ctx))
}

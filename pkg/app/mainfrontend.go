package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/metrics"
)

// MainFrontend serves the hosted checkout pages. It holds no database credentials: everything
// goes through the main backend's runtime API.
type MainFrontend struct {
	Config  config.MainFrontend
	Log     *slog.Logger
	Metrics *metrics.Registry
	Echo    *echo.Echo
	HTTP    *http.Client
	// Internal serves /health, /ready with its reason and /metrics on INTERNAL_LISTEN.
	Internal http.Handler
}

// NewMainFrontend builds the routes.
func NewMainFrontend(ctx context.Context, cfg config.MainFrontend, log *slog.Logger) (*MainFrontend, error) {
	m := metrics.New()
	f := &MainFrontend{Config: cfg, Log: log, Metrics: m, HTTP: &http.Client{Timeout: 10 * time.Second}}
	e := httpapi.New(httpapi.Options{Log: log, Metrics: m, TrustProxy: cfg.TrustProxy})
	ops := httpapi.Ops{Service: "main-frontend", Ready: f.ready, Metrics: m.Handler(), Token: cfg.MetricsToken, Dev: cfg.AppEnv == config.AppDevelopment}
	httpapi.MountOps(e, ops)
	f.Internal = ops.InternalHandler(log)
	if err := registerMainFrontend(e, f); err != nil {
		return nil, err
	}
	f.Echo = e
	return f, nil
}

// ready reports whether the main backend (and through it the database) is ready.
func (f *MainFrontend) ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.Config.MainBackendInternalURL+"/ready", nil)
	if err != nil {
		return err
	}
	res, err := f.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("main backend unreachable: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("main backend not ready (%d)", res.StatusCode)
	}
	return nil
}

// Handler serves every route.
func (f *MainFrontend) Handler() http.Handler { return f.Echo }

// Serve runs the HTTP server until ctx ends, then drains requests.
func (f *MainFrontend) Serve(ctx context.Context, ln net.Listener) error {
	internal, err := serveInternal(ctx, f.Log, f.Config.InternalListen, f.Internal, f.Config.ShutdownTimeout)
	if err == nil {
		err = httpapi.ServeListener(ctx, f.Log, ln, f.Handler(), f.Config.ShutdownTimeout)
		if ierr := internal(); err == nil {
			err = ierr
		}
	}
	f.Log.Info("stopped")
	return err
}

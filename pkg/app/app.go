// Package app wires each service from its configuration: database, domain packages, HTTP
// routes and background workers. The services' main packages only call into it, and tests
// start the same servers in-process on loopback listeners.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/httpapi"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/store"
)

// openStore connects to the configured database and refuses to go on when the schema is not
// the one this build expects.
func openStore(ctx context.Context, c config.Common, log *slog.Logger) (*store.Store, error) {
	s, err := store.Open(ctx, storeConfig(c, log))
	if err != nil {
		return nil, &databaseError{err}
	}
	if err := s.CheckSchema(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// storeConfig is the database a backend's configuration names, with its pool settings.
func storeConfig(c config.Common, log *slog.Logger) store.Config {
	return store.Config{URL: c.DatabaseURL, SQLitePath: c.SQLitePath(), Logger: log, Pool: store.Pool{
		MaxConns: c.DB.MaxConns, MaxIdleConns: c.DB.MaxIdleConns, ConnMaxLifetime: c.DB.ConnMaxLifetime, ConnMaxIdleTime: c.DB.ConnMaxIdleTime}}
}

// readiness reports whether the database answers and its schema is current.
func readiness(s *store.Store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := s.Ping(ctx); err != nil {
			return fmt.Errorf("database unreachable: %w", err)
		}
		return s.CheckSchema(ctx)
	}
}

// serveInternal starts the internal listener (INTERNAL_LISTEN) when one is configured; it
// stops with ctx or when stop is called, and stop returns once it has.
func serveInternal(ctx context.Context, log *slog.Logger, addr string, h http.Handler, drain time.Duration) (stop func() error, err error) {
	if addr == "" {
		return func() error { return nil }, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("INTERNAL_LISTEN %s: %w", addr, err)
	}
	ictx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- httpapi.ServeListener(ictx, log.With("listener", "internal"), ln, h, drain) }()
	return func() error { cancel(); return <-done }, nil
}

// Migrate applies every migration to the configured database (the `migrate` command).
func Migrate(ctx context.Context, c config.Common, log *slog.Logger, target int) error {
	s, err := store.Open(ctx, storeConfig(c, log))
	if err != nil {
		return &databaseError{err}
	}
	defer s.Close()
	// The store logs each migration this process applies, or that there was none to apply.
	if _, err := s.Migrate(ctx, target); err != nil {
		return err
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	log.Info("schema is current", "version", v, "database", c.DatabaseKind())
	return nil
}

// SignalContext is cancelled on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Logger builds the service's JSON logger.
func Logger(service string, level slog.Level) *slog.Logger {
	return logging.New(service, level, os.Stdout)
}

package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"

	"paygate.dev/pkg/config"
	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/store"
)

// Stable codes of start-up errors (besides a domain error's own code and the schema's
// SCHEMA_BEHIND and SCHEMA_AHEAD).
const (
	CodeConfigInvalid       = "CONFIG_INVALID"
	CodeDatabaseUnavailable = "DATABASE_UNAVAILABLE"
	CodeListenFailed        = "LISTEN_FAILED"
)

// Exit reports the error a service stops with as one JSON log line on w (stderr), like every
// other line the service writes: level ERROR, the service, the error, and its kind and stable
// code where they are known (an invalid configuration also lists its problems, one per bad
// variable). It returns the exit code: 0 without an error or when the service was stopped.
func Exit(service string, err error, w io.Writer) int {
	if err == nil || errors.Is(err, context.Canceled) {
		return 0
	}
	attrs := append([]any{"error", err.Error()}, exitAttrs(err)...)
	logging.New(service, slog.LevelInfo, w).Error("fatal error", attrs...)
	return 1
}

// exitAttrs are the kind and code of a start-up error, and its details, where known.
func exitAttrs(err error) []any {
	var (
		ce *config.Error
		se *store.SchemaError
		de *databaseError
		oe *net.OpError
		e  *domain.Error
	)
	switch {
	case errors.As(err, &ce):
		return []any{"kind", "config", "code", CodeConfigInvalid, "problems", ce.Problems}
	case errors.As(err, &se):
		return []any{"kind", "schema", "code", se.Code(), "schema_version", se.Have, "schema_needed", se.Want}
	case errors.As(err, &de):
		return []any{"kind", "database", "code", CodeDatabaseUnavailable}
	case errors.As(err, &oe) && oe.Op == "listen":
		return []any{"kind", "listen", "code", CodeListenFailed}
	case errors.As(err, &e):
		return []any{"kind", "domain", "code", e.Code}
	}
	return nil
}

// databaseError is a database the service cannot open or reach at start-up.
type databaseError struct{ err error }

func (e *databaseError) Error() string { return e.err.Error() }
func (e *databaseError) Unwrap() error { return e.err }

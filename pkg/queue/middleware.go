package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/metrics"
)

// tenant is what job arguments may say about whom the job works for.
type tenant struct {
	OrganizationID string `json:"organizationId"`
	SiteID         string `json:"siteId"`
	Name           string `json:"name"` // periodic tasks
}

func tenantOf(job *rivertype.JobRow) tenant {
	var t tenant
	_ = json.Unmarshal(job.EncodedArgs, &t)
	return t
}

// label is the kind a job is counted and logged under (a periodic task counts as every:<name>).
func label(job *rivertype.JobRow, t tenant) string {
	if job.Kind == KindEvery && t.Name != "" {
		return KindEvery + ":" + t.Name
	}
	return job.Kind
}

// middleware tags a job's context for logging and counts its outcome.
type middleware struct {
	river.MiddlewareDefaults
	metrics *metrics.Registry
}

func (m *middleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) (err error) {
	t := tenantOf(job)
	kind := label(job, t)
	attrs := []any{"job_kind", kind, "job_id", job.ID}
	if t.OrganizationID != "" {
		attrs = append(attrs, "org_id", t.OrganizationID)
	}
	if t.SiteID != "" {
		attrs = append(attrs, "site_id", t.SiteID)
	}
	ctx = logging.With(ctx, attrs...)
	defer func() {
		if r := recover(); r != nil {
			m.metrics.JobsProcessed.WithLabelValues(kind, outcome(job, errors.New("panic"))).Inc()
			panic(r) // River recovers it and records the attempt as failed
		}
		m.metrics.JobsProcessed.WithLabelValues(kind, outcome(job, err)).Inc()
	}()
	return doInner(ctx)
}

// outcome names what becomes of a job after a run that returned err.
func outcome(job *rivertype.JobRow, err error) string {
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	switch {
	case err == nil:
		return "completed"
	case errors.As(err, &snooze):
		return "snoozed"
	case errors.As(err, &cancel):
		return "cancelled"
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case job.Attempt >= job.MaxAttempts:
		return "failed"
	}
	return "retried"
}

// errorHandler logs failed runs with the job's tenant, at warning level while attempts remain.
type errorHandler struct{ log *slog.Logger }

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	var cancel *river.JobCancelError
	t := tenantOf(job)
	args := []any{"job_kind", label(job, t), "job_id", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "error", err.Error()}
	if t.OrganizationID != "" {
		args = append(args, "org_id", t.OrganizationID)
	}
	if t.SiteID != "" {
		args = append(args, "site_id", t.SiteID)
	}
	switch {
	case errors.As(err, &cancel), job.Attempt >= job.MaxAttempts:
		h.log.ErrorContext(ctx, "job failed", args...)
	case errors.Is(err, context.Canceled):
		h.log.InfoContext(ctx, "job interrupted by shutdown, it runs again", args...)
	default:
		h.log.WarnContext(ctx, "job will be retried", args...)
	}
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	t := tenantOf(job)
	h.log.ErrorContext(ctx, "job panicked", "job_kind", label(job, t), "job_id", job.ID, "attempt", job.Attempt,
		"panic", fmt.Sprint(panicVal), "stack", trace)
	return nil
}

// riverLogger passes River's own warnings and errors to log (its per-job lines at info level
// repeat what errorHandler says).
func riverLogger(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(a), min: h.min}
}
func (h minLevel) WithGroup(n string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(n), min: h.min}
}

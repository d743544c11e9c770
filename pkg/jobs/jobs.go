package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/store"
)

// Job is one unit of background work as a handler sees it.
type Job struct {
	ID             string
	Kind           string
	Payload        json.RawMessage
	UniqueKey      string
	OrganizationID string
	// Attempt counts the runs so far, this one included (1 on the first run). Snoozes do not count.
	Attempt     int
	MaxAttempts int
	RunAt       time.Time
	CreatedAt   time.Time
	Deadline    *time.Time
	// Lease names this run's claim; results are written only while it still holds.
	Lease store.JobLease
}

// Decode unmarshals the job's payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return Permanent(fmt.Errorf("decode %s payload: %w", j.Kind, err))
	}
	return nil
}

func fromRow(r *store.Job) *Job {
	j := &Job{ID: r.ID, Kind: r.Kind, Payload: json.RawMessage(r.Payload), Attempt: r.Attempt, MaxAttempts: r.MaxAttempts,
		RunAt: r.RunAt, CreatedAt: r.CreatedAt, Deadline: r.Deadline, Lease: r.Lease()}
	if r.UniqueKey != nil {
		j.UniqueKey = *r.UniqueKey
	}
	if r.OrganizationID != nil {
		j.OrganizationID = *r.OrganizationID
	}
	return j
}

// EnqueueOption adjusts a job being enqueued.
type EnqueueOption func(*store.Job)

// RunAt makes the job due at t rather than now.
func RunAt(t time.Time) EnqueueOption { return func(j *store.Job) { j.RunAt = t } }

// UniqueKey makes the job unique per kind: enqueueing the same key again returns the existing job.
func UniqueKey(key string) EnqueueOption { return func(j *store.Job) { j.UniqueKey = &key } }

// MaxAttempts bounds how many times the job runs before it fails for good (default 25, or the
// handler's HandlerOptions.MaxAttempts when set).
func MaxAttempts(n int) EnqueueOption { return func(j *store.Job) { j.MaxAttempts = n } }

// Deadline gives the job up if it has not succeeded by t.
func Deadline(t time.Time) EnqueueOption { return func(j *store.Job) { j.Deadline = &t } }

// Organization tags the job with the organisation it works for (for operators and logs).
func Organization(id string) EnqueueOption {
	return func(j *store.Job) {
		if id != "" {
			j.OrganizationID = &id
		}
	}
}

// Enqueue queues a job of kind with a JSON payload. Call it on the Store of a transaction
// (store.InTx) to queue the job exactly when the change that needs it commits. With UniqueKey,
// an existing job of the same kind and key is returned with inserted false.
func Enqueue(ctx context.Context, s *store.Store, kind string, payload any, opts ...EnqueueOption) (job *Job, inserted bool, err error) {
	if kind == "" {
		return nil, false, domain.Invalid("kind", "a job needs a kind")
	}
	body := []byte("{}")
	if payload != nil {
		if body, err = json.Marshal(payload); err != nil {
			return nil, false, domain.Internal(err, "encode %s payload", kind)
		}
	}
	row := &store.Job{Kind: kind, Payload: string(body)}
	for _, o := range opts {
		o(row)
	}
	inserted, err = s.EnqueueJob(ctx, row)
	if err != nil {
		return nil, false, err
	}
	return fromRow(row), inserted, nil
}

// Handler runs one job. Returning nil completes it; Snooze, RetryAt and Permanent steer what
// happens next; any other error retries it with the kind's backoff until its attempts run out.
// The context is cancelled when the kind's timeout passes or the worker is shutting down.
type Handler func(ctx context.Context, job *Job) error

type snoozeError struct{ d time.Duration }

func (e *snoozeError) Error() string { return "snoozed for " + e.d.String() }

// Snooze asks to run the job again after d without counting this run as an attempt
// (the job is waiting for something, nothing failed).
func Snooze(d time.Duration) error { return &snoozeError{d: d} }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent fails the job for good: retrying cannot help.
func Permanent(err error) error {
	if err == nil {
		err = errors.New("failed permanently")
	}
	return &permanentError{err: err}
}

type retryAtError struct {
	at  time.Time
	err error
}

func (e *retryAtError) Error() string { return e.err.Error() }
func (e *retryAtError) Unwrap() error { return e.err }

// RetryAt retries the job at t (counting this run as a failed attempt), for handlers that keep
// their own schedule.
func RetryAt(t time.Time, err error) error {
	if err == nil {
		err = errors.New("retry requested")
	}
	return &retryAtError{at: t, err: err}
}

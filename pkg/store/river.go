package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"paygate.dev/pkg/domain"
)

// Background work runs on River (package queue). River keeps its own tables (river_job,
// river_leader, river_queue, ...), created by River's own migrations, which Migrate applies
// before ours (on PostgreSQL under the same lock). This file gives River what it needs from the
// store — the connection pool and the *sql.Tx of a transaction — without letting GORM out.

// SQLDB returns the store's connection pool (River's drivers run on it).
func (s *Store) SQLDB() (*sql.DB, error) { return s.db.DB() }

// SQLTx runs fn on the *sql.Tx of s's transaction when s comes from InTx, or of a new
// transaction otherwise; fn's statements commit with everything else the transaction writes.
func (s *Store) SQLTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.InTx(ctx, func(tx *Store) error {
		sqlTx, ok := tx.db.Statement.ConnPool.(*sql.Tx)
		if !ok {
			return domain.Internal(nil, "transaction has no *sql.Tx (%T)", tx.db.Statement.ConnPool)
		}
		return fn(sqlTx)
	})
}

func riverDriver(d Dialect, db *sql.DB) riverdriver.Driver[*sql.Tx] {
	if d == Postgres {
		return riverdatabasesql.New(db)
	}
	return riversqlite.New(db)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// checkRiverSchema returns an error naming the fix when River's schema is behind this build.
func (s *Store) checkRiverSchema(ctx context.Context) error {
	db, err := s.SQLDB()
	if err != nil {
		return err
	}
	m, err := rivermigrate.New(riverDriver(s.dialect, db), &rivermigrate.Config{Logger: quiet()})
	if err != nil {
		return err
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("read River's schema version: %w", err)
	}
	if !res.OK {
		return fmt.Errorf("River's schema (background jobs) is behind this build (%v): run `make migrate` (or the service's `migrate` command) first", res.Messages)
	}
	return nil
}

// legacyJobQueues maps each kind the jobs table (migrations 0001-0010) could hold to the River
// queue its work moves to; package queue checks these names against its job types. ipn.deliver
// and the periodic "every:" kinds need no job: notifications are owed by ipn_deliveries (the
// notifier's sweep queues them), periodic work is scheduled by River's leader.
var legacyJobQueues = map[string]string{
	"provider.event":                    "events",
	"duda.confirm":                      "duda",
	"duda.gateway":                      "duda",
	"duda.resume":                       "duda",
	"gocardless.cancel_billing_request": "providers",
}

// LegacyJobQueues returns the kind → River queue map used when adopting the jobs table (tests).
func LegacyJobQueues() map[string]string {
	out := make(map[string]string, len(legacyJobQueues))
	for k, v := range legacyJobQueues {
		out[k] = v
	}
	return out
}

// legacyJob is a queued row of the jobs table.
type legacyJob struct {
	ID          string
	Kind        string
	Payload     string
	Attempt     int
	MaxAttempts int
	RunAt       time.Time
}

func (s *Store) readLegacyJobs(ctx context.Context) ([]legacyJob, error) {
	var rows []legacyJob
	if err := s.q(ctx).Raw(`SELECT id, kind, payload, attempt, max_attempts, run_at FROM jobs
 WHERE state IN ('available', 'running') ORDER BY run_at, id`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read the jobs table: %w", err)
	}
	return rows, nil
}

// legacyArgs re-queues a legacy job's payload under its own kind.
type legacyArgs struct {
	kind    string
	payload json.RawMessage
}

func (a legacyArgs) Kind() string                 { return a.kind }
func (a legacyArgs) MarshalJSON() ([]byte, error) { return a.payload, nil }

// adoptLegacyJobs moves the queued rows of the jobs table (available, or running in a worker of
// the previous version) to River, with the same kind and payload, due when they were due, with
// the attempts they had left; a queued manual IPN resend becomes the delivery's resend request.
// It runs inside migration 0011's transaction, which drops the table: the work is adopted
// exactly once, or not at all. It returns how many rows it adopted.
//
// readLegacyJobs reads the rows before the migration's SQL drops the table; adoptLegacyJobs
// queues them after it ran (ipn_deliveries has its resend columns then).
func (s *Store) adoptLegacyJobs(ctx context.Context, rows []legacyJob) (int, error) {
	var params []river.InsertManyParams
	adopted := 0
	for _, r := range rows {
		switch {
		case r.Kind == "ipn.deliver", len(r.Kind) > 6 && r.Kind[:6] == "every:":
			continue
		case r.Kind == "ipn.resend":
			var p struct {
				DeliveryID  string `json:"deliveryId"`
				RequestedBy string `json:"requestedBy"`
			}
			if err := json.Unmarshal([]byte(r.Payload), &p); err != nil || p.DeliveryID == "" {
				return 0, fmt.Errorf("legacy job %s (ipn.resend): unreadable payload", r.ID)
			}
			if err := s.RequestIPNResend(ctx, p.DeliveryID, p.RequestedBy, UTC(r.RunAt)); err != nil && !domain.IsNotFound(err) {
				return 0, err
			}
			adopted++
			continue
		}
		q, ok := legacyJobQueues[r.Kind]
		if !ok {
			return 0, fmt.Errorf("legacy job %s has kind %q, which has no River queue: finish or delete it with the previous version first", r.ID, r.Kind)
		}
		if !json.Valid([]byte(r.Payload)) {
			return 0, fmt.Errorf("legacy job %s (%s): payload is not JSON", r.ID, r.Kind)
		}
		opts := &river.InsertOpts{Queue: q, MaxAttempts: max(r.MaxAttempts-r.Attempt, 1)}
		if r.RunAt.After(time.Now()) {
			opts.ScheduledAt = UTC(r.RunAt) // else available at once (River schedules any given time)
		}
		params = append(params, river.InsertManyParams{Args: legacyArgs{kind: r.Kind, payload: json.RawMessage(r.Payload)}, InsertOpts: opts})
	}
	if len(params) > 0 {
		client, err := river.NewClient(riverDriver(s.dialect, nil), &river.Config{Logger: quiet()})
		if err != nil {
			return 0, err
		}
		if err := s.SQLTx(ctx, func(tx *sql.Tx) error {
			_, err := client.InsertManyTx(ctx, tx, params)
			return err
		}); err != nil {
			return 0, fmt.Errorf("adopt legacy jobs: %w", err)
		}
		adopted += len(params)
	}
	return adopted, nil
}

// RiverLeader returns the id of the River client that is the elected leader ("" when none is).
func (s *Store) RiverLeader(ctx context.Context) (string, error) {
	var ids []string
	if err := s.q(ctx).Raw(`SELECT leader_id FROM river_leader`).Scan(&ids).Error; err != nil {
		return "", translate(err, "river leader")
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}

// QueueStat is one River queue's unfinished jobs: by state, and how long the longest-waiting
// available job has been due.
type QueueStat struct {
	Queue            string
	State            string
	N                int64
	OldestDueSeconds float64
}

// RiverQueueStats counts unfinished River jobs by queue and state (available jobs are those
// due now), with the age of the oldest due one (metrics, at scrape time, on the leader).
func (s *Store) RiverQueueStats(ctx context.Context) ([]QueueStat, error) {
	age := `EXTRACT(EPOCH FROM (now() - MIN(scheduled_at)))`
	if s.dialect == SQLite {
		age = `(julianday('now') - julianday(MIN(scheduled_at))) * 86400.0`
	}
	var out []QueueStat
	err := s.q(ctx).Raw(`SELECT queue, state, COUNT(*) AS n, CASE WHEN state = 'available' THEN ` + age + ` ELSE 0 END AS oldest_due_seconds
 FROM river_job WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')
 GROUP BY queue, state ORDER BY queue, state`).Scan(&out).Error
	return out, translate(err, "river jobs")
}

// DeleteScheduledRiverJob deletes a River job that has not started yet (a fallback made
// unnecessary); a job already running or finished is left alone. It reports whether it went.
func (s *Store) DeleteScheduledRiverJob(ctx context.Context, id int64) (bool, error) {
	res := s.q(ctx).Exec(`DELETE FROM river_job WHERE id = ? AND state IN ('scheduled', 'available', 'retryable')`, id)
	return res.RowsAffected > 0, translate(res.Error, "river job")
}

// RiverJob is a River job as tests and operators see it.
type RiverJob struct {
	ID          int64
	Kind        string
	Queue       string
	State       string
	Attempt     int
	MaxAttempts int
	Args        string
}

// ListRiverJobs returns River jobs of a kind, oldest first (tests and operator tooling).
func (s *Store) ListRiverJobs(ctx context.Context, kind string, limit int) ([]RiverJob, error) {
	args := `args::text`
	if s.dialect == SQLite {
		args = `json(args)`
	}
	var out []RiverJob
	err := s.q(ctx).Raw(`SELECT id, kind, queue, state, attempt, max_attempts, `+args+` AS args FROM river_job
 WHERE kind = ? ORDER BY id LIMIT ?`, kind, limit).Scan(&out).Error
	return out, translate(err, "river jobs")
}

// RiverWork counts the River jobs of some queues that are available (due or snoozed briefly)
// and running (tests wait for queues to drain).
func (s *Store) RiverWork(ctx context.Context, queues []string) (available, running int64, err error) {
	var rows []struct {
		State string
		N     int64
	}
	err = s.q(ctx).Raw(`SELECT state, COUNT(*) AS n FROM river_job WHERE state IN ('available', 'running') AND queue IN ? GROUP BY state`, queues).
		Scan(&rows).Error
	for _, r := range rows {
		if r.State == "available" {
			available = r.N
		} else {
			running = r.N
		}
	}
	return available, running, translate(err, "river jobs")
}

// MakeRiverJobsDue makes the scheduled and retrying River jobs of some queues due now, as if
// their time had come (tests moving their clock on).
func (s *Store) MakeRiverJobsDue(ctx context.Context, queues []string) error {
	now := `now()`
	if s.dialect == SQLite {
		now = `datetime('now', 'subsec')`
	}
	return translate(s.q(ctx).Exec(`UPDATE river_job SET state = 'available', scheduled_at = `+now+`
 WHERE state IN ('scheduled', 'retryable') AND queue IN ?`, queues).Error, "river jobs")
}

package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/logging/logtest"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// each runs fn once per database, each time on a database of its own: River clients work every
// job of their queues and elect one leader per database, so tests sharing one would mix.
func each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d)
			t.Cleanup(func() { _ = s.Close() })
			_, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			fn(t, s)
		})
	}
}

// start runs a client until the test ends.
func start(t *testing.T, cfg queue.Config) *queue.Client {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = logging.Discard()
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	cfg.Test = true
	c, err := queue.New(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = c.Stop(sctx)
	})
	return c
}

func job(t *testing.T, c *queue.Client, id int64) *rivertype.JobRow {
	t.Helper()
	j, err := c.River().JobGet(ctx, id)
	require.NoError(t, err)
	return j
}

// waitState waits until a job is in one of states.
func waitState(t *testing.T, c *queue.Client, id int64, states ...rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	var last *rivertype.JobRow
	require.Eventually(t, func() bool {
		last = job(t, c, id)
		for _, s := range states {
			if last.State == s {
				return true
			}
		}
		return false
	}, 30*time.Second, 10*time.Millisecond, "job %d never reached %v", id, states)
	return last
}

type testArgs struct {
	Do             string `json:"do"`
	Key            string `json:"key,omitempty" river:"unique"`
	OrganizationID string `json:"organizationId,omitempty"`
}

func (testArgs) Kind() string { return "test.outcome" }

func (a testArgs) InsertOpts() river.InsertOpts {
	o := river.InsertOpts{Queue: queue.Maintenance, MaxAttempts: 5}
	if a.Key != "" {
		o.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: queue.Unfinished}
	}
	return o
}

type testWorker struct {
	river.WorkerDefaults[testArgs]
	runs    atomic.Int32
	log     func(ctx context.Context, msg string)
	release chan struct{}
	started chan struct{}
}

func (w *testWorker) NextRetry(*river.Job[testArgs]) time.Time {
	return time.Now().Add(7 * time.Second)
}

func (w *testWorker) Timeout(job *river.Job[testArgs]) time.Duration {
	if job.Args.Do == "slow" {
		return 50 * time.Millisecond
	}
	return time.Minute
}

func (w *testWorker) Work(ctx context.Context, job *river.Job[testArgs]) error {
	w.runs.Add(1)
	switch job.Args.Do {
	case "ok":
		if w.log != nil {
			w.log(ctx, "working")
		}
		return nil
	case "fail":
		return errors.New("temporary trouble")
	case "snooze":
		return river.JobSnooze(time.Minute)
	case "cancel":
		return river.JobCancel(errors.New("cannot ever work"))
	case "panic":
		panic("handler bug")
	case "slow":
		<-ctx.Done()
		return ctx.Err()
	case "block":
		close(w.started)
		select {
		case <-w.release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("unknown %q", job.Args.Do)
}

func workers(w *testWorker) *river.Workers {
	ws := river.NewWorkers()
	river.AddWorker[testArgs](ws, w)
	return ws
}

func insert(t *testing.T, s *store.Store, args testArgs, opts *river.InsertOpts) *rivertype.JobInsertResult {
	t.Helper()
	res, err := queue.Insert(ctx, s, args, opts)
	require.NoError(t, err)
	return res
}

func TestInsertJoinsTheTransaction(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *store.Store) {
		org := storetest.Org(t, s)
		err := s.InTx(ctx, func(tx *store.Store) error {
			insert(t, tx, testArgs{Do: "ok"}, nil)
			return errors.New("the change failed")
		})
		require.Error(t, err)
		jobs, err := s.ListRiverJobs(ctx, "test.outcome", 10)
		require.NoError(t, err)
		require.Empty(t, jobs, "no job without its change")

		err = s.InTx(ctx, func(tx *store.Store) error {
			first := insert(t, tx, testArgs{Do: "ok", Key: "order-1"}, nil)
			again := insert(t, tx, testArgs{Do: "ok", Key: "order-1"}, nil)
			require.False(t, first.UniqueSkippedAsDuplicate)
			require.True(t, again.UniqueSkippedAsDuplicate, "a unique job is inserted once")
			require.Equal(t, first.Job.ID, again.Job.ID)
			// The transaction still works after the duplicate (no aborted PostgreSQL transaction).
			_, err := tx.GetOrganization(ctx, org.ID)
			return err
		})
		require.NoError(t, err)
		jobs, err = s.ListRiverJobs(ctx, "test.outcome", 10)
		require.NoError(t, err)
		require.Len(t, jobs, 1)
		require.Equal(t, queue.Maintenance, jobs[0].Queue, "the kind's queue")
		other := insert(t, s, testArgs{Do: "ok", Key: "order-2"}, nil)
		require.False(t, other.UniqueSkippedAsDuplicate, "other arguments, another job")
	})
}

func TestWorkerOutcomes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *store.Store) {
		w := &testWorker{}
		m := metrics.New()
		c := start(t, queue.Config{Store: s, Metrics: m, Queues: map[string]int{queue.Maintenance: 4}, Workers: workers(w)})
		ids := map[string]int64{}
		for _, do := range []string{"ok", "fail", "snooze", "cancel", "panic", "slow"} {
			ids[do] = insert(t, s, testArgs{Do: do}, nil).Job.ID
		}
		waitState(t, c, ids["ok"], rivertype.JobStateCompleted)

		j := waitState(t, c, ids["fail"], rivertype.JobStateRetryable)
		require.Equal(t, 1, j.Attempt)
		require.Equal(t, "temporary trouble", j.Errors[0].Error)
		require.WithinDuration(t, time.Now().Add(7*time.Second), j.ScheduledAt, 3*time.Second, "the kind's backoff decides when")

		j = waitState(t, c, ids["snooze"], rivertype.JobStateScheduled)
		require.Equal(t, 0, j.Attempt, "snoozes are not attempts")
		require.WithinDuration(t, time.Now().Add(time.Minute), j.ScheduledAt, 5*time.Second)

		j = waitState(t, c, ids["cancel"], rivertype.JobStateCancelled)
		require.Contains(t, j.Errors[0].Error, "cannot ever work")

		j = waitState(t, c, ids["panic"], rivertype.JobStateRetryable)
		require.Contains(t, j.Errors[0].Error, "handler bug", "a panic is a failed attempt, not a crash")

		j = waitState(t, c, ids["slow"], rivertype.JobStateRetryable)
		require.Contains(t, j.Errors[0].Error, "deadline exceeded", "a run past its timeout is retried")
		require.Equal(t, int32(6), w.runs.Load())

		t.Run("AttemptsRunOut", func(t *testing.T) {
			id := insert(t, s, testArgs{Do: "fail"}, &river.InsertOpts{MaxAttempts: 1}).Job.ID
			j := waitState(t, c, id, rivertype.JobStateDiscarded)
			require.Equal(t, 1, j.Attempt)
		})

		got, err := m.Gather()
		require.NoError(t, err)
		require.Equal(t, 1.0, got["paygate_jobs_processed_total{kind=test.outcome}{outcome=completed}"])
		require.Equal(t, 3.0, got["paygate_jobs_processed_total{kind=test.outcome}{outcome=retried}"], "fail, panic, slow")
		require.Equal(t, 1.0, got["paygate_jobs_processed_total{kind=test.outcome}{outcome=failed}"])
		require.Equal(t, 1.0, got["paygate_jobs_processed_total{kind=test.outcome}{outcome=snoozed}"])
		require.Equal(t, 1.0, got["paygate_jobs_processed_total{kind=test.outcome}{outcome=cancelled}"])
		require.Eventually(t, func() bool { return c.IsLeader(ctx) }, 20*time.Second, 50*time.Millisecond, "the only client is elected")
		got, err = m.Gather()
		require.NoError(t, err)
		require.Equal(t, 1.0, got["paygate_jobs_leader"])
		require.Equal(t, 1.0, got["paygate_jobs{queue=maintenance}{state=scheduled}"], "queue gauges come from the database")
		require.Equal(t, 3.0, got["paygate_jobs{queue=maintenance}{state=retryable}"])
	})
}

func TestTwoClientsNeverRunTheSameJobTwice(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *store.Store) {
		const n = 300
		var mu sync.Mutex
		runs := map[int64]int{}
		byClient := map[string]int{}
		var params []river.InsertManyParams
		for i := 0; i < n; i++ {
			params = append(params, river.InsertManyParams{Args: countArgs{I: i}})
		}
		_, err := queue.InsertMany(ctx, s, params)
		require.NoError(t, err)
		for _, name := range []string{"process-a", "process-b"} {
			ws := river.NewWorkers()
			river.AddWorker[countArgs](ws, river.WorkFunc(func(ctx context.Context, j *river.Job[countArgs]) error {
				mu.Lock()
				runs[j.ID]++
				byClient[name]++
				mu.Unlock()
				return nil
			}))
			start(t, queue.Config{Store: s, ID: name, Queues: map[string]int{queue.Events: 4}, Workers: ws})
		}
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(runs) >= n
		}, 60*time.Second, 10*time.Millisecond)
		// Every job finished in River's table: none can be fetched and run again after this.
		db, err := s.SQLDB()
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			var done int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = 'test.count' AND state = 'completed'`).Scan(&done))
			return done == n
		}, 60*time.Second, 10*time.Millisecond, "every job is completed")
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, runs, n)
		for id, count := range runs {
			require.Equal(t, 1, count, "job %d ran more than once", id)
		}
		t.Logf("runs per client: %v", byClient)
	})
}

type countArgs struct {
	I int `json:"i"`
}

func (countArgs) Kind() string                 { return "test.count" }
func (countArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: queue.Events} }

// Periodic tasks are inserted by the leader only: two clients that both know a task every
// second run it about once a second, not twice.
func TestPeriodicTasksRunOncePerPeriodFromTheLeader(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *store.Store) {
		var count atomic.Int32
		var clients []*queue.Client
		for _, name := range []string{"replica-a", "replica-b"} {
			p := queue.NewPeriodic()
			p.Every("tick", queue.Maintenance, time.Second, func(context.Context) error { count.Add(1); return nil })
			clients = append(clients, start(t, queue.Config{Store: s, ID: name, Queues: map[string]int{queue.Maintenance: 2},
				Workers: river.NewWorkers(), Periodic: p}))
		}
		require.Eventually(t, func() bool { return count.Load() > 0 }, 30*time.Second, 20*time.Millisecond, "the leader runs the task")
		first := time.Now()
		time.Sleep(4 * time.Second)
		elapsed := time.Since(first)
		got := int(count.Load()) - 1
		leaders := 0
		for _, c := range clients {
			if c.IsLeader(ctx) {
				leaders++
			}
		}
		require.Equal(t, 1, leaders, "one leader")
		periods := int(elapsed / time.Second)
		require.GreaterOrEqual(t, got, periods-1, "about one run per period")
		require.LessOrEqual(t, got, periods+1, "not one per client")
		jobs, err := s.ListRiverJobs(ctx, queue.KindEvery, 100)
		require.NoError(t, err)
		require.InDelta(t, got+1, len(jobs), 1, "one job per period")
	})
}

func TestStopIsGraceful(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *store.Store) {
		t.Run("RunningJobsFinish", func(t *testing.T) {
			w := &testWorker{started: make(chan struct{}), release: make(chan struct{})}
			c, err := queue.New(ctx, queue.Config{Store: s, Log: logging.Discard(), Queues: map[string]int{queue.Maintenance: 1},
				Workers: workers(w), PollInterval: 20 * time.Millisecond, Test: true})
			require.NoError(t, err)
			require.NoError(t, c.Start(ctx))
			id := insert(t, s, testArgs{Do: "block"}, nil).Job.ID
			<-w.started
			go func() { time.Sleep(100 * time.Millisecond); close(w.release) }()
			sctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			require.NoError(t, c.Stop(sctx))
			j, err := s.ListRiverJobs(ctx, "test.outcome", 10)
			require.NoError(t, err)
			require.Equal(t, id, j[0].ID)
			require.Equal(t, "completed", j[0].State)
		})
		t.Run("JobsStillRunningAtTheDeadlineAreCancelledAndRequeued", func(t *testing.T) {
			w := &testWorker{started: make(chan struct{}), release: make(chan struct{})}
			c, err := queue.New(ctx, queue.Config{Store: s, Log: logging.Discard(), Queues: map[string]int{queue.Maintenance: 1},
				Workers: workers(w), PollInterval: 20 * time.Millisecond, Test: true})
			require.NoError(t, err)
			require.NoError(t, c.Start(ctx))
			id := insert(t, s, testArgs{Do: "block"}, nil).Job.ID
			<-w.started
			sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_ = c.Stop(sctx)
			var j store.RiverJob
			for _, r := range mustList(t, s) {
				if r.ID == id {
					j = r
				}
			}
			require.Equal(t, "available", j.State, "the job goes back to the queue")
			require.Equal(t, 0, j.Attempt, "an interrupted run is not held against the job")
		})
	})
}

func mustList(t *testing.T, s *store.Store) []store.RiverJob {
	t.Helper()
	out, err := s.ListRiverJobs(ctx, "test.outcome", 100)
	require.NoError(t, err)
	return out
}

// A job's log lines carry its kind and id and, when its arguments name them, its organisation.
func TestJobLogLinesAreTagged(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *store.Store) {
		logs := logtest.New()
		log := logs.Logger("test")
		w := &testWorker{log: func(ctx context.Context, msg string) { log.InfoContext(ctx, msg) }}
		c := start(t, queue.Config{Store: s, Log: log, Queues: map[string]int{queue.Maintenance: 1}, Workers: workers(w)})
		id := insert(t, s, testArgs{Do: "ok", OrganizationID: "org_abc"}, nil).Job.ID
		waitState(t, c, id, rivertype.JobStateCompleted)
		var line map[string]any
		for _, l := range logs.Lines() {
			if strings.Contains(l, `"msg":"working"`) {
				require.NoError(t, json.Unmarshal([]byte(l), &line))
			}
		}
		require.NotNil(t, line)
		require.Equal(t, "org_abc", line["org_id"])
		require.Equal(t, "test.outcome", line["job_kind"])
		require.EqualValues(t, id, line["job_id"])
	})
}

// The queues each legacy job kind is adopted into exist.
func TestLegacyKindsMapToQueues(t *testing.T) {
	for kind, q := range store.LegacyJobQueues() {
		_, ok := queue.Concurrency[q]
		require.True(t, ok, "%s → %s", kind, q)
	}
}

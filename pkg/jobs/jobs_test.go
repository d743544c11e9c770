package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/jobs"
	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/store"
	"paygate.dev/pkg/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

var ctx = context.Background()

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: store.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// kind returns a job kind no other test uses, so tests sharing a database keep apart.
func kind(name string) string { return name + "." + domain.RandomString(8) }

func newWorker(s *store.Store, c *clock, id string) (*jobs.Worker, *metrics.Registry) {
	m := metrics.New()
	cfg := jobs.Config{Store: s, ID: id, Log: logging.Discard(), Metrics: m, Retention: -1, Concurrency: 4}
	if c != nil {
		cfg.Now = c.Now
	}
	return jobs.NewWorker(cfg), m
}

func getJob(t *testing.T, s *store.Store, id string) *store.Job {
	t.Helper()
	j, err := s.GetJob(ctx, id)
	require.NoError(t, err)
	return j
}

func TestQueueStateMachine(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		k := kind("queue")
		now := store.Now()
		late, _, err := jobs.Enqueue(ctx, s, k, map[string]string{"n": "late"}, jobs.RunAt(now.Add(time.Hour)))
		require.NoError(t, err)
		second, _, err := jobs.Enqueue(ctx, s, k, map[string]string{"n": "second"}, jobs.RunAt(now))
		require.NoError(t, err)
		first, _, err := jobs.Enqueue(ctx, s, k, map[string]string{"n": "first"}, jobs.RunAt(now.Add(-time.Second)), jobs.Organization("org_x"))
		require.NoError(t, err)

		claimed, err := s.ClaimJobs(ctx, "w1", []string{k}, 10, time.Minute, now)
		require.NoError(t, err)
		require.Len(t, claimed, 2, "only due jobs are claimed")
		require.Equal(t, []string{first.ID, second.ID}, []string{claimed[0].ID, claimed[1].ID}, "oldest due first")
		for _, j := range claimed {
			require.Equal(t, store.JobRunning, j.State)
			require.Equal(t, 1, j.Attempt)
			require.Equal(t, "w1", *j.LockedBy)
			require.True(t, j.LockedUntil.Equal(now.Add(time.Minute)))
		}
		require.Equal(t, "org_x", *claimed[0].OrganizationID)
		require.JSONEq(t, `{"n":"first"}`, claimed[0].Payload)

		again, err := s.ClaimJobs(ctx, "w2", []string{k}, 10, time.Minute, now)
		require.NoError(t, err)
		require.Empty(t, again, "a leased job is not claimed twice")

		t.Run("Complete", func(t *testing.T) {
			require.NoError(t, s.CompleteJob(ctx, claimed[0].Lease(), now))
			j := getJob(t, s, first.ID)
			require.Equal(t, store.JobCompleted, j.State)
			require.NotNil(t, j.FinishedAt)
			require.Nil(t, j.LockedBy)
			require.Equal(t, store.CodeLeaseLost, domain.ErrorCode(s.CompleteJob(ctx, claimed[0].Lease(), now)), "a result is written once")
		})
		t.Run("RetryKeepsTheAttemptSnoozeGivesItBack", func(t *testing.T) {
			require.NoError(t, s.RetryJob(ctx, claimed[1].Lease(), now.Add(10*time.Second), "boom"))
			j := getJob(t, s, second.ID)
			require.Equal(t, store.JobAvailable, j.State)
			require.Equal(t, 1, j.Attempt)
			require.Equal(t, "boom", j.LastError)
			require.True(t, j.RunAt.Equal(now.Add(10*time.Second)))

			got, err := s.ClaimJobs(ctx, "w1", []string{k}, 10, time.Minute, now.Add(10*time.Second))
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.Equal(t, 2, got[0].Attempt)
			require.NoError(t, s.SnoozeJob(ctx, got[0].Lease(), now.Add(20*time.Second), ""))
			j = getJob(t, s, second.ID)
			require.Equal(t, 1, j.Attempt, "a snooze is not an attempt")
			require.True(t, j.RunAt.Equal(now.Add(20*time.Second)))

			got, err = s.ClaimJobs(ctx, "w1", []string{k}, 10, time.Minute, now.Add(20*time.Second))
			require.NoError(t, err)
			require.Len(t, got, 1)
			require.NoError(t, s.FailJob(ctx, got[0].Lease(), "gave up", now))
			j = getJob(t, s, second.ID)
			require.Equal(t, store.JobFailed, j.State)
			require.Equal(t, "gave up", j.LastError)
		})
		t.Run("KickMovesAnAvailableJobForward", func(t *testing.T) {
			k2 := kind("kick")
			j, _, err := jobs.Enqueue(ctx, s, k2, nil, jobs.UniqueKey("u1"), jobs.RunAt(now.Add(time.Hour)))
			require.NoError(t, err)
			moved, err := s.KickJob(ctx, k2, "u1", now)
			require.NoError(t, err)
			require.True(t, moved)
			require.True(t, getJob(t, s, j.ID).RunAt.Equal(now))
			moved, err = s.KickJob(ctx, k2, "u1", now.Add(time.Minute))
			require.NoError(t, err)
			require.False(t, moved, "a kick never delays a job")
			next, err := s.NextJobRunAt(ctx, []string{k2})
			require.NoError(t, err)
			require.True(t, next.Equal(now))
		})
		t.Run("AKickDuringARunIsKeptWhenTheRunSnoozes", func(t *testing.T) {
			k3 := kind("kickrun")
			j, _, err := jobs.Enqueue(ctx, s, k3, nil, jobs.UniqueKey("u1"), jobs.RunAt(now))
			require.NoError(t, err)
			claim := func() store.JobLease {
				got, err := s.ClaimJobs(ctx, "w1", []string{k3}, 1, time.Minute, now.Add(time.Hour))
				require.NoError(t, err)
				require.Len(t, got, 1)
				return got[0].Lease()
			}
			// The run looks, decides to wait an hour; the kick comes before it says so.
			l := claim()
			moved, err := s.KickJob(ctx, k3, "u1", now.Add(time.Second))
			require.NoError(t, err)
			require.False(t, moved, "a running job is not moved, only told")
			require.NoError(t, s.SnoozeJob(ctx, l, now.Add(time.Hour), ""))
			got := getJob(t, s, j.ID)
			require.True(t, got.RunAt.Equal(now.Add(time.Second)), "the kick wins over the longer snooze: %s", got.RunAt)
			require.Nil(t, got.KickedAt)

			// A kick later than the snooze does not delay it.
			l = claim()
			_, err = s.KickJob(ctx, k3, "u1", now.Add(2*time.Hour))
			require.NoError(t, err)
			require.NoError(t, s.SnoozeJob(ctx, l, now.Add(time.Minute), ""))
			require.True(t, getJob(t, s, j.ID).RunAt.Equal(now.Add(time.Minute)))

			// A retry keeps its own backoff: the kick answers waiting, not failing.
			l = claim()
			_, err = s.KickJob(ctx, k3, "u1", now)
			require.NoError(t, err)
			require.NoError(t, s.RetryJob(ctx, l, now.Add(time.Hour), "boom"))
			got = getJob(t, s, j.ID)
			require.True(t, got.RunAt.Equal(now.Add(time.Hour)))
			require.Nil(t, got.KickedAt, "the kick ends with the run")

			// A new claim starts without an earlier run's kick.
			l = claim()
			require.NoError(t, s.SnoozeJob(ctx, l, now.Add(3*time.Hour), ""))
			require.True(t, getJob(t, s, j.ID).RunAt.Equal(now.Add(3*time.Hour)))
		})
		t.Run("AKickRacingASnoozeIsNeverLost", func(t *testing.T) {
			// A run that began before the kick may end by snoozing at any moment around it:
			// whichever comes first, the job must end up due at the kick, not after its snooze.
			k4 := kind("kickrace")
			j, _, err := jobs.Enqueue(ctx, s, k4, nil, jobs.UniqueKey("u1"), jobs.RunAt(now))
			require.NoError(t, err)
			for i := 0; i < 150; i++ {
				due := now.Add(time.Duration(i) * time.Second)
				got, err := s.ClaimJobs(ctx, "w1", []string{k4}, 1, time.Minute, due)
				require.NoError(t, err)
				require.Len(t, got, 1, "round %d", i)
				var wg sync.WaitGroup
				wg.Add(2)
				go func() {
					defer wg.Done()
					if err := s.SnoozeJob(ctx, got[0].Lease(), due.Add(time.Hour), ""); err != nil {
						t.Error(err)
					}
				}()
				go func() {
					defer wg.Done()
					if _, err := s.KickJob(ctx, k4, "u1", due); err != nil {
						t.Error(err)
					}
				}()
				wg.Wait()
				after := getJob(t, s, j.ID)
				require.Equal(t, store.JobAvailable, after.State)
				require.True(t, !after.RunAt.After(due), "round %d: the kick was lost, the job waits until %s", i, after.RunAt)
			}
		})
		_ = late
	})
}

func TestUniqueKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		k := kind("unique")
		a, inserted, err := jobs.Enqueue(ctx, s, k, map[string]int{"v": 1}, jobs.UniqueKey("order-1"))
		require.NoError(t, err)
		require.True(t, inserted)
		b, inserted, err := jobs.Enqueue(ctx, s, k, map[string]int{"v": 2}, jobs.UniqueKey("order-1"))
		require.NoError(t, err, "a duplicate key is not an error")
		require.False(t, inserted)
		require.Equal(t, a.ID, b.ID, "the existing job is returned")
		require.JSONEq(t, `{"v":1}`, string(b.Payload))

		_, inserted, err = jobs.Enqueue(ctx, s, kind("other"), nil, jobs.UniqueKey("order-1"))
		require.NoError(t, err)
		require.True(t, inserted, "keys are unique per kind")
		_, inserted, err = jobs.Enqueue(ctx, s, k, nil)
		require.NoError(t, err)
		require.True(t, inserted, "jobs without a key never collide")

		t.Run("DuplicateInsideATransactionKeepsItUsable", func(t *testing.T) {
			org := storetest.Org(t, s)
			err := s.InTx(ctx, func(tx *store.Store) error {
				if _, _, err := jobs.Enqueue(ctx, tx, k, nil, jobs.UniqueKey("order-1")); err != nil {
					return err
				}
				// The transaction still works after the duplicate (no aborted PostgreSQL transaction).
				_, err := tx.GetOrganization(ctx, org.ID)
				return err
			})
			require.NoError(t, err)
		})
		t.Run("RolledBackWithTheChange", func(t *testing.T) {
			var id string
			err := s.InTx(ctx, func(tx *store.Store) error {
				j, _, err := jobs.Enqueue(ctx, tx, k, nil, jobs.UniqueKey("order-2"))
				id = j.ID
				require.NoError(t, err)
				return errors.New("the change failed")
			})
			require.Error(t, err)
			_, err = s.GetJob(ctx, id)
			require.True(t, domain.IsNotFound(err), "no job without its change")
		})
	})
}

func TestExpiredLeaseIsTakenOverAndTheStaleResultRefused(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		k := kind("lease")
		now := store.Now()
		j, _, err := jobs.Enqueue(ctx, s, k, nil, jobs.RunAt(now))
		require.NoError(t, err)
		a, err := s.ClaimJobs(ctx, "worker-a", []string{k}, 1, time.Minute, now)
		require.NoError(t, err)
		require.Len(t, a, 1)

		b, err := s.ClaimJobs(ctx, "worker-b", []string{k}, 1, time.Minute, now.Add(30*time.Second))
		require.NoError(t, err)
		require.Empty(t, b, "the lease still holds")

		b, err = s.ClaimJobs(ctx, "worker-b", []string{k}, 1, time.Minute, now.Add(61*time.Second))
		require.NoError(t, err)
		require.Len(t, b, 1, "an expired lease is taken over")
		require.Equal(t, 2, b[0].Attempt, "the lost run counts as an attempt")

		for _, op := range []func() error{
			func() error { return s.CompleteJob(ctx, a[0].Lease(), now) },
			func() error { return s.RetryJob(ctx, a[0].Lease(), now, "x") },
			func() error { return s.SnoozeJob(ctx, a[0].Lease(), now, "") },
			func() error { return s.FailJob(ctx, a[0].Lease(), "x", now) },
		} {
			require.Equal(t, store.CodeLeaseLost, domain.ErrorCode(op()), "the stale worker cannot write a result")
		}
		require.NoError(t, s.CompleteJob(ctx, b[0].Lease(), now))
		got := getJob(t, s, j.ID)
		require.Equal(t, store.JobCompleted, got.State)
	})
}

func TestWorkerOutcomes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := newClock()
		w, m := newWorker(s, c, "outcomes-"+domain.RandomString(4))
		k := kind("outcome")
		var runs atomic.Int32
		w.Register(k, func(ctx context.Context, j *jobs.Job) error {
			runs.Add(1)
			var p struct{ Do string }
			if err := j.Decode(&p); err != nil {
				return err
			}
			switch p.Do {
			case "ok":
				return nil
			case "fail":
				return errors.New("temporary trouble")
			case "snooze":
				return jobs.Snooze(time.Minute)
			case "permanent":
				return jobs.Permanent(errors.New("cannot ever work"))
			case "panic":
				panic("handler bug")
			case "retry-at":
				return jobs.RetryAt(c.Now().Add(42*time.Second), errors.New("try later"))
			case "slow":
				<-ctx.Done()
				return ctx.Err()
			}
			return fmt.Errorf("unknown %q", p.Do)
		}, jobs.HandlerOptions{Timeout: 50 * time.Millisecond, Backoff: func(int) time.Duration { return 7 * time.Second }})

		enqueue := func(do string, opts ...jobs.EnqueueOption) string {
			j, _, err := jobs.Enqueue(ctx, s, k, map[string]string{"do": do}, append(opts, jobs.RunAt(c.Now()))...)
			require.NoError(t, err)
			return j.ID
		}
		ok, fail, snooze, perm, pan, retryAt, slow := enqueue("ok"), enqueue("fail"), enqueue("snooze"), enqueue("permanent"), enqueue("panic"), enqueue("retry-at"), enqueue("slow")
		for n := 0; n < 3; n++ { // Concurrency 4: two rounds take all seven
			_, err := w.RunOnce(ctx)
			require.NoError(t, err)
		}
		now := c.Now()
		require.Equal(t, store.JobCompleted, getJob(t, s, ok).State)

		j := getJob(t, s, fail)
		require.Equal(t, store.JobAvailable, j.State)
		require.Equal(t, 1, j.Attempt)
		require.Equal(t, "temporary trouble", j.LastError)
		require.True(t, j.RunAt.Equal(now.Add(7*time.Second)), "the kind's backoff decides when")

		j = getJob(t, s, snooze)
		require.Equal(t, 0, j.Attempt, "snoozes are not attempts")
		require.True(t, j.RunAt.Equal(now.Add(time.Minute)))

		j = getJob(t, s, perm)
		require.Equal(t, store.JobFailed, j.State)
		require.Equal(t, "cannot ever work", j.LastError)

		j = getJob(t, s, pan)
		require.Equal(t, store.JobAvailable, j.State, "a panic is a failed attempt, not a crash")
		require.Contains(t, j.LastError, "panic: handler bug")

		j = getJob(t, s, retryAt)
		require.True(t, j.RunAt.Equal(now.Add(42*time.Second)))

		j = getJob(t, s, slow)
		require.Equal(t, store.JobAvailable, j.State, "a run past its timeout is retried")
		require.Contains(t, j.LastError, "deadline exceeded")
		require.Equal(t, int32(7), runs.Load())

		got, err := m.Gather()
		require.NoError(t, err)
		require.Equal(t, 1.0, got["paygate_jobs_processed_total{kind="+k+"}{outcome=completed}"])
		require.Equal(t, 4.0, got["paygate_jobs_processed_total{kind="+k+"}{outcome=retried}"])
		require.Equal(t, 1.0, got["paygate_jobs_processed_total{kind="+k+"}{outcome=failed}"])
		require.Equal(t, 1.0, got["paygate_jobs_processed_total{kind="+k+"}{outcome=snoozed}"])
		require.Equal(t, 5.0, got["paygate_jobs{kind="+k+"}{state=scheduled}"], "queue gauges come from the database")

		t.Run("AttemptsRunOut", func(t *testing.T) {
			id := enqueue("fail", jobs.MaxAttempts(2))
			for i := 0; i < 2; i++ {
				c.Advance(10 * time.Second)
				_, err := w.RunOnce(ctx)
				require.NoError(t, err)
			}
			j := getJob(t, s, id)
			require.Equal(t, store.JobFailed, j.State)
			require.Equal(t, 2, j.Attempt)
		})
		t.Run("DeadlinePassed", func(t *testing.T) {
			before := runs.Load()
			id := enqueue("ok", jobs.Deadline(c.Now().Add(time.Second)))
			c.Advance(time.Minute)
			// Everything else due now runs too; only this job's state matters.
			for i := 0; i < 3; i++ {
				_, err := w.RunOnce(ctx)
				require.NoError(t, err)
			}
			require.Equal(t, store.JobFailed, getJob(t, s, id).State)
			require.Contains(t, getJob(t, s, id).LastError, "deadline")
			_ = before
		})
	})
}

func TestTwoWorkersNeverRunTheSameJobAttemptTwice(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		const n = 300
		k := kind("race")
		for i := 0; i < n; i++ {
			_, _, err := jobs.Enqueue(ctx, s, k, map[string]int{"i": i})
			require.NoError(t, err)
		}
		var mu sync.Mutex
		runs := map[string]int{} // "job id/attempt" → executions
		byWorker := map[string]int{}
		handler := func(worker string) jobs.Handler {
			return func(ctx context.Context, j *jobs.Job) error {
				mu.Lock()
				runs[fmt.Sprintf("%s/%d", j.ID, j.Attempt)]++
				byWorker[worker]++
				mu.Unlock()
				return nil
			}
		}
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for _, id := range []string{"process-a", "process-b"} {
			// Separate Worker instances with their own ids, as two processes would have.
			w := jobs.NewWorker(jobs.Config{Store: s, ID: id + domain.RandomString(4), Log: logging.Discard(), Retention: -1,
				Concurrency: 4, PollInterval: 2 * time.Millisecond})
			w.Register(k, handler(id), jobs.HandlerOptions{})
			wg.Add(1)
			go func() { defer wg.Done(); _ = w.Run(runCtx) }()
		}
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(runs) >= n
		}, 60*time.Second, 10*time.Millisecond)
		stop()
		wg.Wait()

		list, err := s.ListJobs(ctx, k, n+1)
		require.NoError(t, err)
		require.Len(t, list, n)
		for _, j := range list {
			require.Equal(t, store.JobCompleted, j.State)
			require.Equal(t, 1, j.Attempt)
		}
		require.Len(t, runs, n)
		for key, count := range runs {
			require.Equal(t, 1, count, "job attempt %s ran more than once", key)
		}
		t.Logf("runs per worker: %v", byWorker)
	})
}

func TestEveryRunsOncePerPeriodAcrossWorkers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		c := newClock()
		name := "sweep-" + domain.RandomString(6)
		var count atomic.Int32
		a, _ := newWorker(s, c, "every-a")
		b, _ := newWorker(s, c, "every-b")
		for _, w := range []*jobs.Worker{a, b} {
			w.Every(name, time.Minute, func(context.Context) error { count.Add(1); return nil })
		}
		round := func() {
			var wg sync.WaitGroup
			for _, w := range []*jobs.Worker{a, b} {
				wg.Add(1)
				go func(w *jobs.Worker) {
					defer wg.Done()
					_, err := w.RunOnce(ctx)
					require.NoError(t, err)
				}(w)
			}
			wg.Wait()
		}
		round()
		round()
		require.Equal(t, int32(1), count.Load(), "one run per period, whichever worker")
		c.Advance(time.Minute)
		round()
		round()
		require.Equal(t, int32(2), count.Load())
		list, err := s.ListJobs(ctx, "every:"+name, 10)
		require.NoError(t, err)
		require.Len(t, list, 2)
		require.True(t, strings.HasPrefix(*list[0].UniqueKey, name+":"))
	})
}

func TestRunStopsGracefully(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		t.Run("RunningJobsFinish", func(t *testing.T) {
			k := kind("graceful")
			started, release := make(chan struct{}), make(chan struct{})
			w := jobs.NewWorker(jobs.Config{Store: s, Log: logging.Discard(), Retention: -1, PollInterval: 5 * time.Millisecond, ShutdownTimeout: time.Minute})
			w.Register(k, func(ctx context.Context, j *jobs.Job) error {
				close(started)
				<-release
				return nil
			}, jobs.HandlerOptions{})
			j, _, err := jobs.Enqueue(ctx, s, k, nil)
			require.NoError(t, err)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { _ = w.Run(runCtx); close(done) }()
			<-started
			stop()
			close(release)
			<-done
			require.Equal(t, store.JobCompleted, getJob(t, s, j.ID).State)
		})
		t.Run("JobsStillRunningAtTheDeadlineAreCancelledAndRequeued", func(t *testing.T) {
			k := kind("cancelled")
			started := make(chan struct{})
			w := jobs.NewWorker(jobs.Config{Store: s, Log: logging.Discard(), Retention: -1, PollInterval: 5 * time.Millisecond, ShutdownTimeout: time.Millisecond})
			w.Register(k, func(ctx context.Context, j *jobs.Job) error {
				close(started)
				<-ctx.Done()
				return ctx.Err()
			}, jobs.HandlerOptions{Timeout: time.Hour})
			j, _, err := jobs.Enqueue(ctx, s, k, nil)
			require.NoError(t, err)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { _ = w.Run(runCtx); close(done) }()
			<-started
			stop()
			<-done
			got := getJob(t, s, j.ID)
			require.Equal(t, store.JobAvailable, got.State, "the job goes back to the queue")
			require.Equal(t, 0, got.Attempt, "an interrupted run is not held against the job")
			require.Contains(t, got.LastError, "interrupted by shutdown")
		})
	})
}

func TestPruneJobs(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			s := storetest.Fresh(t, d)
			_, err := s.Migrate(ctx, -1)
			require.NoError(t, err)
			c := newClock()
			w, _ := newWorker(s, c, "prune")
			k := kind("prune")
			w.Register(k, func(context.Context, *jobs.Job) error { return nil }, jobs.HandlerOptions{})
			done, _, err := jobs.Enqueue(ctx, s, k, nil, jobs.RunAt(c.Now()))
			require.NoError(t, err)
			_, err = w.RunOnce(ctx)
			require.NoError(t, err)
			waiting, _, err := jobs.Enqueue(ctx, s, k, nil, jobs.RunAt(c.Now().Add(time.Hour)))
			require.NoError(t, err)
			n, err := s.PruneJobs(ctx, c.Now().Add(time.Second), c.Now())
			require.NoError(t, err)
			require.Equal(t, int64(1), n)
			_, err = s.GetJob(ctx, done.ID)
			require.True(t, domain.IsNotFound(err))
			_, err = s.GetJob(ctx, waiting.ID)
			require.NoError(t, err, "unfinished jobs stay")
		})
	}
}

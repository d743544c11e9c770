package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/store"
)

// Config configures a Worker.
type Config struct {
	Store *store.Store
	// ID names the worker in job locks (default: host-pid-random). Two live workers must never
	// share an ID.
	ID string
	// Concurrency is how many jobs run at once (default 4).
	Concurrency int
	// PollInterval is how often the worker looks for due jobs when nothing woke it (default 1s).
	PollInterval time.Duration
	// LeaseMargin is added to a kind's timeout to make the lease (default 1 min), so a job's
	// lease outlives every healthy run of it.
	LeaseMargin time.Duration
	// ShutdownTimeout is how long running jobs may go on after Run's context ends before their
	// own contexts are cancelled (default 10s).
	ShutdownTimeout time.Duration
	// Retention is how long completed jobs are kept (default 72h; failed ones 30 days).
	// Negative disables pruning.
	Retention time.Duration
	Log       *slog.Logger
	Metrics   *metrics.Registry
	// Now is the clock for due times and leases (default store.Now).
	Now func() time.Time
}

// HandlerOptions tune how a kind of job runs.
type HandlerOptions struct {
	// Timeout bounds one run (default 1 min).
	Timeout time.Duration
	// MaxAttempts, when set, overrides the attempts stored with each job of the kind.
	MaxAttempts int
	// Backoff gives the delay before retrying after failed attempt n (default DefaultBackoff).
	Backoff func(attempt int) time.Duration
}

type registration struct {
	fn   Handler
	opts HandlerOptions
}

type periodic struct {
	name     string
	kind     string
	interval time.Duration
	last     time.Time
}

// Worker claims due jobs from the database and runs their handlers. Several workers (in one
// process or many) share the queue safely: each job run is claimed by exactly one of them.
// Register handlers before calling Run.
type Worker struct {
	store           *store.Store
	id              string
	concurrency     int
	poll            time.Duration
	leaseMargin     time.Duration
	shutdownTimeout time.Duration
	log             *slog.Logger
	metrics         *metrics.Registry
	now             func() time.Time

	mu       sync.Mutex
	handlers map[string]registration
	periodic []*periodic

	wake    chan struct{}
	running atomic.Bool
}

// NewWorker builds a worker. It registers the queue's gauges on cfg.Metrics and, unless
// cfg.Retention is negative, an hourly job that prunes finished jobs.
func NewWorker(cfg Config) *Worker {
	w := &Worker{store: cfg.Store, id: cfg.ID, concurrency: cfg.Concurrency, poll: cfg.PollInterval, leaseMargin: cfg.LeaseMargin,
		shutdownTimeout: cfg.ShutdownTimeout, log: cfg.Log, metrics: cfg.Metrics, now: cfg.Now,
		handlers: map[string]registration{}, wake: make(chan struct{}, 1)}
	if w.id == "" {
		host, _ := os.Hostname()
		w.id = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), domain.RandomString(6))
	}
	if w.concurrency <= 0 {
		w.concurrency = 4
	}
	if w.poll <= 0 {
		w.poll = time.Second
	}
	if w.leaseMargin <= 0 {
		w.leaseMargin = time.Minute
	}
	if w.shutdownTimeout <= 0 {
		w.shutdownTimeout = 10 * time.Second
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if w.metrics == nil {
		w.metrics = metrics.New()
	}
	if w.now == nil {
		w.now = store.Now
	}
	registerQueueMetrics(w.metrics, w.store, w.now)
	if cfg.Retention >= 0 {
		keep := cfg.Retention
		if keep == 0 {
			keep = 72 * time.Hour
		}
		w.Every("jobs.prune", time.Hour, func(ctx context.Context) error {
			n, err := w.store.PruneJobs(ctx, w.now().Add(-keep), w.now().Add(-30*24*time.Hour))
			if n > 0 {
				w.log.InfoContext(ctx, "pruned finished jobs", "count", n)
			}
			return err
		})
	}
	return w
}

// ID is the name this worker locks jobs with.
func (w *Worker) ID() string { return w.id }

// Register sets the handler of a kind of job. Only registered kinds are claimed, so processes
// with different handlers can share one queue.
func (w *Worker) Register(kind string, h Handler, opts HandlerOptions) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.handlers[kind] = registration{fn: h, opts: opts}
}

// Every runs fn once per interval across all workers sharing the database: each worker
// enqueues the period's job under the unique key "name:<period start, unix seconds>", so only
// one job exists per period, and one worker runs it. A period that could not run before the
// next one starts is skipped.
func (w *Worker) Every(name string, interval time.Duration, fn func(ctx context.Context) error) {
	if interval <= 0 {
		panic("jobs: Every needs a positive interval")
	}
	kind := "every:" + name
	timeout := min(max(interval, 30*time.Second), 10*time.Minute)
	w.Register(kind, func(ctx context.Context, _ *Job) error { return fn(ctx) }, HandlerOptions{Timeout: timeout, MaxAttempts: 1})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.periodic = append(w.periodic, &periodic{name: name, kind: kind, interval: interval})
}

// Wake makes a running worker look for due jobs now (after enqueueing one in this process).
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// DefaultBackoff waits about 5s after the first failure, doubling up to an hour, with jitter
// (a delay is drawn from the upper half of its step, so retries spread out).
func DefaultBackoff(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return Jitter(min(d, time.Hour))
}

// Jitter returns a random duration in [d/2, d].
func Jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// leaseGroups returns the registered kinds grouped by lease (timeout + margin), shortest first,
// so a kind's lease never depends on another kind's timeout.
func (w *Worker) leaseGroups() []leaseGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	byLease := map[time.Duration][]string{}
	for k, r := range w.handlers {
		l := r.opts.Timeout + w.leaseMargin
		byLease[l] = append(byLease[l], k)
	}
	out := make([]leaseGroup, 0, len(byLease))
	for l, kinds := range byLease {
		sort.Strings(kinds)
		out = append(out, leaseGroup{lease: l, kinds: kinds})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lease < out[j].lease })
	return out
}

type leaseGroup struct {
	lease time.Duration
	kinds []string
}

func (w *Worker) registration(kind string) (registration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.handlers[kind]
	return r, ok
}

// schedule enqueues the current period's job of every Every task not yet enqueued by this worker.
func (w *Worker) schedule(ctx context.Context) {
	now := w.now()
	type due struct {
		p      *periodic
		bucket time.Time
	}
	var todo []due
	w.mu.Lock()
	for _, p := range w.periodic {
		if bucket := now.Truncate(p.interval); !bucket.Equal(p.last) {
			todo = append(todo, due{p, bucket})
		}
	}
	w.mu.Unlock()
	for _, d := range todo {
		p := d.p
		_, _, err := Enqueue(ctx, w.store, p.kind, nil, UniqueKey(fmt.Sprintf("%s:%d", p.name, d.bucket.Unix())),
			RunAt(d.bucket), MaxAttempts(1), Deadline(d.bucket.Add(p.interval)))
		if err != nil {
			w.log.WarnContext(ctx, "cannot schedule periodic job", "job", p.name, "error", err)
			continue
		}
		w.mu.Lock()
		p.last = d.bucket
		w.mu.Unlock()
	}
}

// claim takes up to n due jobs of the registered kinds.
func (w *Worker) claim(ctx context.Context, n int) ([]store.Job, error) {
	var out []store.Job
	now := w.now()
	for _, g := range w.leaseGroups() {
		if len(out) >= n {
			break
		}
		got, err := w.store.ClaimJobs(ctx, w.id, g.kinds, n-len(out), g.lease, now)
		if err != nil {
			return out, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// Run works until ctx ends: it polls for due jobs (and wakes early on Wake), runs up to
// Concurrency of them at once, and schedules Every tasks. When ctx ends it stops claiming,
// lets running jobs finish for up to ShutdownTimeout, then cancels them (they are retried
// without counting the attempt) and returns.
func (w *Worker) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("jobs: the worker is already running")
	}
	defer w.running.Store(false)
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	slots := make(chan struct{}, w.concurrency)
	var wg sync.WaitGroup
	ticker := time.NewTicker(w.poll)
	defer ticker.Stop()
	w.log.InfoContext(ctx, "job worker started", "worker", w.id, "concurrency", w.concurrency)
	for ctx.Err() == nil {
		w.schedule(ctx)
		for free := cap(slots) - len(slots); free > 0 && ctx.Err() == nil; free = cap(slots) - len(slots) {
			claimed, err := w.claim(ctx, free)
			for _, row := range claimed {
				slots <- struct{}{}
				wg.Add(1)
				go func(row store.Job) {
					defer wg.Done()
					defer func() { <-slots; w.Wake() }()
					w.execute(jobCtx, row)
				}(row)
			}
			if err != nil {
				if ctx.Err() == nil {
					w.log.ErrorContext(ctx, "cannot claim jobs", "worker", w.id, "error", err)
				}
				break
			}
			if len(claimed) < free {
				break
			}
		}
		select {
		case <-ctx.Done():
		case <-ticker.C:
		case <-w.wake:
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(w.shutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		w.log.Warn("cancelling running jobs at shutdown", "worker", w.id)
		cancelJobs()
		<-done
	}
	w.log.Info("job worker stopped", "worker", w.id)
	return nil
}

// RunOnce schedules Every tasks, claims the jobs due now (up to Concurrency), runs them and
// waits for them. It returns how many ran. Tests drive workers with it step by step; ctx plays
// the part of Run's context for the jobs it starts.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.schedule(ctx)
	claimed, err := w.claim(ctx, w.concurrency)
	var wg sync.WaitGroup
	for _, row := range claimed {
		wg.Add(1)
		go func(row store.Job) {
			defer wg.Done()
			w.execute(ctx, row)
		}(row)
	}
	wg.Wait()
	return len(claimed), err
}

// execute runs one claimed job and records its result. base is cancelled when the worker stops.
func (w *Worker) execute(base context.Context, row store.Job) {
	job := fromRow(&row)
	reg, ok := w.registration(job.Kind)
	if !ok { // cannot happen: only registered kinds are claimed
		w.record(job, reg, Permanent(fmt.Errorf("no handler for job kind %q", job.Kind)), false)
		return
	}
	maxAttempts := job.MaxAttempts
	if reg.opts.MaxAttempts > 0 {
		maxAttempts = reg.opts.MaxAttempts
	}
	job.MaxAttempts = maxAttempts
	if job.Attempt > maxAttempts {
		// Its last run never reported back (the worker died) and no attempt is left.
		w.record(job, reg, Permanent(fmt.Errorf("no attempt left after %d (the last run was interrupted)", maxAttempts)), false)
		return
	}
	if job.Deadline != nil && w.now().After(*job.Deadline) {
		w.record(job, reg, Permanent(errors.New("deadline passed before the job could run")), false)
		return
	}
	ctx, cancel := context.WithTimeout(base, reg.opts.Timeout)
	err := call(ctx, reg.fn, job)
	cancel()
	w.record(job, reg, err, base.Err() != nil)
}

// call runs a handler, turning a panic into an error.
func call(ctx context.Context, h Handler, job *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return h(ctx, job)
}

type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// record writes a run's result, compare-and-set on the job's lease.
func (w *Worker) record(job *Job, reg registration, err error, interrupted bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := w.now()
	log := w.log.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempt, "worker", w.id)
	var (
		outcome string
		serr    error
		snooze  *snoozeError
		perm    *permanentError
		retryAt *retryAtError
		pe      *panicError
	)
	if errors.As(err, &pe) {
		log.Error("job panicked", "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
	}
	asked := errors.As(err, &retryAt)
	// What the handler decided explicitly wins; an unclassified error while the worker is
	// stopping is an interruption (run again at once, the attempt not held against the job).
	switch {
	case err == nil:
		outcome, serr = "completed", w.store.CompleteJob(ctx, job.Lease, now)
	case errors.As(err, &snooze):
		outcome, serr = "snoozed", w.store.SnoozeJob(ctx, job.Lease, now.Add(snooze.d), "")
	case errors.As(err, &perm):
		log.Error("job failed", "error", err)
		outcome, serr = "failed", w.store.FailJob(ctx, job.Lease, err.Error(), now)
	case interrupted && !asked:
		outcome, serr = "interrupted", w.store.SnoozeJob(ctx, job.Lease, now, "interrupted by shutdown: "+err.Error())
	default:
		at := now.Add(backoff(reg, job.Attempt))
		if asked {
			at = retryAt.at
		}
		if job.Attempt >= job.MaxAttempts || (job.Deadline != nil && at.After(*job.Deadline)) {
			log.Error("job failed, no attempt left", "error", err)
			outcome, serr = "failed", w.store.FailJob(ctx, job.Lease, err.Error(), now)
		} else {
			log.Warn("job will be retried", "error", err, "run_at", at)
			outcome, serr = "retried", w.store.RetryJob(ctx, job.Lease, at, err.Error())
		}
	}
	if serr != nil {
		if domain.ErrorCode(serr) == store.CodeLeaseLost {
			log.Warn("job result discarded: another worker took the job over", "outcome", outcome)
			outcome = "lease_lost"
		} else {
			log.Error("cannot record job result", "outcome", outcome, "error", serr)
			outcome = "record_error"
		}
	}
	w.metrics.JobsProcessed.WithLabelValues(job.Kind, outcome).Inc()
}

func backoff(reg registration, attempt int) time.Duration {
	if reg.opts.Backoff != nil {
		return reg.opts.Backoff(attempt)
	}
	return DefaultBackoff(attempt)
}

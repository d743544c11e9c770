// Package queuetest runs River clients in tests and steps them: Drain waits until the jobs
// queued so far (and the jobs they queue) have run, MakeDue plays a clock moving on.
package queuetest

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/logging"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/store"
)

// Runner is a client whose finished runs are counted: running all along (Start), or only
// while a test steps it (Stepper).
type Runner struct {
	Client *queue.Client
	s      *store.Store
	queues []string
	runs   atomic.Int64
	seen   int64

	// stepper: a client made for each Step.
	cfg    queue.Config
	manual bool
}

// Options adjust a Runner's client.
type Options struct {
	ID      string
	Metrics *metrics.Registry
	// Periodic tasks (the client takes part in leader election either way).
	Periodic *queue.Periodic
}

// Start runs a client working queues (with their concurrency) until the test ends.
func Start(t testing.TB, s *store.Store, queues map[string]int, ws *river.Workers, o Options) *Runner {
	t.Helper()
	r := newRunner(s, queues, ws, o)
	r.start(t)
	t.Cleanup(func() { r.Stop(10 * time.Second) })
	return r
}

// Stepper returns a runner that works only during Step, as a worker stepped by hand would:
// jobs queued between steps wait for the next one.
func Stepper(t testing.TB, s *store.Store, queues map[string]int, ws *river.Workers, o Options) *Runner {
	t.Helper()
	r := newRunner(s, queues, ws, o)
	r.manual = true
	return r
}

func newRunner(s *store.Store, queues map[string]int, ws *river.Workers, o Options) *Runner {
	log := logging.Discard()
	if os.Getenv("QUEUETEST_LOG") != "" { // River's warnings and errors, when a test needs them
		log = logging.New("queuetest", slog.LevelWarn, os.Stderr)
	}
	r := &Runner{s: s, cfg: queue.Config{Store: s, ID: o.ID, Log: log, Metrics: o.Metrics,
		Queues: queues, Workers: ws, Periodic: o.Periodic, PollInterval: 100 * time.Millisecond, Test: true}}
	for q := range queues {
		r.queues = append(r.queues, q)
	}
	return r
}

func (r *Runner) start(t testing.TB) {
	t.Helper()
	c, err := queue.New(context.Background(), r.cfg)
	if err != nil {
		t.Fatalf("queue client: %v", err)
	}
	events, cancel := c.River().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled,
		river.EventKindJobSnoozed)
	go func() {
		for range events {
			r.runs.Add(1)
		}
	}()
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("queue start: %v", err)
	}
	go func() { <-c.River().Stopped(); cancel() }()
	r.Client = c
}

// Step makes the waiting jobs of the runner's queues due, works them (and the jobs they queue)
// until none is left, and returns how many runs there were.
func (r *Runner) Step(t testing.TB) int {
	t.Helper()
	MakeDue(t, r.s, r.queues...)
	if !r.manual {
		return r.Drain(t, 0)
	}
	r.start(t)
	n := r.Drain(t, 0)
	r.Stop(10 * time.Second)
	return n
}

// Stop stops the client, cancelling jobs still running after grace.
func (r *Runner) Stop(grace time.Duration) {
	if r.Client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = r.Client.Stop(ctx)
}

// Runs is how many runs this client finished so far.
func (r *Runner) Runs() int64 { return r.runs.Load() }

// Drain waits until no job of the runner's queues is available and at most allowRunning run
// (jobs a test keeps stuck), and returns how many runs this client finished since the last
// Drain.
func (r *Runner) Drain(t testing.TB, allowRunning int) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	quiet := 0
	for quiet < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("queues %v do not drain", r.queues)
		}
		before := r.runs.Load()
		avail, running, err := r.s.RiverWork(context.Background(), r.queues)
		if err != nil {
			t.Fatalf("river jobs: %v", err)
		}
		time.Sleep(15 * time.Millisecond)
		if avail == 0 && running <= int64(allowRunning) && r.runs.Load() == before {
			quiet++
		} else {
			quiet = 0
		}
	}
	n := r.runs.Load()
	out := int(n - r.seen)
	r.seen = n
	return out
}

// MakeDue makes the scheduled and retrying jobs of queues due now.
func MakeDue(t testing.TB, s *store.Store, queues ...string) {
	t.Helper()
	if err := s.MakeRiverJobsDue(context.Background(), queues); err != nil {
		t.Fatalf("make jobs due: %v", err)
	}
}

package queue

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// KindEvery is the kind of the jobs that run periodic tasks.
const KindEvery = "every"

// EveryArgs runs one periodic task, named.
type EveryArgs struct {
	Name string `json:"name" river:"unique"`
}

// Kind implements river.JobArgs.
func (EveryArgs) Kind() string { return KindEvery }

type task struct {
	name     string
	queue    string
	interval time.Duration
	fn       func(ctx context.Context) error
}

// Periodic is a set of tasks that run once per interval across all replicas: River's leader
// inserts a job per task and period (one per task while one is queued or running, so a slow
// run is never doubled), and any worker of the task's queue runs it.
type Periodic struct {
	mu    sync.Mutex
	tasks map[string]*task
}

// NewPeriodic returns an empty set of tasks.
func NewPeriodic() *Periodic { return &Periodic{tasks: map[string]*task{}} }

// Every adds a task run every interval on queue (and once when a leader is elected).
func (p *Periodic) Every(name, queue string, interval time.Duration, fn func(ctx context.Context) error) {
	if interval <= 0 {
		panic("queue: Every needs a positive interval")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tasks[name] = &task{name: name, queue: queue, interval: interval, fn: fn}
}

func (p *Periodic) get(name string) *task {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tasks[name]
}

// Names lists the tasks (tests).
func (p *Periodic) Names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.tasks))
	for n := range p.tasks {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (p *Periodic) register(w *river.Workers) error {
	return river.AddWorkerSafely[EveryArgs](w, &everyWorker{p: p})
}

func (p *Periodic) jobs() []*river.PeriodicJob {
	var out []*river.PeriodicJob
	for _, name := range p.Names() {
		t := p.get(name)
		out = append(out, river.NewPeriodicJob(river.PeriodicInterval(t.interval), func() (river.JobArgs, *river.InsertOpts) {
			return EveryArgs{Name: t.name}, &river.InsertOpts{Queue: t.queue, MaxAttempts: 1,
				UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: Unfinished}}
		}, &river.PeriodicJobOpts{ID: t.name, RunOnStart: true}))
	}
	return out
}

// Timeout is the task's interval, between 30 s and 10 min: a run never outlives two periods.
func taskTimeout(t *task) time.Duration { return min(max(t.interval, 30*time.Second), 10*time.Minute) }

type everyWorker struct {
	river.WorkerDefaults[EveryArgs]
	p *Periodic
}

func (w *everyWorker) Timeout(job *river.Job[EveryArgs]) time.Duration {
	if t := w.p.get(job.Args.Name); t != nil {
		return taskTimeout(t)
	}
	return time.Minute
}

func (w *everyWorker) Work(ctx context.Context, job *river.Job[EveryArgs]) error {
	t := w.p.get(job.Args.Name)
	if t == nil {
		return river.JobCancel(fmt.Errorf("no periodic task %q in this build", job.Args.Name))
	}
	return t.fn(ctx)
}

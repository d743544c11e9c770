package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/store"
)

// registered remembers the registries that already have the queue gauges, so several workers
// in one process (tests, or a worker per queue) do not register them twice.
var registered sync.Map // *metrics.Registry → struct{}

func registerQueueMetrics(reg *metrics.Registry, s *store.Store, now func() time.Time) {
	if _, loaded := registered.LoadOrStore(reg, struct{}{}); loaded {
		return
	}
	reg.MustRegister(&queueCollector{store: s, now: now})
}

var (
	jobsDesc = prometheus.NewDesc("paygate_jobs", "Unfinished background jobs, by kind and state (ready: due now, scheduled: due later, running).",
		[]string{"kind", "state"}, nil)
	oldestReadyDesc = prometheus.NewDesc("paygate_jobs_oldest_ready_age_seconds",
		"How long the longest-waiting due job has been due (0 when none is waiting).", nil, nil)
)

// queueCollector reads the queue from the database at scrape time.
type queueCollector struct {
	store *store.Store
	now   func() time.Time
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- oldestReadyDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := c.now()
	counts, err := c.store.CountJobs(ctx, now)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n.N), n.Kind, n.State)
	}
	age := 0.0
	oldest, err := c.store.OldestReadyJob(ctx, now)
	switch {
	case err == nil:
		age = max(0, now.Sub(oldest).Seconds())
	case !domain.IsNotFound(err):
		ch <- prometheus.NewInvalidMetric(oldestReadyDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(oldestReadyDesc, prometheus.GaugeValue, age)
}

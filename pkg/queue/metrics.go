package queue

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"paygate.dev/pkg/metrics"
)

var registered sync.Map // *metrics.Registry → struct{}

// registerGauges adds the queue gauges to reg once (the first client on a registry reads them).
func registerGauges(reg *metrics.Registry, c *Client) {
	if _, loaded := registered.LoadOrStore(reg, struct{}{}); loaded {
		return
	}
	reg.MustRegister(&collector{c: c})
}

var (
	jobsDesc = prometheus.NewDesc("paygate_jobs",
		"Unfinished background jobs by queue and state (available: due now; scheduled and retryable: due later; running). Exported by River's leader only.",
		[]string{"queue", "state"}, nil)
	oldestDesc = prometheus.NewDesc("paygate_jobs_oldest_available_age_seconds",
		"How long the longest-waiting due job of a queue has been due. Exported by River's leader only.", []string{"queue"}, nil)
	leaderDesc = prometheus.NewDesc("paygate_jobs_leader",
		"1 on the replica that is River's leader (it exports the database-backed job gauges), 0 elsewhere.", nil, nil)
)

// RegisterIdle registers the gauges of a process that runs no River client (a main backend
// with WORKERS=false): paygate_jobs_leader is 0 there, and it exports no job gauge.
func RegisterIdle(reg *metrics.Registry) {
	if _, loaded := registered.LoadOrStore(reg, struct{}{}); loaded {
		return
	}
	reg.MustRegister(&collector{})
}

// collector reads the queues from the database at scrape time, on the leader only: every
// replica would read the same rows, and a sum over replicas would count each job N times.
type collector struct{ c *Client }

func (k *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- oldestDesc
	ch <- leaderDesc
}

func (k *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if k.c == nil || !k.c.IsLeader(ctx) {
		ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, 1)
	stats, err := k.c.store.RiverQueueStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	oldest := map[string]float64{}
	for q := range Concurrency {
		oldest[q] = 0
	}
	for _, s := range stats {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(s.N), s.Queue, s.State)
		if s.State == "available" {
			oldest[s.Queue] = max(0, s.OldestDueSeconds)
		}
	}
	for q, age := range oldest {
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, q)
	}
}

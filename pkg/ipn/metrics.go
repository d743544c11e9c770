package ipn

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"paygate.dev/pkg/metrics"
)

var backlogRegistered sync.Map // *metrics.Registry → struct{}

func registerBacklogMetrics(reg *metrics.Registry, s Store, now func() time.Time, export func(context.Context) bool) {
	if _, loaded := backlogRegistered.LoadOrStore(reg, struct{}{}); loaded {
		return
	}
	reg.MustRegister(&backlogCollector{store: s, now: now, export: export})
}

var (
	queueDepthDesc = prometheus.NewDesc("paygate_ipn_queue_depth",
		"Merchant notifications not yet delivered and not given up.", nil, nil)
	oldestUndeliveredDesc = prometheus.NewDesc("paygate_ipn_oldest_undelivered_age_seconds",
		"Age of the oldest state change not yet notified: the older of the oldest pending notification and the oldest undispatched event (0 when none).", nil, nil)
	undispatchedDesc = prometheus.NewDesc("paygate_outbox_undispatched_events",
		"Outbox events not yet handed to the dispatcher's hooks.", nil, nil)
	oldestUndispatchedDesc = prometheus.NewDesc("paygate_outbox_oldest_undispatched_age_seconds",
		"Age of the oldest undispatched outbox event (0 when none).", nil, nil)
)

// backlogCollector reads the notification backlog from the database at scrape time.
type backlogCollector struct {
	store  Store
	now    func() time.Time
	export func(context.Context) bool // nil: always
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepthDesc
	ch <- oldestUndeliveredDesc
	ch <- undispatchedDesc
	ch <- oldestUndispatchedDesc
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if c.export != nil && !c.export(ctx) {
		return // another replica (River's leader) exports them
	}
	st, err := c.store.IPNStats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(queueDepthDesc, err)
		return
	}
	now := c.now()
	age := func(t *time.Time) float64 {
		if t == nil {
			return 0
		}
		return max(0, now.Sub(*t).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(st.PendingDeliveries))
	ch <- prometheus.MustNewConstMetric(oldestUndeliveredDesc, prometheus.GaugeValue, max(age(st.OldestPending), age(st.OldestUndispatched)))
	ch <- prometheus.MustNewConstMetric(undispatchedDesc, prometheus.GaugeValue, float64(st.UndispatchedEvents))
	ch <- prometheus.MustNewConstMetric(oldestUndispatchedDesc, prometheus.GaugeValue, age(st.OldestUndispatched))
}

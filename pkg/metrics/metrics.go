// Package metrics holds each service's Prometheus registry and the platform's collectors.
// Every service exposes them at /metrics: on its internal listener (INTERNAL_LISTEN), or on the
// public one only with METRICS_TOKEN (see httpapi.Ops).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is one service's metrics.
type Registry struct {
	reg *prometheus.Registry

	HTTPRequests       *prometheus.HistogramVec
	CheckoutsCreated   *prometheus.CounterVec
	TransactionsByStat *prometheus.CounterVec
	WebhookFailures    *prometheus.CounterVec
	IPNAttempts        *prometheus.CounterVec
	IPNFailures        *prometheus.CounterVec
	JobsProcessed      *prometheus.CounterVec
}

// New creates a registry with the Go runtime collectors and the platform's metrics.
func New() *Registry {
	r := &Registry{reg: prometheus.NewRegistry()}
	r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	r.HTTPRequests = r.histogram("http_request_duration_seconds", "HTTP request latency by route, method and status.", []string{"route", "method", "status"})
	r.CheckoutsCreated = r.counter("checkouts_created_total", "Checkouts created, by mode and origin.", []string{"mode", "origin"})
	r.TransactionsByStat = r.counter("transaction_transitions_total", "Transaction status changes, by provider and new status.", []string{"provider", "status"})
	r.WebhookFailures = r.counter("webhook_verification_failures_total", "Provider webhooks rejected for a bad signature.", []string{"provider"})
	r.IPNAttempts = r.counter("ipn_attempts_total", "Merchant notification attempts, by outcome.", []string{"outcome"})
	r.IPNFailures = r.counter("ipn_deliveries_failed_total", "Merchant notifications given up after every retry.", nil)
	r.JobsProcessed = r.counter("jobs_processed_total", "Background jobs run, by kind and outcome.", []string{"kind", "outcome"})
	return r
}

func (r *Registry) histogram(name, help string, labels []string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "paygate_" + name, Help: help,
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, labels)
	r.reg.MustRegister(h)
	return h
}

func (r *Registry) counter(name, help string, labels []string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_" + name, Help: help}, labels)
	r.reg.MustRegister(c)
	return c
}

// MustRegister adds collectors (e.g. gauges computed from the database at scrape time).
func (r *Registry) MustRegister(cs ...prometheus.Collector) { r.reg.MustRegister(cs...) }

// Handler serves the registry in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{Registry: r.reg})
}

// Gather exposes the registry to tests.
func (r *Registry) Gather() (map[string]float64, error) {
	mfs, err := r.reg.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out, nil
}

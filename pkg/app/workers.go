package app

import (
	"context"
	"time"

	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/jobs"
	"paygate.dev/pkg/platform"
)

// startWorkers sets up the main backend's background work on the durable job queue:
// merchant notifications (dispatcher + delivery), provider events, the expiry sweep and
// housekeeping. Every piece is safe with several replicas running at once.
func startWorkers(b *MainBackend) {
	cfg := b.Config
	w := jobs.NewWorker(jobs.Config{Store: b.Store, Log: b.Log, Metrics: b.Metrics, Concurrency: cfg.WorkerCount, ShutdownTimeout: cfg.ShutdownTimeout})
	n := ipn.New(ipn.Options{Store: b.Store, Secrets: b.Service, Log: b.Log, Metrics: b.Metrics, AllowPrivate: cfg.IPNAllowPrivateTargets, Backoff: cfg.IPNBackoff})
	n.Register(w)
	d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: b.Store, Log: b.Log, Metrics: b.Metrics, OnDispatched: w.Wake})
	d.Register("ipn", n.DispatchEvent)
	for name, hook := range b.eventHooks {
		d.Register(name, hook)
	}
	w.Register(platform.JobProviderEvent, func(ctx context.Context, job *jobs.Job) error {
		var p struct {
			EventID string `json:"eventId"`
		}
		if err := job.Decode(&p); err != nil {
			return jobs.Permanent(err)
		}
		return b.Service.ApplyProviderEvent(ctx, p.EventID)
	}, jobs.HandlerOptions{Timeout: time.Minute})
	for _, r := range b.registrations {
		r(w)
	}
	w.Every("checkouts.expire", 30*time.Second, func(ctx context.Context) error {
		n, err := b.Service.ExpireDue(ctx, 1000)
		if n > 0 {
			b.Log.InfoContext(ctx, "checkouts expired", "count", n)
		}
		return err
	})
	w.Every("refunds.resume", time.Minute, func(ctx context.Context) error {
		_, err := b.Service.ResumeRefunds(ctx, 2*time.Minute)
		return err
	})
	w.Every("idempotency.prune", time.Hour, func(ctx context.Context) error {
		_, err := b.Store.DeleteExpiredIdempotency(ctx, time.Now(), 10000)
		return err
	})
	b.Worker, b.Notifier = w, n
	b.workers = append(b.workers,
		func(ctx context.Context) { _ = w.Run(ctx) },
		func(ctx context.Context) { _ = d.Run(ctx) })
}

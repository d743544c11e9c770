package app

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/ipn"
	"paygate.dev/pkg/queue"
	"paygate.dev/pkg/store"
)

// registration adds an integration's job kinds and periodic tasks.
type registration func(ws *river.Workers, p *queue.Periodic)

// startWorkers sets up the main backend's background work on River: merchant notifications
// (dispatcher, delivery jobs, the sweep that recovers attempts whose worker died), provider
// events, integrations' calls, the expiry sweep, reconciliation and housekeeping. Every piece
// is safe with several replicas running at once. The River client is built only when this
// process works (WORKERS=true); it works every queue but email, and is eligible to be River's
// leader, so it registers every kind (e-mail too: the leader rescues jobs of every kind).
func startWorkers(ctx context.Context, b *MainBackend) error {
	cfg := b.Config
	var qc *queue.Client
	leader := func(ctx context.Context) bool { return qc != nil && qc.IsLeader(ctx) }
	n := ipn.New(ipn.Options{Store: store.PortOf[ipn.Store](b.Store), Secrets: b.Services.Tenancy, Log: b.Log, Metrics: b.Metrics, AllowPrivate: cfg.IPNAllowPrivateTargets,
		Backoff: cfg.IPNBackoff, ExportGauges: leader})
	d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: store.PortOf[ipn.Store](b.Store), Log: b.Log, Metrics: b.Metrics})
	d.Register("ipn", n.DispatchEvent)
	d.Register("site_events", siteEventsHook(b.Services.Invoice, n))
	for name, hook := range b.eventHooks {
		d.Register(name, hook)
	}
	b.Notifier = n
	if !cfg.Workers {
		queue.RegisterIdle(b.Metrics) // paygate_jobs_leader 0: another replica exports the job gauges
		return nil
	}
	ws := river.NewWorkers()
	p := queue.NewPeriodic()
	n.RegisterWorkers(ws)
	b.Services.Payment.RegisterWorkers(ws)
	b.Services.Tenancy.RegisterMailWorker(ws)
	for _, r := range b.registrations {
		r(ws, p)
	}
	p.Every("checkouts.expire", queue.Maintenance, 30*time.Second, func(ctx context.Context) error {
		n, err := b.Services.Payment.ExpireDue(ctx, 1000)
		if n > 0 {
			b.Log.InfoContext(ctx, "checkouts expired", "count", n)
		}
		return err
	})
	p.Every("refunds.resume", queue.Maintenance, time.Minute, func(ctx context.Context) error {
		_, err := b.Services.Payment.ResumeRefunds(ctx, 2*time.Minute)
		return err
	})
	p.Every("idempotency.prune", queue.Maintenance, time.Hour, func(ctx context.Context) error {
		_, err := b.Store.DeleteExpiredIdempotency(ctx, time.Now(), 10000)
		return err
	})
	queues := map[string]int{}
	for q, c := range queue.Concurrency {
		if q != queue.Email { // the admin backend sends e-mail: it has the mail server
			queues[q] = c
		}
	}
	queues[queue.IPN] = max(cfg.WorkerCount, 1)
	var err error
	qc, err = queue.New(ctx, queue.Config{Store: b.Store, Log: b.Log, Metrics: b.Metrics, Queues: queues, Workers: ws, Periodic: p,
		PollInterval: cfg.JobPollInterval, Test: cfg.JobPollInterval > 0 && cfg.JobPollInterval < 100*time.Millisecond})
	if err != nil {
		return err
	}
	b.Queue = qc
	b.workers = append(b.workers,
		func(ctx context.Context) {
			if err := qc.Start(context.WithoutCancel(ctx)); err != nil {
				b.Log.Error("job queue did not start", "error", err)
				return
			}
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), max(cfg.ShutdownTimeout, time.Second))
			defer cancel()
			if err := qc.Stop(sctx); err != nil {
				b.Log.Warn("job queue stopped with an error", "error", err)
			}
		},
		func(ctx context.Context) { _ = d.Run(ctx) },
		func(ctx context.Context) { n.RunSweeper(ctx, ipn.SweepInterval) })
	return nil
}

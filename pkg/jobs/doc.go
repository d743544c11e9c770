// Package jobs is the platform's durable background work: a queue kept in the database's
// jobs table, safe with any number of workers in any number of processes.
//
// A job is enqueued with Enqueue, ideally on the Store of the transaction that makes the change
// needing it, so the work exists exactly when the change commits:
//
//	err := s.InTx(ctx, func(tx *store.Store) error {
//		// ... the change ...
//		_, _, err := jobs.Enqueue(ctx, tx, "checkout.expire", payload, jobs.UniqueKey(id))
//		return err
//	})
//
// A Worker claims due jobs with a lease (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one
// IMMEDIATE transaction at a time), so one run of a job belongs to exactly one worker. A worker
// that dies leaves its jobs locked until the lease (the kind's timeout plus a margin) expires;
// then another worker claims them again, counting a new attempt. Results are written
// compare-and-set on the lease: a worker that lost its lease cannot overwrite what the new
// holder did.
//
// Handlers return nil (done), Snooze(d) (try later, not an attempt), RetryAt(t, err) (failed,
// try at t), Permanent(err) (failed, do not retry) or any other error (retry with the kind's
// backoff until MaxAttempts). Panics are recovered and count as failures. Every runs a function
// once per period across all workers (one unique job per period).
//
// Wiring, in a service's main:
//
//	w := jobs.NewWorker(jobs.Config{Store: s, Log: log, Metrics: m, Concurrency: cfg.WorkerCount})
//	w.Register("checkout.expire", expireHandler, jobs.HandlerOptions{Timeout: 30 * time.Second})
//	w.Every("reconcile.gocardless", 10*time.Minute, reconcile)
//	go w.Run(ctx) // returns after ctx ends and running jobs finished (or were cancelled)
//
// Metrics: paygate_jobs_processed_total{kind,outcome}, paygate_jobs{kind,state} and
// paygate_jobs_oldest_ready_age_seconds (read from the database at scrape time).
package jobs

// Package queue is the platform's background work, on River (github.com/riverqueue/river): a
// durable job queue kept in the database — PostgreSQL through riverdatabasesql on the store's
// pool (LISTEN/NOTIFY on one extra connection wakes workers at once), or the embedded SQLite file
// through riversqlite — safe with any number of replicas.
//
// # Queues
//
// Work is split into queues, each with its own concurrency in every process that works it, so
// that one kind of work can never hold up another: a merchant whose endpoint takes seconds fills
// the ipn queue's slots, never the maintenance queue's where checkouts expire, nor the reconcile
// queue's. Names and default concurrency are in Queues; the main backend works every queue but
// email, the admin backend works email only.
//
// # Jobs
//
// A job kind is a type implementing river.JobArgs (Kind, and InsertOpts for its queue, attempts
// and uniqueness), worked by a river.Worker registered with river.AddWorker. Jobs are queued
// with Insert on the Store of the transaction that makes the change needing them, so the work
// exists exactly when the change commits, on either database:
//
//	err := s.InTx(ctx, func(tx *store.Store) error {
//		// ... the change ...
//		_, err := queue.Insert(ctx, tx, payment.ProviderEventArgs{EventID: id}, nil)
//		return err
//	})
//
// Workers return nil (done), river.JobSnooze(d) (try again later, not an attempt),
// river.JobCancel(err) (failed for good) or any other error (retried with the kind's backoff
// until its attempts run out). Panics are recovered by River and count as failed attempts.
//
// # Periodic work and the leader
//
// Periodic tasks (Periodic.Every: checkout expiry, refund resumption, idempotency pruning,
// reconciliation) are inserted by River's elected leader only, each unique while one is queued
// or running, so a run that is slow is never doubled. The leader also rescues jobs whose worker
// died (after the kind's timeout) and deletes finished jobs after a day. Every leader-eligible
// client must register every kind (the rescuer discards jobs of kinds it does not know):
// processes that register only some kinds run with NotLeader.
//
// # Logs and metrics
//
// Each job's context carries its kind and id, and org_id and site_id when its arguments name
// them (organizationId, siteId), so every line it logs is tagged. paygate_jobs_processed_total
// {kind,outcome} counts runs in each process; paygate_jobs{queue,state} and
// paygate_jobs_oldest_available_age_seconds{queue} are read from the database at scrape time by
// the leader only (paygate_jobs_leader is 1 there), so a sum over replicas counts each job once.
package queue

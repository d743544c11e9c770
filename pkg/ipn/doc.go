// Package ipn delivers merchant notifications (IPN, section 6 of the API contract): the only
// way a merchant learns how a payment ended. A paid order never notified is a lost sale, so
// notifications are durable, signed, retried for days, visible and replayable; and since one
// can arrive twice, each carries what a receiver needs to drop duplicates and stale ones.
//
// # Flow
//
//  1. A transaction changes status: the store writes an outbox event in the same database
//     transaction (store.TransitionTransaction).
//  2. A Dispatcher reads undispatched events in batches (PostgreSQL: FOR UPDATE SKIP LOCKED) and
//     hands each to its hooks, in one transaction with marking it dispatched. The notifier's
//     hook, DispatchEvent, creates an ipn_deliveries row for every transaction event whose status
//     has an IPN integer, when the checkout has an ipnUrl: its deliveryId, and its body built now
//     in the site's IPN version and never changed, then queues the transaction's next attempt
//     (a River job on the ipn queue, see below). Other integrations add hooks of their own with
//     Dispatcher.Register.
//  3. A job (KindDeliver) makes one attempt of the transaction's next notification: the first
//     pending one in event order (Attempt, Store.ClaimIPNAttempt). POST to the ipnUrl with the
//     site's current secret (read at every attempt, so a regenerated secret signs the next one):
//     X-Signature-Timestamp: <unix seconds>, X-Signature-HMAC-SHA256: hex HMAC-SHA256 of
//     "<timestamp>.<body>"; v2 also X-IPN-Version: 2 and X-IPN-Delivery-ID. Each attempt is
//     recorded before it is sent (its number claimed once, unique per delivery) and completed
//     with the answer, its consequences and the job for the next attempt, in one transaction.
//     Only HTTP 200 delivers. Redirects are not followed, answers are read up to 64 KB, each
//     attempt has 10 s. Failures are retried with backoff (10s, 30s, 1m, 5m ... every 6h,
//     jittered) until 3 days after the notification was created; then it is failed for good and
//     counted in paygate_ipn_deliveries_failed_total.
//  4. Order: one transaction's notifications go out one at a time, in event order. An attempt
//     in flight is the transaction's lock: while one younger than the attempt timeout + 2 s is
//     unfinished, no other attempt of the transaction is claimed, whatever number of workers
//     look; nor is one while an earlier event of the transaction is not dispatched yet. v2
//     bodies carry eventVersion, strictly increasing per transaction.
//
// # Jobs and recovery
//
// A job's arguments name the transaction and the state it was owed (the delivery and its
// attempt count): the job is unique while it waits or runs, so queueing it twice adds nothing,
// and a job whose worker died — River still sees it running — never stands in the way of the
// next, which is queued for a later state. Failed attempts are scheduled on the delivery
// (next_attempt_at), not in River. Every main backend runs Sweep every SweepInterval (1 s): it
// queues a job for each transaction owed an attempt now with no job waiting — retries that came
// due, resend requests, deliveries from before an upgrade, and attempts whose worker died once
// they are stale (attempt timeout + 2 s after they started; the new attempt marks them
// interrupted). The sweep does not wait for River's leader: a new leader takes up to ~20 s to be
// elected after one is killed. So a notification in flight when its process is killed is sent
// again about 12 s later (13 s at most), with the same deliveryId: delivery is at least once, and
// a receiver may see a deliveryId twice. A backend that stops gracefully records the
// interruption itself and the attempt is owed again at once.
//
// # Bodies
//
// v1: {"id","externalReference","status","eventType","amount","currency","netAmount",
// "taxAmount","taxTreatment","taxBreakdown"} plus "disputeStatus" and "disputeId" when the
// event's data holds them (disputeStatus one of open, under_review, won, lost, accepted). v2:
// {"schemaVersion":2,"deliveryId","eventVersion","occurredAt","id","externalReference","status",
// "sessionPublicId","eventType","amount","currency","netAmount","taxAmount","taxTreatment",
// "taxBreakdown"}, never a legacy key. externalReference is the checkout's external reference,
// else its invoice number; amount is the transaction's gross amount in minor units, netAmount and
// taxAmount its net and tax (they add up to amount); taxTreatment and taxBreakdown ([{taxRate,
// taxRateCode, taxableBase, taxAmount}], rates in percent) come from the tax evidence and are left
// out for a transaction without one.
//
// # SSRF
//
// Notifications go out through a Guard that resolves the target and refuses loopback, private,
// link-local, CGNAT, multicast, reserved and similar addresses (also in IPv4-mapped, NAT64 and
// 6to4 form) unless AllowPrivate is set; it dials the checked address itself and checks the
// socket address again right before connecting, so a DNS answer that changes between check and
// connect does not get through. Only http and https URLs are sent to.
//
// The classification is pkg/netguard's, the same the platform applies when a merchant gives an
// ipnUrl (400 IPN_URL_PRIVATE). Each delivery carries the policy its checkout was accepted
// under (domain.IPNDelivery.AllowPrivate, from domain.Checkout.IPNAllowPrivate): an internal
// address is reached only if that policy and AllowPrivate both allow it, so turning
// IPN_ALLOW_PRIVATE_TARGETS on later does not release notifications accepted before.
//
// # Wiring (main backend)
//
//	n := ipn.New(ipn.Options{Store: s, Secrets: svc, Log: log, Metrics: m, AllowPrivate: cfg.IPNAllowPrivateTargets})
//	ws := river.NewWorkers()
//	n.RegisterWorkers(ws) // and a queue.Client working the ipn queue with ws
//	d := ipn.NewDispatcher(ipn.DispatcherOptions{Store: s, Log: log, Metrics: m})
//	d.Register("ipn", n.DispatchEvent)
//	// until shutdown: go d.Run(ctx); go n.RunSweeper(ctx, ipn.SweepInterval)
//
// Any number of replicas may run this; they coordinate through the database only.
//
// # Admin API
//
// GET  /api/v1/transactions/{id}/ipn            → Notifier.ListDeliveries and/or ListAttempts
// POST /api/v1/transactions/{id}/ipn/resend     → Notifier.Resend
//
// They authorise the actor (ipn:read, ipn:execute), scope by organisation (another tenant's
// transaction is NOT_FOUND) and return types with camelCase JSON tags to render as they are.
// Resend records a request on the delivery and queues the transaction's job: a main backend
// sends it at once, in the transaction's order.
//
// # Metrics
//
// paygate_ipn_attempts_total{outcome="delivered|rejected|error|interrupted"},
// paygate_ipn_deliveries_failed_total, and, read from the database at scrape time by one replica
// (the main backend that is River's leader, Options.ExportGauges),
// paygate_ipn_queue_depth, paygate_ipn_oldest_undelivered_age_seconds,
// paygate_outbox_undispatched_events, paygate_outbox_oldest_undispatched_age_seconds;
// paygate_outbox_hook_errors_total{hook} counts hook failures.
package ipn

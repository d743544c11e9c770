package ipn

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/metrics"
)

// Hook reacts to one outbox event inside the dispatcher's database transaction: whatever it
// writes on tx (deliveries, jobs) commits together with the event being marked dispatched.
// An error rolls back the batch, which is then done again without the event; the event is
// tried again in the next round. Hooks may run more than once for an event and must be
// idempotent (use unique keys, INSERT ... ON CONFLICT DO NOTHING), and must not fail the
// transaction on purpose (on PostgreSQL a failed statement aborts it).
//
// tx is the dispatcher's transaction as this package's port; a hook of another capability
// rebinds it to its own port in the same transaction (wiring does: store.Rebind, or
// store.StoreOf for the store adapters), the notifier's own hook (DispatchEvent) uses it as is.
type Hook func(ctx context.Context, tx Store, e domain.Event) error

// DispatcherOptions configure a Dispatcher.
type DispatcherOptions struct {
	Store   Store
	Log     *slog.Logger
	Metrics *metrics.Registry
	// BatchSize is how many events one transaction takes (default 100).
	BatchSize int
	// PollInterval is how often Run looks for new events (default 1s).
	PollInterval time.Duration
	// Now is the clock (default domain.Now).
	Now func() time.Time
	// OnDispatched runs after a batch committed.
	OnDispatched func()
}

type namedHook struct {
	name string
	fn   Hook
}

// Dispatcher reads the transactional outbox (events not yet dispatched), hands each event to
// every registered hook and marks it dispatched, all in one transaction per batch. Any number
// of dispatchers may run against one database: on PostgreSQL each batch is locked FOR UPDATE
// SKIP LOCKED, on SQLite transactions take turns.
type Dispatcher struct {
	store        Store
	log          *slog.Logger
	batch        int
	poll         time.Duration
	now          func() time.Time
	onDispatched func()
	errors       *prometheus.CounterVec

	mu       sync.Mutex
	hooks    []namedHook
	failures map[string]int // event id → failed rounds (log throttling)
}

var dispatchErrors sync.Map // *metrics.Registry → *prometheus.CounterVec

// NewDispatcher builds a dispatcher with no hooks; add them with Register.
func NewDispatcher(opts DispatcherOptions) *Dispatcher {
	d := &Dispatcher{store: opts.Store, log: opts.Log, batch: opts.BatchSize, poll: opts.PollInterval, now: opts.Now,
		onDispatched: opts.OnDispatched, failures: map[string]int{}}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.batch <= 0 {
		d.batch = 100
	}
	if d.poll <= 0 {
		d.poll = time.Second
	}
	if d.now == nil {
		d.now = domain.Now
	}
	m := opts.Metrics
	if m == nil {
		m = metrics.New()
	}
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "paygate_outbox_hook_errors_total",
		Help: "Outbox events a dispatcher hook failed on (the event is retried), by hook."}, []string{"hook"})
	if prev, loaded := dispatchErrors.LoadOrStore(m, c); loaded {
		c = prev.(*prometheus.CounterVec)
	} else {
		m.MustRegister(c)
	}
	d.errors = c
	return d
}

// Register adds a hook, named for logs and metrics. Register hooks before Run.
func (d *Dispatcher) Register(name string, hook Hook) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hooks = append(d.hooks, namedHook{name: name, fn: hook})
}

// DispatchOnce dispatches one batch of events and returns how many events it dispatched.
//
// The batch is one database transaction. When a hook fails on an event, the whole transaction
// is rolled back (so no hook's work on that event survives) and the batch is done again
// without that event, which stays undispatched for the next round.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	d.mu.Lock()
	hooks := append([]namedHook(nil), d.hooks...)
	d.mu.Unlock()
	var skip []string
	for {
		n, failed, err := d.dispatchBatch(ctx, hooks, skip)
		if failed != "" && len(skip) >= d.batch {
			return 0, nil // a whole batch fails: leave it to the next round
		}
		if err != nil || failed == "" {
			if err == nil && n > 0 && d.onDispatched != nil {
				d.onDispatched()
			}
			return n, err
		}
		skip = append(skip, failed)
	}
}

// hookError names the event and hook that failed a batch.
type hookError struct {
	event domain.Event
	hook  string
	err   error
}

func (e *hookError) Error() string {
	return "hook " + e.hook + " failed on event " + e.event.ID + ": " + e.err.Error()
}

// dispatchBatch runs one batch; failed names an event whose hook failed (the batch was rolled back).
func (d *Dispatcher) dispatchBatch(ctx context.Context, hooks []namedHook, skip []string) (n int, failed string, err error) {
	err = d.store.InTx(ctx, func(tx Store) error {
		events, err := tx.LockUndispatchedEvents(ctx, d.batch, skip)
		if err != nil {
			return err
		}
		ids := make([]string, 0, len(events))
		for _, e := range events {
			for _, h := range hooks {
				if err := h.fn(ctx, tx, e); err != nil {
					return &hookError{event: e, hook: h.name, err: err}
				}
			}
			ids = append(ids, e.ID)
		}
		n = len(ids)
		return tx.MarkEventsDispatched(ctx, ids, d.now())
	})
	var he *hookError
	if errors.As(err, &he) && ctx.Err() == nil {
		d.errors.WithLabelValues(he.hook).Inc()
		d.logFailure(ctx, he.event, he.hook, he.err)
		return 0, he.event.ID, nil
	}
	if err != nil {
		return 0, "", err
	}
	return n, "", nil
}

// logFailure logs a hook failure at an event's 1st, 10th, 100th ... failure, so a broken event
// retried every round stays visible without flooding the log.
func (d *Dispatcher) logFailure(ctx context.Context, e domain.Event, hook string, err error) {
	d.mu.Lock()
	if len(d.failures) > 10000 {
		d.failures = map[string]int{}
	}
	d.failures[e.ID]++
	n := d.failures[e.ID]
	d.mu.Unlock()
	for n%10 == 0 {
		n /= 10
	}
	if n == 1 {
		d.log.ErrorContext(ctx, "outbox hook failed, the event will be retried", "hook", hook, "event", e.ID,
			"type", e.Type, "org_id", e.OrganizationID, "error", err)
	}
}

// Run dispatches until ctx ends, polling every PollInterval and draining full batches at once.
func (d *Dispatcher) Run(ctx context.Context) error {
	ticker := time.NewTicker(d.poll)
	defer ticker.Stop()
	for {
		for {
			n, err := d.DispatchOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.log.ErrorContext(ctx, "outbox dispatch failed", "error", err)
				}
				break
			}
			if n < d.batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

// DispatchEvent is the notifier's dispatcher hook: for a transaction status change that has an
// IPN status, on a checkout with an ipnUrl, of a transaction that is not a paid duplicate
// (another attempt paid the order; see payment.ApplyOutcome), it creates the delivery (its body built now, in the
// site's current IPN version, never changed afterwards) and queues the transaction's next
// attempt (its own, or an earlier notification's that is still owed).
func (n *Notifier) DispatchEvent(ctx context.Context, tx Store, e domain.Event) error {
	if e.TransactionID == nil || !strings.HasPrefix(e.Type, "transaction.") {
		return nil
	}
	status, ok := domain.IPNStatus(domain.TransactionStatus(e.Status))
	if !ok {
		return nil // e.g. a partial refund: the order stays paid
	}
	if e.Version <= 0 {
		n.log.WarnContext(ctx, "transaction event without a version, not notified", "event", e.ID)
		return nil
	}
	txn, err := tx.GetTransaction(ctx, e.OrganizationID, *e.TransactionID)
	if err != nil {
		return err
	}
	if txn.Duplicate {
		return nil // a paid duplicate is not the order's payment: its success and refunds never reach the merchant
	}
	chk, err := tx.GetCheckout(ctx, e.OrganizationID, txn.CheckoutID)
	if err != nil {
		return err
	}
	if strings.TrimSpace(chk.IPNURL) == "" {
		return nil
	}
	site, err := tx.GetSite(ctx, e.OrganizationID, chk.SiteID)
	if err != nil {
		return err
	}
	version := 1 // unversioned sites stay on v1
	if site.IPNVersion == 2 {
		version = 2
	}
	now := n.now()
	id := domain.NewID(domain.PrefixDelivery)
	body, err := buildBody(version, id, e, txn, chk, status)
	if err != nil {
		return err
	}
	d := &domain.IPNDelivery{ID: id, OrganizationID: e.OrganizationID, SiteID: chk.SiteID, CheckoutID: chk.ID,
		TransactionID: txn.ID, EventID: e.ID, EventVersion: e.Version, URL: strings.TrimSpace(chk.IPNURL),
		IPNVersion: version, Body: body, Status: domain.IPNDeliveryPending, NextAttemptAt: &now, CreatedAt: now,
		AllowPrivate: chk.IPNAllowPrivate} // the policy the target was accepted under (see clientFor)
	created, err := tx.CreateIPNDelivery(ctx, d)
	if err != nil || !created {
		return err
	}
	return n.queueNext(ctx, tx, txn.ID, now, false, true)
}

// Enqueue is the dispatcher hooks' way to have another kind of notification delivered with
// the IPNs' machinery (signature, retries, SSRF guard, attempts, sweep): d names its target,
// body, site (whose secret signs it), event (once per event: a redelivered event adds
// nothing) and ordering key (d.TransactionID; a site event uses its invoice's id, see
// domain.SiteEventsVersion). Enqueue numbers it after the key's earlier deliveries (so they go
// out in dispatch order), writes it on tx and queues its attempt.
func (n *Notifier) Enqueue(ctx context.Context, tx Store, d *domain.IPNDelivery) error {
	if d.TransactionID == "" || d.EventID == "" || d.SiteID == "" || strings.TrimSpace(d.URL) == "" {
		return domain.Internal(nil, "a notification needs an ordering key, an event, a site and a URL")
	}
	prev, err := tx.LatestIPNDelivery(ctx, d.OrganizationID, d.TransactionID)
	switch {
	case err == nil:
		d.EventVersion = prev.EventVersion + 1
	case domain.IsNotFound(err):
		d.EventVersion = 1
	default:
		return err
	}
	now := n.now()
	if d.ID == "" {
		d.ID = domain.NewID(domain.PrefixDelivery)
	}
	d.Status, d.NextAttemptAt, d.CreatedAt = domain.IPNDeliveryPending, &now, now
	created, err := tx.CreateIPNDelivery(ctx, d)
	if err != nil || !created {
		return err
	}
	return n.queueNext(ctx, tx, d.TransactionID, now, false, true)
}

package ipn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/queue"
)

// KindDeliver is the job kind that makes a transaction's next notification attempt.
const KindDeliver = "ipn.deliver"

// Limits of one attempt.
const (
	AttemptTimeout   = 10 * time.Second // whole request, answer included (default of Options.AttemptTimeout)
	MaxResponseBytes = 64 << 10         // at most this much of an answer is read
	ExcerptBytes     = 1 << 10          // this much of it is kept with the attempt
	// DefaultMaxAge is how long a notification is retried before it is given up.
	DefaultMaxAge = 72 * time.Hour
	// staleMargin is added to the attempt timeout to tell an attempt whose worker died: a live
	// worker has its answer (or its timeout) by then and records it within the margin.
	staleMargin = 2 * time.Second
	// SweepInterval is how often each main backend looks for notifications owed an attempt
	// that no job is queued for (an attempt whose worker died, a retry that came due).
	SweepInterval = time.Second
)

// retrySchedule is the delay after failed attempt n (1-based), before jitter; the last step repeats.
var retrySchedule = []time.Duration{
	10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 6 * time.Hour,
}

// Backoff is the default delay after failed attempt n: 10s, 30s, 1m, 5m, 15m, 30m, 1h, 2h, 4h,
// then every 6h, each drawn at random from the upper half of its step (jitter).
func Backoff(attempt int) time.Duration {
	i := min(max(attempt, 1), len(retrySchedule)) - 1
	return queue.Jitter(retrySchedule[i])
}

// SecretSource gives a site's current IPN signing secret in clear. *tenancy.Service is one.
type SecretSource interface {
	SiteWebhookSecret(ctx context.Context, site *domain.Site) (string, error)
}

// Options configure a Notifier.
type Options struct {
	Store   Store
	Secrets SecretSource
	Log     *slog.Logger
	Metrics *metrics.Registry
	// AllowPrivate lets notifications reach internal addresses (IPN_ALLOW_PRIVATE_TARGETS).
	AllowPrivate bool
	// Resolver resolves notification hosts for the SSRF guard (default: the system resolver).
	Resolver Resolver
	// Transport replaces the guarded HTTP transport. Tests only: it bypasses the SSRF guard.
	Transport http.RoundTripper
	// Now is the clock (default domain.Now).
	Now func() time.Time
	// MaxAge is how long a notification is retried (default 72h).
	MaxAge time.Duration
	// AttemptTimeout bounds one attempt, answer included (default 10s).
	AttemptTimeout time.Duration
	// StaleAfter is how old an unfinished attempt must be to count as interrupted (default:
	// AttemptTimeout + 2 s; tests on a fast clock raise it).
	StaleAfter time.Duration
	// Backoff overrides the retry delays (default Backoff).
	Backoff func(attempt int) time.Duration
	// ExportGauges says whether this process exports the backlog gauges read from the database
	// (default: always). The main backend exports them on River's leader only, so that a sum
	// over replicas counts each notification once.
	ExportGauges func(ctx context.Context) bool
}

// Notifier delivers merchant notifications: it turns transaction events into deliveries (as a
// Dispatcher hook), sends them from jobs, and serves the Admin API's views and resends.
type Notifier struct {
	store   Store
	secrets SecretSource
	log     *slog.Logger
	metrics *metrics.Registry
	guard   *Guard
	client  *http.Client
	// strict sends deliveries whose checkout was accepted while private targets were not
	// allowed: it refuses internal addresses whatever AllowPrivate says now (clientFor).
	strict  *http.Client
	now     func() time.Time
	maxAge  time.Duration
	backoff func(int) time.Duration
	// stale is how old an unfinished attempt must be to count as interrupted (its worker died).
	stale time.Duration
}

// New builds a notifier and registers its backlog gauges on opts.Metrics.
func New(opts Options) *Notifier {
	n := &Notifier{store: opts.Store, secrets: opts.Secrets, log: opts.Log, metrics: opts.Metrics, now: opts.Now,
		maxAge: opts.MaxAge, backoff: opts.Backoff,
		guard: &Guard{AllowPrivate: opts.AllowPrivate, Resolver: opts.Resolver}}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.metrics == nil {
		n.metrics = metrics.New()
	}
	if n.now == nil {
		n.now = domain.Now
	}
	if n.maxAge <= 0 {
		n.maxAge = DefaultMaxAge
	}
	if n.backoff == nil {
		n.backoff = Backoff
	}
	timeout := opts.AttemptTimeout
	if timeout <= 0 {
		timeout = AttemptTimeout
	}
	n.stale = timeout + staleMargin
	if opts.StaleAfter > 0 {
		n.stale = opts.StaleAfter
	}
	newClient := func(g *Guard) *http.Client {
		var rt http.RoundTripper = g.transport(timeout)
		if opts.Transport != nil {
			rt = opts.Transport
		}
		return &http.Client{
			Transport: rt,
			Timeout:   timeout,
			// A redirect is an answer, not a delivery: never follow it (it could point anywhere).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	n.client = newClient(n.guard)
	n.strict = n.client
	if n.guard.AllowPrivate {
		n.strict = newClient(&Guard{Resolver: opts.Resolver})
	}
	registerBacklogMetrics(n.metrics, n.store, n.now, opts.ExportGauges)
	return n
}

// Guard is the notifier's SSRF guard (checkouts check their ipnUrl with the same policy,
// netguard.Policy.CheckHost, when they are created).
func (n *Notifier) Guard() *Guard { return n.guard }

// StaleAfter is how long an unfinished attempt may run before it counts as interrupted.
func (n *Notifier) StaleAfter() time.Duration { return n.stale }

// DeliverArgs is a KindDeliver job: make transaction TransactionID's next notification
// attempt. The job always looks afresh at what the transaction is owed; DeliveryID and
// Attempts say what it was owed when the job was queued, which is what makes the job unique:
// while a job waits for a state of the transaction, another for the same state is not queued,
// and a job whose worker died (it stays "running" in River) never stands in the way of the
// next one, which is queued for a later state.
type DeliverArgs struct {
	TransactionID string `json:"transactionId" river:"unique"`
	DeliveryID    string `json:"deliveryId" river:"unique"`
	Attempts      int    `json:"attempts" river:"unique"`
	// Manual jobs are queued by a resend request, so that one is not held up by a retry queued
	// for the same state.
	Manual bool `json:"manual,omitempty" river:"unique"`
	// Swept is set (to the second) on jobs the sweep queues: a job whose worker died before it
	// claimed its attempt stays "running" in River with the same other arguments until River's
	// rescuer gets to it (a minute or more); the sweep's job is not deduplicated against it.
	Swept          int64  `json:"swept,omitempty" river:"unique"`
	OrganizationID string `json:"organizationId"`
	SiteID         string `json:"siteId"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return KindDeliver }

// InsertOpts puts the job on the ipn queue, unique while it waits or runs. Its attempts are
// River's retries of a run that failed before it could record anything (the database was
// unreachable); failed notification attempts are scheduled by the notifier itself.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.IPN, Priority: priorityNormal, MaxAttempts: 1000, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: queue.Unfinished}}
}

// River priorities of delivery jobs (1 is worked first): a job the sweep queues (an attempt
// whose worker died, a retry or resend whose job was lost) goes ahead of the queue's backlog,
// so a killed worker's deliveries are sent again within seconds even behind a slow merchant.
const (
	prioritySweep  = 1
	priorityNormal = 2
)

// sweepGrace is how long the sweep leaves a transaction whose job a worker fetched to that
// worker (which claims the attempt at once) before it counts the worker as dead.
const sweepGrace = 2 * time.Second

func argsFor(d *domain.IPNDelivery, manual bool) DeliverArgs {
	return DeliverArgs{TransactionID: d.TransactionID, DeliveryID: d.ID, Attempts: d.Attempts, Manual: manual,
		OrganizationID: d.OrganizationID, SiteID: d.SiteID}
}

// RegisterWorkers adds the notifier's job kind to ws.
func (n *Notifier) RegisterWorkers(ws *river.Workers) {
	river.AddWorker[DeliverArgs](ws, &deliverWorker{n: n})
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	n *Notifier
}

// Timeout leaves the attempt its own timeout and the time to record the answer.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.n.client.Timeout + 20*time.Second
}

// NextRetry retries a run that failed before it could record anything (the database did not
// answer) within seconds, at most 30 s apart: while the job waits to be retried, the sweep
// leaves its transaction to it.
func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(queue.Jitter(min(time.Second<<min(job.Attempt, 5), 30*time.Second)))
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	_, err := w.n.Attempt(ctx, job.Args.TransactionID)
	return err
}

// queueNext queues a job for the transaction's next attempt if one is owed now, on tx (so it
// exists exactly when what tx writes commits). The job is unique for the transaction's state:
// queueing it again while it waits adds nothing.
//
// While the dispatcher is dispatching a batch, its earlier events count as dispatched (they are
// marked so in the same transaction).
func (n *Notifier) queueNext(ctx context.Context, tx Store, txnID string, now time.Time, manual, dispatching bool) error {
	d, why, err := tx.DueIPNHead(ctx, txnID, now, now.Add(-n.stale))
	if err != nil || d == nil || (why != "" && !(why == domain.IPNBlocked && dispatching)) {
		return err
	}
	_, err = queue.Insert(ctx, tx, argsFor(d, manual), nil)
	return err
}

// Sweep queues a job for every transaction owed a notification attempt now that has no job
// waiting: an attempt whose worker died (once it is stale), a retry that came due, a resend
// whose job was lost with its worker, deliveries from before an upgrade. Every main backend
// runs it every SweepInterval (queued jobs are unique, so replicas sweeping together add
// nothing twice). It returns how many jobs it queued.
func (n *Notifier) Sweep(ctx context.Context) (int, error) {
	now := n.now()
	// River stamps a fetch with the wall clock, whatever n.now says.
	queued, err := n.store.QueuedRiverTransactions(ctx, queue.IPN, time.Now().Add(-sweepGrace))
	if err != nil {
		return 0, err
	}
	heads, err := n.store.DueIPNHeads(ctx, now, now.Add(-n.stale), 1000)
	if err != nil {
		return 0, err
	}
	var params []river.InsertManyParams
	for i := range heads {
		h := &heads[i]
		if queued[h.TransactionID] {
			continue
		}
		args := argsFor(h, h.ResendRequestedAt != nil)
		args.Swept = now.Unix()
		params = append(params, river.InsertManyParams{Args: args, InsertOpts: &river.InsertOpts{Priority: prioritySweep}})
	}
	res, err := queue.InsertMany(ctx, n.store, params)
	inserted := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			inserted++
		}
	}
	return inserted, err
}

// RunSweeper sweeps every interval until ctx ends.
func (n *Notifier) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if q, err := n.Sweep(ctx); err != nil && ctx.Err() == nil {
			n.log.WarnContext(ctx, "notification sweep failed", "error", err)
		} else if q > 0 {
			n.log.DebugContext(ctx, "notification sweep queued jobs", "count", q)
		}
	}
}

// Attempt makes a transaction's next notification attempt, if one is owed now and no other
// attempt of the transaction is in flight (Store.ClaimIPNAttempt): the attempt is recorded
// before it is sent, then completed with the answer together with its consequences (delivered,
// the next retry, given up) and the job for the transaction's next attempt when one is due at
// once. It reports whether an attempt was made.
func (n *Notifier) Attempt(ctx context.Context, txnID string) (bool, error) {
	started := n.now()
	a := &domain.IPNAttempt{StartedAt: started, SignatureTS: strconv.FormatInt(started.Unix(), 10)}
	d, _, err := n.store.ClaimIPNAttempt(ctx, txnID, started, started.Add(-n.stale), a)
	if err != nil || d == nil {
		return false, err
	}
	manual := a.TriggerKind == domain.IPNAttemptManual
	res := n.sendSigned(ctx, d, started)

	// Record even when ctx was cancelled: the request may have reached the merchant.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	done := n.now()
	outcome := noteResult(a, res, res.err != nil && ctx.Err() != nil)
	log := n.log.With("delivery", d.ID, "transaction", d.TransactionID, "attempt", a.Attempt, "trigger", a.TriggerKind)
	next, gaveUp, err := n.recordAttempt(rctx, txnID, d, a, outcome, manual, done)
	if err != nil {
		log.ErrorContext(ctx, "cannot record notification attempt", "error", err)
		return true, err
	}
	n.reportAttempt(ctx, log, a, outcome, manual, gaveUp, next)
	return true, nil
}

// sendSigned sends the notification signed with the site's current secret; a secret that
// cannot be read is the attempt's error.
func (n *Notifier) sendSigned(ctx context.Context, d *domain.IPNDelivery, started time.Time) sendResult {
	secret, err := n.secret(ctx, d)
	if err != nil {
		return sendResult{err: fmt.Errorf("cannot sign the notification: %w", err)}
	}
	return n.send(ctx, d, secret, started.Unix())
}

// noteResult copies the answer into the attempt and names its outcome: delivered,
// interrupted (the worker stopped during the attempt), rejected (the merchant answered, not
// with success) or error.
func noteResult(a *domain.IPNAttempt, res sendResult, interrupted bool) string {
	a.StatusCode, a.ResponseExcerpt, a.LatencyMS = res.statusCode, res.excerpt, int(res.latency.Milliseconds())
	if res.err != nil {
		a.Error = res.err.Error()
		if interrupted {
			a.Error = "interrupted: the worker stopped during the attempt (" + a.Error + ")"
		}
	}
	switch {
	case res.err == nil:
		return "delivered"
	case interrupted:
		return "interrupted"
	case res.statusCode != nil:
		return "rejected"
	default:
		return "error"
	}
}

// recordAttempt completes the attempt in one database transaction with its consequences for
// the delivery and the job for the transaction's next attempt when one is due at once. It
// returns the time of the next retry (zero when none was scheduled) and whether the delivery
// was given up.
func (n *Notifier) recordAttempt(ctx context.Context, txnID string, d *domain.IPNDelivery, a *domain.IPNAttempt, outcome string,
	manual bool, done time.Time) (next time.Time, gaveUp bool, err error) {
	err = n.store.InTx(ctx, func(tx Store) error {
		if err := tx.LockIPNTransaction(ctx, txnID); err != nil {
			return err
		}
		if err := tx.FinishIPNAttempt(ctx, a, done); err != nil {
			return err
		}
		var err error
		if next, gaveUp, err = n.concludeDelivery(ctx, tx, d, a, outcome, manual, done); err != nil {
			return err
		}
		if manual && outcome != "interrupted" {
			if err := tx.ClearIPNResend(ctx, d.ID, a.StartedAt); err != nil {
				return err
			}
		}
		return n.queueNext(ctx, tx, txnID, done, false, false)
	})
	return next, gaveUp, err
}

// concludeDelivery writes what the attempt means for the delivery: delivered, owed again at
// once (interrupted), noted (a manual attempt), given up (its time is up: gaveUp) or retried
// later (next).
func (n *Notifier) concludeDelivery(ctx context.Context, tx Store, d *domain.IPNDelivery, a *domain.IPNAttempt, outcome string,
	manual bool, done time.Time) (next time.Time, gaveUp bool, err error) {
	switch {
	case outcome == "delivered":
		_, err = tx.MarkIPNDelivered(ctx, d.ID, http.StatusOK, done)
	case outcome == "interrupted":
		// Nothing was decided: the attempt is owed again at once (manual ones too, their
		// request stays), by whichever backend is still running.
		if !manual {
			err = tx.ScheduleIPNRetry(ctx, d.ID, done, a.StatusCode, a.Error)
		}
	case manual:
		// One attempt, as asked; the scheduled retries (if any) keep their own course.
		err = tx.NoteIPNAttempt(ctx, d.ID, a.StatusCode, a.Error)
	case !done.Before(d.CreatedAt.Add(n.maxAge)):
		gaveUp, err = tx.FailIPNDelivery(ctx, d.ID, a.StatusCode, a.Error)
	default:
		next = done.Add(n.backoff(a.Attempt))
		if deadline := d.CreatedAt.Add(n.maxAge); next.After(deadline) {
			next = deadline // one last attempt when the time is up
		}
		err = tx.ScheduleIPNRetry(ctx, d.ID, next, a.StatusCode, a.Error)
	}
	return next, gaveUp, err
}

// reportAttempt counts the attempt and logs its outcome.
func (n *Notifier) reportAttempt(ctx context.Context, log *slog.Logger, a *domain.IPNAttempt, outcome string, manual, gaveUp bool,
	next time.Time) {
	n.metrics.IPNAttempts.WithLabelValues(outcome).Inc()
	switch {
	case outcome == "delivered":
		log.InfoContext(ctx, "notification delivered", "latency_ms", a.LatencyMS)
	case outcome == "interrupted":
		log.WarnContext(ctx, "notification attempt interrupted, it is owed again", "error", a.Error)
	case manual:
		log.WarnContext(ctx, "manual notification attempt failed", "error", a.Error)
	case gaveUp:
		n.metrics.IPNFailures.WithLabelValues().Inc()
		log.ErrorContext(ctx, "notification given up", "attempts", a.Attempt, "error", a.Error)
	case !next.IsZero():
		log.WarnContext(ctx, "notification attempt failed, will retry", "error", a.Error, "next_attempt_at", next)
	}
}

// secret is the site's current signing secret, read at every attempt: a regenerated secret
// signs the next one.
func (n *Notifier) secret(ctx context.Context, d *domain.IPNDelivery) (string, error) {
	site, err := n.store.GetSiteByID(ctx, d.SiteID)
	if err != nil {
		return "", err
	}
	return n.secrets.SiteWebhookSecret(ctx, site)
}

type sendResult struct {
	statusCode *int
	excerpt    string
	latency    time.Duration
	err        error // nil only for HTTP 200
}

// send POSTs the delivery's body, signed with secret at timestamp ts.
func (n *Notifier) send(ctx context.Context, d *domain.IPNDelivery, secret string, ts int64) sendResult {
	if err := validScheme(d.URL); err != nil {
		return sendResult{err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, strings.NewReader(d.Body))
	if err != nil {
		return sendResult{err: fmt.Errorf("refused: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paygate-ipn/1")
	req.Header.Set("X-Signature-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Signature-HMAC-SHA256", Sign(secret, ts, []byte(d.Body)))
	if d.IPNVersion == 2 {
		req.Header.Set("X-IPN-Version", "2")
		req.Header.Set("X-IPN-Delivery-ID", d.ID)
	}
	start := time.Now()
	resp, err := n.clientFor(d).Do(req)
	if err != nil {
		return sendResult{latency: time.Since(start), err: describe(err)}
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	res := sendResult{statusCode: &resp.StatusCode, latency: time.Since(start), excerpt: excerpt(body)}
	switch {
	case resp.StatusCode == http.StatusOK:
		// Delivered, whatever happens to the rest of the answer.
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.err = fmt.Errorf("HTTP %d: redirect to %q not followed", resp.StatusCode, clipString(resp.Header.Get("Location"), 200))
	default:
		res.err = fmt.Errorf("HTTP %d: only 200 means delivered", resp.StatusCode)
	}
	if res.err != nil && rerr != nil {
		res.err = fmt.Errorf("%w (reading the answer: %w)", res.err, rerr)
	}
	return res
}

// clientFor picks the client that applies a delivery's SSRF policy: an internal address is
// allowed only if the delivery was accepted under IPN_ALLOW_PRIVATE_TARGETS (d.AllowPrivate,
// recorded on its checkout at creation) and this process allows it now. So switching the
// setting on later does not release queued deliveries, accepted under the strict policy, to
// addresses their names have since come to resolve to.
func (n *Notifier) clientFor(d *domain.IPNDelivery) *http.Client {
	if d.AllowPrivate {
		return n.client
	}
	return n.strict
}

// describe turns a transport error into a short message, keeping a refusal by the guard visible.
func describe(err error) error {
	var te *TargetError
	if errors.As(err, &te) {
		return te
	}
	return err
}

// excerpt keeps the start of an answer as text safe to store in either database.
func excerpt(b []byte) string {
	if len(b) > ExcerptBytes {
		b = b[:ExcerptBytes]
	}
	s := strings.ToValidUTF8(string(b), "")
	s = strings.ReplaceAll(s, "\x00", "")
	return s
}

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

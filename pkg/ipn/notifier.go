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
	"sync/atomic"
	"time"
	"unicode/utf8"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/jobs"
	"paygate.dev/pkg/metrics"
	"paygate.dev/pkg/store"
)

// Job kinds.
const (
	KindDeliver = "ipn.deliver" // scheduled attempts of one delivery, until delivered or given up
	KindResend  = "ipn.resend"  // one manual attempt requested by an operator
)

// Limits of one attempt.
const (
	AttemptTimeout   = 10 * time.Second // whole request, answer included (default of Options.AttemptTimeout)
	MaxResponseBytes = 64 << 10         // at most this much of an answer is read
	ExcerptBytes     = 1 << 10          // this much of it is kept with the attempt
	// DefaultMaxAge is how long a notification is retried before it is given up.
	DefaultMaxAge = 72 * time.Hour
)

// staleAttempt is how old an unfinished attempt must be to count as interrupted: far beyond
// AttemptTimeout, so an attempt still in flight is never marked.
const staleAttempt = time.Minute

// retrySchedule is the delay after failed attempt n (1-based), before jitter; the last step repeats.
var retrySchedule = []time.Duration{
	10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 6 * time.Hour,
}

// Backoff is the default delay after failed attempt n: 10s, 30s, 1m, 5m, 15m, 30m, 1h, 2h, 4h,
// then every 6h, each drawn at random from the upper half of its step (jitter).
func Backoff(attempt int) time.Duration {
	i := min(max(attempt, 1), len(retrySchedule)) - 1
	return jobs.Jitter(retrySchedule[i])
}

// SecretSource gives a site's current IPN signing secret in clear. *platform.Service is one.
type SecretSource interface {
	SiteWebhookSecret(ctx context.Context, site *domain.Site) (string, error)
}

// Options configure a Notifier.
type Options struct {
	Store   *store.Store
	Secrets SecretSource
	Log     *slog.Logger
	Metrics *metrics.Registry
	// AllowPrivate lets notifications reach internal addresses (IPN_ALLOW_PRIVATE_TARGETS).
	AllowPrivate bool
	// Resolver resolves notification hosts for the SSRF guard (default: the system resolver).
	Resolver Resolver
	// Transport replaces the guarded HTTP transport. Tests only: it bypasses the SSRF guard.
	Transport http.RoundTripper
	// Now is the clock (default store.Now).
	Now func() time.Time
	// MaxAge is how long a notification is retried (default 72h).
	MaxAge time.Duration
	// AttemptTimeout bounds one attempt, answer included (default 10s).
	AttemptTimeout time.Duration
	// Backoff overrides the retry delays (default Backoff).
	Backoff func(attempt int) time.Duration
}

// Notifier delivers merchant notifications: it turns transaction events into deliveries (as a
// Dispatcher hook), sends them from jobs, and serves the Admin API's views and resends.
type Notifier struct {
	store   *store.Store
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
	worker  atomic.Pointer[jobs.Worker]
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
		n.now = store.Now
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
	registerBacklogMetrics(n.metrics, n.store, n.now)
	return n
}

// Guard is the notifier's SSRF guard (checkouts check their ipnUrl with the same policy,
// netguard.Policy.CheckHost, when they are created).
func (n *Notifier) Guard() *Guard { return n.guard }

// Register sets the notifier's job handlers on w; w.Wake is then called whenever a
// notification becomes due in this process.
func (n *Notifier) Register(w *jobs.Worker) {
	n.worker.Store(w)
	opts := jobs.HandlerOptions{Timeout: n.client.Timeout + 20*time.Second, MaxAttempts: 1 << 20}
	w.Register(KindDeliver, n.deliver, opts)
	w.Register(KindResend, n.resend, opts)
}

func (n *Notifier) wake() {
	if w := n.worker.Load(); w != nil {
		w.Wake()
	}
}

type deliveryPayload struct {
	DeliveryID  string `json:"deliveryId"`
	RequestedBy string `json:"requestedBy,omitempty"`
}

// deliver makes the next scheduled attempt of a delivery, in order: a notification waits while
// an earlier one of the same transaction is still pending.
func (n *Notifier) deliver(ctx context.Context, job *jobs.Job) error {
	var p deliveryPayload
	if err := job.Decode(&p); err != nil {
		return err
	}
	d, err := n.store.GetIPNDelivery(ctx, p.DeliveryID)
	if domain.IsNotFound(err) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if d.Status != store.DeliveryPending {
		return nil // delivered by a manual resend, or given up
	}
	pred, blocked, err := n.store.PendingIPNPredecessor(ctx, d)
	if err != nil {
		return err
	}
	if blocked {
		return jobs.Snooze(n.waitFor(pred))
	}
	return n.attempt(ctx, d, store.AttemptScheduled)
}

// resend makes one manual attempt. It keeps the transaction's order too: while an earlier
// notification is pending, that one is made due now and the resend waits for it.
func (n *Notifier) resend(ctx context.Context, job *jobs.Job) error {
	var p deliveryPayload
	if err := job.Decode(&p); err != nil {
		return err
	}
	d, err := n.store.GetIPNDelivery(ctx, p.DeliveryID)
	if domain.IsNotFound(err) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	if d.Status == store.DeliveryPending {
		pred, blocked, err := n.store.PendingIPNPredecessor(ctx, d)
		if err != nil {
			return err
		}
		if blocked {
			if pred != nil {
				if moved, err := n.store.KickJob(ctx, KindDeliver, pred.ID, n.now()); err == nil && moved {
					n.wake()
				}
			}
			return jobs.Snooze(n.waitFor(pred))
		}
	}
	return n.attempt(ctx, d, store.AttemptManual)
}

// waitFor says how long a notification blocked by pred waits before looking again (it is also
// woken as soon as pred is done).
func (n *Notifier) waitFor(pred *store.IPNDelivery) time.Duration {
	wait := time.Second
	if pred != nil && pred.NextAttemptAt != nil {
		wait = pred.NextAttemptAt.Sub(n.now()) + time.Second
	}
	return min(max(wait, time.Second), 10*time.Minute)
}

// attempt sends a delivery once and records the attempt and its consequences.
func (n *Notifier) attempt(ctx context.Context, d *store.IPNDelivery, trigger string) error {
	site, err := n.store.GetSiteByID(ctx, d.SiteID)
	if err != nil {
		return err
	}
	// The site's current secret, read at every attempt: a regenerated secret signs the next one.
	secret, err := n.secrets.SiteWebhookSecret(ctx, site)
	if err != nil {
		return err
	}
	started := n.now()
	ts := started.Unix()
	a := &store.IPNAttempt{DeliveryID: d.ID, OrganizationID: d.OrganizationID, TransactionID: d.TransactionID,
		TriggerKind: trigger, StartedAt: started, RequestBody: d.Body, SignatureTS: strconv.FormatInt(ts, 10)}
	if err := n.store.StartIPNAttempt(ctx, a, started.Add(-staleAttempt)); err != nil {
		if store.IsConstraint(err, "ipn_attempts_delivery_attempt_key") {
			return jobs.Snooze(time.Second) // another worker took this attempt number; look again
		}
		return err
	}

	res := n.send(ctx, d, secret, ts)

	// Record even when ctx was cancelled: the request may have reached the merchant.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	done := n.now()
	interrupted := res.err != nil && ctx.Err() != nil
	a.StatusCode, a.ResponseExcerpt, a.LatencyMS = res.statusCode, res.excerpt, int(res.latency.Milliseconds())
	if res.err != nil {
		a.Error = res.err.Error()
		if interrupted {
			a.Error = "interrupted: the worker stopped during the attempt (" + a.Error + ")"
		}
	}
	if err := n.store.FinishIPNAttempt(rctx, a, done); err != nil {
		n.log.ErrorContext(ctx, "cannot record notification attempt", "delivery", d.ID, "attempt", a.Attempt, "error", err)
	}
	log := n.log.With("delivery", d.ID, "transaction", d.TransactionID, "organization", d.OrganizationID,
		"attempt", a.Attempt, "trigger", trigger)

	switch {
	case res.err == nil:
		n.metrics.IPNAttempts.WithLabelValues("delivered").Inc()
		if _, err := n.store.MarkIPNDelivered(rctx, d.ID, http.StatusOK, done); err != nil {
			return err
		}
		log.Info("notification delivered", "latency_ms", a.LatencyMS)
		n.kickNext(rctx, d, done)
		return nil
	case interrupted:
		n.metrics.IPNAttempts.WithLabelValues("interrupted").Inc()
		if trigger == store.AttemptScheduled {
			_ = n.store.ScheduleIPNRetry(rctx, d.ID, done, a.StatusCode, a.Error)
		}
		return res.err
	case res.statusCode != nil:
		n.metrics.IPNAttempts.WithLabelValues("rejected").Inc()
	default:
		n.metrics.IPNAttempts.WithLabelValues("error").Inc()
	}

	if trigger == store.AttemptManual {
		// One attempt, as asked; the scheduled retries (if any) keep their own course.
		log.Warn("manual notification attempt failed", "error", a.Error)
		return n.store.NoteIPNAttempt(rctx, d.ID, a.StatusCode, a.Error)
	}
	deadline := d.CreatedAt.Add(n.maxAge)
	if !done.Before(deadline) {
		failed, err := n.store.FailIPNDelivery(rctx, d.ID, a.StatusCode, a.Error)
		if err != nil {
			return err
		}
		if failed {
			n.metrics.IPNFailures.WithLabelValues().Inc()
			log.Error("notification given up", "attempts", a.Attempt, "error", a.Error)
		}
		n.kickNext(rctx, d, done)
		return jobs.Permanent(fmt.Errorf("notification not accepted after %d attempts: %s", a.Attempt, a.Error))
	}
	next := done.Add(n.backoff(a.Attempt))
	if next.After(deadline) {
		next = deadline // one last attempt when the time is up
	}
	if err := n.store.ScheduleIPNRetry(rctx, d.ID, next, a.StatusCode, a.Error); err != nil {
		return err
	}
	log.Warn("notification attempt failed, will retry", "error", a.Error, "next_attempt_at", next)
	return jobs.RetryAt(next, errors.New(a.Error))
}

// kickNext makes the transaction's next pending notification due now, once d no longer holds it up.
func (n *Notifier) kickNext(ctx context.Context, d *store.IPNDelivery, now time.Time) {
	next, err := n.store.NextPendingIPNDelivery(ctx, d.TransactionID, d.EventVersion)
	if err != nil {
		return
	}
	if moved, err := n.store.KickJob(ctx, KindDeliver, next.ID, now); err == nil && moved {
		n.wake()
	}
}

type sendResult struct {
	statusCode *int
	excerpt    string
	latency    time.Duration
	err        error // nil only for HTTP 200
}

// send POSTs the delivery's body, signed with secret at timestamp ts.
func (n *Notifier) send(ctx context.Context, d *store.IPNDelivery, secret string, ts int64) sendResult {
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
		res.err = fmt.Errorf("%w (reading the answer: %v)", res.err, rerr)
	}
	return res
}

// clientFor picks the client that applies a delivery's SSRF policy: an internal address is
// allowed only if the delivery was accepted under IPN_ALLOW_PRIVATE_TARGETS (d.AllowPrivate,
// recorded on its checkout at creation) and this process allows it now. So switching the
// setting on later does not release queued deliveries, accepted under the strict policy, to
// addresses their names have since come to resolve to.
func (n *Notifier) clientFor(d *store.IPNDelivery) *http.Client {
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

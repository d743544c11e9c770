package duda

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	dudaapi "paygate.dev/pkg/duda"
	"paygate.dev/pkg/queue"
)

// Job kinds of the integration.
const (
	// KindConfirm reports a checkout's outcome to Duda (payload {"checkoutId"}).
	KindConfirm = "duda.confirm"
	// KindGateway registers our payment gateway on a Duda site after the install call could
	// not (payload {"siteId"}), retried with backoff.
	KindGateway = "duda.gateway"
	// KindResume queues the confirmations owed to a site the app was reinstalled on (payload
	// {"siteId"}).
	KindResume = "duda.resume"
)

// confirmMaxAttempts bounds a confirmation's retries: with the default backoff (doubling to an
// hour) that is more than a week of trying.
const confirmMaxAttempts = 200

// gatewayMaxAttempts bounds the retries of a gateway registration: with the default backoff
// (doubling to an hour) about three days of trying.
const gatewayMaxAttempts = 80

// RegisterWorkers adds the integration's job kinds to ws.
func (uc *Service) RegisterWorkers(ws *river.Workers) {
	river.AddWorker[ConfirmArgs](ws, &confirmWorker{uc: uc})
	river.AddWorker[GatewayArgs](ws, &gatewayWorker{uc: uc})
	river.AddWorker[ResumeArgs](ws, &resumeWorker{uc: uc})
}

// ConfirmArgs is a KindConfirm job: report checkout CheckoutID's outcome to Duda. Key (the
// checkout, the state and the transaction) makes it unique: one job per outcome to confirm.
type ConfirmArgs struct {
	CheckoutID     string `json:"checkoutId"`
	Key            string `json:"key,omitempty" river:"unique"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Kind implements river.JobArgs.
func (ConfirmArgs) Kind() string { return KindConfirm }

// InsertOpts: the duda queue, confirmMaxAttempts attempts, unique by key.
func (ConfirmArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Duda, MaxAttempts: confirmMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// GatewayArgs is a KindGateway job: register the payment gateway on Duda site SiteID; Key (the
// site and its install) makes it unique per install.
type GatewayArgs struct {
	SiteID         string `json:"siteId"`
	Key            string `json:"key,omitempty" river:"unique"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Kind implements river.JobArgs.
func (GatewayArgs) Kind() string { return KindGateway }

// InsertOpts: the duda queue, unique by key. The job keeps its own count of attempts (on the
// site, which the operator sees) and waits between them by snoozing.
func (GatewayArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Duda, MaxAttempts: gatewayMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ResumeArgs is a KindResume job: queue the confirmations a reinstalled site is owed; Key (the
// site and its install) makes it unique per install.
type ResumeArgs struct {
	SiteID         string `json:"siteId"`
	Key            string `json:"key,omitempty" river:"unique"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Kind implements river.JobArgs.
func (ResumeArgs) Kind() string { return KindResume }

// InsertOpts: the duda queue, 25 attempts, unique by key.
func (ResumeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Duda, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type confirmWorker struct {
	river.WorkerDefaults[ConfirmArgs]
	uc *Service
}

func (w *confirmWorker) Timeout(*river.Job[ConfirmArgs]) time.Duration { return 2 * time.Minute }
func (w *confirmWorker) NextRetry(job *river.Job[ConfirmArgs]) time.Time {
	return queue.Retry(w.uc.backoff, job.Attempt)
}
func (w *confirmWorker) Work(ctx context.Context, job *river.Job[ConfirmArgs]) error {
	return w.uc.runConfirm(ctx, job.Args.CheckoutID)
}

type gatewayWorker struct {
	river.WorkerDefaults[GatewayArgs]
	uc *Service
}

func (w *gatewayWorker) Timeout(*river.Job[GatewayArgs]) time.Duration { return 2 * time.Minute }
func (w *gatewayWorker) NextRetry(job *river.Job[GatewayArgs]) time.Time {
	return queue.Retry(w.uc.gwBackoff, job.Attempt)
}
func (w *gatewayWorker) Work(ctx context.Context, job *river.Job[GatewayArgs]) error {
	return w.uc.runGateway(ctx, job.Args.SiteID)
}

type resumeWorker struct {
	river.WorkerDefaults[ResumeArgs]
	uc *Service
}

func (w *resumeWorker) Timeout(*river.Job[ResumeArgs]) time.Duration { return 5 * time.Minute }
func (w *resumeWorker) Work(ctx context.Context, job *river.Job[ResumeArgs]) error {
	return w.uc.runResume(ctx, job.Args.SiteID)
}

// Hook is the outbox hook: a state change of a checkout that came from Duda queues its
// confirmation, one job per checkout, state and transaction. The job decides again when it runs.
// tx acts in the dispatcher's transaction, so the job is queued with the event's delivery
// (dudastore.Hook adapts the dispatcher's call).
func (uc *Service) Hook(ctx context.Context, tx Store, e domain.Event) error {
	if e.CheckoutID == nil || !(strings.HasPrefix(e.Type, "transaction.") ||
		e.Type == domain.EventCheckoutExpired || e.Type == domain.EventCheckoutCancelled || e.Type == domain.EventCheckoutCompleted) {
		return nil
	}
	sess, err := tx.GetDudaSession(ctx, *e.CheckoutID)
	if domain.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	o, err := uc.outcome(ctx, tx, sess)
	if err != nil || !due(sess, o) {
		return err
	}
	key := sess.CheckoutID + ":" + string(o.state)
	if o.txn != nil {
		key += ":" + o.txn.ID
	}
	return tx.InsertJob(ctx, ConfirmArgs{CheckoutID: sess.CheckoutID, Key: key, OrganizationID: sess.OrganizationID})
}

// runConfirm is the confirmation job: retried with backoff until Duda accepts.
func (uc *Service) runConfirm(ctx context.Context, checkoutID string) error {
	_, err := uc.Confirm(ctx, checkoutID)
	return jobError(err)
}

// installedSite reads a site job's site: nil (and no error) when the app was uninstalled
// from it meanwhile, which ends the job.
func (uc *Service) installedSite(ctx context.Context, siteID string) (*domain.DudaSite, error) {
	site, err := uc.store.GetDudaSiteByID(ctx, siteID)
	if err != nil {
		return nil, jobError(err)
	}
	if !site.Installed() {
		return nil, nil
	}
	return site, nil
}

// runGateway is the job that registers the gateway when the install call could not. Whatever
// Duda answers (a 405 while the store is being set up, a 5xx, a timeout) is retried with
// backoff until the attempts run out; the site's gateway state tells the operator where it
// stands (attempts, Duda's last answer, the next attempt, or that it gave up).
func (uc *Service) runGateway(ctx context.Context, siteID string) error {
	site, err := uc.installedSite(ctx, siteID)
	if site == nil {
		return err // or uninstalled meanwhile
	}
	app, err := uc.connection(ctx, site.ConnectionID)
	if err != nil {
		return jobError(err)
	}
	attempts := site.GatewayAttempts + 1
	gwErr := uc.ensureGateway(ctx, app, site)
	if gwErr == nil {
		uc.log.InfoContext(ctx, "Duda payment gateway registered", "site_name", site.SiteName, "gateway_id", site.GatewayID, "attempts", attempts)
		return uc.store.SetDudaSiteGatewayState(ctx, site.ID, domain.DudaGatewayRegistered, "", attempts, nil)
	}
	if errors.Is(gwErr, dudaapi.ErrNoTokens) {
		return river.JobCancel(gwErr) // uninstalled meanwhile
	}
	msg := gatewayErrorText(gwErr)
	// The install made the first attempt; the job makes up to gatewayMaxAttempts more.
	if attempts > gatewayMaxAttempts {
		if err := uc.store.SetDudaSiteGatewayState(ctx, site.ID, domain.DudaGatewayFailed, msg, attempts, nil); err != nil {
			uc.log.ErrorContext(ctx, "record Duda gateway state", "error", err)
		}
		return river.JobCancel(gwErr)
	}
	now := uc.payments.Now()
	next := now.Add(uc.gatewayBackoff(attempts - 1))
	if err := uc.store.SetDudaSiteGatewayState(ctx, site.ID, domain.DudaGatewayRetrying, msg, attempts, &next); err != nil {
		uc.log.ErrorContext(ctx, "record Duda gateway state", "error", err)
	}
	uc.log.WarnContext(ctx, "Duda did not register the payment gateway, retrying", "site_name", site.SiteName,
		"attempts", attempts, "next_attempt_at", next, "error", gwErr)
	// The next attempt at the time the site shows: the job waits (snoozes) until then.
	return river.JobSnooze(max(next.Sub(now), 0))
}

// runResume queues the confirmations a reinstalled site is owed: every session of the site made
// before the install and not yet confirmed PROCESSED whose outcome is due (a payment completed while the app was
// uninstalled, whose confirmation job gave up for want of tokens).
func (uc *Service) runResume(ctx context.Context, siteID string) error {
	site, err := uc.installedSite(ctx, siteID)
	if site == nil {
		return err
	}
	install := strconv.FormatInt(site.InstalledAt.UnixMicro(), 10)
	queued := 0
	for after := ""; ; {
		// Sessions made since have their confirmations queued as usual.
		list, err := uc.store.ListDudaSessionsNotProcessed(ctx, site.ID, *site.InstalledAt, after, 200)
		if err != nil {
			return err
		}
		for i := range list {
			sess := &list[i]
			after = sess.CheckoutID
			o, err := uc.outcome(ctx, uc.store, sess)
			if err != nil {
				return err
			}
			if !due(sess, o) {
				continue
			}
			if err := uc.store.InsertJob(ctx, ConfirmArgs{CheckoutID: sess.CheckoutID, Key: sess.CheckoutID + ":reinstall:" + install,
				OrganizationID: sess.OrganizationID}); err != nil {
				return err
			}
			queued++
		}
		if len(list) < 200 {
			break
		}
	}
	if queued > 0 {
		uc.log.InfoContext(ctx, "confirmations owed to a reinstalled Duda site queued", "site_name", site.SiteName, "count", queued)
	}
	return nil
}

// jobError decides whether a failed call to Duda is worth retrying: answers that cannot change
// (a 4xx other than 401, 408 and 429; a site the app left; an object gone) fail the job for good.
func jobError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, dudaapi.ErrNoTokens) || domain.IsNotFound(err) {
		return river.JobCancel(err)
	}
	var ae *dudaapi.APIError
	if errors.As(err, &ae) && ae.StatusCode != 0 && !dudaapi.IsRetryable(err) && !dudaapi.IsUnauthorized(err) {
		return river.JobCancel(err)
	}
	return err
}

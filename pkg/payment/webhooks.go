package payment

import (
	"context"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/providers"
	"paygate.dev/pkg/queue"
)

// JobProviderEvent is the job kind that applies one stored provider event.
const JobProviderEvent = "provider.event"

// ProviderEventArgs is a JobProviderEvent job: apply stored provider event EventID. One job per
// event (unique by its id).
type ProviderEventArgs struct {
	EventID        string `json:"eventId" river:"unique"`
	OrganizationID string `json:"organizationId,omitempty"`
}

// Kind implements river.JobArgs.
func (ProviderEventArgs) Kind() string { return JobProviderEvent }

// InsertOpts puts provider events on their own queue, 20 attempts with the default backoff.
func (ProviderEventArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Events, MaxAttempts: 20, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type providerEventWorker struct {
	river.WorkerDefaults[ProviderEventArgs]
	s *Service
}

func (w *providerEventWorker) NextRetry(job *river.Job[ProviderEventArgs]) time.Time {
	return queue.Retry(nil, job.Attempt)
}

func (w *providerEventWorker) Work(ctx context.Context, job *river.Job[ProviderEventArgs]) error {
	return w.s.ApplyProviderEvent(ctx, job.Args.EventID)
}

// RegisterWorkers adds the service's own job kinds (provider events) to ws.
func (s *Service) RegisterWorkers(ws *river.Workers) {
	river.AddWorker[ProviderEventArgs](ws, &providerEventWorker{s: s})
}

// IncomingEvent is one event of a verified provider webhook.
type IncomingEvent = providers.IncomingEvent

// ReceiveWebhook stores a verified webhook delivery raw, then each of its events once by its
// provider-side id, and queues one job per new event to apply it — all in one database
// transaction, so an acknowledged delivery is never lost and a repeated one adds nothing.
// It returns how many events were new.
func (s *Service) ReceiveWebhook(ctx context.Context, p *domain.Provider, headers map[string]string, body []byte, events []IncomingEvent) (int, error) {
	fresh := 0
	err := s.store.InTx(ctx, func(tx Store) error {
		fresh = 0
		d := &domain.WebhookDelivery{ID: domain.NewID(domain.PrefixWebhook), ProviderID: p.ID, OrganizationID: p.OrganizationID,
			ProviderType: p.Type, Headers: headers, Body: string(body)}
		if err := tx.SaveWebhookDelivery(ctx, d); err != nil {
			return err
		}
		for _, in := range events {
			e := &domain.ProviderEvent{ID: domain.NewID(domain.PrefixProviderEvt), ProviderID: p.ID, OrganizationID: p.OrganizationID,
				ProviderType: p.Type, ExternalID: in.ExternalID, Type: in.Type, DeliveryID: &d.ID, Payload: string(in.Payload), ObjectID: in.ObjectID}
			if !in.OccurredAt.IsZero() {
				at := in.OccurredAt
				e.OccurredAt = &at
			}
			inserted, err := tx.InsertProviderEvent(ctx, e)
			if err != nil {
				return err
			}
			if !inserted {
				continue
			}
			fresh++
			if _, err := queue.Insert(ctx, tx, ProviderEventArgs{EventID: e.ID, OrganizationID: p.OrganizationID}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	return fresh, err
}

// Outcome is a provider's report about a transaction (typed: see providers.Outcome).
type Outcome = providers.Outcome

// kindFor is the outcome kind of a plain target status.
func kindFor(to domain.TransactionStatus) domain.OutcomeKind {
	switch to {
	case domain.TxnPendingProvider:
		return domain.OutcomePending
	case domain.TxnSucceeded:
		return domain.OutcomeSucceeded
	case domain.TxnFailed:
		return domain.OutcomeFailed
	case domain.TxnCanceled:
		return domain.OutcomeCancelled
	case domain.TxnDisputed:
		return domain.OutcomeDisputeOpened
	case domain.TxnPartiallyRefunded:
		return domain.OutcomePartiallyRefunded
	case domain.TxnRefunded:
		return domain.OutcomeRefunded
	}
	return ""
}

// ApplyOutcome moves a transaction as its provider reports, idempotently and by the one
// transition table (domain.Decide): an outcome already applied is a no-op; a report the table
// does not allow from the current status (a payment success after a dispute opened) or older,
// by the provider's own time, than the last report applied (a failure created before the
// success) is ignored — no status change, no notification. A success for a checkout another
// attempt already paid is a duplicate payment (see recordDuplicate).
func (s *Service) ApplyOutcome(ctx context.Context, t *domain.Transaction, o Outcome) (*domain.Transaction, error) {
	if o.Kind == "" {
		o.Kind = kindFor(o.To)
	}
	set := outcomeChanges(o)
	moved, err := s.store.TransitionTransaction(ctx, domain.Transition{OrganizationID: t.OrganizationID, TransactionID: t.ID, Kind: o.Kind, At: o.At,
		Only: o.Only, Changes: set, EventData: o.EventData})
	switch {
	case err == nil:
		s.metrics.TransactionsByStat.WithLabelValues(string(t.ProviderType), string(moved.Status)).Inc()
		return moved, nil
	case domain.ErrorCode(err) == domain.CodeAlreadyInState:
		return s.store.GetTransaction(ctx, t.OrganizationID, t.ID)
	case domain.ErrorCode(err) == domain.CodeStaleReport:
		s.log.InfoContext(ctx, "provider outcome ignored: older than the transaction's last report", "transaction_id", t.ID, "kind", string(o.Kind))
		return s.store.GetTransaction(ctx, t.OrganizationID, t.ID)
	case domain.ErrorCode(err) == domain.CodeInvalidState:
		// The transition table does not take this report from the current status (e.g. a
		// payment success after a dispute opened, a "processing" after the success).
		s.log.InfoContext(ctx, "provider outcome ignored: not a move from the transaction's status", "transaction_id", t.ID, "kind", string(o.Kind))
		return s.store.GetTransaction(ctx, t.OrganizationID, t.ID)
	case domain.ErrorCode(err) == domain.CodeAlreadyPaid && o.Kind == domain.OutcomeSucceeded:
		return s.recordDuplicate(ctx, t, o, set)
	}
	return nil, err
}

// outcomeChanges are the fields an outcome writes with its move: what it reports, nothing
// else (an empty field leaves the stored one as it is).
func outcomeChanges(o Outcome) domain.TransactionChanges {
	var ch domain.TransactionChanges
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	ch.ProviderPaymentID = opt(o.ProviderPaymentID)
	ch.DisputeStatus = opt(o.DisputeStatus)
	ch.FailureCode = opt(o.FailureCode)
	ch.FailureMessage = opt(o.FailureMessage)
	return ch
}

// duplicateMessage is the failure message of a paid duplicate: what the operator should do.
const duplicateMessage = "the provider took this payment after another attempt had already paid the checkout; refund it"

// recordDuplicate records a success for a checkout another attempt already paid: the money
// was taken, so the transaction becomes succeeded and flagged duplicate (failure code
// duplicate_payment), a paid attempt that is not the checkout's payment. It can be refunded in
// full (or in part) like any paid transaction, and the merchant is never notified about it:
// the order's status stays the first payment's.
func (s *Service) recordDuplicate(ctx context.Context, t *domain.Transaction, o Outcome, set domain.TransactionChanges) (*domain.Transaction, error) {
	dup := set
	dup.Duplicate = domain.Ptr(true)
	dup.FailureCode = domain.Ptr("duplicate_payment")
	dup.FailureMessage = domain.Ptr(duplicateMessage)
	data := map[string]any{}
	for k, v := range o.EventData {
		data[k] = v
	}
	data["duplicate"] = true
	moved, err := s.store.TransitionTransaction(ctx, domain.Transition{OrganizationID: t.OrganizationID, TransactionID: t.ID, Kind: o.Kind, At: o.At,
		Only: o.Only, Changes: dup, EventData: data})
	switch {
	case err == nil:
		s.log.ErrorContext(ctx, "duplicate payment: another attempt already paid this checkout; refund it", "transaction_id", t.ID, "checkout_id", t.CheckoutID)
		s.metrics.TransactionsByStat.WithLabelValues(string(t.ProviderType), "duplicate").Inc()
		return moved, nil
	case domain.ErrorCode(err) == domain.CodeAlreadyInState, domain.ErrorCode(err) == domain.CodeInvalidState:
		return s.store.GetTransaction(ctx, t.OrganizationID, t.ID)
	}
	return nil, err
}

// RecordProviderRefund records a refund the provider reports (one made in the provider's own
// dashboard, or the confirmation of one we asked for), once per provider refund id.
func (s *Service) RecordProviderRefund(ctx context.Context, t *domain.Transaction, providerRef string, amount int64, status domain.RefundStatus, reason string) error {
	r, err := s.store.GetRefundByProviderRef(ctx, t.ID, providerRef)
	if domain.IsNotFound(err) {
		r = &domain.Refund{ID: domain.NewID(domain.PrefixRefund), OrganizationID: t.OrganizationID, TransactionID: t.ID, Amount: amount,
			Currency: t.Currency, Reason: reason, Status: domain.RefundPending, Source: "provider", ProviderReference: &providerRef, CreatedBy: string(t.ProviderType)}
		if err := s.store.CreateRefund(ctx, r); err != nil {
			if domain.IsConstraint(err, "refunds_provider_reference_key") {
				return s.RecordProviderRefund(ctx, t, providerRef, amount, status, reason)
			}
			return err
		}
	} else if err != nil {
		return err
	}
	switch status {
	case domain.RefundSucceeded:
		return s.CompleteRefund(ctx, t.OrganizationID, r.ID, providers.RefundUpdate{})
	case domain.RefundFailed:
		return s.FailRefund(ctx, t.OrganizationID, r.ID, "the provider reported the refund failed")
	}
	return nil
}

// IgnoredBecause is the status of an event recorded but not applied, with the reason kept on
// the stored event.
func IgnoredBecause(reason string) string { return providers.IgnoredBecause(reason) }

// ApplyProviderEvent is the provider.event job: it applies a stored event once. An event
// already handled is skipped, so a repeated job does nothing.
func (s *Service) ApplyProviderEvent(ctx context.Context, eventID string) error {
	ev, err := s.store.GetProviderEvent(ctx, eventID)
	if err != nil {
		return err
	}
	if ev.Status != domain.ProviderEventReceived {
		return nil
	}
	p, ok := s.providers[ev.ProviderType].(providers.Webhooks)
	if !ok {
		return s.store.FinishProviderEvent(ctx, ev.ID, domain.ProviderEventIgnored, "no processor for "+string(ev.ProviderType))
	}
	status, err := p.ApplyEvent(ctx, ev)
	if err != nil {
		_ = s.store.FinishProviderEvent(ctx, ev.ID, domain.ProviderEventReceived, err.Error())
		return err
	}
	note := ""
	if reason, ok := strings.CutPrefix(status, domain.ProviderEventIgnored+": "); ok {
		status, note = domain.ProviderEventIgnored, reason
	}
	return s.store.FinishProviderEvent(ctx, ev.ID, status, note)
}

// RecordDispute notes a dispute's progress on a transaction without a status change (under
// review, lost), with an event for the timeline.
func (s *Service) RecordDispute(ctx context.Context, t *domain.Transaction, eventType, status string, data map[string]any) error {
	return s.store.InTx(ctx, func(tx Store) error {
		if err := tx.UpdateTransactionFields(ctx, t.OrganizationID, t.ID, domain.TransactionChanges{DisputeStatus: &status}); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, &domain.Event{OrganizationID: t.OrganizationID, Type: eventType, CheckoutID: &t.CheckoutID,
			TransactionID: &t.ID, Status: string(t.Status), Data: data})
	})
}

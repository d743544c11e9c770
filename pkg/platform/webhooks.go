package platform

import (
	"context"

	"paygate.dev/pkg/domain"
	"paygate.dev/pkg/jobs"
	"paygate.dev/pkg/store"
)

// JobProviderEvent is the job kind that applies one stored provider event.
const JobProviderEvent = "provider.event"

// IncomingEvent is one event of a verified provider webhook.
type IncomingEvent struct {
	ExternalID string
	Type       string
	Payload    []byte
}

// ReceiveWebhook stores a verified webhook delivery raw, then each of its events once by its
// provider-side id, and queues one job per new event to apply it — all in one database
// transaction, so an acknowledged delivery is never lost and a repeated one adds nothing.
// It returns how many events were new.
func (s *Service) ReceiveWebhook(ctx context.Context, p *domain.Provider, headers map[string]string, body []byte, events []IncomingEvent) (int, error) {
	fresh := 0
	err := s.store.InTx(ctx, func(tx *store.Store) error {
		fresh = 0
		d := &domain.WebhookDelivery{ID: domain.NewID(domain.PrefixWebhook), ProviderID: p.ID, OrganizationID: p.OrganizationID,
			ProviderType: p.Type, Headers: headers, Body: string(body)}
		if err := tx.SaveWebhookDelivery(ctx, d); err != nil {
			return err
		}
		for _, in := range events {
			e := &domain.ProviderEvent{ID: domain.NewID(domain.PrefixProviderEvt), ProviderID: p.ID, OrganizationID: p.OrganizationID,
				ProviderType: p.Type, ExternalID: in.ExternalID, Type: in.Type, DeliveryID: &d.ID, Payload: string(in.Payload)}
			inserted, err := tx.InsertProviderEvent(ctx, e)
			if err != nil {
				return err
			}
			if !inserted {
				continue
			}
			fresh++
			if _, _, err := jobs.Enqueue(ctx, tx, JobProviderEvent, map[string]string{"eventId": e.ID},
				jobs.UniqueKey(e.ID), jobs.Organization(p.OrganizationID), jobs.MaxAttempts(20)); err != nil {
				return err
			}
		}
		return nil
	})
	return fresh, err
}

// Outcome is a provider's report about a transaction.
type Outcome struct {
	To             domain.TransactionStatus
	From           []domain.TransactionStatus // default: every status allowed to reach To
	Set            map[string]any             // provider references, failure details ...
	EventData      map[string]any
	FailureCode    string
	FailureMessage string
}

// ApplyOutcome moves a transaction as its provider reports, idempotently: an outcome already
// applied is a no-op, and reports arriving in any order never move a transaction backwards
// (a late "failed" after "succeeded" is ignored unless the state machine allows it). A success
// for a checkout another attempt already paid is a duplicate payment (see recordDuplicate).
func (s *Service) ApplyOutcome(ctx context.Context, t *domain.Transaction, o Outcome) (*domain.Transaction, error) {
	set := o.Set
	if set == nil {
		set = map[string]any{}
	}
	if o.FailureCode != "" {
		set["failure_code"] = o.FailureCode
	}
	if o.FailureMessage != "" {
		msg := o.FailureMessage
		if len(msg) > 500 {
			msg = msg[:500]
		}
		set["failure_message"] = msg
	}
	moved, err := s.store.TransitionTransaction(ctx, store.Transition{OrganizationID: t.OrganizationID, TransactionID: t.ID, To: o.To, From: o.From,
		Set: set, EventData: o.EventData})
	switch {
	case err == nil:
		s.metrics.TransactionsByStat.WithLabelValues(string(t.ProviderType), string(o.To)).Inc()
		return moved, nil
	case domain.ErrorCode(err) == store.ErrAlreadyInState:
		return s.store.GetTransaction(ctx, t.OrganizationID, t.ID)
	case domain.ErrorCode(err) == domain.CodeInvalidState:
		// The transaction moved on (e.g. succeeded before a stale "processing" arrived).
		s.log.InfoContext(ctx, "provider outcome ignored: transaction already moved on", "transaction_id", t.ID, "to", o.To)
		return s.store.GetTransaction(ctx, t.OrganizationID, t.ID)
	case domain.ErrorCode(err) == domain.CodeAlreadyPaid && o.To == domain.TxnSucceeded:
		return s.recordDuplicate(ctx, t, o, set)
	}
	return nil, err
}

// duplicateMessage is the failure message of a paid duplicate: what the operator should do.
const duplicateMessage = "the provider took this payment after another attempt had already paid the checkout; refund it"

// recordDuplicate records a success for a checkout another attempt already paid: the money
// was taken, so the transaction becomes succeeded and flagged duplicate (failure code
// duplicate_payment), a paid attempt that is not the checkout's payment. It can be refunded in
// full (or in part) like any paid transaction, and the merchant is never notified about it:
// the order's status stays the first payment's.
func (s *Service) recordDuplicate(ctx context.Context, t *domain.Transaction, o Outcome, set map[string]any) (*domain.Transaction, error) {
	dup := map[string]any{}
	for k, v := range set {
		dup[k] = v
	}
	dup["duplicate"] = true
	dup["failure_code"] = "duplicate_payment"
	dup["failure_message"] = duplicateMessage
	data := map[string]any{}
	for k, v := range o.EventData {
		data[k] = v
	}
	data["duplicate"] = true
	moved, err := s.store.TransitionTransaction(ctx, store.Transition{OrganizationID: t.OrganizationID, TransactionID: t.ID, To: domain.TxnSucceeded,
		From: o.From, Set: dup, EventData: data})
	switch {
	case err == nil:
		s.log.ErrorContext(ctx, "duplicate payment: another attempt already paid this checkout; refund it", "transaction_id", t.ID, "checkout_id", t.CheckoutID)
		s.metrics.TransactionsByStat.WithLabelValues(string(t.ProviderType), "duplicate").Inc()
		return moved, nil
	case domain.ErrorCode(err) == store.ErrAlreadyInState, domain.ErrorCode(err) == domain.CodeInvalidState:
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
			if store.IsConstraint(err, "refunds_provider_reference_key") {
				return s.RecordProviderRefund(ctx, t, providerRef, amount, status, reason)
			}
			return err
		}
	} else if err != nil {
		return err
	}
	switch status {
	case domain.RefundSucceeded:
		return s.CompleteRefund(ctx, t.OrganizationID, r.ID, nil)
	case domain.RefundFailed:
		return s.FailRefund(ctx, t.OrganizationID, r.ID, "the provider reported the refund failed")
	}
	return nil
}

// EventProcessor applies one provider's stored events (each adapter package has one).
type EventProcessor interface {
	// ApplyEvent applies the event and says how it was handled (processed or ignored).
	// An error leaves the event to be retried.
	ApplyEvent(ctx context.Context, ev *domain.ProviderEvent) (status string, err error)
}

// RegisterEventProcessor sets the processor of a provider type's events.
func (s *Service) RegisterEventProcessor(t domain.ProviderType, p EventProcessor) {
	if s.processors == nil {
		s.processors = map[domain.ProviderType]EventProcessor{}
	}
	s.processors[t] = p
}

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
	p, ok := s.processors[ev.ProviderType]
	if !ok {
		return s.store.FinishProviderEvent(ctx, ev.ID, domain.ProviderEventIgnored, "no processor for "+string(ev.ProviderType))
	}
	status, err := p.ApplyEvent(ctx, ev)
	if err != nil {
		_ = s.store.FinishProviderEvent(ctx, ev.ID, domain.ProviderEventReceived, err.Error())
		return err
	}
	return s.store.FinishProviderEvent(ctx, ev.ID, status, "")
}

// RecordDispute notes a dispute's progress on a transaction without a status change (under
// review, lost), with an event for the timeline.
func (s *Service) RecordDispute(ctx context.Context, t *domain.Transaction, eventType, status string, data map[string]any) error {
	return s.store.InTx(ctx, func(tx *store.Store) error {
		if err := tx.UpdateTransactionFields(ctx, t.OrganizationID, t.ID, map[string]any{"dispute_status": status}); err != nil {
			return err
		}
		return tx.AppendEvent(ctx, &domain.Event{OrganizationID: t.OrganizationID, Type: eventType, CheckoutID: &t.CheckoutID,
			TransactionID: &t.ID, Status: string(t.Status), Data: data})
	})
}

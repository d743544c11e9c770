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
// for a checkout another attempt already paid is a duplicate payment: it is recorded on the
// transaction and logged for an operator to refund.
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
	case domain.ErrorCode(err) == domain.CodeAlreadyPaid:
		s.log.ErrorContext(ctx, "duplicate payment: another attempt already paid this checkout; refund it", "transaction_id", t.ID, "checkout_id", t.CheckoutID)
		if uerr := s.store.UpdateTransactionFields(ctx, t.OrganizationID, t.ID, map[string]any{"failure_code": "duplicate_payment",
			"failure_message": "the provider took this payment after another attempt had already paid the checkout; refund it"}); uerr != nil {
			return nil, uerr
		}
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

package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// AppendEvent writes an outbox event. Call it inside the transaction that makes the change it
// describes, so the event exists exactly when the change does.
func (s *Store) AppendEvent(ctx context.Context, e *domain.Event) error {
	if e.ID == "" {
		e.ID = domain.NewID(domain.PrefixEvent)
	}
	now := Now()
	e.CreatedAt = now
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	e.OccurredAt = UTC(e.OccurredAt)
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	return translate(s.q(ctx).Create(e).Error, "event")
}

// ListCheckoutEvents returns the events of a checkout and its transactions, oldest first.
func (s *Store) ListCheckoutEvents(ctx context.Context, orgID, checkoutID string) ([]domain.Event, error) {
	var out []domain.Event
	err := s.q(ctx).Where("organization_id = ? AND checkout_id = ?", orgID, checkoutID).Order("occurred_at, id").Limit(1000).Find(&out).Error
	return out, translate(err, "events")
}

// ListTransactionEvents returns a transaction's events in the order they happened (status
// changes carry increasing versions; other events, such as refunds, have version 0).
func (s *Store) ListTransactionEvents(ctx context.Context, orgID, txnID string) ([]domain.Event, error) {
	var out []domain.Event
	err := s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, txnID).Order("occurred_at, id").Limit(1000).Find(&out).Error
	return out, translate(err, "events")
}

// GetEvent returns one event by id.
func (s *Store) GetEvent(ctx context.Context, id string) (*domain.Event, error) {
	var e domain.Event
	if err := s.q(ctx).Where("id = ?", id).Take(&e).Error; err != nil {
		return nil, translate(err, "event")
	}
	return &e, nil
}

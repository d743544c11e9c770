package store

import (
	"context"

	"paygate.dev/pkg/domain"
)

// CreateRefund inserts a refund and its refund.created event.
func (s *Store) CreateRefund(ctx context.Context, r *domain.Refund) error {
	now := Now()
	r.CreatedAt, r.UpdatedAt = now, now
	return s.InTx(ctx, func(tx *Store) error {
		if err := tx.db.Create(r).Error; err != nil {
			return translate(err, "refund")
		}
		var checkoutID string
		if err := tx.db.Raw(`SELECT checkout_id FROM transactions WHERE id = ?`, r.TransactionID).Scan(&checkoutID).Error; err != nil {
			return translate(err, "refund")
		}
		return tx.AppendEvent(ctx, &domain.Event{
			OrganizationID: r.OrganizationID, Type: domain.EventRefundCreated, CheckoutID: &checkoutID, TransactionID: &r.TransactionID,
			Status: string(r.Status), Data: map[string]any{"refundId": r.ID, "amount": r.Amount, "currency": r.Currency}, OccurredAt: now,
		})
	})
}

// GetRefund returns NOT_FOUND for another organisation's refund.
func (s *Store) GetRefund(ctx context.Context, orgID, id string) (*domain.Refund, error) {
	var r domain.Refund
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&r).Error; err != nil {
		return nil, translate(err, "refund")
	}
	return &r, nil
}

// GetRefundByProviderRef finds a refund by the provider's refund id.
func (s *Store) GetRefundByProviderRef(ctx context.Context, txnID, ref string) (*domain.Refund, error) {
	var r domain.Refund
	if err := s.q(ctx).Where("transaction_id = ? AND provider_reference = ?", txnID, ref).Take(&r).Error; err != nil {
		return nil, translate(err, "refund")
	}
	return &r, nil
}

// ListRefunds returns a transaction's refunds, oldest first.
func (s *Store) ListRefunds(ctx context.Context, orgID, txnID string) ([]domain.Refund, error) {
	var out []domain.Refund
	return out, translate(s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, txnID).Order("id").Find(&out).Error, "refunds")
}

// UpdateRefund changes a refund's status, provider reference and failure message, expecting
// it to be in status from (compare-and-set).
func (s *Store) UpdateRefund(ctx context.Context, orgID, id string, from domain.RefundStatus, set map[string]any) error {
	set["updated_at"] = Now()
	res := s.q(ctx).Model(&domain.Refund{}).Where("id = ? AND organization_id = ? AND status = ?", id, orgID, from).Updates(set)
	if res.Error != nil {
		return translate(res.Error, "refund")
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetRefund(ctx, orgID, id); err != nil {
			return err
		}
		return domain.Conflict(domain.CodeInvalidState, "the refund is no longer %s", from)
	}
	return nil
}

// SumRefunds returns the total of a transaction's refunds that are pending or succeeded:
// money promised back, which a new refund must not exceed together with.
func (s *Store) SumRefunds(ctx context.Context, txnID string) (int64, error) {
	var sum *int64
	err := s.q(ctx).Raw(`SELECT SUM(amount) FROM refunds WHERE transaction_id = ? AND status IN ('pending', 'succeeded')`, txnID).Scan(&sum).Error
	if err != nil || sum == nil {
		return 0, translate(err, "refunds")
	}
	return *sum, nil
}

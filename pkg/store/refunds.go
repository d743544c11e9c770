package store

import (
	"context"
	"time"

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

// RefundFilter is the domain's.
type RefundFilter = domain.RefundFilter

// ListRefundsPage lists refunds newest first (Limit+1 rows, after the cursor), with their
// transaction's mode, site and provider as filters.
func (s *Store) ListRefundsPage(ctx context.Context, f RefundFilter) ([]domain.Refund, error) {
	q := s.q(ctx).Model(&domain.Refund{}).Where("organization_id = ?", f.OrganizationID)
	if f.TransactionID != "" {
		q = q.Where("transaction_id = ?", f.TransactionID)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Mode != "" || f.SiteID != "" || f.ProviderID != "" {
		sub := s.q(ctx).Model(&domain.Transaction{}).Select("id").Where("id = refunds.transaction_id")
		for col, v := range map[string]string{"mode": string(f.Mode), "site_id": f.SiteID, "provider_id": f.ProviderID} {
			if v != "" {
				sub = sub.Where(col+" = ?", v)
			}
		}
		q = q.Where("EXISTS (?)", sub)
	}
	q = createdRange(q, domain.PrefixRefund, f.CreatedFrom, f.CreatedTo)
	var out []domain.Refund
	return out, translate(page(q, f.After, "", f.Limit).Find(&out).Error, "refunds")
}

// UpdateRefund changes a refund's status, provider reference and failure message, expecting
// it to be in status from (compare-and-set).
func (s *Store) UpdateRefund(ctx context.Context, orgID, id string, from domain.RefundStatus, ch domain.RefundChanges) error {
	set := refundColumns(ch)
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

// ListUnsentRefunds returns a transaction's refunds the provider has not accepted yet, oldest
// first: pending, not manual, without a provider reference. They are either waiting for their
// turn at the provider or were interrupted mid-call (a crash); sending one again under its
// idempotency key is safe.
func (s *Store) ListUnsentRefunds(ctx context.Context, orgID, txnID string) ([]domain.Refund, error) {
	var out []domain.Refund
	err := s.q(ctx).Where("organization_id = ? AND transaction_id = ? AND status = ? AND provider_reference IS NULL AND manual = ?",
		orgID, txnID, domain.RefundPending, false).Order("created_at, id").Find(&out).Error
	return out, translate(err, "refunds")
}

// SumAcceptedRefunds returns the total of a transaction's refunds the provider has accepted:
// succeeded, or pending with the provider's reference. With the refund about to be sent it is
// the running total the provider expects (GoCardless's total_amount_confirmation).
func (s *Store) SumAcceptedRefunds(ctx context.Context, txnID string) (int64, error) {
	var sum *int64
	err := s.q(ctx).Raw(`SELECT SUM(amount) FROM refunds WHERE transaction_id = ? AND (status = 'succeeded' OR (status = 'pending' AND provider_reference IS NOT NULL))`, txnID).Scan(&sum).Error
	if err != nil || sum == nil {
		return 0, translate(err, "refunds")
	}
	return *sum, nil
}

// ClaimRefundLock takes the lease on a transaction's refund calls for ttl, with compare-and-set:
// it succeeds when nobody holds it, when the holder's lease expired (it crashed), or when token
// already holds it (a renewal). It reports whether token holds the lease now.
func (s *Store) ClaimRefundLock(ctx context.Context, txnID, token string, ttl time.Duration) (bool, error) {
	now := Now()
	res := s.q(ctx).Exec(`INSERT INTO refund_locks (transaction_id, token, expires_at) VALUES (?, ?, ?)
ON CONFLICT (transaction_id) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
WHERE refund_locks.expires_at < ? OR refund_locks.token = excluded.token`, txnID, token, now.Add(ttl), now)
	if res.Error != nil {
		return false, translate(res.Error, "refund lock")
	}
	return res.RowsAffected == 1, nil
}

// ReleaseRefundLock gives the lease back if token still holds it.
func (s *Store) ReleaseRefundLock(ctx context.Context, txnID, token string) error {
	return translate(s.q(ctx).Exec(`DELETE FROM refund_locks WHERE transaction_id = ? AND token = ?`, txnID, token).Error, "refund lock")
}

// ListQueuedRefunds finds transactions with refunds still unsent (see ListUnsentRefunds)
// created before before: refunds whose request ended (a crash, or a caller that stopped
// waiting for its turn) before the provider accepted them.
func (s *Store) ListQueuedRefunds(ctx context.Context, before time.Time, limit int) ([]domain.QueuedRefunds, error) {
	var out []domain.QueuedRefunds
	err := s.q(ctx).Model(&domain.Refund{}).Distinct("organization_id", "transaction_id").
		Where("status = ? AND provider_reference IS NULL AND manual = ? AND created_at < ?", domain.RefundPending, false, UTC(before)).
		Limit(limit).Scan(&out).Error
	return out, translate(err, "refunds")
}

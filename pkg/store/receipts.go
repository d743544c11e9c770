package store

import (
	"context"

	"gorm.io/gorm/clause"

	"paygate.dev/pkg/domain"
)

// CreateReceipt records a receipt to send; one whose dedupe key exists already (a transaction's
// automatic receipt queued before) is not created again, and created is false.
func (s *Store) CreateReceipt(ctx context.Context, r *domain.Receipt) (created bool, err error) {
	if r.ID == "" {
		r.ID = domain.NewID(domain.PrefixReceipt)
	}
	if r.DedupeKey == "" {
		r.DedupeKey = r.ID
	}
	if r.Status == "" {
		r.Status = domain.ReceiptPending
	}
	r.CreatedAt = Now()
	r.UpdatedAt = r.CreatedAt
	res := s.q(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).Create(r)
	if res.Error != nil {
		return false, translate(res.Error, "receipt")
	}
	return res.RowsAffected == 1, nil
}

// GetReceipt returns one receipt of an organisation.
func (s *Store) GetReceipt(ctx context.Context, orgID, id string) (*domain.Receipt, error) {
	var r domain.Receipt
	if err := s.q(ctx).Where("id = ? AND organization_id = ?", id, orgID).Take(&r).Error; err != nil {
		return nil, translate(err, "receipt")
	}
	return &r, nil
}

// ListReceipts returns a transaction's receipts, oldest first; empty for another organisation's
// transaction.
func (s *Store) ListReceipts(ctx context.Context, orgID, transactionID string) ([]domain.Receipt, error) {
	var out []domain.Receipt
	return out, translate(s.q(ctx).Where("organization_id = ? AND transaction_id = ?", orgID, transactionID).
		Order("created_at, id").Find(&out).Error, "receipts")
}

// ClaimReceipt moves a pending receipt to sending (compare-and-set) and counts the attempt. It
// reports whether this caller claimed it; the receipt is returned as it is now either way.
func (s *Store) ClaimReceipt(ctx context.Context, orgID, id string) (*domain.Receipt, bool, error) {
	res := s.q(ctx).Model(&domain.Receipt{}).
		Where("id = ? AND organization_id = ? AND status = ?", id, orgID, domain.ReceiptPending).
		Updates(map[string]any{"status": domain.ReceiptSending, "attempts": clause.Expr{SQL: "attempts + 1"}, "updated_at": Now()})
	if res.Error != nil {
		return nil, false, translate(res.Error, "receipt")
	}
	r, err := s.GetReceipt(ctx, orgID, id)
	return r, res.RowsAffected == 1 && err == nil, err
}

// FinishReceipt records how a receipt's attempt ended, if the receipt is still sending: sent
// (with the time), pending again after a temporary failure, failed, or uncertain. It reports
// whether the receipt was still sending.
func (s *Store) FinishReceipt(ctx context.Context, orgID, id string, status domain.ReceiptStatus, errText string) (bool, error) {
	now := Now()
	upd := map[string]any{"status": status, "last_error": clip(errText, 1000), "updated_at": now}
	if status == domain.ReceiptSent {
		upd["sent_at"] = now
	}
	res := s.q(ctx).Model(&domain.Receipt{}).
		Where("id = ? AND organization_id = ? AND status = ?", id, orgID, domain.ReceiptSending).Updates(upd)
	return res.RowsAffected == 1, translate(res.Error, "receipt")
}

// SetSiteReceiptsDisabled turns a site's buyer receipts off (or on again).
func (s *Store) SetSiteReceiptsDisabled(ctx context.Context, orgID, siteID string, disabled bool) error {
	res := s.q(ctx).Model(&domain.Site{}).Where("id = ? AND organization_id = ?", siteID, orgID).
		Updates(map[string]any{"receipts_disabled": disabled, "updated_at": Now()})
	if res.Error != nil {
		return translate(res.Error, "site")
	}
	if res.RowsAffected == 0 {
		return domain.NotFound("site")
	}
	return nil
}
